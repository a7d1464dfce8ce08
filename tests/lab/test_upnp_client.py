"""dualnat's UPnP client, run in the bypass router's namespace, against a real miniupnpd
(nftables, secure mode, OpenWrt-like permissions) on the lab's main router."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from addresses import BYPASS_IP, INET_CLIENT, MAIN_LAN_IP, PUBLIC_IP, WIRED_CLIENT
from gate import unavailable
from netns_thread import InNetns
from probes import Probe
from topology import Topology
from upnp_lab import Miniupnpd, impostor, miniupnpd_missing, running, server

from dualnat.mainrouter import ssdp
from dualnat.mainrouter.errors import RouterError
from dualnat.mainrouter.model import Entry, State, expand
from dualnat.mainrouter.push import Report, push, remove
from dualnat.mainrouter.upnp import SERVICE_TYPES, UpnpClient
from dualnat.model import PortRange
from dualnat.plan import MainRouterForward

T = TypeVar("T")


def fwd(name: str, ext: str, proto: str = "tcp", target: str | None = None) -> MainRouterForward:
    return MainRouterForward(
        name, proto, PortRange.parse(ext), BYPASS_IP, PortRange.parse(target or ext)
    )


class Bypass:
    """The bypass router's side: runs calls in its namespace with one UPnP client."""

    def __init__(self, netns: InNetns, lease: int = 0) -> None:
        self.netns = netns
        self.client = UpnpClient(BYPASS_IP, MAIN_LAN_IP, lease=lease)

    def run(self, fn: Callable[..., T], *args: object, **kw: object) -> T:
        return self.netns.run(fn, *args, **kw)

    def push(self, forwards: list[MainRouterForward], **kw: object) -> Report:
        return self.run(push, self.client, forwards, **kw)

    def entries(self) -> list[Entry]:
        return self.run(self.client.entries)

    def states(self, forwards: list[MainRouterForward], **kw: object) -> dict[str, State]:
        return {o.forward: o.state for o in self.push(forwards, **kw).outcomes}


def upnpc(lab: Topology, role: str, device: str, *args: str) -> str:
    """The miniupnpc command-line client, as a LAN user runs it."""
    return lab[role].exec("upnpc", "-m", device, *args, timeout=30).stdout


