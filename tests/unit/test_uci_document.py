"""Document: read view and format-preserving edits on realistic OpenWrt configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnat.uci import (
    DeleteOption,
    DeleteSection,
    Document,
    Section,
    SectionNotFoundError,
    SetList,
    SetOption,
    SetSection,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "uci"


def load(name: str) -> tuple[str, Document]:
    text = (FIXTURES / name).read_bytes().decode("utf-8")
    return text, Document.parse(text, str(FIXTURES / name))


def changed_lines(before: str, after: str) -> list[tuple[int, str, str]]:
    """(index, old, new) for lines that differ; both texts must have as many lines."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(i, a, b) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


@pytest.mark.parametrize("name", ["firewall", "network", "dhcp"])
def test_fixtures_round_trip_byte_for_byte(name: str) -> None:
    text, doc = load(name)
    assert doc.serialize() == text
    assert doc.serialize().encode("utf-8") == (FIXTURES / name).read_bytes()


def test_firewall_read_view() -> None:
    _, doc = load("firewall")
    rules = doc.sections_of_type("rule")
    assert [r.get("name") for r in rules] == [
        "Allow-DHCP-Renew",
        "Allow-Ping",
        "Allow-IGMP",
        "Allow-DHCPv6",
        "Allow-MLD",
        "Allow-ICMPv6-Input",
        "Allow-ICMPv6-Forward",
        "Allow-IPSec-ESP",
        "Allow-ISAKMP",
    ]
    assert all(r.name is None and r.anonymous for r in rules)
    wan = doc.section("@zone[1]")
    assert wan is not None
    assert wan.get("name") == "wan"
    assert wan.get_list("network") == ["wan", "wan6"]
    assert wan.get("network") == "wan wan6"
    assert doc.section("@zone[-1]") == wan
    assert doc.section("@zone[2]") is None
    assert doc.section("@rule[0]").get("dest_port") == "68"
    assert "disable_ipv6" not in doc.sections_of_type("defaults")[0].options  # commented out
    nas = doc.section("nas_web")
    assert nas == Section(
        "redirect",
        "nas_web",
        {
            "name": "NAS-Web",
            "target": "DNAT",
            "src": "wan",
            "dest": "lan",
            "proto": "tcp",
            "src_dport": "8443",
            "dest_ip": "192.168.1.10",
            "dest_port": "443",
        },
    )
    game = doc.section("game")
    assert game.get("name") == "Game server (TCP+UDP)"
    assert game.get_list("proto") == ["tcp", "udp"]
    assert game.get("missing", "dflt") == "dflt"
    assert game.get_list("missing") == []
    assert doc.sections_of_type("include")[0].get("path") == "/etc/firewall.user"
    assert doc.section("nope") is None


def test_network_and_dhcp_read_view() -> None:
    _, net = load("network")
    lan = net.section("lan")
    assert lan.type == "interface"
    assert (lan.get("proto"), lan.get("ipaddr"), lan.get("netmask"), lan.get("gateway")) == (
        "static",
        "192.168.1.2",
        "255.255.255.0",
        "192.168.1.1",
    )
    assert lan.get_list("dns") == ["192.168.1.1", "223.5.5.5"]
    (bridge,) = [d for d in net.sections_of_type("device") if d.get("name") == "br-lan"]
    assert bridge.get("type") == "bridge"
    assert bridge.get_list("ports") == ["eth0"]
    _, dhcp = load("dhcp")
    assert dhcp.section("lan").get("ignore") == "1"
    assert dhcp.sections_of_type("host")[0].get("ip") == "192.168.1.10"


def test_sections_are_snapshots() -> None:
    _, doc = load("firewall")
    sec = doc.section("game")
    sec.options["proto"].append("icmp")
    sec.options["new"] = "x"
    assert doc.section("game").get_list("proto") == ["tcp", "udp"]
    assert "new" not in doc.section("game").options


