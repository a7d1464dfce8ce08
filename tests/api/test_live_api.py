"""Live tests over the API and ubus: a test runs in a forked child that watches the
machine the doctor examines (here a /proc folder whose connection table the test
writes), polls render its state in the caller's language, and the daemon keeps
answering other calls while one runs (timed with the fake bindings and a stand-in ubusd)."""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fake_ubus
import pytest
from conftest import no_commands, resolve
from flask import Flask
from flask.testing import FlaskClient

from dualnat.api import create_app
from dualnat.doctor import System
from dualnat.ubus.adapter import register
from dualnat.ubus.daemon import Daemon

CLIENT = "203.0.113.9"  # an Internet client (the router fixture's LAN is 192.168.1.0/24)
SID = {"ubus_rpc_session": "cli", "lang": ""}


def established(sport: int = 40000) -> str:
    """nas_web (8443 → 192.168.1.50:443) reached from the Internet and answered."""
    return (
        f"ipv4     2 tcp      6 431999 ESTABLISHED src={CLIENT} dst=192.168.1.2 sport={sport} "
        f"dport=8443 src=192.168.1.50 dst={CLIENT} sport=443 dport={sport} [ASSURED] "
        "mark=0 zone=0 use=2\n"
    )


class Proc:
    """The /proc the doctor (and so the test's child) reads."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / "net" / "nf_conntrack"
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.set("")

    def set(self, text: str) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.file)


@pytest.fixture
def proc(tmp_path: Path) -> Proc:
    return Proc(tmp_path / "proc")


@pytest.fixture
def live_app(confdir: Path, tmp_path: Path, proc: Proc) -> Flask:
    system = System(proc=tmp_path / "proc", run=no_commands)
    return create_app(confdir, resolve=resolve, doctor_system=system)


@pytest.fixture
def live(live_app: Flask) -> Iterator[FlaskClient]:
    yield live_app.test_client()
    tests = live_app.extensions["dualnat"].live_tests
    tests.stop_all()


def wait(client: FlaskClient, name: str, until: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = client.get(f"/api/v1/forwards/{name}/test").get_json()
        if until(data):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.1)


def test_a_test_watches_reports_and_ends_with_the_verdict(live: FlaskClient, proc: Proc) -> None:
    reply = live.post("/api/v1/forwards/nas_web/test", json={"seconds": 30})
    assert reply.status_code == 200, reply.get_json()
    data = reply.get_json()
    assert data["request"] == "started" and data["running"] is True
    assert data["state"] in ("starting", "watching") and data["seconds"] == 30
    wait(live, "nas_web", lambda d: d["state"] == "watching")
    proc.set(established())
    done = wait(live, "nas_web", lambda d: not d["running"])
    assert done["state"] == "done" and done["left"] == 0
    assert [e["code"] for e in done["events"]] == [
        "note", "arrived", "translated", "answered", "connected",
    ]  # fmt: skip
    assert done["events"][1]["text"].startswith(f"TCP connection from {CLIENT} arrived")
    verdict = done["verdict"]
    assert (verdict["code"], verdict["severity"]) == ("working", "ok")
    assert verdict["title"] == "the forward works" and CLIENT in verdict["message"]
    assert done["elapsed"] < 15  # the verdict was in: it did not watch the whole 30 s
    zh = live.get("/api/v1/forwards/nas_web/test?lang=zh").get_json()
    assert zh["verdict"]["title"] == "转发正常" and "已连通" in zh["events"][-1]["text"]


def test_one_test_per_forward_and_a_limit_on_all(live_app: Flask, live: FlaskClient) -> None:
    first = live.post("/api/v1/forwards/nas_web/test", json={"seconds": 60}).get_json()
    again = live.post("/api/v1/forwards/nas_web/test", json={"seconds": 60}).get_json()
    assert (first["request"], again["request"]) == ("started", "running")
    live_app.extensions["dualnat"].live_tests.limit = 2
    assert live.post("/api/v1/forwards/office_ssh/test", json={}).status_code == 200
    busy = live.post("/api/v1/forwards/web/test", json={})
    assert busy.status_code == 429
    assert "2 tests are running" in busy.get_json()["errors"]["_test"][0]


def test_stop_gives_the_verdict_of_what_was_seen(live: FlaskClient) -> None:
    live.post("/api/v1/forwards/nas_web/test", json={"seconds": 60})
    wait(live, "nas_web", lambda d: d["state"] == "watching")
    stopped = live.delete("/api/v1/forwards/nas_web/test").get_json()
    assert stopped["forward"] == "nas_web"
    done = wait(live, "nas_web", lambda d: not d["running"])
    assert done["state"] == "stopped"
    assert done["verdict"]["message"].startswith("The test was stopped after")


def test_a_test_nobody_polls_is_stopped(live_app: Flask, live: FlaskClient) -> None:
    tests = live_app.extensions["dualnat"].live_tests
    live.post("/api/v1/forwards/nas_web/test", json={"seconds": 60})
    wait(live, "nas_web", lambda d: d["state"] == "watching")
    tests.running["nas_web"].polled -= tests.lease + 1  # the page went away
    tests.tick()
    deadline = time.monotonic() + 10
    while tests.running:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        tests.tick()
    data = live.get("/api/v1/forwards/nas_web/test").get_json()
    assert data["state"] == "stopped" and not data["running"]


def test_refusals(live: FlaskClient, confdir: Path) -> None:
    assert live.get("/api/v1/forwards/nas_web/test").get_json()["state"] == "none"
    missing = live.post("/api/v1/forwards/nope/test", json={})
    assert missing.status_code == 404 and "no forward named 'nope'" in str(missing.get_json())
    for seconds in (4, 601, "60", 1.5, True):
        bad = live.post("/api/v1/forwards/nas_web/test", json={"seconds": seconds})
        assert bad.status_code == 422, seconds
        assert "0 (the default, 120) or 5-600" in bad.get_json()["errors"]["seconds"][0]
    assert live.post("/api/v1/forwards/nas_web/test", json={"extra": 1}).status_code == 422
    text = (confdir / "dualnat").read_text()
    on = "config forward 'nas_web'\n\toption enabled '1'"
    (confdir / "dualnat").write_text(text.replace(on, on.replace("'1'", "'0'")))
    off = live.post("/api/v1/forwards/nas_web/test?lang=ja", json={})
    assert off.status_code == 422 and "テストできません" in off.get_json()["errors"]["id"][0]


def test_the_ubus_methods_take_exactly_their_arguments(live_app: Flask) -> None:
    fake_ubus.connect(fake_ubus.LOCAL)
    try:
        register(fake_ubus, live_app)
        [reply] = fake_ubus.call(
            "dualnat", "test_start", {**SID, "id": "nas_web", "seconds": 0, "self_test": False}
        )
        assert reply["request"] == "started" and reply["seconds"] == 120
        [polled] = fake_ubus.call("dualnat", "test_poll", {**SID, "id": "nas_web", "lang": "ja"})
        assert polled["running"] is True
        with pytest.raises(RuntimeError, match="Invalid argument"):
            fake_ubus.call("dualnat", "test_start", {**SID, "id": "nas_web", "seconds": 0})
        [stopped] = fake_ubus.call("dualnat", "test_stop", {**SID, "id": "nas_web"})
        assert stopped["forward"] == "nas_web"
    finally:
        live_app.extensions["dualnat"].live_tests.stop_all()
        fake_ubus.disconnect()


# -- the daemon stays responsive -----------------------------------------------------------


@pytest.fixture
def socket_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="ubus") as d:
        yield os.path.join(d, "ubus.sock")


def test_the_daemon_answers_other_calls_while_tests_run(
    live_app: Flask, proc: Proc, socket_path: str
) -> None:
    """The daemon's own loop (fake bindings, a stand-in ubusd in this process): while live
    tests run in its children, reading a connection table of 20,000 entries twice a
    second, every call is answered at once. The 100 ms goal is the median's; each call
    gets a generous bound (the machine is shared)."""
    big = "".join(established(10000 + i % 50000) for i in range(20000))
    proc.set(big)
    broker = fake_ubus.Broker(socket_path)
    daemon = Daemon(fake_ubus, live_app, None, None, live_app.extensions["dualnat"].live_tests)
    thread = threading.Thread(target=daemon.run, args=(socket_path, 100), daemon=True)
    thread.start()
    try:
        broker.wait_for("dualnat")
        for name in ("nas_web", "office_ssh"):
            args = {**SID, "id": name, "seconds": 60, "self_test": False}
            [reply] = broker.call("dualnat", "test_start", args)
            assert reply["request"] == "started"
        times: dict[str, list[float]] = {"status": [], "test_poll": [], "plan": []}
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            for method, args in (
                ("status", SID),
                ("test_poll", {**SID, "id": "nas_web"}),
                ("plan", SID),
            ):
                began = time.perf_counter()
                [reply] = broker.call("dualnat", method, args)
                times[method].append(time.perf_counter() - began)
                assert "errors" not in reply, reply
            time.sleep(0.05)
        [polled] = broker.call("dualnat", "test_poll", {**SID, "id": "nas_web"})
        assert polled["running"] and polled["state"] == "watching", polled
        medians = {m: statistics.median(t) * 1000 for m, t in times.items()}
        worst = {m: max(t) * 1000 for m, t in times.items()}
        print(f"\nduring two live tests: median ms {medians}, worst ms {worst}")
        assert all(v < 100 for v in medians.values()), medians
        assert all(v < 1000 for v in worst.values()), worst
    finally:
        daemon.stop()
        thread.join(10)
        broker.close()
        if fake_ubus.get_connected():
            fake_ubus.disconnect()
