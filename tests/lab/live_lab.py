"""`dualnat test` in the lab: the bypass router's config folder, its rules loaded from the
plan made of that folder (the firewall4 emulation, sysctls as `apply` sets them; `skip`
leaves sections out: a rule not in effect), the main router's forwards as the user
entered them, and the daemon's own live tests (live/runner.py) forked from the bypass
router's namespace: they read its /proc/net/nf_conntrack and its ruleset, and the
self-test connects from there."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scenarios as s
from netns_thread import InNetns
from outcome import Check
from proxy_scenarios import ROUTER_FILES, forward_section
from routers import BASELINES, PortForward, apply_dualnat, load_main_router
from topology import Topology

from dualnat.context import make_plan
from dualnat.doctor.system import System
from dualnat.live import LiveTests, Options, Subject
from dualnat.live.state import path as state_path
from dualnat.live.state import read, render
from dualnat.model import Forward
from dualnat.plan import Plan
from dualnat.site import Site
from dualnat.uci import FileBackend

QUIET = 2.0  # seconds without news before a verdict (the product's default is 4)


def write_folder(folder: Path, forwards: Sequence[Forward], baseline: str) -> Site:
    """/etc/config of the lab's bypass router; whether its firewall drops invalid packets
    is said as the loaded baseline does (`check` detects it on the router)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ROUTER_FILES.items():
        (folder / name).write_text(text)
    drops = "yes" if BASELINES[baseline].drop_rule else "no"
    main = (
        "config dualnat 'main'\n"
        "\toption lan_interface 'lan'\n"
        f"\toption public_address '{s.PUBLIC}'\n"
        f"\toption firewall_drops_invalid '{drops}'\n\n"
    )
    (folder / "dualnat").write_text(main + "\n".join(forward_section(f) for f in forwards))
    return Site(FileBackend(folder), folder / ".dualnat")


@dataclass
class Router:
    """The lab set up for a live test: the folder's plan loaded on both routers."""

    lab: Topology
    site: Site
    plan: Plan
    netns: InNetns

    @classmethod
    def setup(
        cls,
        lab: Topology,
        netns: InNetns,
        forwards: Sequence[Forward],
        *,
        main: Iterable[str] | None = None,
        direct: Iterable[str] = (),
        skip: Sequence[str] = (),
        loopback: bool = False,
    ) -> Router:
        """`main`: the forwards the main router forwards to the bypass router as told
        (default: all but `direct`); `direct`: those it forwards straight to the device;
        `skip`: firewall sections that are not in effect."""
        lab.reset()
        site = write_folder(lab.workdir / "live-config", forwards, lab.baseline)
        plan = make_plan(site)
        told = set(main) if main is not None else {f.name for f in forwards} - set(direct)
        entered = [
            PortForward.from_plan(pf) for pf in plan.main_router.port_forwards if pf.name in told
        ]
        entered += [PortForward.direct(f) for f in forwards if f.name in direct]
        load_main_router(lab.main, lab.workdir, entered, loopback)
        apply_dualnat(lab.bypass, lab.workdir, plan, "uci", skip)
        return cls(lab, site, plan, netns)

    def lan_internet(self) -> list[Check]:
        return s.lan_internet_checks(self.lab)


@dataclass
class LiveRun:
    """Live tests running (or run) on the lab's bypass router."""

    router: Router
    tests: LiveTests
    names: list[str]

    @classmethod
    def start(
        cls, router: Router, seconds: Mapping[str, float], self_test: Iterable[str] = ()
    ) -> LiveRun:
        tests = LiveTests(router.site, System(), limit=len(seconds))
        wanted = set(self_test)
        for name, secs in seconds.items():
            options = Options(secs, name in wanted, quiet=QUIET)
            subject = Subject.of(router.plan, name)
            # forked from the bypass router's namespace, as the daemon there would fork it
            assert router.netns.run(tests.start, subject, options) == "started"
        running = cls(router, tests, list(seconds))
        running.wait(lambda d: d["state"] != "starting", "started watching")
        return running

    def state(self, name: str) -> dict[str, Any]:
        data = read(state_path(self.router.site, name))
        assert data is not None, name
        return data

    def wait(self, done: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.tests.tick()
            if all(done(self.state(n)) for n in self.names):
                return
            assert time.monotonic() < deadline, f"not {what}: " + str(
                {n: self.state(n)["state"] for n in self.names}
            )
            time.sleep(0.1)

    def finish(self) -> dict[str, dict[str, Any]]:
        """Wait for every verdict; each test's state rendered (English)."""
        self.wait(lambda d: d["state"] not in ("starting", "watching"), "finished")
        for _ in range(50):
            self.tests.tick()
            if not self.tests.running:
                break
            time.sleep(0.1)
        return {n: render(self.state(n), "en", False, time.time()) for n in self.names}