def test_get_list_splits_plain_values_on_whitespace() -> None:
    sec = Section("x", None, {"a": "tcp  udp\ticmp", "b": ["one two"]})
    assert sec.get_list("a") == ["tcp", "udp", "icmp"]
    assert sec.get_list("b") == ["one two"]
    assert sec.get("b") == "one two"


def test_set_option_in_place_changes_exactly_one_line() -> None:
    text, doc = load("firewall")
    doc.set_option("nas_web", "dest_ip", "192.168.1.11")
    [(index, old, new)] = changed_lines(text, doc.serialize())
    assert old == "\toption dest_ip '192.168.1.10'\n"
    assert new == "\toption dest_ip '192.168.1.11'\n"
    assert text.splitlines()[index - 1] == "\toption src_dport '8443'"
    assert doc.section("nas_web").get("dest_ip") == "192.168.1.11"


def test_set_option_keeps_a_trailing_comment_and_rewrites_in_export_style() -> None:
    text, doc = load("firewall")
    doc.set_option("nas_web", "dest_port", "8443")
    [(_, _, new)] = changed_lines(text, doc.serialize())
    assert new == "\toption dest_port '8443'\t# the NAS only speaks HTTPS\n"
    doc.set_option("game", "name", "it's $(x) `y`; z")
    assert "\toption name 'it'\\''s $(x) `y`; z'\n" in doc.serialize()
    assert Document.parse(doc.serialize()).section("game").get("name") == "it's $(x) `y`; z"


def test_set_option_with_the_same_value_changes_nothing() -> None:
    text, doc = load("firewall")
    doc.set_option("game", "name", "Game server (TCP+UDP)")  # written with double quotes
    doc.set_list("game", "proto", ["tcp", "udp"])
    assert doc.serialize() == text


def test_new_option_goes_after_the_last_option_of_the_section() -> None:
    text, doc = load("firewall")
    doc.set_option("nas_web", "reflection", "0")
    after = doc.serialize()
    assert after == text.replace(
        "\toption dest_port '443'\t# the NAS only speaks HTTPS\n",
        "\toption dest_port '443'\t# the NAS only speaks HTTPS\n\toption reflection '0'\n",
    )


def test_set_list_replaces_list_statements_at_the_first_ones_position() -> None:
    text, doc = load("firewall")
    doc.set_list("game", "proto", ["udp", "tcp", "icmp"])
    expected = text.replace(
        "\tlist proto 'tcp'\n\tlist proto 'udp'\n",
        "\tlist proto 'udp'\n\tlist proto 'tcp'\n\tlist proto 'icmp'\n",
    )
    assert doc.serialize() == expected
    doc.set_option("game", "proto", "tcp udp")
    assert doc.serialize() == text.replace(
        "\tlist proto 'tcp'\n\tlist proto 'udp'\n", "\toption proto 'tcp udp'\n"
    )
    doc.set_list("game", "proto", [])
    assert "proto" not in doc.section("game").options
    assert doc.serialize() == text.replace("\tlist proto 'tcp'\n\tlist proto 'udp'\n", "")


def test_delete_option() -> None:
    text, doc = load("firewall")
    doc.delete_option("game", "enabled")
    doc.delete_option("game", "not_there")
    doc.delete_option("no_such_section", "x")
    assert doc.serialize() == text.replace("\toption enabled '0'\n", "")


def test_set_section_changes_only_the_config_line_when_the_type_differs() -> None:
    text, doc = load("firewall")
    doc.set_section("nas_web", "redirect")
    assert doc.serialize() == text
    doc.set_section("nas_web", "rule")
    [(_, old, new)] = changed_lines(text, doc.serialize())
    assert (old, new) == ("config redirect 'nas_web'\n", "config rule 'nas_web'\n")


