"""Document.apply's batched paths give exactly what the one-by-one edits give."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dualnat.uci import (
    AddListItem,
    DeleteListItem,
    DeleteOption,
    DeleteSection,
    Document,
    SetList,
    SetOption,
    SetSection,
)
from dualnat.uci import document as document_module

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def one_by_one(doc: Document, changes: list) -> None:
    for c in changes:
        match c:
            case SetSection(name, type_):
                doc.set_section(name, type_)
            case SetOption(section, option, value):
                doc.set_option(section, option, value)
            case SetList(section, option, values):
                doc.set_list(section, option, values)
            case DeleteOption(section, option):
                doc.delete_option(section, option)
            case DeleteSection(name):
                doc.delete_section(name)
            case AddListItem(section, option, value):
                doc.add_list_item(section, option, value)
            case DeleteListItem(section, option, value):
                doc.delete_list_item(section, option, value)


def assert_batched_is_one_by_one(text: str, changes: list) -> None:
    """`Document.apply` of `changes` gives the bytes and sections of applying them one by
    one, and its output parses back to the same sections."""
    batched, single = Document.parse(text), Document.parse(text)
    batched.apply(changes)
    one_by_one(single, changes)
    assert batched.serialize() == single.serialize()
    assert batched.sections() == single.sections()
    assert Document.parse(batched.serialize()).sections() == batched.sections()


CHANGES = [
    SetSection("dualnat_a", "redirect"),
    SetOption("dualnat_a", "name", "it's a"),
    SetList("dualnat_a", "proto", ["tcp", "udp"]),
    SetOption("dualnat_a", "dest_ip", "192.168.1.50"),
    SetSection("dualnat_b", "nat"),
    SetOption("dualnat_b", "target", "SNAT"),
    SetOption("printer", "dest_port", "632"),  # in place, keeps the trailing comment
    SetOption("printer", "family", "ipv4"),  # new option in an existing section
    DeleteOption("printer", "proto"),
    SetOption("dualnat_a", "dest_ip", "192.168.1.51"),
    SetSection("dualnat_c", "redirect"),
    DeleteSection("dualnat_b"),
    DeleteSection("printer"),
    DeleteSection("no_such_section"),
    SetOption("dualnat_c", "src", "lan"),
]


@pytest.mark.parametrize("fixture", ["router/firewall", "uci/firewall", "uci/network"])
@pytest.mark.parametrize("cut", range(0, len(CHANGES) + 1, 3))
def test_batched_apply_equals_one_by_one(fixture: str, cut: int) -> None:
    text = (FIXTURES / fixture).read_text()
    changes = [
        c
        for c in CHANGES[:cut] + CHANGES[cut:]
        if not (
            isinstance(c, (SetOption, DeleteOption))
            and c.section == "printer"
            and "printer" not in text
        )
    ]
    assert_batched_is_one_by_one(text, changes)


def test_add_then_delete_many_sections_restores_the_bytes() -> None:
    text = (FIXTURES / "router" / "firewall").read_text()
    doc = Document.parse(text)
    names = [f"dualnat_s{i}" for i in range(300)]
    adds = []
    for n in names:
        adds += [
            SetSection(n, "redirect"),
            SetOption(n, "src", "lan"),
            SetList(n, "proto", ["tcp", "udp"]),
        ]
    doc.apply(adds)
    assert [s.name for s in doc.sections()][-300:] == names
    assert doc.section("dualnat_s7").options == {"src": "lan", "proto": ["tcp", "udp"]}
    doc.apply([DeleteSection(n) for n in reversed(names)])
    assert doc.serialize() == text


def test_a_failing_batch_leaves_the_document_unchanged() -> None:
    text = (FIXTURES / "router" / "firewall").read_text()
    doc = Document.parse(text)
    with pytest.raises(KeyError):
        doc.apply(
            [
                SetSection("dualnat_a", "redirect"),
                SetOption("dualnat_a", "x", "ok"),
                DeleteSection("printer"),
                SetOption("no_such", "y", "1"),
            ]
        )
    assert doc.serialize() == text and doc.section("printer") is not None


def test_add_section_on_a_file_without_final_newline() -> None:
    doc = Document.parse("config zone 'lan'\n\toption name 'lan'")
    doc.apply([SetSection("dualnat_a", "nat"), SetOption("dualnat_a", "target", "SNAT")])
    assert doc.serialize() == (
        "config zone 'lan'\n\toption name 'lan'\n\nconfig nat 'dualnat_a'\n\toption target 'SNAT'\n"
    )


def test_list_items_are_added_and_removed_without_touching_other_lines() -> None:
    from dualnat.uci import AddListItem, DeleteListItem

    text = (
        "config dhcp 'lan'\n"
        "\toption interface 'lan'\n"
        '\tlist dhcp_option "42,192.168.1.9"  # the user\'s NTP server\n'
        "\toption ignore '1'\n"
    )
    doc = Document.parse(text)
    doc.apply([AddListItem("lan", "dhcp_option", "3,192.168.1.2")])
    assert doc.section("lan").options["dhcp_option"] == ["42,192.168.1.9", "3,192.168.1.2"]
    assert '\tlist dhcp_option "42,192.168.1.9"  # the user\'s NTP server\n' in doc.serialize()
    doc.apply([DeleteListItem("lan", "dhcp_option", "3,192.168.1.2")])
    assert doc.serialize() == text
    doc.apply([AddListItem("lan", "new_list", "a"), AddListItem("lan", "new_list", "b")])
    assert doc.section("lan").options["new_list"] == ["a", "b"]
    doc.apply([DeleteListItem("lan", "new_list", "a"), DeleteListItem("lan", "new_list", "b")])
    assert doc.serialize() == text


SECTIONS = st.sampled_from(["a", "b", "c"])
OPTIONS = st.sampled_from(["x", "y", "l", "new"])
VALUES = st.sampled_from(["1", "p", "q", "it's", 'say "hi"', "back\\slash", "# not a comment"])

# Option edits on many existing sections: sections with lines of their own are edited
# each on its own lines; shared lines, merged sections and missing ones take the general
# path. Either way the result is the one-by-one result.
LAYOUTS = {
    "plain": (
        "# head\nconfig t 'a'\n\toption x '1'\n\tlist l 'p'\n\n# about b\n"
        "config t 'b'\n\toption x '2' # keep\n\toption y 'old'\n\n"
        "config t 'c'\n\n\toption x '3'\n"
    ),
    "unterminated": "config t 'a'\n\toption x 1\nconfig t 'b'\nconfig t 'c'\n\toption x 3 # c",
    "shared-line": "config t 'a'; option x '1'; config t 'b'\n\toption x 2\nconfig t 'c'\n",
    "merged": "config t 'a'\n\toption x 1\nconfig t 'b'\nconfig t 'a'\n\tlist l p\nconfig t 'c'\n",
    "multi-line": (
        "config t 'a'\n\toption x 'one\ntwo'\nconfig t 'b'\n\toption y x\\\ny\nconfig t 'c'\n"
    ),
    "crlf": "config t 'a'\r\n\toption x '1'\r\nconfig t 'b'\r\nconfig t 'c'\r\n",
    "anonymous-between": "config t 'a'\nconfig t\n\toption x 9\nconfig t 'b'\nconfig t 'c'\n",
}
OPTION_RUN = [
    SetOption("c", "x", "30"),
    SetOption("a", "new", "n"),
    DeleteOption("b", "y"),
    SetList("a", "l", ["p", "q"]),
    SetOption("b", "x", "20"),
    AddListItem("c", "l", "r"),
    SetOption("a", "x", "10"),
    DeleteOption("a", "x"),
    DeleteListItem("a", "l", "p"),
    SetOption("b", "z", "it's"),
    DeleteOption("c", "missing"),
]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("cut", [0, 1, 5, len(OPTION_RUN)])
def test_an_option_run_over_many_sections_equals_one_by_one(layout: str, cut: int) -> None:
    text = LAYOUTS[layout]
    changes = [
        SetSection("d", "t"),
        SetOption("d", "x", "4"),
        *OPTION_RUN[:cut],
        DeleteSection("d"),
        *OPTION_RUN[cut:],
    ]
    assert_batched_is_one_by_one(text, changes)


OPTION_EDITS = st.one_of(
    st.builds(SetOption, SECTIONS, OPTIONS, VALUES),
    st.builds(DeleteOption, SECTIONS, OPTIONS),
    st.builds(SetList, SECTIONS, OPTIONS, st.lists(VALUES, min_size=1, max_size=3)),
    st.builds(AddListItem, SECTIONS, OPTIONS, VALUES),
    st.builds(DeleteListItem, SECTIONS, OPTIONS, VALUES),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(LAYOUTS)), st.lists(OPTION_EDITS, max_size=12))
def test_any_option_run_equals_one_by_one(layout: str, changes: list) -> None:
    """Random runs of option edits (lists over options, options over lists, deletes of
    what is missing, awkward values) on every layout give the one-by-one result."""
    text = LAYOUTS[layout]
    try:
        one_by_one(Document.parse(text), changes)
    except (KeyError, ValueError):
        assume(False)  # an edit the document refuses: covered by the failing-run tests
    assert_batched_is_one_by_one(text, changes)


def test_an_option_run_on_a_missing_section_fails_and_changes_nothing() -> None:
    text = LAYOUTS["plain"]
    doc = Document.parse(text)
    with pytest.raises(KeyError):
        doc.apply([SetOption("a", "x", "5"), SetOption("b", "x", "6"), SetOption("zz", "x", "7")])
    assert doc.serialize() == text


def test_option_edits_on_a_thousand_sections_rebuild_the_view_rarely(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "".join(
        f"# forward {i}\nconfig forward 'f{i}'\n\toption port '{i + 1}'\n\toption old ''\n\n"
        for i in range(1000)
    )
    changes = []
    for i in range(1000):  # an insert and a delete in every section
        changes += [SetOption(f"f{i}", "enabled", "1"), DeleteOption(f"f{i}", "old")]
    builds: list[int] = []  # sizes of the documents whose read view was built
    build = document_module._build

    def counted(chunks: list, path: str) -> object:
        builds.append(len(chunks))
        return build(chunks, path)

    monkeypatch.setattr(document_module, "_build", counted)
    doc = Document.parse(text)
    doc.apply(changes)
    assert len([n for n in builds if n > 100]) <= 2  # the whole file: not once per edit
    assert doc.section("f999").options == {"port": "1000", "enabled": "1"}
    assert "# forward 500\nconfig forward 'f500'\n\toption port '501'\n\toption enabled '1'\n" in (
        doc.serialize()
    )
