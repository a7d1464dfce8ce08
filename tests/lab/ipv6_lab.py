"""IPv6 in the lab, added to a topology of its own (the IPv4 lab stays as it is).

The main router routes an Internet prefix on its WAN and announces the LAN prefix with
real router advertisements (Debian's radvd on br-lan); the hosts take EUI-64 addresses
and the main router as IPv6 gateway by SLAAC, the bypass router too (accept_ra 2, as a
router). So IPv6 from the Internet goes main router → device directly; the bypass router
stays the devices' IPv4 gateway only. The main router's filter has firewall4's shape for
the wan zone: established and related accepted, new inbound forwarded traffic jumps to
`forward_wan` (the traffic rules) and is rejected at its end.

    Internet client 2001:db8:ff::10 ─┐
    Internet server 2001:db8:ff::20 ─┴─ wan0 2001:db8:ff::1 [main router] br-lan
                                       radvd: 2001:db8:1:1::/64 (later 2001:db8:1:2::/64)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from addresses import MAIN_BRIDGE, WAN_DEVICE
from netns import Netns
from routers import main_router_script
from topology import SERVER, Topology

from dualnat.site import Site
from dualnat.uci import FileBackend

WAN6 = IPv6Network("2001:db8:ff::/64")
MAIN_WAN6 = IPv6Address("2001:db8:ff::1")
HOST6 = {"inet": IPv6Address("2001:db8:ff::10"), "isrv": IPv6Address("2001:db8:ff::20")}
PREFIX1 = IPv6Network("2001:db8:1:1::/64")
PREFIX2 = IPv6Network("2001:db8:1:2::/64")
SERVICE6 = 9443  # the devices' IPv6 service (TCP, every address)
INTERNET6 = 9100  # the Internet server's IPv6 service
ROUTERS = ("main", "bypass")


def radvd_missing() -> str | None:
    """radvd (the main router's advertisements) and ping (the instructions' command that
    fills the bypass router's neighbour table) are needed."""
    missing = [t for t in ("radvd", "ping") if not shutil.which(t)]
    return f"not installed (scripts/setup): {', '.join(missing)}" if missing else None


def _devices(ns: Netns) -> list[str]:
    out = ns.exec("ip", "-o", "link", "show").stdout
    return [line.split(": ")[1].split("@")[0] for line in out.splitlines() if ": " in line]


def enable(topo: Topology) -> None:
    """IPv6 on: every namespace's devices (no duplicate address detection, to be quick),
    forwarding on the routers, router advertisements accepted by the bypass router too,
    the WAN addresses and the main router's first LAN prefix; radvd announces it."""
    for role, ns in topo.ns.items():
        values: dict[str, str | int] = {
            "net.ipv6.conf.all.disable_ipv6": 0,
            "net.ipv6.conf.default.disable_ipv6": 0,
        }
        for dev in _devices(ns):
            values[f"net.ipv6.conf.{dev}.disable_ipv6"] = 0
            values[f"net.ipv6.conf.{dev}.accept_dad"] = 0
        if role in ROUTERS:
            values["net.ipv6.conf.all.forwarding"] = 1
        ns.sysctl(values)
    topo.bypass.sysctl({f"net.ipv6.conf.{topo.lan_device}.accept_ra": 2})
    for role in ("wan", "sw", "main"):
        for bridge in ("br0", MAIN_BRIDGE):
            if bridge in _devices(topo.ns[role]):  # multicast to every port (RA, NS)
                topo.ns[role].ip("link", "set", bridge, "type", "bridge", "mcast_snooping", "0")
    topo.main.ip("addr", "add", f"{MAIN_WAN6}/64", "dev", WAN_DEVICE)
    for role, addr in HOST6.items():
        topo.ns[role].ip("addr", "add", f"{addr}/64", "dev", "eth0")
        topo.ns[role].ip("-6", "route", "add", "default", "via", str(MAIN_WAN6))
    announce(topo, PREFIX1)


def announce(topo: Topology, prefix: IPv6Network, old: IPv6Network | None = None) -> None:
    """The main router routes `prefix` on br-lan and radvd announces it (and `old`, if
    given, with lifetimes of 0: renumbering, as a new prefix from the provider)."""
    topo.main.ip("addr", "add", f"{prefix[1]}/64", "dev", MAIN_BRIDGE)
    blocks = [_prefix_block(prefix, 86400, 14400)]
    if old is not None:
        blocks.append(_prefix_block(old, 0, 0))
    conf = topo.workdir / "radvd.conf"
    conf.write_text(
        f"interface {MAIN_BRIDGE} {{\n\tAdvSendAdvert on;\n\tMinRtrAdvInterval 3;\n"
        f"\tMaxRtrAdvInterval 4;\n{''.join(blocks)}}};\n"
    )
    pidfile = topo.workdir / "radvd.pid"
    for proc in [p for p in topo.procs if getattr(p, "radvd", False)]:
        proc.terminate()
        proc.wait(timeout=5)
        topo.procs.remove(proc)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", topo.main.name, "radvd", "-n", "-C", str(conf), "-p",
         str(pidfile), "-u", "root", "-m", "stderr"],
        stdout=subprocess.DEVNULL,
        stderr=open(topo.workdir / "radvd.log", "a"),  # noqa: SIM115 (kept with the process)
    )  # fmt: skip
    proc.radvd = True  # type: ignore[attr-defined]
    topo.procs.append(proc)