@pytest.mark.parametrize("name", ["firewall", "network", "dhcp"])
def test_add_then_delete_sections_restores_the_original_bytes(name: str) -> None:
    text, doc = load(name)
    doc.set_section("dualnat_a", "redirect")
    doc.set_option("dualnat_a", "name", "A")
    doc.set_list("dualnat_a", "proto", ["tcp", "udp"])
    doc.set_section("dualnat_b", "nat")
    doc.set_option("dualnat_b", "target", "SNAT")
    after = doc.serialize()
    assert after.startswith(text.rstrip("\n") + "\n")
    assert after.endswith(
        "\nconfig redirect 'dualnat_a'\n"
        "\toption name 'A'\n"
        "\tlist proto 'tcp'\n"
        "\tlist proto 'udp'\n"
        "\n"
        "config nat 'dualnat_b'\n"
        "\toption target 'SNAT'\n" + ("\n" if text.endswith("\n\n") else "")
    )
    reparsed = Document.parse(after)
    assert reparsed.section("dualnat_a").options == {"name": "A", "proto": ["tcp", "udp"]}
    doc.delete_section("dualnat_a")
    doc.delete_section("dualnat_b")
    assert doc.serialize() == text


def test_appended_section_is_separated_by_exactly_one_blank_line() -> None:
    doc = Document.parse("config a 'x'\n\toption b 'c'")  # no final newline
    doc.set_section("y", "t")
    assert doc.serialize() == "config a 'x'\n\toption b 'c'\n\nconfig t 'y'\n"
    doc = Document.parse("")
    doc.set_section("y", "t")
    assert doc.serialize() == "config t 'y'\n"
    doc = Document.parse("package firewall\n\n")
    doc.set_section("y", "t")
    doc.set_option("y", "o", "v")
    assert doc.serialize() == "package firewall\n\nconfig t 'y'\n\toption o 'v'\n\n"


def test_new_lines_follow_the_files_crlf_line_endings() -> None:
    text = "config a 'x'\r\n\toption b 'c'\r\n"
    doc = Document.parse(text)
    doc.set_option("x", "d", "e")
    doc.set_section("y", "t")
    assert doc.serialize() == text + "\toption d 'e'\r\n\r\nconfig t 'y'\r\n"
    doc.delete_section("y")
    doc.delete_option("x", "d")
    assert doc.serialize() == text


def test_delete_section_keeps_the_users_comments() -> None:
    text, doc = load("firewall")
    doc.delete_section("nas_web")
    expected = text.replace(
        "config redirect 'nas_web'\n"
        "\toption name 'NAS-Web'\n"
        "\toption target 'DNAT'\n"
        "\toption src 'wan'\n"
        "\toption dest 'lan'\n"
        "\toption proto 'tcp'\n"
        "\toption src_dport '8443'\n"
        "\toption dest_ip '192.168.1.10'\n"
        "\toption dest_port '443'\t# the NAS only speaks HTTPS\n",
        "",
    )
    assert doc.serialize() == expected
    assert "# NAS web interface, reached through the main router's port forward\n" in expected
    doc.delete_section("game")  # preceded by a blank line, which goes with it
    assert "\n\n\n" not in doc.serialize()
    assert doc.serialize().count("config redirect") == 0


def test_edits_on_statements_sharing_a_line_do_not_touch_neighbours() -> None:
    # quoted words: a bare word glued to ";" would end the line for libuci
    text = (
        "# keep me\n"
        "config rule 'r1'; option a '1'; option b '2' # note\n"
        "config rule r2\n"
        "\toption c '3'; list d 'x'; list d 'y'\n"
    )
    doc = Document.parse(text)
    doc.set_option("r1", "a", "one")
    first = "config rule 'r1'; option a 'one'; option b '2' # note"
    assert doc.serialize().splitlines()[1] == first
    doc.set_option("r1", "z", "new")  # inserted after the last statement of r1
    assert doc.serialize().splitlines()[1:3] == [
        "config rule 'r1'; option a 'one'; option b '2' # note",
        "\toption z 'new'",
    ]
    doc.set_list("r2", "d", ["q"])
    doc.delete_option("r1", "b")
    assert doc.serialize() == (
        "# keep me\n"
        "config rule 'r1'; option a 'one' # note\n"
        "\toption z 'new'\n"
        "config rule r2\n"
        "\toption c '3'; list d 'q'\n"
    )
    doc.delete_section("r1")
    assert doc.serialize() == "# keep me\nconfig rule r2\n\toption c '3'; list d 'q'\n"


