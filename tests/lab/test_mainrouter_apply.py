"""main_router_control 'upnp' end to end, on a real kernel: the bypass router's config
folder applied through dualnat's own apply path and pushed to a real miniupnpd
(nftables back end, secure mode, OpenWrt's permissions: 1024-65535 to the LAN only) on
the lab's main router, then the Internet client connects through both NAT layers with no
rule entered by hand. The daemon's keeper (its pushes forked from the bypass router's
namespace, as the daemon forks them) notices a rebooted main router and renews a lease.

The bypass router's own rules are loaded as the lab loads the uci renderer's (the
firewall4 emulation), from the Site's reload command: `apply_plan` writes
/etc/config/firewall in the folder, then "reloads the firewall".
"""

from __future__ import annotations

import subprocess
import time
from ipaddress import IPv4Address
from typing import Any

import pytest
from addresses import (
    BYPASS_IP,
    INET_CLIENT,
    LAN_DEVICE,
    MAIN_LAN_IP,
    PUBLIC_IP,
    TARGET_RANGE,
    TARGET_VIA_BYPASS,
    TARGET_VIA_MAIN,
    WIRED_CLIENT,
)
from netns_thread import InNetns
from probes import Probe
from routers import apply_dualnat
from topology import Topology
from upnp_lab import Miniupnpd

from dualnat.apply import apply_plan
from dualnat.context import make_plan
from dualnat.mainrouter.control import Result, load_state, push_plan, remove_all
from dualnat.mainrouter.model import Entry, State
from dualnat.mainrouter.present import result_json
from dualnat.mainrouter.upnp import UpnpClient
from dualnat.publicip import DiscoveryError, discover_for
from dualnat.site import Site
from dualnat.ubus.keeper import CHECK_EVERY, Keeper
from dualnat.uci import FileBackend

NETWORK = f"""
config interface 'loopback'
	option device 'lo'
	option proto 'static'
	option ipaddr '127.0.0.1'
	option netmask '255.0.0.0'

config interface 'lan'
	option device '{LAN_DEVICE}'
	option proto 'static'
	option ipaddr '{BYPASS_IP}'
	option netmask '255.255.255.0'
	option gateway '{MAIN_LAN_IP}'
"""
FIREWALL = """
config defaults
	option input 'ACCEPT'
	option output 'ACCEPT'
	option forward 'REJECT'

config zone
	option name 'lan'
	list network 'lan'
	option input 'ACCEPT'
	option output 'ACCEPT'
	option forward 'ACCEPT'
"""
DHCP = """
config dhcp 'lan'
	option interface 'lan'
	option start '100'
	option limit '150'
	option leasetime '12h'
"""
FORWARDS = f"""
config forward 'web'
	option external_port '19000'
	option internal_ip '{TARGET_VIA_BYPASS}'
	option internal_port '9000'

config forward 'voice'
	option proto 'udp'
	option external_port '19001'
	option internal_ip '{TARGET_VIA_BYPASS}'
	option internal_port '9001'

config forward 'game'
	option proto 'tcpudp'
	option external_port '19010-19012'
	option internal_ip '{TARGET_RANGE}'
	option internal_port '9010-9012'

config forward 'legacy'
	option external_port '19020'
	option internal_ip '{TARGET_VIA_MAIN}'
	option internal_port '9020'
	option target_gateway 'main'

config forward 'http'
	option external_port '80'
	option internal_ip '{TARGET_VIA_BYPASS}'
	option internal_port '9080'
"""
# what the Internet client reaches: (proto, public port) → (device, its port, who it sees)
REACHED = {
    ("tcp", 19000): (TARGET_VIA_BYPASS, 9000, INET_CLIENT),
    ("udp", 19001): (TARGET_VIA_BYPASS, 9001, INET_CLIENT),
    ("tcp", 19011): (TARGET_RANGE, 9011, INET_CLIENT),
    ("udp", 19012): (TARGET_RANGE, 9012, INET_CLIENT),
    ("tcp", 19020): (TARGET_VIA_MAIN, 9020, BYPASS_IP),  # its gateway is the main router: SNAT
}


@pytest.fixture
def baseline() -> str:
    return "fw4"  # firewall4 as OpenWrt ships it