def test_discovery_takes_the_main_routers_answer_only(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    own = "http://192.168.1.2:5000/rootDesc.xml"  # the bypass router's own UPnP service
    spoof = "http://192.168.1.1:5000/fake.xml"  # another LAN host naming the main router
    with impostor(lab.bypass, BYPASS_IP, own), impostor(lab["c60"], WIRED_CLIENT, spoof):
        answers = in_bypass.run(lambda: list(ssdp.search(BYPASS_IP, MAIN_LAN_IP, 1.5)))
        seen = {(a.sender, a.location) for a in answers}
        assert (BYPASS_IP, own) in seen and (WIRED_CLIENT, spoof) in seen  # they did answer
        assert (MAIN_LAN_IP, igd.location()) in seen
        found = Bypass(in_bypass).run(UpnpClient(BYPASS_IP, MAIN_LAN_IP).discover)
        assert found.location == igd.location()
        assert found.service in SERVICE_TYPES
        assert found.control_url.startswith(f"http://{MAIN_LAN_IP}:")
        # without the main router's IGD, the impostors are not taken instead
        igd.stop()
        with pytest.raises(RouterError, match="no UPnP IGD answered") as err:
            in_bypass.run(UpnpClient(BYPASS_IP, MAIN_LAN_IP, discovery_timeout=1.5).discover)
        assert err.value.manual and err.value.unreachable


def test_external_address_is_the_main_routers_wan_address(
    igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(in_bypass)
    assert bypass.run(bypass.client.external_address) == PUBLIC_IP


def test_push_maps_the_ports_and_the_internet_reaches_the_bypass_router(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(in_bypass)
    forwards = [
        fwd("web", "19000", "tcp", "29000"),
        fwd("voice", "19001", "udp"),
        fwd("game", "19010-19012", "tcpudp"),
    ]
    with server(lab.bypass, tcp="29000,19010-19012", udp="19001,19010-19012"):
        assert bypass.states(forwards) == dict.fromkeys(["web", "voice", "game"], State.ADDED)
        mine = sorted((e.protocols[0], e.external.first) for e in bypass.entries() if e.ours)
        assert mine == sorted(
            [("tcp", 19000), ("udp", 19001)]
            + [(p, n) for p in ("tcp", "udp") for n in (19010, 19011, 19012)]
        )
        assert {e.tag for e in bypass.entries()} == {"dualnat web", "dualnat voice", "dualnat game"}
        probes = [Probe("tcp", PUBLIC_IP, 19000), Probe("udp", PUBLIC_IP, 19001)]
        probes += [Probe(p, PUBLIC_IP, 19011) for p in ("tcp", "udp")]
        for answer, port in zip(
            lab.probe("inet", probes), (29000, 19001, 19011, 19011), strict=True
        ):
            assert answer.ok, answer
            assert answer.peer == INET_CLIENT and answer.port == port
            assert answer.fields["host"] == lab.bypass.name
        # a second push changes nothing
        before = bypass.entries()
        assert set(bypass.states(forwards).values()) == {State.IN_PLACE}
        assert [(e.protocols, e.external, e.tag) for e in bypass.entries()] == [
            (e.protocols, e.external, e.tag) for e in before
        ]
        assert set(bypass.states([]).values()) == {State.REMOVED}
        assert bypass.entries() == []
        assert not lab.probe("inet", [Probe("tcp", PUBLIC_IP, 19000)])[0].ok


def test_port_80_is_refused_with_606_and_says_why(igd: Miniupnpd, in_bypass: InNetns) -> None:
    bypass = Bypass(in_bypass)
    http, ok = bypass.push([fwd("http", "80", "tcp", "19080"), fwd("ok", "19081")]).outcomes
    assert http.state is State.FAILED and http.manual
    assert "permission rules" in http.reason and "1024" in http.reason
    assert ok.state is State.ADDED  # one refused forward fails alone
    (want,) = expand(fwd("http", "80", "tcp", "19080"), UpnpClient.shape)
    with pytest.raises(RouterError) as err:
        bypass.run(bypass.client.add, want)
    assert err.value.code == "606"


def test_a_users_own_mapping_is_a_conflict_and_survives_remove(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    upnpc(
        lab, "c60", "eth0", "-e", "game console", "-a", str(WIRED_CLIENT), "20000", "20000", "TCP"
    )
    upnpc(lab, "bypass", "lan0", "-e", "bypass app", "-a", str(BYPASS_IP), "20001", "20001", "TCP")
    bypass = Bypass(in_bypass)
    console, app, ok = bypass.push(
        [fwd("console", "20000"), fwd("app", "20001"), fwd("ok", "20002")]
    ).outcomes
    assert console.state is State.FAILED and console.manual
    assert f"'game console' → {WIRED_CLIENT}:20000" in console.reason
    # the bypass router's own app: AddPortMapping would succeed and keep its description
    assert app.state is State.FAILED and "'bypass app'" in app.reason
    assert ok.state is State.ADDED
    # asked directly (as if the user's mapping appeared after the listing): refused too
    (want,) = expand(fwd("app", "20001"), UpnpClient.shape)
    with pytest.raises(RouterError, match="'bypass app'"):
        bypass.run(bypass.client.add, want)
    assert set(o.state for o in bypass.run(remove, bypass.client).outcomes) == {State.REMOVED}
    left = {(e.external.first, e.tag, e.target_ip) for e in bypass.entries()}
    assert left == {(20000, "game console", WIRED_CLIENT), (20001, "bypass app", BYPASS_IP)}


def test_a_short_lease_expires_and_pushing_again_renews(igd: Miniupnpd, in_bypass: InNetns) -> None:
    short = Bypass(in_bypass, lease=3)
    forwards = [fwd("web", "19000")]
    (web,) = short.push(forwards).outcomes
    assert web.state is State.ADDED and web.lease and web.lease.requested == 3
    deadline = time.monotonic() + 20
    while short.entries() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert short.entries() == []  # expired on the router
    assert short.states(forwards) == {"web": State.ADDED}
    # renewed before it ends: the lease starts again and the mapping never goes away
    longer, later = Bypass(in_bypass, lease=8), [fwd("later", "19002")]
    assert longer.states(later)["later"] is State.ADDED  # (and web goes)
    time.sleep(3)
    (left,) = [e for e in longer.entries() if e.tag == "dualnat later"]
    assert left.lease is not None and left.lease <= 6
    (out,) = longer.push(later, renew_below=7).outcomes
    assert out.state is State.IN_PLACE and "renewed" in out.reason
    (renewed,) = [e for e in longer.entries() if e.external.first == 19002]
    assert renewed.lease is not None and renewed.lease > left.lease
    assert renewed.tag == "dualnat later"


def test_a_rebooted_main_router_has_forgotten_the_mappings(
    igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(in_bypass)
    forwards = [fwd("web", "19000"), fwd("voice", "19001", "udp")]
    assert set(bypass.states(forwards).values()) == {State.ADDED}
    igd.reboot(keep_leases=True)  # miniupnpd restarted: its lease file brings them back
    assert set(bypass.states(forwards).values()) == {State.IN_PLACE}
    igd.reboot()  # lease file gone, rules gone: a power cycle
    assert bypass.entries() == []
    assert set(bypass.states(forwards).values()) == {State.ADDED}  # what a daemon would see


def test_miniupnpd_leaves_nothing_behind(lab: Topology) -> None:
    if miniupnpd_missing():
        unavailable(miniupnpd_missing())
    with Miniupnpd(lab.main, lab.workdir) as daemon:
        pid = daemon.pid
        assert pid is not None and running(pid)
    assert daemon.pid is None and not running(pid)
    assert "lab_upnp" not in lab.main.ruleset()
