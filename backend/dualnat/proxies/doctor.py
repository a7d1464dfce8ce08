"""The doctor's view: forwarded flows that a transparent proxy took, from the connection
table and the ruleset. Pure; the doctor (doctor/proxies.py) words the finding and its fix.

What a taken flow looks like in this router's conntrack table (recorded in the lab):
- REDIRECT: the reply tuple comes from the proxy's port on this router, not the device;
- a proxy that saves its mark in conntrack (PassWall): the entry's mark is the proxy's;
- TPROXY: a hairpin connection was DNAT'd to the device but never SNAT'd (the reply goes
  straight back to the client): it was delivered to a local socket, never forwarded;
- TUN: the device's reply left through the proxy: the TCP handshake stalls in SYN_RECV,
  and for UDP this router itself sends to the client's address and port (the proxy
  relaying the device's answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from ..doctor.conntrack import Entry, parse
from .catalog import Capture, Proxy
from .detect import Detected, detect
from .exclude import ForwardFacts


@dataclass(frozen=True)
class Taken:
    """One conntrack entry of a forward that a proxy took."""

    forward: str
    proxy: str  # catalog key, "" when the shape shows capture but not whose
    how: str  # what shows it (evidence, as the doctor's evidence lines: English)
    line: str
    reply: bool = False  # the device's reply was taken (not a hairpin connection)

    @property
    def evidence(self) -> str:
        return f"{self.line.strip()}  <- {self.how}"


@dataclass(frozen=True)
class CaptureFinding:
    """A proxy takes forwarded flows: which forwards, whether the devices' replies too,
    and the conntrack entries that show it."""

    proxy: str
    forwards: tuple[str, ...]
    replies: bool  # the devices' replies are taken (not only hairpin connections)
    evidence: tuple[Taken, ...]


def _match(entry: Entry, forwards: Sequence[ForwardFacts], bypass: str) -> ForwardFacts | None:
    """The forward this entry belongs to (inbound through a relay port, or hairpin)."""
    if entry.orig_dport is None:
        return None
    for fwd in forwards:
        if entry.proto not in fwd.protos:
            continue
        port = entry.orig_dport
        if entry.orig_dst == bypass and any(r.contains(port) for r in fwd.relay_ports):
            return fwd
        if (
            fwd.public_ip is not None
            and fwd.external_ports is not None
            and entry.orig_dst == str(fwd.public_ip)
            and fwd.external_ports.contains(port)
        ):
            return fwd
    return None


def _relay_of(entry: Entry, forwards: Sequence[ForwardFacts], bypass: str) -> ForwardFacts | None:
    """The forward whose device port this router itself connects to (a core relaying)."""
    if entry.orig_src != bypass or entry.orig_dport is None:
        return None
    for fwd in forwards:
        if (
            entry.proto in fwd.protos
            and entry.orig_dst == str(fwd.device)
            and fwd.device_ports.contains(entry.orig_dport)
        ):
            return fwd
    return None


def _marks(proxy: Proxy) -> set[int]:
    return {int(m, 16) for m in proxy.marks}


def _how(
    entry: Entry,
    fwd: ForwardFacts,
    running: Sequence[Detected],
    relayed: set[tuple[str, int]],
) -> tuple[str, str, bool] | None:
    device = str(fwd.device)
    hairpin = fwd.public_ip is not None and entry.orig_dst == str(fwd.public_ip)
    for det in running:
        proxy = det.proxy
        if entry.reply_src != device and entry.reply_sport in proxy.redirect_ports:
            how = f"answered by this router's port {entry.reply_sport} ({proxy.name})"
            return proxy.key, how, not hairpin
        if entry.mark is not None and entry.mark in _marks(proxy):
            return proxy.key, f"carries {proxy.name}'s mark {entry.mark:#x}", not hairpin
    grabbers = [d for d in running if d.live & {Capture.TPROXY, Capture.TUN}]
    whose = grabbers[0].proxy.key if len(grabbers) == 1 else ""
    if hairpin and entry.reply_src == device and entry.reply_dst == entry.orig_src:
        how = "DNAT'd to the device but never SNAT'd: delivered to a local socket (TPROXY)"
        return whose, how, False
    if not grabbers:
        return None
    if (entry.orig_src, entry.orig_sport) in relayed and not hairpin:
        return whose, "the device's reply was sent on from this router (the proxy relayed it)", True
    if entry.proto == "tcp" and entry.state == "SYN_RECV" and entry.reply_src == device:
        return whose, "the device answered but its reply never reached the client (SYN_RECV)", True
    if hairpin and entry.state == "SYN_SENT" and not entry.replied:
        return whose, "the connection never reached the device (taken before the DNAT)", False
    return None


def _relayed(entries: Sequence[Entry], bypass: str) -> set[tuple[str, int]]:
    """Client address:port that this router itself sends UDP to without an answer."""
    return {
        (e.orig_dst, e.orig_dport)
        for e in entries
        if e.proto == "udp" and e.orig_src == bypass and not e.replied and e.orig_dport is not None
    }


def captured_flows(
    conntrack: str,
    ruleset: str,
    forwards: Sequence[ForwardFacts],
    bypass_ip: IPv4Address,
    detected: Sequence[Detected] | None = None,
) -> list[CaptureFinding]:
    """Forwards whose flows a running proxy took, one finding per proxy (from the text of
    /proc/net/nf_conntrack and `nft list ruleset`)."""
    running = [d for d in (detected if detected is not None else detect({}, ruleset)) if d.running]
    return captured_in(parse(conntrack).entries, forwards, bypass_ip, running)


def captured_in(
    entries: Sequence[Entry],
    forwards: Sequence[ForwardFacts],
    bypass_ip: IPv4Address,
    running: Sequence[Detected],
) -> list[CaptureFinding]:
    """The same from parsed conntrack entries and the proxies whose rules are loaded."""
    running = [d for d in running if d.running]
    if not running:
        return []
    bypass = str(bypass_ip)
    relayed = _relayed(entries, bypass)
    taken: list[tuple[Taken, ForwardFacts]] = []
    grabbers = [d.proxy.key for d in running if d.live & {Capture.TPROXY, Capture.TUN}]
    for entry in entries:
        fwd = _relay_of(entry, forwards, bypass)
        if fwd is not None and len(grabbers) == 1:
            how = "this router itself talks to the device's forwarded port (the proxy relays it)"
            taken.append((Taken(fwd.name, grabbers[0], how, entry.line), fwd))
            continue
        fwd = _match(entry, forwards, bypass)
        if fwd is None:
            continue
        found = _how(entry, fwd, running, relayed)
        if found is not None:
            key, how, reply = found
            owner = key or running[0].proxy.key
            taken.append((Taken(fwd.name, owner, how, entry.line, reply), fwd))
    findings = []
    for det in running:
        mine = [(t, f) for t, f in taken if t.proxy == det.proxy.key]
        if not mine:
            continue
        fwds = list({f.name: f for _, f in mine}.values())
        findings.append(
            CaptureFinding(
                proxy=det.proxy.key,
                forwards=tuple(f.name for f in fwds),
                replies=any(t.reply for t, _ in mine),
                evidence=tuple(t for t, _ in mine),
            )
        )
    return findings


__all__ = ["CaptureFinding", "Taken", "captured_flows", "captured_in"]
