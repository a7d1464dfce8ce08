"""Build, reset and tear down the lab: namespaces joined by veth pairs and bridges.

    internet client .10 .11 ─┐   11.0.0.0/24
    internet server .20 ─────┴─ wan switch ─ wan0 .1 [main router] br-lan 192.168.1.1
                                                                    ├─ Wi-Fi client .61
                                                                    └─ lan switch
                                              bypass router lan0 .2 ─┤
                                     targets .50 .51 .52 .53 ────────┤
                                     wired clients .60 .62 ──────────┘

The switches are bridges without netfilter; the Wi-Fi client hangs off the main router's
own br-lan (on real routers Wi-Fi passes through the CPU, wired ports through a switch chip).
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from ipaddress import IPv4Address
from pathlib import Path

from addresses import (
    BYPASS_IP,
    BYPASS_SERVICE_PORT,
    BYPASS_SERVICE_TEXT,
    HOSTS,
    LAN,
    LAN_DEVICE,
    MAIN_BRIDGE,
    MAIN_LAN_IP,
    PUBLIC_IP,
    UNROUTED,
    WAN,
    WAN_DEVICE,
    Host,
)
from netns import LabError, Netns, run
from probes import Answer, Probe, run_probes
from routers import DEFAULT_BASELINE, load_bypass_baseline, load_main_router

SERVER = Path(__file__).resolve().parent / "peer_server.py"
BRIDGE_NF = "net.bridge.bridge-nf-call-iptables"
# Restored before every test (new namespaces inherit the host's values). Routers keep
# Linux's defaults. End hosts ignore ICMP redirects unless a scenario turns them on:
# Linux hosts take a redirect to any on-link gateway by default (shared_media=1 overrides
# secure_redirects), which would let redirect timing, not NAT, decide some results.
ROUTER_DEFAULTS = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.accept_redirects": 1,
    "net.ipv4.conf.all.secure_redirects": 1,
    "net.ipv4.conf.all.send_redirects": 1,
    "net.ipv4.conf.all.rp_filter": 0,
}
HOST_DEFAULTS = {
    "net.ipv4.conf.all.accept_redirects": 0,
    "net.ipv4.conf.default.accept_redirects": 0,
    "net.ipv4.conf.all.secure_redirects": 1,
    "net.ipv4.conf.all.rp_filter": 0,
}
HOST_ROLES = frozenset(h.role for h in HOSTS)


def bridge_netfilter_available() -> bool:
    """br_netfilter is loaded or built in (its sysctls exist)."""
    path = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if not path.exists() and shutil.which("modprobe"):
        run(["modprobe", "br_netfilter"], check=False)
    return path.exists()


class Topology:
    """The lab network. Use as a context manager: it always tears down what it built."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or f"dnl{os.getpid():x}{secrets.token_hex(2)}-"
        self.workdir = Path(tempfile.gettempdir()) / f"{self.prefix}files"
        self.ns: dict[str, Netns] = {}
        self.procs: list[subprocess.Popen[str]] = []
        self.bridge_nf = bridge_netfilter_available()
        self.lan_device = LAN_DEVICE
        self.baseline = DEFAULT_BASELINE  # routers.BASELINES: the bypass router's firewall
        self._spare = (LAN[n] for n in range(200, 250))

    # -- the pieces ---------------------------------------------------------------------

    @property
    def main(self) -> Netns:
        return self.ns["main"]

    @property
    def bypass(self) -> Netns:
        return self.ns["bypass"]

    def __getitem__(self, role: str) -> Netns:
        return self.ns[role]

    def __enter__(self) -> Topology:
        try:
            self.build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    # -- build --------------------------------------------------------------------------

    def _add_ns(self, role: str) -> Netns:
        ns = Netns(self.prefix + role)
        run(["ip", "netns", "add", ns.name])
        self.ns[role] = ns
        ns.ip("link", "set", "lo", "up")
        settings: dict[str, str | int] = {
            "net.ipv6.conf.all.disable_ipv6": 1,
            "net.ipv6.conf.default.disable_ipv6": 1,
            "net.ipv4.conf.default.rp_filter": 0,
            **(HOST_DEFAULTS if role in HOST_ROLES else ROUTER_DEFAULTS),
        }
        if self.bridge_nf:  # new namespaces start with bridge-nf-call-iptables=1
            settings[BRIDGE_NF] = 0
            settings["net.bridge.bridge-nf-call-arptables"] = 0
        ns.sysctl(settings)
        return ns

    def _veth(self, a: Netns, a_name: str, b: Netns, b_name: str) -> None:
        run(
            [
                "ip",
                "link",
                "add",
                a_name,
                "netns",
                a.name,
                "type",
                "veth",
                "peer",
                "name",
                b_name,
                "netns",
                b.name,
            ]
        )
        a.ip("link", "set", a_name, "up")
        b.ip("link", "set", b_name, "up")

    @staticmethod
    def _bridge(ns: Netns, name: str) -> None:
        ns.ip("link", "add", name, "type", "bridge", "stp_state", "0")
        ns.ip("link", "set", name, "up")

    @staticmethod
    def _port(ns: Netns, port: str, bridge: str) -> None:
        ns.ip("link", "set", port, "master", bridge)

    def build(self) -> None:
        self.workdir.mkdir(mode=0o700)
        wan, main, sw, bypass = (self._add_ns(r) for r in ("wan", "main", "sw", "bypass"))
        self._bridge(wan, "br0")
        self._bridge(sw, "br0")
        self._bridge(main, MAIN_BRIDGE)
        self._veth(main, WAN_DEVICE, wan, "p-main")
        self._port(wan, "p-main", "br0")
        self._veth(main, "sw0", sw, "p-main")
        self._port(main, "sw0", MAIN_BRIDGE)
        self._port(sw, "p-main", "br0")
        self._veth(bypass, LAN_DEVICE, sw, "p-bypass")
        self._port(sw, "p-bypass", "br0")
        main.ip("addr", "add", f"{PUBLIC_IP}/{WAN.prefixlen}", "dev", WAN_DEVICE)
        main.ip("addr", "add", f"{MAIN_LAN_IP}/{LAN.prefixlen}", "dev", MAIN_BRIDGE)
        bypass.ip("addr", "add", f"{BYPASS_IP}/{LAN.prefixlen}", "dev", LAN_DEVICE)
        bypass.ip("route", "add", "default", "via", str(MAIN_LAN_IP))
        for host in HOSTS:
            self._add_host(host)
        self.reset()
        self._start(bypass, "--tcp", str(BYPASS_SERVICE_PORT), "--text", BYPASS_SERVICE_TEXT)
        for host in HOSTS:
            if host.tcp or host.udp:
                self._start(
                    self.ns[host.role],
                    "--tcp",
                    host.tcp,
                    "--udp",
                    host.udp,
                    "--host",
                    str(host.addresses[0]),
                )

    def _add_host(self, host: Host) -> None:
        ns = self._add_ns(host.role)
        port = f"p-{host.role}"
        if host.segment == "wifi":
            self._veth(ns, "eth0", self.main, port)
            self._port(self.main, port, MAIN_BRIDGE)
        else:
            switch = self.ns["wan" if host.segment == "wan" else "sw"]
            self._veth(ns, "eth0", switch, port)
            self._port(switch, port, "br0")
        prefix = WAN.prefixlen if host.segment == "wan" else LAN.prefixlen
        for addr in host.addresses:
            ns.ip("addr", "add", f"{addr}/{prefix}", "dev", "eth0")
        ns.ip("route", "add", "default", "via", str(host.gateway))
        if host.segment == "wan":
            for net in UNROUTED:
                ns.ip("route", "add", "unreachable", net)

    def _start(self, ns: Netns, *args: str) -> None:
        """Start a peer server in `ns` and wait until it has bound every port."""
        log_path = self.workdir / f"{ns.name}.server.log"
        with open(log_path, "a") as log:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns.name, sys.executable, "-u", str(SERVER), *args],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.procs.append(proc)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        if not ready or proc.stdout.readline().strip() != "ready":
            raise LabError(f"peer server in {ns.name} did not start: {log_path.read_text()}")

    # -- between tests ------------------------------------------------------------------

    def reset(self) -> None:
        """Baseline rules and sysctls, empty conntrack, neighbour and route caches."""
        load_main_router(self.main, self.workdir)
        load_bypass_baseline(self.bypass, self.workdir, self.baseline, self.lan_device)
        with ThreadPoolExecutor(max_workers=len(self.ns)) as pool:
            for future in [pool.submit(self._reset_ns, r, ns) for r, ns in self.ns.items()]:
                future.result()

    def _reset_ns(self, role: str, ns: Netns) -> None:
        settings: dict[str, str | int] = dict(
            HOST_DEFAULTS if role in HOST_ROLES else ROUTER_DEFAULTS
        )
        if role in HOST_ROLES:
            settings["net.ipv4.conf.eth0.accept_redirects"] = 0
            settings["net.ipv4.conf.eth0.secure_redirects"] = 1
        if self.bridge_nf:
            settings[BRIDGE_NF] = 0
        if role == "bypass":
            settings[f"net/ipv4/conf/{self.lan_device}/send_redirects"] = 1
        assignments = " ".join(f"{k}={v}" for k, v in settings.items())
        ns.sh(
            f"sysctl -q -w {assignments} && {{ conntrack -F >/dev/null 2>&1; "
            "ip neigh flush all; ip route flush cache; }"
        )

    def use_baseline(self, name: str) -> None:
        """Give the bypass router another firewall baseline (loaded now if it changes, and
        at every reset)."""
        if name != self.baseline:
            self.baseline = name
            self.reset()

    def fresh_address(self, role: str) -> IPv4Address:
        """Give a LAN host one more address, never used before in this topology."""
        addr = next(self._spare)
        self.ns[role].ip("addr", "add", f"{addr}/{LAN.prefixlen}", "dev", "eth0")
        return addr

    @contextmanager
    def lan_device_named(self, name: str) -> Iterator[None]:
        """Rename the bypass router's LAN interface for a while (e.g. to 'eth0.1')."""
        self._rename_lan(name)
        try:
            yield
        finally:
            self._rename_lan(LAN_DEVICE)

    def _rename_lan(self, name: str) -> None:
        if name == self.lan_device:
            return
        bypass = self.bypass
        bypass.ip("link", "set", self.lan_device, "down")
        bypass.ip("link", "set", self.lan_device, "name", name)
        bypass.ip("link", "set", name, "up")
        bypass.ip("route", "replace", "default", "via", str(MAIN_LAN_IP), "dev", name)
        self.lan_device = name

    def probe(self, role: str, probes: Sequence[Probe]) -> list[Answer]:
        """Run probes from the host `role` (all at once)."""
        return run_probes(self.ns[role], probes)

    def probe_many(self, jobs: Sequence[tuple[str, Sequence[Probe]]]) -> list[list[Answer]]:
        """Probes from several hosts, all at the same time; answers in the same order."""
        with ThreadPoolExecutor(max_workers=len(jobs) or 1) as pool:
            futures = [pool.submit(self.probe, role, probes) for role, probes in jobs]
            return [f.result() for f in futures]

    # -- teardown -----------------------------------------------------------------------

    def teardown(self) -> None:
        """Stop every server, delete every namespace (and so every link), remove files."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3)
            if proc.stdout:
                proc.stdout.close()
        self.procs.clear()
        errors = []
        for ns in reversed(list(self.ns.values())):
            for pid in run(["ip", "netns", "pids", ns.name], check=False).stdout.split():
                with suppress(ProcessLookupError):
                    os.kill(int(pid), 9)  # only ever processes started in our namespaces
            proc = run(["ip", "netns", "del", ns.name], check=False)
            if proc.returncode != 0:
                errors.append(proc.stderr.strip())
        self.ns.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise LabError("teardown left namespaces behind: " + "; ".join(errors))

    def leftovers(self) -> list[str]:
        """Namespaces of this topology that still exist."""
        names = run(["ip", "netns", "list"]).stdout.split("\n")
        return [n.split()[0] for n in names if n.startswith(self.prefix)]
