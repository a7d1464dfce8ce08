"""The conntrack parser on recorded tables: every format detail, and broken input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from doctor_data import conntrack_text
from hypothesis import given, settings
from hypothesis import strategies as st

from dualnat.doctor import conntrack
from dualnat.doctor.conntrack import _careful, _fast, parse, parse_line
from dualnat.doctor.system import System

PROC = "proc_nf_conntrack.txt"
EXTENDED = "conntrack_extended.txt"
PLAIN = "conntrack_plain.txt"
RECORDINGS = (PROC, EXTENDED, PLAIN)

FULL = (
    "ipv4     2 tcp      6 431982 ESTABLISHED src=203.0.113.45 dst=192.168.1.2 sport=51544 "
    "dport=8443 packets=14 bytes=2113 src=192.168.1.50 dst=203.0.113.45 sport=443 "
    "dport=51544 packets=12 bytes=9876 [ASSURED] mark=0 zone=0 use=2"
)


def by_line(name: str) -> dict[str, conntrack.Entry]:
    """Entries of a recording keyed by a distinctive part of their line."""
    return {e.line: e for e in parse(conntrack_text(name)).entries}


def find(name: str, needle: str) -> conntrack.Entry:
    [entry] = [e for line, e in by_line(name).items() if needle in line]
    return entry


def test_proc_recording_counts() -> None:
    table = parse(conntrack_text(PROC), "/proc/net/nf_conntrack")
    # 20 entries; 9 broken lines (truncated, bad numbers, prose, binary); 1 blank line.
    assert (len(table.entries), table.skipped, table.source) == (20, 9, "/proc/net/nf_conntrack")


def test_forwarded_connection_with_counters() -> None:
    e = find(PROC, "sport=51544 dport=8443")
    assert (e.family, e.proto, e.timeout, e.state) == ("ipv4", "tcp", 431982, "ESTABLISHED")
    assert (e.orig_src, e.orig_dst, e.orig_sport, e.orig_dport) == (
        "203.0.113.45",
        "192.168.1.2",
        51544,
        8443,
    )
    assert (e.reply_src, e.reply_dst, e.reply_sport, e.reply_dport) == (
        "192.168.1.50",
        "203.0.113.45",
        443,
        51544,
    )
    assert (e.orig_packets, e.orig_bytes, e.reply_packets, e.reply_bytes) == (14, 2113, 12, 9876)
    assert e.replied and e.assured and not e.offload and e.dnat and not e.snat
    assert (e.mark, e.zone) == (0, 0)


def test_hairpin_entry_shows_dnat_and_snat() -> None:
    e = find(PROC, "dst=198.51.100.7 sport=50112")
    assert e.dnat and e.snat and e.reply_dst == "192.168.1.2"


def test_unreplied_syn_sent() -> None:
    e = find(EXTENDED, "sport=40114")
    assert e.state == "SYN_SENT" and e.unreplied and not e.replied and not e.assured
    assert e.reply_packets == 0 and e.reply_src == "192.168.1.51"


def test_offloaded_flows_have_no_timeout() -> None:
    soft = find(PROC, "sport=40222")
    hard = find(PROC, "sport=41000")
    assert soft.timeout is None and soft.state == "ESTABLISHED" and soft.offload
    assert hard.timeout is None and hard.offload and not hard.assured
    assert soft.replied and hard.replied


def test_zone_mark_secctx_and_directional_zones() -> None:
    assert (find(PROC, "sport=51820").zone, find(PROC, "sport=51820").mark) == (3, 16)
    assert find(PROC, "secctx=").mark == 0 and find(PROC, "secctx=").orig_dport == 53
    e = find(PROC, "zone-orig=7")
    assert e.unreplied and e.orig_packets == 2 and e.reply_sport == 9100 and e.zone is None


def test_protocols_without_ports() -> None:
    icmp = find(PROC, "id=4112")
    gre = find(PROC, "srckey=0x0")
    igmp = find(PROC, "unknown")
    for e in (icmp, gre, igmp):
        assert e.orig_sport is None and e.orig_dport is None and e.reply_sport is None
    assert (icmp.proto, gre.proto, igmp.proto) == ("icmp", "gre", "unknown")
    assert igmp.unreplied and igmp.timeout == 595
    assert find(PROC, "sctp").state == "COOKIE_WAIT"


def test_ipv6_entries_keep_the_printed_address() -> None:
    e = find(PROC, "sport=43112")
    assert e.family == "ipv6" and e.orig_src == "2001:0db8:0001:0000:0000:0000:0000:0023"
    assert find(PROC, "icmpv6").proto == "icmpv6"
    assert find(EXTENDED, "2001:db8:1::23").orig_src == "2001:db8:1::23"


def test_entry_older_than_accounting_has_no_counters() -> None:
    e = find(PROC, "sport=50200")
    assert e.orig_packets is None and e.reply_bytes is None and e.assured


def test_conntrack_tool_extended_output() -> None:
    table = parse(conntrack_text(EXTENDED))
    assert (len(table.entries), table.skipped) == (8, 0)  # the summary line is not an entry
    labelled = find(EXTENDED, "labels=")
    assert labelled.replied and labelled.mark == 0 and labelled.orig_dport == 443
    zoned = find(EXTENDED, "zone-orig=4")
    assert zoned.orig_dport == 53 and zoned.reply_src == "192.168.1.2"
    assert find(EXTENDED, "icmp").reply_dst == "192.168.1.23"


def test_conntrack_tool_plain_output() -> None:
    table = parse(conntrack_text(PLAIN))
    assert (len(table.entries), table.skipped) == (5, 0)
    assert all(e.family is None and e.orig_packets is None for e in table.entries)
    timed = find(PLAIN, "[stop=")
    assert timed.unreplied and timed.orig_dport == 443 and timed.timeout == 119
    assert find(PLAIN, "[start=Sat Nov 21 05:41:12 2026]").assured
    assert find(PLAIN, "udp").unreplied
    assert find(PLAIN, "OFFLOAD").timeout is None


@pytest.mark.parametrize("name", RECORDINGS)
def test_fast_and_careful_paths_agree(name: str) -> None:
    compared = 0
    for line in conntrack_text(name).splitlines():
        fast, careful = _fast(line), _careful(line)
        if fast is None:
            continue
        assert careful is not None, line
        for slot in conntrack.Entry.__slots__:
            assert getattr(fast, slot) == getattr(careful, slot), (slot, line)
        compared += 1
    assert compared >= 4


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.",
        "src= dst= sport=53867 dport=80 packets=22 bytes=13861 src= dst= sport=8080 "
        "dport=53867 packets=14 bytes=3535 [ASSURED] mark=0 secmark=0 use=2",
        FULL.replace("431982", "43x982"),
        FULL.replace("sport=443", "sport=https"),
        FULL.replace("ipv4     2", "ipv4     x"),
        FULL.replace("tcp      6", "tcp      six"),
        FULL[: FULL.index(" src=192.168.1.50")],
        FULL.split(" [ASSURED]")[0],  # ends inside the reply tuple
        FULL.replace("dst=203.0.113.45 sport=443", "sport=443"),  # reply without dst
        FULL.replace("ESTABLISHED", "established"),
    ],
)
def test_broken_lines_are_skipped(line: str) -> None:
    assert parse_line(line) is None


def test_every_truncation_is_skipped_or_keeps_the_tuples() -> None:
    full = parse_line(FULL)
    assert full is not None
    tuples = ("orig_src", "orig_dst", "orig_sport", "orig_dport", "reply_src", "reply_dst")
    tuples += ("reply_sport", "reply_dport")
    kept = 0
    for cut in range(len(FULL)):
        entry = parse_line(FULL[:cut])
        if entry is not None:
            kept += 1
            assert all(getattr(entry, t) == getattr(full, t) for t in tuples), FULL[:cut]
    assert 0 < kept < 40  # only cuts after the reply tuple survive


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_parser_never_raises_on_noise(text: str) -> None:
    table = parse(text)
    assert len(table.entries) + table.skipped <= len(text.splitlines())


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(FULL) - 1), st.sampled_from(list(" =.[]0aZ-\t")))
def test_parser_never_raises_on_damaged_lines(position: int, char: str) -> None:
    parse_line(FULL[:position] + char + FULL[position + 1 :])


def test_many_generated_entries() -> None:
    lines = [
        FULL.replace("sport=51544", f"sport={1024 + n}").replace("dport=51544", f"dport={1024 + n}")
        for n in range(2000)
    ]
    table = parse(lines)
    assert len(table.entries) == 2000 and table.entries[-1].orig_sport == 3023


# -- reading the table -----------------------------------------------------------------


def fake_runner(outputs: dict[tuple[str, ...], str | None], calls: list[list[str]]):
    def run(cmd: list[str], **_: object) -> subprocess.CompletedProcess:
        calls.append(cmd)
        out = outputs.get(tuple(cmd))
        if out is None:
            return subprocess.CompletedProcess(cmd, 1, "", "not here")
        return subprocess.CompletedProcess(cmd, 0, out, "")

    return run


def test_read_prefers_proc(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "nf_conntrack").write_text(conntrack_text(PROC))
    calls: list[list[str]] = []
    table = conntrack.read(System(tmp_path, fake_runner({}, calls)))
    assert table.source == str(tmp_path / "net" / "nf_conntrack") and len(table.entries) == 20
    assert calls == []


def test_read_falls_back_to_the_tool(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    extended = ("conntrack", "-L", "-o", "extended")
    table = conntrack.read(
        System(tmp_path, fake_runner({extended: conntrack_text(EXTENDED)}, calls))
    )
    assert table.source == "conntrack -L -o extended" and len(table.entries) == 8
    calls.clear()
    table = conntrack.read(
        System(tmp_path, fake_runner({("conntrack", "-L"): conntrack_text(PLAIN)}, calls))
    )
    assert table.source == "conntrack -L" and len(table.entries) == 5
    assert calls == [list(extended), ["conntrack", "-L"]]


def test_read_without_any_source(tmp_path: Path) -> None:
    def missing(cmd: list[str], **_: object) -> subprocess.CompletedProcess:
        raise FileNotFoundError(cmd[0])

    table = conntrack.read(System(tmp_path, missing))
    assert table.source is None and table.entries == []


def test_prefixed_system_reads_files_through_the_prefix(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    cat = ("ip", "netns", "exec", "ns1", "cat", "/proc/net/nf_conntrack")
    system = System(prefix=("ip", "netns", "exec", "ns1"), run=fake_runner({cat: FULL}, calls))
    table = conntrack.read(system)
    assert len(table.entries) == 1 and calls == [list(cat)]
