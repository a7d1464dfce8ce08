"""Every input of tests/fixtures/uci/libuci_cases.json reads as libuci read it.

The fixture holds libuci's own results (its ``uci export`` output, or its parse error's
reason, line and byte), recorded with the real ``uci`` command; see its header.  Where
we report an error differently on purpose, the case says so ("ours", "why").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dualnat.uci import Document, UciParseError
from dualnat.uci.lexer import split_chunks

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "uci" / "libuci_cases.json"
CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]


def export(doc: Document, package: str = "test") -> str:
    """The text libuci's ``uci export`` prints for a package read as *doc*."""

    def esc(text: str) -> str:
        return text.replace("'", "'\\''")

    out = [f"package {package}\n"]
    for sec in doc.sections():
        out.append(f"\nconfig {esc(sec.type)}")
        if sec.name is not None:
            out.append(f" '{esc(sec.name)}'")
        out.append("\n")
        for option, value in sec.options.items():
            items = value if isinstance(value, list) else [value]
            keyword = "list" if isinstance(value, list) else "option"
            out += [f"\t{keyword} {option} '{esc(item)}'\n" for item in items]
    out.append("\n")
    return "".join(out)


def test_the_fixture_covers_what_it_must() -> None:
    assert len(CASES) >= 300
    results = [case["libuci"] for case in CASES]
    assert sum("export" in r for r in results) >= 100
    reasons = {r["error"] for r in results if "error" in r}
    assert reasons >= {
        "section of different type overwrites prior section with same name",
        "invalid command",
        "too many arguments",
        "insufficient arguments",
        "invalid character in name field",
        "invalid character in type field",
        "option/list command found before the first section",
        "EOF with unterminated '",
        'EOF with unterminated "',
        "config without name",
    }
    assert all(set(case["libuci"]) <= {"export", "error", "line", "byte"} for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_we_read_every_case_as_libuci_does(case: dict) -> None:
    text = case["input"]
    expected = case.get("ours", case["libuci"])
    if "export" in expected:
        doc = Document.parse(text, "test")
        assert export(doc) == expected["export"]
        # the chunks that edits work on read the same and give the text back
        chunked = Document(split_chunks(text, "test"), "test")
        assert export(chunked) == expected["export"]
        assert chunked.serialize() == text
    else:
        with pytest.raises(UciParseError) as info:
            Document.parse(text, "test")
        err = info.value
        assert (err.reason, err.line, err.byte) == (
            expected["error"],
            expected["line"],
            expected["byte"],
        )
        assert str(err) == f"test:{expected['line']}: {expected['error']}"


def test_our_own_results_differ_from_libuci_only_where_said() -> None:
    for case in CASES:
        if "ours" not in case:
            continue
        ours, theirs, why = case["ours"], case["libuci"], case["why"]
        if "NUL" in why:
            assert "\x00" in case["input"] and "export" in theirs
            continue
        assert ours["error"] == theirs["error"]
        if "unterminated quote" in why:  # libuci does not count a last line without newline
            assert ours["line"] <= theirs["line"] + (not case["input"].endswith("\n"))
        elif "without newline" in why:
            assert ours["line"] == theirs["line"] + 1
            assert not case["input"].endswith("\n")
        else:
            assert "continued line" in why
            assert ours["line"] == theirs["line"] and ours["byte"] < theirs["byte"]


def test_the_one_pass_reader_reads_the_same_in_tiny_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the reader scans large texts in windows; logical lines may cross their ends
    from dualnat.uci import scan

    monkeypatch.setattr(scan, "_WINDOW", 7)
    for case in CASES:
        expected = case.get("ours", case["libuci"])
        try:
            got = {"export": export(Document.parse(case["input"], "test"))}
        except UciParseError as err:
            got = {"error": err.reason, "line": err.line, "byte": err.byte}
        assert got == expected, case["name"]
