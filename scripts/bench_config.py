"""The router a benchmark runs against: OpenWrt's default config folder with n forwards.

`router_folder(dest, n)` writes one: tests/fixtures/router with a /19 LAN (room for
5,000 devices), /etc/config/dualnat with n forwards and, unless `applied` is false,
/etc/config/firewall as `dualnat apply` leaves it. `firewall_text(n)` is such a firewall
written out directly (for the parse figures, without planning).
"""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address
from pathlib import Path

from dualnat.model import Forward, PortRange, Proto

ROOT = Path(__file__).resolve().parent.parent


def forwards(n: int) -> tuple[Forward, ...]:
    return tuple(
        Forward(
            f"f{i}",
            Proto.TCPUDP,
            PortRange.single(20000 + i),
            IPv4Address(f"192.168.{i // 250}.{3 + i % 250}"),
            PortRange.single(30000 + i),
        )
        for i in range(n)
    )


def config_text(n: int) -> str:
    lines = ["config dualnat 'main'", "\toption public_address '198.51.100.7'", ""]
    for f in forwards(n):
        lines += [
            f"config forward '{f.name}'",
            "\toption proto 'tcpudp'",
            f"\toption external_port '{f.external_port}'",
            f"\toption internal_ip '{f.internal_ip}'",
            f"\toption internal_port '{f.internal_port}'",
            "",
        ]
    return "\n".join(lines)


def firewall_text(n: int) -> str:
    """/etc/config/firewall as dualnat leaves it with n forwards: OpenWrt's default
    firewall, then per forward the DNAT redirect, the hairpin redirect and its SNAT rule
    in export style, with a comment before every 50 forwards."""
    out = [(ROOT / "tests" / "fixtures" / "router" / "firewall").read_text().rstrip("\n")]
    for i in range(n):
        ip = f"192.168.{i // 250}.{3 + i % 250}"
        ext, port = 20000 + i, 30000 + i
        if i % 50 == 0:
            out.append(f"\n# dualnat forwards {i} to {i + 49} (do not edit by hand)")
        common = f"\toption dest 'lan'\n\toption dest_ip '{ip}'\n\toption dest_port '{port}'\n"
        out.append(
            f"\nconfig redirect 'dualnat_f{i}_dnat'\n\toption name 'dualnat f{i} dnat'\n"
            f"\toption target 'DNAT'\n\toption src 'lan'\n\toption src_dip '192.168.1.2'\n"
            f"\toption src_dport '{ext}'\n{common}\toption proto 'tcp udp'\n"
            f"\toption reflection '0'\n"
            f"\nconfig redirect 'dualnat_f{i}_hairpin'\n\toption name 'dualnat f{i} hairpin'\n"
            f"\toption target 'DNAT'\n\toption src 'lan'\n\toption src_ip '192.168.0.0/19'\n"
            f"\toption src_dip '198.51.100.7'\n\toption src_dport '{ext}'\n{common}"
            f"\toption proto 'tcp udp'\n\toption reflection '0'\n"
            f"\nconfig nat 'dualnat_f{i}_hairpin_snat'\n\toption name 'dualnat f{i} hairpin snat'\n"
            f"\toption src 'lan'\n\toption target 'SNAT'\n\toption src_ip '192.168.0.0/19'\n"
            f"\toption dest_ip '{ip}'\n\toption dest_port '{port}'\n\toption proto 'tcp udp'\n"
            f"\toption snat_ip '192.168.1.2'"
        )
    return "\n".join(out) + "\n"


def router_folder(dest: Path, n: int, *, applied: bool = True) -> Path:
    """A config folder with n forwards (see the module's docstring); returns `dest`."""
    from dualnat.apply import apply_plan
    from dualnat.context import make_plan
    from dualnat.site import Site
    from dualnat.uci import FileBackend

    shutil.copytree(ROOT / "tests" / "fixtures" / "router", dest)
    net = (dest / "network").read_text().replace("255.255.255.0", "255.255.224.0")
    (dest / "network").write_text(net)
    (dest / "dualnat").write_text(config_text(n))
    if applied:
        site = Site(FileBackend(dest), dest.parent / f"{dest.name}.state")
        apply_plan(make_plan(site, resolve=lambda _: None), site)
    return dest
