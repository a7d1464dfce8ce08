"""The `uci` commands in the instructions, run against copies of real config files through
dualnat's own UCI layer: the main router (OpenWrt) gets the intended redirects and DHCP
options, the bypass router's dnsmasq is prepared off and then switched on."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from instructions_cases import CASES

from dualnat.cli import main
from dualnat.instructions import build_instructions
from dualnat.instructions.commands import redirects
from dualnat.instructions.entries import Entry, entries
from dualnat.model import PortRange
from dualnat.uci import Document
from dualnat.uci.lexer import split_words

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "uci"
PROTO = {"tcp": "tcp", "udp": "udp", "tcpudp": "tcp udp"}
BYPASS = "192.168.1.2"


class Shell:
    """Runs `uci add/set/add_list/del_list/commit` and `service` lines on a config folder."""

    def __init__(self, confdir: Path) -> None:
        self.confdir = confdir
        self.docs: dict[str, Document] = {}
        self.names = itertools.count()
        self.services: list[list[str]] = []

    def doc(self, package: str) -> Document:
        if package not in self.docs:
            path = self.confdir / package
            self.docs[package] = Document.parse(path.read_text(), str(path))
        return self.docs[package]

    def run(self, script: str) -> None:
        for line in script.splitlines():
            words = split_words(line)
            if not words:
                continue
            if words[0] == "service":
                self.services.append(words[1:])
                continue
            if words[0] == "dualnat":
                self.dualnat(words[1:])
                continue
            assert words[0] == "uci", line
            self.uci(words[1], words[2:])

    def dualnat(self, args: list[str]) -> None:
        """The real `dualnat` command on the folder (apply also reloads dnsmasq there)."""
        assert main(["--config-dir", str(self.confdir), *args]) == 0
        self.docs.clear()

    def uci(self, command: str, args: list[str]) -> None:
        if command == "add":
            package, type_ = args
            self.doc(package).add_section(f"added{next(self.names)}", type_)
            return
        if command == "commit":
            (package,) = args
            (self.confdir / package).write_text(self.doc(package).serialize())
            return
        (word,) = args
        left, _, value = word.partition("=")
        package, ref, option = left.split(".", 2)
        doc = self.doc(package)
        section = doc.section(ref)
        assert section is not None and section.name is not None, ref
        current = section.options.get(option)
        items = [] if current is None else [current] if isinstance(current, str) else current
        if command == "set":
            doc.set_option(section.name, option, value)
        elif command == "add_list":
            doc.set_list(section.name, option, [*items, value])
        elif command == "del_list":
            doc.set_list(section.name, option, [v for v in items if v != value])
        else:
            raise AssertionError(f"unexpected uci {command}")


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    for name in ("firewall", "dhcp", "network"):
        (tmp_path / name).write_text((FIXTURES / name).read_text())
    return tmp_path


def code(doc, step_id: str) -> str:
    step = next(s for sec in doc.sections for s in sec.steps if s.id == step_id)
    assert step.code is not None
    return step.code.text


@pytest.mark.parametrize("case", ["single", "range", "translated_range", "udp_tcpudp"])
def test_redirect_commands_make_the_intended_redirects(confdir: Path, case: str) -> None:
    plan = CASES[case]("openwrt")
    before = Document.parse((confdir / "firewall").read_text()).sections()
    shell = Shell(confdir)
    shell.run(code(build_instructions(plan, "en"), "forwards.uci"))
    after = Document.parse((confdir / "firewall").read_text()).sections()
    assert after[: len(before)] == before  # nothing else changed
    added = after[len(before) :]
    assert [s.type for s in added] == ["redirect"] * len(added)
    options = ("name", "src", "src_dport", "dest_ip", "dest_port", "proto", "target", "dest")
    got = [tuple(s.get(o) for o in options) for s in added]
    want = [
        (
            e.rule_name,
            "wan",
            str(e.external),
            BYPASS,
            str(e.internal),
            PROTO[e.proto],
            "DNAT",
            "lan",
        )
        for e in entries(plan)
    ]
    assert got == want
    assert shell.services == [["firewall", "reload"]]


def test_relay_port_reaches_the_bypass_router(confdir: Path) -> None:
    shell = Shell(confdir)
    shell.run(code(build_instructions(CASES["translated_range"]("openwrt"), "en"), "forwards.uci"))
    redirects_ = Document.parse((confdir / "firewall").read_text()).sections_of_type("redirect")
    web = next(s for s in redirects_ if s.get("name") == "web")
    assert (web.get("src_dport"), web.get("dest_port")) == ("79-81", "10079-10081")


def test_values_are_quoted_safely() -> None:
    tricky = Entry(
        "x", "it's a `$(test)` rule", "x", "tcpudp", PortRange(80, 80),
        IPv4Address("192.168.1.2"), PortRange(10080, 10080),
    )  # fmt: skip
    script = redirects([tricky])
    name_line = next(line for line in script.splitlines() if ".name=" in line)
    assert split_words(name_line)[-1] == "firewall.@redirect[-1].name=it's a `$(test)` rule"
    proto_line = next(line for line in script.splitlines() if ".proto=" in line)
    assert proto_line.endswith(".proto='tcp udp'")


def test_dhcp_option_commands_on_an_openwrt_main_router(confdir: Path) -> None:
    script = code(build_instructions(CASES["single"]("openwrt"), "en"), "dhcp.uci")
    shell = Shell(confdir)
    shell.run(script)
    shell.run(script)  # running them twice changes nothing
    lan = Document.parse((confdir / "dhcp").read_text()).section("lan")
    assert lan is not None
    assert lan.get_list("dhcp_option") == ["3,192.168.1.2", "6,192.168.1.2"]


def test_bypass_router_dhcp_is_prepared_off_then_switched_on(confdir: Path) -> None:
    """The commands drive dualnat itself: apply writes the options, bypass_dhcp=1 the
    switch, and revert takes back exactly what dualnat added."""
    (confdir / "dualnat").write_text(
        "config dualnat 'main'\n\toption main_router_vendor 'linksys'\n"
    )
    doc = build_instructions(CASES["single"]("linksys"), "en")
    shell = Shell(confdir)
    shell.run(code(doc, "dhcp.prepare"))
    lan = Document.parse((confdir / "dhcp").read_text()).section("lan")
    assert lan is not None and lan.get("ignore") == "1"
    assert lan.get_list("dhcp_option") == ["3,192.168.1.2", "6,192.168.1.2"]
    shell.run(code(doc, "dhcp.bypass_on"))
    lan = Document.parse((confdir / "dhcp").read_text()).section("lan")
    assert lan is not None and lan.get("ignore") == "0"
    assert main(["--config-dir", str(confdir), "revert"]) == 0
    lan = Document.parse((confdir / "dhcp").read_text()).section("lan")
    assert lan is not None and lan.get("ignore") == "1" and "dualnat_dhcp_option" not in lan.options