class Bypass:
    """The bypass router's config folder and its Site: files written by dualnat's UCI
    writer, the firewall "reloaded" into the namespace by the lab's firewall4 emulation,
    dualnat's calls run in the namespace (their sockets are the bypass router's)."""

    def __init__(self, lab: Topology, netns: InNetns, lease: int = 3600) -> None:
        self.lab, self.netns = lab, netns
        self.dir = lab.workdir / "bypass-config"
        subprocess.run(["rm", "-rf", str(self.dir)], check=True)
        self.dir.mkdir()
        (self.dir / "network").write_text(NETWORK)
        (self.dir / "firewall").write_text(FIREWALL)
        (self.dir / "dhcp").write_text(DHCP)
        settings = (
            "config dualnat 'main'\n"
            "\toption main_router_control 'upnp'\n"
            f"\toption main_router_lease '{lease}'\n"
            "\toption public_address 'auto'\n"
        )
        (self.dir / "dualnat").write_text(settings + FORWARDS)
        self.reloads = 0
        self.site = Site(
            FileBackend(self.dir),
            self.dir / ".dualnat",
            reload_cmd=["lab-firewall-reload"],
            run=self._run,
        )

    def _run(self, cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        """The Site's commands: reloading the firewall loads the plan's rules (and
        sysctls) into the bypass router's namespace, as the lab's uci renderer does."""
        assert cmd == ["lab-firewall-reload"], cmd
        self.reloads += 1
        apply_dualnat(self.lab.bypass, self.lab.workdir, self.plan(), "uci")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    def plan(self) -> Any:
        return make_plan(self.site, with_public=False)

    def apply(self) -> Result:
        """`dualnat apply`: the firewall, then the push (run in the namespace)."""

        def run() -> Result:
            plan = self.plan()
            apply_plan(plan, self.site)
            return push_plan(self.site, plan)

        return self.netns.run(run)

    def push(self) -> Result:
        return self.netns.run(lambda: push_plan(self.site, self.plan()))

    def remove(self) -> Result | None:
        plan = self.plan()
        return self.netns.run(lambda: remove_all(self.site, plan.settings, plan.network))

    def entries(self) -> list[Entry]:
        return self.netns.run(UpnpClient(BYPASS_IP, MAIN_LAN_IP).entries)


def states(result: Result) -> dict[str, State]:
    return {o.forward: o.state for o in result.outcomes}


def reach(lab: Topology) -> list[Any]:
    probes = [Probe(proto, PUBLIC_IP, port) for proto, port in REACHED]
    return lab.probe("inet", probes)


def assert_reached(lab: Topology) -> None:
    for (proto, port), answer in zip(REACHED, reach(lab), strict=True):
        device, device_port, sees = REACHED[(proto, port)]
        assert answer.ok, f"{proto} {PUBLIC_IP}:{port}: {answer}"
        assert (answer.host, answer.port, answer.peer) == (device, device_port, sees), answer


def test_apply_pushes_and_the_internet_reaches_every_forward_above_1023(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(lab, in_bypass)
    assert not any(a.ok for a in reach(lab))  # nothing is forwarded yet
    result = bypass.apply()
    assert bypass.reloads == 1
    assert states(result) == {
        "web": State.ADDED,
        "voice": State.ADDED,
        "game": State.ADDED,
        "legacy": State.ADDED,
        "http": State.FAILED,
    }
    assert_reached(lab)  # through both NAT layers, no rule entered by hand
    # port 80 is refused by the main router's permission rules: failed by name, with why
    # and the steps to enter it by hand (the main router targets the bypass router's 10080)
    data = result_json(result, bypass.plan(), "en")
    (http,) = [f for f in data["forwards"] if f["forward"] == "http"]
    assert http["manual"] and "1024" in http["reason"] and "permission rules" in http["reason"]
    assert [s["id"] for s in http["steps"]] == ["forward.http"]
    fields = {f["id"].rsplit(".", 1)[1]: f["value"] for f in http["steps"][0]["fields"]}
    assert fields["external_port"] == "80" and fields["internal_port"] == "10080"
    zh = result_json(result, bypass.plan(), "zh")
    assert "无法添加" in next(f for f in zh["forwards"] if f["forward"] == "http")["reason"]
    # a second push changes nothing
    before = sorted((e.protocols, e.external, e.tag) for e in bypass.entries())
    again = bypass.push()
    assert {s for n, s in states(again).items() if n != "http"} == {State.IN_PLACE}
    assert not again.report.changed  # type: ignore[union-attr]
    assert sorted((e.protocols, e.external, e.tag) for e in bypass.entries()) == before
    kept = load_state(bypass.site)  # what the daemon and LuCI read
    assert kept is not None and kept.outcomes == again.outcomes and kept.held == again.held


def test_remove_leaves_the_users_own_mapping(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(lab, in_bypass)
    own = [
        "upnpc",
        "-m",
        "eth0",
        "-e",
        "my console",
        "-a",
        str(WIRED_CLIENT),
        "21000",
        "21000",
        "TCP",
    ]
    lab["c60"].exec(*own, timeout=30)
    bypass.apply()
    assert any(e.tag == "my console" for e in bypass.entries())
    removed = bypass.remove()
    assert removed is not None and removed.ok
    assert set(states(removed).values()) == {State.REMOVED}
    left = [(e.external.first, e.tag, e.target_ip) for e in bypass.entries()]
    assert left == [(21000, "my console", WIRED_CLIENT)]
    assert not any(a.ok for a in reach(lab))


def settle(keeper: Keeper, netns: InNetns, timeout: float = 120) -> None:
    """A keeper tick that forks a push (from the namespace), its end, and the tick that
    collects it."""
    netns.run(keeper.tick)
    deadline = time.monotonic() + timeout
    while keeper.job is not None and keeper.job.result() is None:
        assert time.monotonic() < deadline, "the push did not end"
        time.sleep(0.05)
    netns.run(keeper.tick)
    assert keeper.job is None


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def test_the_daemon_notices_a_rebooted_main_router_and_pushes_again(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(lab, in_bypass)
    netns_apply = bypass.netns.run(lambda: apply_plan(bypass.plan(), bypass.site))
    assert netns_apply.changed
    clock = Clock()
    keeper = Keeper(bypass.site, clock=clock)  # ForkedCall: the daemon's own children
    settle(keeper, in_bypass)  # the daemon's first push
    assert keeper.last == "failed"  # http: port 80 is refused
    assert_reached(lab)
    igd.reboot()  # a power cycle: lease file and rules gone
    assert bypass.entries() == [] and not any(a.ok for a in reach(lab))
    clock.now += CHECK_EVERY["upnp"] - 1
    settle(keeper, in_bypass)
    assert bypass.entries() == []  # not yet
    clock.now += 1  # within a minute of the reboot
    settle(keeper, in_bypass)
    assert len([e for e in bypass.entries() if e.ours]) == 9  # game: 3 ports × tcp, udp
    assert_reached(lab)


def test_the_daemon_renews_a_short_lease_before_it_ends(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(lab, in_bypass, lease=30)
    clock = Clock()
    keeper = Keeper(bypass.site, clock=clock)
    settle(keeper, in_bypass)
    first = load_state(bypass.site)
    assert first is not None and {o.lease.requested for o in first.outcomes if o.lease} == {30}
    due = keeper._due - clock.now
    assert 10 <= due <= 16  # at half of what is left, not 45 s later
    time.sleep(due)  # real time: the main router's leases run down
    left = min(e.lease or 0 for e in bypass.entries() if e.ours)
    assert 0 < left < 18
    clock.now += due
    settle(keeper, in_bypass)
    renewed = load_state(bypass.site)
    assert renewed is not None
    web = next(o for o in renewed.outcomes if o.forward == "web")
    assert web.state is State.IN_PLACE and "renewed" in web.reason
    assert min(e.lease or 0 for e in bypass.entries() if e.ours) > left + 5


def test_public_address_auto_is_the_main_routers_answer(
    lab: Topology, igd: Miniupnpd, in_bypass: InNetns
) -> None:
    bypass = Bypass(lab, in_bypass)

    def internet() -> IPv4Address:
        raise DiscoveryError("not asked in the lab")

    found = in_bypass.run(discover_for(bypass.site, internet))
    assert found == PUBLIC_IP
    igd.stop()  # no UPnP: the Internet services are asked, and their failure says both
    with pytest.raises(DiscoveryError, match="main router: no UPnP IGD answered"):
        in_bypass.run(discover_for(bypass.site, internet))
