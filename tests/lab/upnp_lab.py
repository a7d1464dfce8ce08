"""A real UPnP IGD on the lab's main router: Debian's miniupnpd (nftables back end).

miniupnpd only fills chains that must exist already (its nft_init.sh creates them); they
live here in their own table, ``inet lab_upnp``, hooked beside the main router's rules.
Settings as OpenWrt ships them: secure mode (a host may map ports only to itself) and
permission rules that allow ports 1024-65535 to the LAN and deny the rest. The lease file
is in the lab's workdir; `reboot` deletes it and empties the chains, as a power cycle of
the main router would.

Also: a fake SSDP responder (`Impostor`) and an extra TCP/UDP server for any namespace.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path

from addresses import LAN, MAIN_BRIDGE, MAIN_LAN_IP, WAN_DEVICE
from netns import LabError, Netns

TABLE = "lab_upnp"
HTTP_PORT = 5000
PERMISSIONS = (
    f"allow 1024-65535 {LAN} 1024-65535",
    "deny 0-65535 0.0.0.0/0 0-65535",
)
HERE = Path(__file__).resolve().parent
START_TIMEOUT = 10.0


def miniupnpd_missing() -> str:
    """Why miniupnpd cannot run here ('' when it can)."""
    if not shutil.which("miniupnpd"):
        return "miniupnpd is not installed (apt-get install miniupnpd-nftables)"
    out = subprocess.run(["miniupnpd", "--version"], capture_output=True, text=True).stdout
    return "" if "nftables" in out else "miniupnpd is not the nftables build"


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a daemon's parent is init, which may
    reap it late)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[0] != "Z"


def chains_script() -> str:
    """The table miniupnpd fills: base chains that jump to its (empty) chains."""
    return "\n".join(
        [
            f"add table inet {TABLE}",
            f"delete table inet {TABLE}",
            f"table inet {TABLE} {{",
            "\tchain forward {",
            "\t\ttype filter hook forward priority filter - 1; policy accept;",
            "\t\tjump miniupnpd",
            "\t}",
            "\tchain miniupnpd {",
            "\t}",
            "\tchain prerouting {",
            "\t\ttype nat hook prerouting priority dstnat - 1; policy accept;",
            "\t\tjump prerouting_miniupnpd",
            "\t}",
            "\tchain prerouting_miniupnpd {",
            "\t}",
            "\tchain postrouting {",
            "\t\ttype nat hook postrouting priority srcnat - 1; policy accept;",
            "\t\tjump postrouting_miniupnpd",
            "\t}",
            "\tchain postrouting_miniupnpd {",
            "\t}",
            "}",
            "",
        ]
    )


class Miniupnpd:
    """miniupnpd in the main router's namespace; use as a context manager."""

    def __init__(self, main: Netns, workdir: Path, name: str = "igd") -> None:
        self.ns = main
        self.workdir = workdir
        self.conf = workdir / f"{name}.conf"
        self.leases = workdir / f"{name}.leases"
        self.pidfile = workdir / f"{name}.pid"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None  # the daemon's

    def config(self) -> str:
        return "\n".join(
            [
                f"ext_ifname={WAN_DEVICE}",
                f"listening_ip={MAIN_BRIDGE}",
                f"http_port={HTTP_PORT}",
                "enable_upnp=yes",
                "enable_natpmp=no",
                "secure_mode=yes",
                "system_uptime=yes",
                f"lease_file={self.leases}",
                f"upnp_table_name={TABLE}",
                f"upnp_nat_table_name={TABLE}",
                "uuid=3f7c2a10-5b1e-4c1d-9a0b-0d0a1ab00001",
                *PERMISSIONS,
                "",
            ]
        )

    def chains(self) -> None:
        """(Re)create miniupnpd's chains, empty."""
        self.ns.nft(chains_script(), self.workdir)

    def start(self) -> None:
        """Start it as a router does: as a daemon (its debug mode, -d, logs every rule
        on every request and is a hundred times slower with 100 mappings), under
        subreaper.py, which stays its parent."""
        if self.proc is not None:
            raise LabError("miniupnpd is already running")
        self.chains()
        self.conf.write_text(self.config())
        self.pidfile.unlink(missing_ok=True)
        reaper = [sys.executable, str(HERE / "subreaper.py")]
        command = ["miniupnpd", "-f", str(self.conf), "-P", str(self.pidfile)]
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns.name, *reaper, *command])
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.pid is None and self.pidfile.exists():
                words = self.pidfile.read_text().split()  # empty until the daemon writes it
                self.pid = int(words[0]) if words and words[0].isdigit() else None
            if self.pid is not None and self._listening():
                return
            time.sleep(0.05)
        self.stop()
        raise LabError("miniupnpd did not start (its HTTP port never opened)")

    def _listening(self) -> bool:
        out = self.ns.exec("ss", "-Hltn", f"sport = :{HTTP_PORT}", check=False).stdout
        return bool(out.strip())

    def stop(self) -> None:
        """SIGTERM the daemon (through its subreaper) and wait until both are gone."""
        if self.proc is None:
            return
        proc, pid, self.proc, self.pid = self.proc, self.pid, None, None
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if pid is not None and running(pid):  # its parent was killed before it
            os.kill(pid, signal.SIGKILL)

    def reboot(self, keep_leases: bool = False) -> None:
        """Stop, forget (lease file and rules, unless `keep_leases`), start again."""
        self.stop()
        if not keep_leases:
            self.leases.unlink(missing_ok=True)
        self.start()

    def cleanup(self) -> None:
        self.stop()
        self.ns.exec("nft", "delete", "table", "inet", TABLE, check=False)

    def location(self) -> str:
        return f"http://{MAIN_LAN_IP}:{HTTP_PORT}/rootDesc.xml"

    def __enter__(self) -> Miniupnpd:
        self.leases.unlink(missing_ok=True)  # a new daemon starts with no mappings
        try:
            self.start()
        except BaseException:
            self.cleanup()  # no daemon left behind for the next test to meet
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class Helper:
    """A small stdlib program in a namespace that says ``ready`` once it listens."""

    def __init__(self, ns: Netns, script: str, args: Sequence[str]) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, sys.executable, "-u", str(HERE / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise LabError(f"{script} in {ns.name} did not start: {line}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def impostor(ns: Netns, iface_ip: IPv4Address, location: str) -> Helper:
    """A fake SSDP responder in `ns` that points every search at `location`."""
    return Helper(ns, "ssdp_impostor.py", [str(iface_ip), location])


def server(ns: Netns, tcp: str = "", udp: str = "") -> Helper:
    """An extra peer server (tests/lab/peer_server.py) in `ns`."""
    return Helper(ns, "peer_server.py", ["--tcp", tcp, "--udp", udp, "--host", ns.name])