def _prefix_block(prefix: IPv6Network, valid: int, preferred: int) -> str:
    return (
        f"\tprefix {prefix} {{\n\t\tAdvOnLink on;\n\t\tAdvAutonomous on;\n"
        f"\t\tAdvValidLifetime {valid};\n\t\tAdvPreferredLifetime {preferred};\n\t}};\n"
    )


def global_addresses(ns: Netns, dev: str = "eth0") -> list[IPv6Address]:
    out = ns.exec("ip", "-6", "addr", "show", "dev", dev, "scope", "global").stdout
    return [IPv6Address(w.split()[1].split("/")[0]) for w in out.splitlines() if "inet6" in w]


def wait_for(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def in_prefix(ns: Netns, prefix: IPv6Network, dev: str = "eth0") -> IPv6Address | None:
    return next((a for a in global_addresses(ns, dev) if a in prefix), None)


def mac(ns: Netns, dev: str = "eth0") -> str:
    return ns.exec("cat", f"/sys/class/net/{dev}/address").stdout.strip()


def start_servers(topo: Topology, roles: Sequence[str]) -> None:
    """An IPv6 TCP service on each of `roles` (the devices' port, the Internet server's)."""
    for role in roles:
        port = INTERNET6 if role == "isrv" else SERVICE6
        topo._start(topo.ns[role], "--tcp6", str(port), "--host", f"{role}-v6")


def attempt(ns: Netns, address: str, port: int, timeout: float = 2.0) -> tuple[str | None, str]:
    """A TCP connection from `ns`: (the first line the server sends, or None; the error,
    or "")."""
    code = (
        "import socket,sys\n"
        "try:\n"
        f"    s=socket.create_connection(({address!r},{port}),timeout={timeout})\n"
        "    print(s.makefile().readline().strip())\n"
        "except OSError as e:\n"
        "    print('ERR', e)\n"
    )
    out = ns.exec(sys.executable, "-c", code, check=False, timeout=timeout + 5).stdout.strip()
    if out.startswith("ERR") or not out:
        return None, out.removeprefix("ERR ") or "no output"
    return out, ""


def connect(ns: Netns, address: str, port: int, timeout: float = 2.0) -> str | None:
    """A TCP connection from `ns`: the first line the server sends, or None (refused,
    rejected or no answer)."""
    return attempt(ns, address, port, timeout)[0]


def counter(topo: Topology, chain: str) -> int:
    """The packets counted so far by the first counter of the main router's `chain`."""
    out = topo.main.exec("nft", "list", "chain", "inet", "lab_main", chain).stdout
    for line in out.splitlines():
        words = line.split()
        if "counter" in words and "packets" in words:
            return int(words[words.index("packets") + 1])
    raise AssertionError(f"no counter in {chain}:\n{out}")


def fw4_rule(options: dict[str, str]) -> list[str]:
    """A `config rule` (src wan, dest lan, target ACCEPT) as firewall4's rule template
    renders it into `forward_wan`: one rule per protocol, the destination address (a
    negative prefix length is a mask on the last bits: ``ip6 daddr & <mask> == <addr>``),
    the port, counter, the jump to accept_to_lan and the comment. Only what dualnat's
    pinholes use; anything else is refused."""
    known = {"name", "src", "dest", "family", "proto", "dest_ip", "dest_port", "target", "enabled"}
    assert set(options) <= known and options["src"] == "wan" and options["dest"] == "lan"
    assert options.get("enabled", "1") == "1", options
    assert options["family"] == "ipv6" and options["target"] == "ACCEPT", options
    address, _, bits = options["dest_ip"].partition("/")
    if bits.startswith("-"):
        mask = IPv6Address((1 << int(bits[1:])) - 1)
        daddr = f"ip6 daddr & {mask} == {IPv6Address(address)}"
    else:
        daddr = f"ip6 daddr {IPv6Network(options['dest_ip'], strict=False)}".removesuffix("/128")
    port = options["dest_port"]
    return [
        f'{daddr} {proto} dport {port} counter jump accept_to_lan comment "!fw4: {options["name"]}"'
        for proto in options["proto"].split()
    ]


def uci_rules(code: str) -> list[dict[str, str]]:
    """The `config rule` sections that a block of `uci add firewall rule` / `uci set
    firewall.@rule[-1].x='v'` commands makes (as the instructions print them)."""
    rules: list[dict[str, str]] = []
    for line in code.splitlines():
        if line == "uci add firewall rule":
            rules.append({})
        elif line.startswith("uci set firewall.@rule[-1]."):
            key, _, value = line.removeprefix("uci set firewall.@rule[-1].").partition("=")
            rules[-1][key] = value.strip("'")
    return rules


def full_address_rule(address: str, proto: str, port: str, name: str) -> list[str]:
    """A router that takes only a full address (Linksys): the equivalent nft rule."""
    return [f'ip6 daddr {address} {p} dport {port} counter accept comment "{name}"' for p in proto]


def entered_rules(
    fields: dict[str, str], protocols: Sequence[str], sep: str, prefix: IPv6Network
) -> list[str]:
    """What a main router makes of the IPv6 form as filled in (`fields`: the values of the
    instructions' alias and rule steps by field key), in the lab's wan zone: a suffix
    match (``::<suffix>/-64``) masks the last 64 bits; a Dynamic IPv6 Host alias stands
    for the LAN's current `prefix` plus its content (the suffix); else the full address."""
    dest, port = fields["dest_ip"], fields["dest_port"].replace(sep, "-")
    address, _, bits = dest.partition("/")
    if bits.startswith("-"):
        mask = IPv6Address((1 << int(bits[1:])) - 1)
        daddr = f"ip6 daddr & {mask} == {IPv6Address(address)}"
    elif dest == fields.get("alias_name"):
        suffix = IPv6Address(fields["alias_content"])
        daddr = f"ip6 daddr {IPv6Address(int(prefix.network_address) | int(suffix))}"
    else:
        daddr = f"ip6 daddr {IPv6Address(dest)}"
    return [f"{daddr} {p} dport {port} counter jump accept_to_lan" for p in protocols]


def load_main_firewall(topo: Topology, wan_rules: Sequence[str]) -> None:
    """The main router's IPv4 NAT and filter as the lab has them, plus the wan zone's
    traffic rules (`wan_rules`) and its REJECT for new inbound forwarded traffic."""
    topo.main.nft(main_router_script(wan_forward=wan_rules), topo.workdir)


NETWORK = """config interface 'lan'
\toption device '{device}'
\toption proto 'static'
\toption ipaddr '192.168.1.2'
\toption netmask '255.255.255.0'
\toption gateway '192.168.1.1'
"""
FIREWALL = """config defaults
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'REJECT'

config zone
\toption name 'lan'
\tlist network 'lan'
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'ACCEPT'
"""
DHCP = "config dhcp 'lan'\n\toption interface 'lan'\n\toption ignore '1'\n\toption ra 'disabled'\n"


def bypass_site(topo: Topology, dualnat: str) -> Site:
    """The bypass router's config folder, read as on the router: its commands (`ip`,
    `nft list ruleset`) run in the bypass router's namespace."""
    folder = topo.workdir / "bypass6"
    folder.mkdir(exist_ok=True)
    (folder / "network").write_text(NETWORK.format(device=topo.lan_device))
    (folder / "firewall").write_text(FIREWALL)
    (folder / "dhcp").write_text(DHCP)
    (folder / "dualnat").write_text(dualnat)

    def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", topo.bypass.name, *argv], **kw)

    return Site(FileBackend(folder), folder / ".dualnat", run=run, system=True)


__all__ = ["SERVER", "Path"]
