"""`dualnat test` proven on a real kernel: every failure mode the live test claims to
recognise is produced in the lab (the packets really fail), on each baseline of the bypass
router's firewall, while the daemon's own live tests (forked from the bypass router's
namespace, reading its connection table and ruleset) watch; each test's verdict must
name it, and a working forward must be called working. The probes say what really
happened, so a verdict can only pass together with the packet behaviour it claims.

One round sets up eight forwards at once, each broken in its own way (or not):

| forward | produced how | probe | verdict |
| --- | --- | --- | --- |
| web | as dualnat says | connects | working |
| quiet | no forward on the main router | refused there | nothing_arrived |
| wronggw | says gateway 'bypass', the device's is the main router | fails | wrong_gateway |
| closed | nothing listens on the device's port | refused | device_refused |
| cam | gateway 'main', its SNAT section not loaded | fails | snat_missing |
| office | allow_source 11.0.0.10/32, a client 11.0.0.11 | fails | source_not_allowed |
| pin | a LAN client's hairpin, its hairpin SNAT not loaded | fails | hairpin_no_snat |
| dns | the main router sends UDP straight to the device | (any) | main_router_to_device |

The self-test (a connection from the bypass router to the public address) proves the
hairpin path when the main router loops its public port back into the LAN, and says
that it proves nothing when it does not.
"""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
import scenarios as s
from addresses import (
    INET_CLIENT,
    INET_CLIENT_ALT,
    PUBLIC_IP,
    TARGET_VIA_BYPASS,
    TARGET_VIA_MAIN,
)
from live_lab import LiveRun, Router
from netns_thread import InNetns
from outcome import expect
from probes import Probe
from routers import BASELINES
from topology import Topology

from dualnat.model import TargetGateway

pytestmark = pytest.mark.parametrize("baseline", list(BASELINES))

WEB = s.fwd("web", "tcp", "8081", TARGET_VIA_BYPASS, "9001")
QUIET = s.fwd("quiet", "tcp", "8083", TARGET_VIA_BYPASS, "9003")
WRONG_GW = s.fwd("wronggw", "tcp", "8082", TARGET_VIA_MAIN, "9002")  # says: gateway bypass
CLOSED = s.fwd("closed", "tcp", "8085", TARGET_VIA_BYPASS, "9500")  # targets answer 9000-9099
CAM = s.fwd("cam", "tcp", "8086", TARGET_VIA_MAIN, "9006", target_gateway=TargetGateway.MAIN)
OFFICE = s.fwd(
    "office",
    "tcp",
    "8087",
    TARGET_VIA_BYPASS,
    "9007",
    allow_source=(IPv4Network(f"{INET_CLIENT}/32"),),
)
PIN = s.fwd("pin", "tcp", "8084", TARGET_VIA_BYPASS, "9004")
DNS = s.fwd("dns", "udp", "9053", TARGET_VIA_BYPASS, "9053")
FORWARDS = (WEB, QUIET, WRONG_GW, CLOSED, CAM, OFFICE, PIN, DNS)
NOT_IN_EFFECT = ("dualnat_cam_snat", "dualnat_pin_hairpin_snat")
# seconds each test watches at most: those that see no attempt run the whole time
SECONDS = {f.name: 40.0 for f in FORWARDS} | {"quiet": 8.0, "dns": 8.0}
EXPECTED = {
    "web": "working",
    "quiet": "nothing_arrived",
    "wronggw": "wrong_gateway",
    "closed": "device_refused",
    "cam": "snat_missing",
    "office": "source_not_allowed",
    "pin": "hairpin_no_snat",
    "dns": "main_router_to_device",
}


def tcp(port: int, source: object = None) -> Probe:
    return Probe("tcp", PUBLIC_IP, port, source)  # type: ignore[arg-type]


