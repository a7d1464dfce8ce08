"""`dualnat ubus` as procd runs it: a subprocess with the fake bindings, connected to a
stand-in ubusd; and the public address refresher that re-applies only on a change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import fake_ubus
import pytest
from conftest import FIXTURES
from thread_call import ThreadCall

from dualnat.api import create_app
from dualnat.publicip import DiscoveryError, PublicAddress
from dualnat.ubus.daemon import Refresher, auto_wanted, decode, encode, reapply
from dualnat.ubus.forked import ForkedCall

HERE = Path(__file__).resolve().parent
BACKEND = HERE.parent.parent / "backend"
SID = {"ubus_rpc_session": "cli", "lang": ""}  # what every call carries


def daemon_env(module: str = "fake_ubus") -> dict[str, str]:
    path = os.pathsep.join([str(HERE), str(BACKEND), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "DUALNAT_UBUS_MODULE": module, "PYTHONPATH": path}


def start(confdir: Path, socket_path: str, module: str = "fake_ubus") -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dualnat", "--config-dir", str(confdir), "ubus"]
    return subprocess.Popen(
        [*cmd, "--socket", socket_path],
        env=daemon_env(module),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def socket_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="ubus") as d:  # short: AF_UNIX paths are
        yield os.path.join(d, "ubus.sock")  # limited to 108 bytes


@pytest.fixture
def daemon(confdir: Path, socket_path: str) -> Iterator[tuple[fake_ubus.Broker, subprocess.Popen]]:
    broker = fake_ubus.Broker(socket_path)
    proc = start(confdir, socket_path)
    try:
        broker.wait_for("dualnat")
        yield broker, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        broker.close()


def test_the_daemon_answers_calls_and_stops_cleanly(daemon: tuple) -> None:
    broker, proc = daemon
    assert sorted(broker.objects["dualnat"]) == sorted(
        ["status", "get_config", "check_config", "check_forward", "check_forwards", "plan",
         "instructions", "apply", "revert", "doctor", "main_router_status", "main_router_push",
         "set_main_router_secret", "test_start", "test_poll", "test_stop"]
    )  # fmt: skip
    [status] = broker.call("dualnat", "status", SID)
    assert status["valid"] is True and status["forwards"]["total"] == 4
    with pytest.raises(RuntimeError, match="Invalid argument"):
        broker.call("dualnat", "status", {})
    [reply] = broker.call("dualnat", "apply", {**SID, "dry_run": True})
    assert reply["changed"] is True
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert "stopping" in proc.stderr.read()


def test_a_malformed_config_does_not_stop_the_daemon(daemon: tuple, confdir: Path) -> None:
    broker, proc = daemon
    good = (confdir / "dualnat").read_text()
    (confdir / "dualnat").write_text(good + "\noption orphan 'x\n")
    for method in ("get_config", "plan", "doctor"):
        [reply] = broker.call("dualnat", method, SID)
        assert reply["status"] == 409 and "_config" in reply["errors"], method
    [reply] = broker.call("dualnat", "status", SID)
    assert reply["valid"] is False
    assert proc.poll() is None
    (confdir / "dualnat").write_text(good)
    [reply] = broker.call("dualnat", "status", SID)
    assert reply["valid"] is True and reply["forwards"]["total"] == 4


def test_without_ubusd_the_daemon_exits_with_1(confdir: Path, socket_path: str) -> None:
    proc = start(confdir, socket_path)  # nothing listens there
    assert proc.wait(20) == 1
    assert "ubus" in proc.stderr.read()


def test_without_the_bindings_the_daemon_says_what_to_install(
    confdir: Path, socket_path: str
) -> None:
    proc = start(confdir, socket_path, module="no_such_ubus_module")
    assert proc.wait(20) == 1
    assert "python3-ubus" in proc.stderr.read()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Answers:
    """A discovery that returns the next of `answers` on each call."""

    def __init__(self, *answers: str | DiscoveryError) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> IPv4Address:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if isinstance(answer, DiscoveryError):
            raise answer
        return IPv4Address(answer)


def settle(refresher: Refresher) -> None:
    """One tick that starts a lookup, its end, and the tick that collects it."""
    refresher.tick()
    job = refresher.job
    if isinstance(job, ThreadCall):
        job.join(5)
    elif job is not None:
        deadline = time.monotonic() + 10
        while job.result() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    refresher.tick()


def test_the_refresher_calls_back_only_when_the_address_changes() -> None:
    clock = Clock()
    answers = Answers("198.51.100.1", "198.51.100.1", DiscoveryError("down"), "198.51.100.2")
    public = PublicAddress(None, discover=answers)
    changes: list[IPv4Address | None] = []
    refresher = Refresher(
        public, lambda: True, lambda: changes.append(public.address), 300, clock, ThreadCall
    )
    settle(refresher)
    assert changes == [IPv4Address("198.51.100.1")]  # the first address is a change
    settle(refresher)
    assert answers.calls == 1  # not due yet
    for _ in range(2):  # same address, then a failure: no callback
        clock.now += 300
        settle(refresher)
    assert answers.calls == 3 and len(changes) == 1
    assert public.address == IPv4Address("198.51.100.1") and public.error == "down"
    clock.now += 300
    settle(refresher)
    assert changes == [IPv4Address("198.51.100.1"), IPv4Address("198.51.100.2")]


def test_the_refresher_does_nothing_unless_auto_is_configured() -> None:
    answers = Answers("198.51.100.1")
    refresher = Refresher(
        PublicAddress(None, discover=answers), lambda: False, lambda: None, 0, spawn=ThreadCall
    )
    settle(refresher)
    assert answers.calls == 0


def test_a_new_address_is_applied_to_the_firewall(tmp_path: Path) -> None:
    import shutil

    confdir = tmp_path / "config"
    shutil.copytree(FIXTURES / "router", confdir)
    text = (confdir / "dualnat").read_text().replace("'198.51.100.7'", "'auto'")
    (confdir / "dualnat").write_text(text)
    clock = Clock()
    answers = Answers("198.51.100.1", "198.51.100.1", "198.51.100.2")
    public = PublicAddress(None, discover=answers)
    app = create_app(confdir, public=public)
    applied = threading.Event()
    apply = reapply(app)

    def on_change() -> None:
        apply()
        applied.set()

    refresher = Refresher(public, auto_wanted(app), on_change, 300, clock, ThreadCall)
    firewall = confdir / "firewall"
    settle(refresher)
    assert applied.is_set() and "198.51.100.1" in firewall.read_text()
    first = firewall.read_bytes()
    applied.clear()
    clock.now += 300
    settle(refresher)  # same address: no apply, the file is untouched
    assert not applied.is_set() and firewall.read_bytes() == first
    clock.now += 300
    settle(refresher)
    assert applied.is_set()
    assert "198.51.100.2" in firewall.read_text() and "198.51.100.1" not in firewall.read_text()


def test_the_config_is_read_once_per_interval_when_auto_is_off() -> None:
    clock = Clock()
    reads = []
    refresher = Refresher(
        PublicAddress(None), lambda: reads.append(1) or False, lambda: None, 300, clock
    )
    for _ in range(10):  # ten loop periods
        refresher.tick()
    assert len(reads) == 1
    clock.now += 300
    refresher.tick()
    assert len(reads) == 2


def test_the_daemon_looks_the_address_up_in_a_child_process() -> None:
    """The default job is a forked child: the lookup (and what it imports) runs there, the
    daemon only records the address it hands back."""
    answers = Answers("198.51.100.4")
    public = PublicAddress(None, discover=answers)
    changes: list[IPv4Address | None] = []
    refresher = Refresher(public, lambda: True, lambda: changes.append(public.address), 300)
    settle(refresher)
    assert changes == [IPv4Address("198.51.100.4")]
    assert answers.calls == 0  # counted in the child, not here
    assert refresher.job is None


def test_a_lookup_that_hangs_is_stopped_at_the_deadline() -> None:
    """A DNS lookup is not covered by HTTP timeouts: the child is killed, the daemon goes on
    and asks again at the next interval."""
    clock = Clock()

    def hang() -> IPv4Address:
        time.sleep(60)
        raise AssertionError("not reached")

    public = PublicAddress(None, discover=hang)
    refresher = Refresher(public, lambda: True, lambda: None, 300, clock, ForkedCall, 60)
    refresher.tick()
    job = refresher.job
    assert isinstance(job, ForkedCall)
    clock.now += 59
    refresher.tick()
    assert refresher.job is job and job.result() is None  # still running, not yet due
    clock.now += 1
    refresher.tick()
    assert refresher.job is None
    assert public.address is None and "too long" in (public.error or "")
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(job.pid, os.WNOHANG)


def test_stopping_the_refresher_kills_a_running_lookup() -> None:
    public = PublicAddress(None, discover=lambda: time.sleep(60) or IPv4Address("1.1.1.1"))
    refresher = Refresher(public, lambda: True, lambda: None, 300)
    refresher.tick()
    job = refresher.job
    assert isinstance(job, ForkedCall)
    refresher.stop()
    assert refresher.job is None
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)


@pytest.mark.parametrize(
    "result",
    [IPv4Address("198.51.100.9"), DiscoveryError("https://a: timed out; https://b: 503")],
)
def test_a_result_survives_the_trip_from_the_child(result: object) -> None:
    back = decode(encode(result))  # type: ignore[arg-type]
    assert type(back) is type(result) and str(back) == str(result)


def test_an_unexpected_text_from_the_child_is_a_discovery_error() -> None:
    back = decode("Traceback (most recent call last): ...")
    assert isinstance(back, DiscoveryError) and "unexpected answer" in str(back)


def test_in_the_daemon_an_api_call_never_waits_for_the_network(tmp_path: Path) -> None:
    """With `background`, an API call that needs 'auto' gets the known address (none yet)
    and only requests a lookup; the refresher starts it at its next tick, before the
    interval is over, and the re-apply brings the address in."""
    import shutil

    confdir = tmp_path / "config"
    shutil.copytree(FIXTURES / "router", confdir)
    text = (confdir / "dualnat").read_text().replace("'198.51.100.7'", "'auto'")
    (confdir / "dualnat").write_text(text)
    clock = Clock()
    answers = Answers(DiscoveryError("offline"), "198.51.100.3")
    public = PublicAddress(None, discover=answers, clock=clock, background=True)
    app = create_app(confdir, public=public)
    client = app.test_client()
    refresher = Refresher(public, auto_wanted(app), reapply(app), 300, clock, ThreadCall)
    settle(refresher)  # the lookup at start fails
    assert answers.calls == 1 and public.address is None
    clock.now += 61  # past RETRY_AFTER, long before the next interval
    plan = client.get("/api/v1/plan").get_json()
    assert answers.calls == 1  # the call did not look up itself
    assert public.requested and "198.51.100.3" not in str(plan)
    settle(refresher)
    assert answers.calls == 2 and public.address == IPv4Address("198.51.100.3")
    assert not public.requested
    assert "198.51.100.3" in (confdir / "firewall").read_text()
    assert "198.51.100.3" in str(client.get("/api/v1/plan").get_json())


def test_a_background_address_is_only_requested_not_looked_up() -> None:
    answers = Answers("198.51.100.1")
    public = PublicAddress(None, discover=answers, background=True)
    assert public.current() is None and public.requested and answers.calls == 0


def test_the_loop_collects_the_cycles_calls_leave(confdir: Path) -> None:
    """Start-up objects are frozen and every loop period ends with a collection, so a
    reference cycle made during a call is gone by the next period."""
    import gc
    import weakref

    from dualnat.ubus.daemon import Daemon

    class Node:
        pass

    seen: list[weakref.ref] = []

    class Binding:
        BLOBMSG_TYPE_STRING = BLOBMSG_TYPE_TABLE = BLOBMSG_TYPE_BOOL = BLOBMSG_TYPE_INT32 = 0

        def connect(self, *args: object) -> None: ...

        def disconnect(self) -> None: ...

        def add(self, name: str, methods: dict) -> None: ...

        def loop(self, timeout: int) -> None:
            if seen:  # the second period: the first one's cycle must be gone
                daemon.stop()
                return
            node = Node()
            node.me = node  # a cycle, as werkzeug's router leaves one per call
            seen.append(weakref.ref(node))

    daemon = Daemon(Binding(), create_app(confdir), None)  # type: ignore[arg-type]
    gc.disable()  # only the daemon's own collection may free it
    try:
        daemon.run()
        assert seen[0]() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
