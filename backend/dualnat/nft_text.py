"""Reading `nft list ruleset` text: its tables and chains (no nft library needed)."""

from __future__ import annotations

import re

_TABLE = re.compile(r"^table (\S+) (\S+) \{[ \t]*$", re.M)
_CHAIN = re.compile(r"^\s*chain (\S+) \{[ \t]*$", re.M)
_CLOSE = re.compile(r"^\s*\}[ \t]*$", re.M)


def tables(text: str) -> dict[str, str]:
    """`family name` → the body of each top-level table block of nft text."""
    out: dict[str, str] = {}
    for m in _TABLE.finditer(text):
        end = text.find("\n}", m.end())
        body = text[m.end() : end if end >= 0 else len(text)]
        key = f"{m.group(1)} {m.group(2)}"
        out[key] = out.get(key, "") + body
    return out


def chains(body: str) -> dict[str, list[str]]:
    """Chain name → its rule lines (stripped) in a table body; a base chain's first line
    is its `type ... hook ...` statement."""
    out: dict[str, list[str]] = {}
    for m in _CHAIN.finditer(body):
        close = _CLOSE.search(body, m.end())
        block = body[m.end() : close.start() if close else len(body)]
        out.setdefault(m.group(1), []).extend(ln.strip() for ln in block.splitlines() if ln.strip())
    return out
