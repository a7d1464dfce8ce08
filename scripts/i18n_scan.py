#!/usr/bin/env python3
"""The translatable strings of luci-app-dualnat: scan the views, write the template.

Like LuCI's i18n-scan, msgids come from ``_('...')`` in the package's JavaScript and from
the menu titles and ACL description in root/usr/share. Usage:

    python scripts/i18n_scan.py            # print the template (po/templates/dualnat.pot)
    python scripts/i18n_scan.py --write    # write it
    python scripts/i18n_scan.py --check    # exit 1 when the template is out of date
    python scripts/i18n_scan.py --merge    # add new msgids to every po/<lang>/dualnat.po
                                           # (empty msgstr) and drop the ones gone
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "luci-app-dualnat"
DOMAIN = "dualnat"
POT = PACKAGE / "po" / "templates" / f"{DOMAIN}.pot"
CALL = re.compile(r"(?<![\w.$])_\(\s*")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


class ScanError(ValueError):
    """A _() call whose argument is not one plain string literal."""


@dataclass
class Entry:
    msgid: str
    refs: list[str] = field(default_factory=list)


def js_string(text: str, start: int) -> tuple[str, int]:
    """The JavaScript string literal at `start` ('...' or "..."): its value, its end."""
    quote = text[start]
    if quote not in "'\"":
        raise ScanError("not a string literal")
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch == "\\":
            nxt = text[i + 1]
            if nxt == "u":
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ScanError("unterminated string literal")


def normalize(msgid: str) -> str:
    """LuCI looks translations up with whitespace runs collapsed and the ends trimmed."""
    return re.sub(r"[ \t\n]+", " ", msgid).strip()


def scan_js(path: Path, rel: str, entries: dict[str, Entry]) -> None:
    text = path.read_text("utf-8")
    for m in CALL.finditer(text):
        # skip matches inside line comments
        line_start = text.rfind("\n", 0, m.start()) + 1
        if "//" in text[line_start : m.start()] or text[line_start:].lstrip().startswith("*"):
            continue
        try:
            value, end = js_string(text, m.end())
        except ScanError:
            if text[m.end()] in ")":
                continue
            what = "_() of a variable" if re.match(r"[A-Za-z_$]", text[m.end()]) else "_()"
            raise ScanError(f"{rel}: {what}: {text[m.start() : m.end() + 20]!r}") from None
        rest = text[end:].lstrip()
        if not rest.startswith(")"):
            raise ScanError(f"{rel}: _() takes one string literal: {text[m.start() : end + 10]!r}")
        line = text.count("\n", 0, m.start()) + 1
        msgid = normalize(value)
        if msgid:
            entries.setdefault(msgid, Entry(msgid)).refs.append(f"{rel}:{line}")


def scan_json(path: Path, rel: str, keys: tuple[str, ...], entries: dict[str, Entry]) -> None:
    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in keys and isinstance(v, str):
                    entries.setdefault(normalize(v), Entry(normalize(v))).refs.append(rel)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(path.read_text("utf-8")))


def scan(package: Path = PACKAGE) -> list[Entry]:
    """Every msgid, in the order of first appearance (files sorted by path)."""
    entries: dict[str, Entry] = {}
    for path in sorted((package / "htdocs").rglob("*.js")):
        scan_js(path, path.relative_to(package).as_posix(), entries)
    share = package / "root" / "usr" / "share"
    for path in sorted((share / "luci" / "menu.d").glob("*.json")):
        scan_json(path, path.relative_to(package).as_posix(), ("title",), entries)
    for path in sorted((share / "rpcd" / "acl.d").glob("*.json")):
        scan_json(path, path.relative_to(package).as_posix(), ("description",), entries)
    return list(entries.values())


def po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_pot(entries: list[Entry]) -> str:
    out = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8"', ""]
    for e in entries:
        out.append("#: " + " ".join(e.refs))
        out.append(f"msgid {po_quote(e.msgid)}")
        out.append('msgstr ""')
        out.append("")
    return "\n".join(out)


def po_unquote(text: str) -> str:
    """The value of a quoted po string (C escapes)."""
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"not a quoted po string: {text!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append(ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


@dataclass
class PoEntry:
    msgid: str
    msgstr: str
    comments: list[str] = field(default_factory=list)
    fuzzy: bool = False


def read_po(path: Path) -> tuple[dict[str, str], list[PoEntry]]:
    """(the header's fields, the entries) of a po file; msgid "" is the header."""
    header: dict[str, str] = {}
    entries: list[PoEntry] = []
    cur: dict[str, str] = {}
    comments: list[str] = []
    key = None

    def flush() -> None:
        nonlocal comments
        if "msgid" in cur:
            if cur["msgid"] == "":
                for line in cur.get("msgstr", "").split("\n"):
                    name, sep, value = line.partition(":")
                    if sep:
                        header[name.strip()] = value.strip()
            else:
                fuzzy = any(c.startswith("#,") and "fuzzy" in c for c in comments)
                entries.append(PoEntry(cur["msgid"], cur.get("msgstr", ""), comments, fuzzy))
        cur.clear()
        comments = []

    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if "msgstr" in cur:
                flush()
            comments.append(line)
        elif line.startswith("msgid "):
            flush()
            key, cur["msgid"] = "msgid", po_unquote(line[6:])
        elif line.startswith("msgstr "):
            key, cur["msgstr"] = "msgstr", po_unquote(line[7:])
        elif line.startswith('"') and key:
            cur[key] += po_unquote(line)
        else:
            raise ValueError(f"{path}: cannot read line {raw!r}")
    flush()
    return header, entries


def merge(po: Path, entries: list[Entry]) -> None:
    """Bring `po` in line with the template: new msgids get an empty msgstr."""
    header, old = read_po(po)
    known = {e.msgid: e.msgstr for e in old}
    out = ['msgid ""', 'msgstr ""']
    out += [f'"{k}: {v}\\n"' for k, v in header.items()]
    out.append("")
    for e in entries:
        out.append("#: " + " ".join(e.refs))
        out.append(f"msgid {po_quote(e.msgid)}")
        out.append(f"msgstr {po_quote(known.get(e.msgid, ''))}")
        out.append("")
    po.write_text("\n".join(out), "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="write po/templates/dualnat.pot")
    group.add_argument("--check", action="store_true", help="exit 1 if the template is stale")
    group.add_argument("--merge", action="store_true", help="update po/<lang>/dualnat.po")
    args = parser.parse_args(argv)
    entries = scan()
    pot = render_pot(entries)
    if args.check:
        if not POT.exists() or POT.read_text("utf-8") != pot:
            print(f"{POT.relative_to(ROOT)} is out of date: python scripts/i18n_scan.py --write")
            return 1
        return 0
    if args.write:
        POT.write_text(pot, "utf-8")
        return 0
    if args.merge:
        for po in sorted(PACKAGE.glob(f"po/*/{DOMAIN}.po")):
            merge(po, entries)
        return 0
    sys.stdout.write(pot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