def test_insert_inside_a_line_when_another_section_follows_on_it() -> None:
    doc = Document.parse("config t r1\n\toption a '1'; config t 'r2'; option b '2'\n")
    doc.set_option("r1", "c", "3")
    doc.set_option("r2", "d", "4")
    assert doc.serialize() == (
        "config t r1\n\toption a '1'; option c '3'; config t 'r2'; option b '2'\n\toption d '4'\n"
    )
    assert [s.options for s in doc.sections()] == [{"a": "1", "c": "3"}, {"b": "2", "d": "4"}]


def test_sections_know_their_lines() -> None:
    doc = Document.parse(
        "# firewall\n"
        "config zone 'lan'\n"
        "\toption name 'lan'\n"
        "\toption input 'REJECT'\n"
        "\tlist network 'lan'\n"
        "\n"
        "config rule\n"
        "\toption name 'x'\n"
        "config zone 'lan'\n"  # stated again: libuci merges it
        "\tlist network 'wan'\n"
        "\toption input 'ACCEPT'\n"
        "\toption name 'lan'\n"  # the same value: the first statement counts
        "\toption output ''\n"  # sets nothing
    )
    lan, rule = doc.section("lan"), doc.section("@rule[0]")
    assert lan is not None and rule is not None
    assert lan.lines == (2, 9)
    assert lan.option_lines == {"name": 3, "network": 5, "input": 11}
    assert (rule.lines, rule.option_lines) == ((7,), {"name": 8})
    # the line fields are information, not part of what the section is
    assert lan == Section(
        "zone", "lan", {"name": "lan", "network": ["lan", "wan"], "input": "ACCEPT"}
    )


def test_lines_follow_edits() -> None:
    doc = Document.parse("config t 'a'\n\toption x '1'\n\nconfig t 'b'\n\toption y '2'\n")
    doc.set_option("a", "z", "3")  # one line more before b
    doc.apply([SetSection("c", "u"), SetOption("c", "w", "4"), SetList("c", "l", ["p", "q"])])
    got = [(s.name, s.lines, s.option_lines) for s in doc.sections()]
    assert got == [
        ("a", (1,), {"x": 2, "z": 3}),
        ("b", (5,), {"y": 6}),
        ("c", (8,), {"w": 9, "l": 10}),
    ]
    fresh = Document.parse(doc.serialize()).sections()
    assert got == [(s.name, s.lines, s.option_lines) for s in fresh]


def test_an_edit_never_wakes_text_that_libuci_skipped() -> None:
    # "b;" ends the line for libuci: "option c d" is not read.  Quoting the new value
    # would make libuci read it, so the edited statement gets a line of its own.
    doc = Document.parse("config t r\n\toption a b; option c d # note\n\toption e f\n")
    assert doc.section("r") == Section("t", "r", {"a": "b", "e": "f"})
    doc.set_option("r", "a", "new value")
    assert Document.parse(doc.serialize()).sections() == doc.sections()
    assert doc.section("r") == Section("t", "r", {"a": "new value", "e": "f"})
    assert doc.serialize().endswith("\toption e f\n")


def test_multi_line_statements_are_rewritten_whole() -> None:
    text = "config t r\n\toption a 'line one\nline two' # c\n\toption b x\\\ny\n"
    doc = Document.parse(text)
    doc.set_option("r", "a", "single")
    doc.set_option("r", "b", "z")
    assert doc.serialize() == "config t r\n\toption a 'single' # c\n\toption b 'z'\n"


def test_merged_named_section_edits() -> None:
    doc = Document.parse("config t s\n\toption a 1\nconfig u o\nconfig t s\n\tlist a 2\n")
    assert doc.section("s").options == {"a": ["1", "2"]}
    doc.set_option("s", "a", "3")
    doc.set_option("s", "b", "4")
    doc.set_section("s", "v")
    assert doc.serialize() == (
        "config v 's'\n\toption a '3'\nconfig u o\nconfig v 's'\n\toption b '4'\n"
    )
    doc.delete_section("s")
    assert doc.serialize() == "config u o\n"


