"""Does the bypass router's firewall drop invalid forwarded packets? And where does it say so?

A one-armed bypass router sees only one direction of its LAN clients' Internet traffic
(the main router answers them directly), so conntrack calls the rest of every TCP
handshake invalid. A firewall that drops invalid forwarded packets then cuts those
clients off, unless the bypass router masquerades. Each function returns the evidence (a
short text naming the file or rule) when the firewall drops them, else None:

- `from_firewall_config`: firewall4's `config defaults` / `option drop_invalid` (what fw4
  renders as `invalid : drop` in its forward chain);
- `from_nft`: `nft list ruleset`, a forward-hook chain (or a chain it jumps to) that drops
  `ct state invalid`;
- `from_iptables`: `iptables-save -t filter`, the FORWARD chain (or a chain it jumps to)
  with `--ctstate INVALID -j DROP`;
- `from_running_system`: both of the above on this machine's loaded rules.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable, Iterable

from .nft_text import chains, tables
from .uci import Document

Runner = Callable[..., subprocess.CompletedProcess]
TRUE_WORDS = frozenset({"1", "yes", "on", "true", "enabled"})
NFT_FAMILIES = ("ip", "inet")
MAX_EVIDENCE = 160

_NFT_VMAP = re.compile(r"\bct state vmap \{[^}]*\binvalid\s*:\s*drop\b")
_NFT_MATCH = re.compile(r"\bct state (?:\{[^}]*\binvalid\b[^}]*\}|[a-z,]*\binvalid\b[a-z,]*)")
_NFT_DROP = re.compile(r"\bdrop\b(?:\s+comment\s+\".*\")?\s*$")
_NFT_JUMP = re.compile(r"\b(?:jump|goto)\s+([\w-]+)")
_NFT_FORWARD_HOOK = re.compile(r"^type filter hook forward\b")


def _short(text: str) -> str:
    return text if len(text) <= MAX_EVIDENCE else text[: MAX_EVIDENCE - 1] + "…"


def from_firewall_config(firewall: Document) -> str | None:
    """`option drop_invalid` of firewall4's `config defaults`, true."""
    for section in firewall.sections_of_type("defaults"):
        value = section.get("drop_invalid")
        if value is not None and value.strip().lower() in TRUE_WORDS:
            return f"{firewall.path}: config defaults: option drop_invalid '{value}'"
    return None


def _reachable(start: Iterable[str], edges: Callable[[str], Iterable[str]]) -> list[str]:
    """`start` and every chain reachable from it through `edges`, each once, in order."""
    seen: list[str] = []
    todo = list(start)
    while todo:
        chain = todo.pop(0)
        if chain in seen:
            continue
        seen.append(chain)
        todo += edges(chain)
    return seen


def _nft_drops(rule: str) -> bool:
    if _NFT_VMAP.search(rule):
        return True
    return bool(_NFT_MATCH.search(rule) and _NFT_DROP.search(rule))


def from_nft(text: str) -> str | None:
    """An nft rule that drops invalid packets on the forward path."""
    for key, body in tables(text).items():
        if key.split()[0] not in NFT_FAMILIES:
            continue
        rules = chains(body)
        hooked = [
            name for name, lines in rules.items() if lines and _NFT_FORWARD_HOOK.match(lines[0])
        ]

        def edges(chain: str, rules: dict[str, list[str]] = rules) -> list[str]:
            return [m.group(1) for line in rules.get(chain, ()) for m in _NFT_JUMP.finditer(line)]

        for chain in _reachable(hooked, edges):
            for rule in rules.get(chain, ()):
                if _nft_drops(rule):
                    return _short(f"nft table {key}, chain {chain}: {rule}")
    return None


def _ipt_rules(text: str) -> dict[str, list[list[str]]]:
    """Chain → the argument lists of its `-A` lines, from iptables-save text."""
    out: dict[str, list[list[str]]] = {}
    for line in text.splitlines():
        if not line.startswith("-A "):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if len(words) > 1:
            out.setdefault(words[1], []).append(words[2:])
    return out


def _ipt_target(words: list[str]) -> str | None:
    for flag in ("-j", "--jump", "-g", "--goto"):
        if flag in words and words.index(flag) + 1 < len(words):
            return words[words.index(flag) + 1]
    return None


def _ipt_drops(words: list[str]) -> bool:
    if _ipt_target(words) != "DROP":
        return False
    for flag in ("--ctstate", "--state"):
        i = words.index(flag) + 1 if flag in words else len(words)
        if i < len(words) and "INVALID" in words[i].split(","):
            return True
    return False


def from_iptables(text: str) -> str | None:
    """An iptables rule that drops invalid packets on the forward path."""
    rules = _ipt_rules(text)

    def edges(chain: str) -> list[str]:
        targets = (_ipt_target(words) for words in rules.get(chain, ()))
        return [t for t in targets if t is not None and t in rules]

    for chain in _reachable(["FORWARD"], edges):
        for words in rules.get(chain, ()):
            if _ipt_drops(words):
                return _short(f"iptables -t filter -A {chain} {shlex.join(words)}")
    return None


def _output(run: Runner, *argv: str) -> str | None:
    try:
        proc = run(list(argv), capture_output=True, text=True, errors="replace", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def from_running_system(run: Runner = subprocess.run) -> str | None:
    """The loaded rules of this machine (as root): nft first, then iptables."""
    nft = _output(run, "nft", "list", "ruleset")
    found = from_nft(nft) if nft else None
    if found is None:
        ipt = _output(run, "iptables-save", "-t", "filter")
        found = from_iptables(ipt) if ipt else None
    return found
