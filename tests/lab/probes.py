"""Client probes: what a host asks for and what it got back."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from netns import Netns

CLIENT = Path(__file__).resolve().parent / "probe_client.py"
TIMEOUT = 2.0


@dataclass(frozen=True)
class Probe:
    """One TCP connection or UDP flow to ``ip:port``, optionally from ``source``.

    A UDP flow exchanges `repeat` datagrams, 0.2 s apart, on one socket.
    """

    proto: str
    ip: IPv4Address
    port: int
    source: IPv4Address | None = None
    repeat: int = 1

    def __str__(self) -> str:
        src = f" from {self.source}" if self.source else ""
        return f"{self.proto} {self.ip}:{self.port}{src}"


@dataclass(frozen=True)
class Answer:
    """The server's answer line (``peer=<ip> port=<n> host=<ip>``) or the client's error."""

    ok: bool
    text: str

    @property
    def fields(self) -> dict[str, str]:
        return dict(w.split("=", 1) for w in self.text.split() if "=" in w) if self.ok else {}

    @property
    def peer(self) -> IPv4Address | None:
        peer = self.fields.get("peer")
        return IPv4Address(peer) if peer else None

    @property
    def host(self) -> IPv4Address | None:
        """The server that answered (its own address)."""
        host = self.fields.get("host")
        return IPv4Address(host) if host else None

    @property
    def port(self) -> int | None:
        port = self.fields.get("port")
        return int(port) if port else None

    def __str__(self) -> str:
        return self.text if self.ok else f"fails ({self.text})"


def run_probes(ns: Netns, probes: Sequence[Probe], timeout: float = TIMEOUT) -> list[Answer]:
    """Run all probes at once from inside `ns`."""
    spec = [
        [p.proto, str(p.ip), p.port, str(p.source) if p.source else None, p.repeat] for p in probes
    ]
    longest = max((p.repeat for p in probes), default=1)
    proc = ns.exec(
        sys.executable, str(CLIENT), str(timeout), json.dumps(spec), timeout=timeout * longest + 20
    )
    return [Answer(bool(a["ok"]), a["text"]) for a in json.loads(proc.stdout)]