def test_unterminated_last_line_gets_a_newline_before_an_insert() -> None:
    doc = Document.parse("config t r\n\toption a 1 # c")
    doc.set_option("r", "b", "2")
    assert doc.serialize() == "config t r\n\toption a 1 # c\n\toption b '2'\n"
    doc = Document.parse("config t r\n\toption a x\\")  # backslash at end of file
    doc.set_option("r", "b", "2")
    assert doc.section("r").options == {"a": "x", "b": "2"}
    assert Document.parse(doc.serialize()).section("r").options == {"a": "x", "b": "2"}


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.set_option("bad name", "a", "v"),
        lambda d: d.set_option("game", "a.b", "v"),
        lambda d: d.set_option("game", "a", "line\nbreak"),
        lambda d: d.set_option("game", "a", "nul\0"),
        lambda d: d.set_option("game", "a", "bell\a"),
        lambda d: d.set_option("game", "a", "cr\r"),
        lambda d: d.set_option("game", "a", ""),
        lambda d: d.set_list("game", "a", ["ok", "bad\n"]),
        lambda d: d.set_section("x;y", "rule"),
        lambda d: d.set_section("x", "two words"),
        lambda d: d.set_section("x", ""),
        lambda d: d.delete_section("@rule[0]"),
        lambda d: d.delete_option("game", "$(x)"),
    ],
)
def test_invalid_names_and_values_are_refused(call) -> None:
    text, doc = load("firewall")
    with pytest.raises(ValueError):
        call(doc)
    assert doc.serialize() == text


def test_tab_in_values_is_allowed() -> None:
    doc = Document.parse("config t r\n")
    doc.set_option("r", "a", "x\ty")
    assert Document.parse(doc.serialize()).section("r").get("a") == "x\ty"


def test_missing_section_raises_section_not_found() -> None:
    _, doc = load("firewall")
    with pytest.raises(SectionNotFoundError) as info:
        doc.set_option("nope", "a", "b")
    assert isinstance(info.value, KeyError)
    assert "nope" in str(info.value)
    with pytest.raises(SectionNotFoundError):
        doc.set_list("nope", "a", ["b"])


def test_apply_runs_changes_in_order_and_is_all_or_nothing() -> None:
    text, doc = load("firewall")
    doc.apply(
        [
            SetSection("dualnat_x", "redirect"),
            SetOption("dualnat_x", "name", "X"),
            SetList("dualnat_x", "proto", ["tcp", "udp"]),
            DeleteOption("game", "enabled"),
            DeleteSection("nas_web"),
        ]
    )
    assert doc.section("dualnat_x").options == {"name": "X", "proto": ["tcp", "udp"]}
    assert doc.section("nas_web") is None
    assert "enabled" not in doc.section("game").options
    before = doc.serialize()
    with pytest.raises(SectionNotFoundError):
        doc.apply([DeleteSection("dualnat_x"), SetOption("missing", "a", "b")])
    assert doc.serialize() == before
    assert doc.section("dualnat_x") is not None
    with pytest.raises(TypeError):
        doc.apply(["set firewall.x=y"])  # type: ignore[list-item]
    assert doc.serialize() == before
    assert text != before


def test_copy_is_independent() -> None:
    text, doc = load("network")
    other = doc.copy()
    other.set_option("lan", "ipaddr", "10.0.0.2")
    assert doc.serialize() == text
    assert doc.section("lan").get("ipaddr") == "192.168.1.2"


def test_lines_after_a_multi_line_value_is_replaced() -> None:
    doc = Document.parse("config t 'a'\n\toption x 'one\ntwo'\n\nconfig t 'b'\n\toption y '2'\n")
    doc.set_option("a", "x", "single")
    b = doc.section("b")
    assert b is not None and (b.lines, b.option_lines) == ((4,), {"y": 5})