def test_every_failure_mode_is_named_and_a_working_forward_is_working(
    lab: Topology, in_bypass: InNetns
) -> None:
    router = Router.setup(
        lab, in_bypass, FORWARDS, direct=["dns"], main=EXPECTED.keys() - {"quiet", "dns"},
        skip=NOT_IN_EFFECT,
    )  # fmt: skip
    loaded = lab.bypass.ruleset()  # fw4's comments carry each section's name option
    assert '"!fw4: dualnat cam dnat"' in loaded and '"!fw4: dualnat pin hairpin"' in loaded
    assert "dualnat cam snat" not in loaded and "dualnat pin hairpin snat" not in loaded
    tests = LiveRun.start(router, SECONDS)
    inet = [
        tcp(8081), tcp(8083), tcp(8082), tcp(8085), tcp(8086),
        tcp(8087, INET_CLIENT), tcp(8087, INET_CLIENT_ALT),
        Probe("udp", PUBLIC_IP, 9053),
    ]  # fmt: skip
    [got, [pin]] = lab.probe_many([("inet", inet), ("c60", [tcp(8084)])])
    web, quiet, wronggw, closed, cam, office_ok, office_no, _dns = got
    checks = [
        expect("web", web, host=TARGET_VIA_BYPASS, peer=INET_CLIENT, port=9001),
        expect("quiet: no main-router forward", quiet, reach=False),
        expect("wronggw: the device answers via the main router", wronggw, reach=False),
        expect("closed: nothing listens", closed, reach=False),
        expect("cam: no SNAT", cam, reach=False),
        expect("office from an allowed source", office_ok, host=TARGET_VIA_BYPASS, port=9007),
        expect("office from another source", office_no, reach=False),
        expect("pin: hairpin without SNAT", pin, reach=False),
        *router.lan_internet(),
    ]
    failed = [str(c) for c in checks if not c.passed]
    assert not failed, failed
    results = tests.finish()
    verdicts = {name: r["verdict"]["code"] for name, r in results.items()}
    shown = {n: [e["text"] for e in r["events"]] for n, r in results.items()}
    assert verdicts == EXPECTED, shown
    # the attempts the verdicts rest on
    assert results["web"]["verdict"]["counts"] == {
        "internet": 1, "internet_ok": 1, "lan": 0, "lan_ok": 0,
    }  # fmt: skip
    assert results["office"]["verdict"]["counts"]["internet_ok"] == 1  # 11.0.0.10 got through
    assert str(INET_CLIENT_ALT) in results["office"]["verdict"]["message"]
    assert results["pin"]["verdict"]["counts"]["lan"] == 1
    assert "target_gateway 'main' for forward 'wronggw'" in results["wronggw"]["verdict"]["fix"]
    assert "external port 8083 → 192.168.1.2:8083" in results["quiet"]["verdict"]["fix"]
    assert "/etc/init.d/firewall reload" in results["cam"]["verdict"]["fix"]
    for name in ("cam", "pin"):  # the doctor's check of the loaded rules agrees
        assert "(2 of 3 rules loaded)" in results[name]["verdict"]["message"], results[name]
    assert all(r["state"] == "done" for r in results.values()), results
    assert all(c.passed for c in router.lan_internet())


def test_the_self_test_proves_the_hairpin_path_through_nat_loopback(
    lab: Topology, in_bypass: InNetns
) -> None:
    router = Router.setup(lab, in_bypass, [WEB], loopback=True)
    results = LiveRun.start(router, {"web": 30.0}, self_test=["web"]).finish()
    web = results["web"]
    st = web["self_test"]
    assert (st["result"], st["arrived"]) == ("connected", True), web
    assert st["proves"].startswith("This proves the hairpin path")
    assert "cannot show the path from outside" in st["cannot"]
    codes = [e["code"] for e in web["events"] if e["path"] == "main"]
    assert codes == ["arrived", "translated", "answered", "connected"], web["events"]
    assert web["verdict"]["code"] == "working_lan_only"  # nothing came from the Internet
    assert all(c.passed for c in router.lan_internet())


def test_without_nat_loopback_the_self_test_proves_nothing(
    lab: Topology, in_bypass: InNetns
) -> None:
    router = Router.setup(lab, in_bypass, [WEB], loopback=False)
    results = LiveRun.start(router, {"web": 8.0}, self_test=["web"]).finish()
    st = results["web"]["self_test"]
    assert st["result"] in ("refused", "timeout") and st["arrived"] is False, st
    assert "does not mean the forward is broken" in st["proves"]
    assert results["web"]["verdict"]["code"] == "nothing_arrived"
    [answer] = lab.probe("inet", [tcp(8081)])  # and yet the forward works from outside
    assert answer.ok and answer.host == TARGET_VIA_BYPASS, answer
