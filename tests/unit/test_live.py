"""`dualnat test`: each attempt's stages and events from successive connection tables, the
verdict of every failure mode with its fix, the watch's loop (early end, stop, an
unreadable table), the self-test's connect, and every sentence in every language."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from doctor_data import recorded
from live_data import (
    ALLOWED,
    BYPASS,
    CAM,
    CLIENT,
    DEVICE,
    DEVICE_MAIN,
    DNS,
    LAN_CLIENT,
    MAIN,
    OTHER,
    PUBLIC,
    WEB,
    Clock,
    Script,
    ct,
    inbound,
    plan,
)

from dualnat.doctor.conntrack import parse
from dualnat.i18n import LANGS, load_catalog
from dualnat.live import Options, Subject, Watch
from dualnat.live.attempts import Tracker
from dualnat.live.selftest import CONNECTED, REFUSED, TIMED_OUT, SelfTest
from dualnat.live.state import render
from dualnat.live.subject import NotTestable
from dualnat.live.verdict import Rules, decide
from dualnat.live.watch import DONE, FAILED, STOPPED

NO_RULES = Rules("none", None)


def entries(*lines: str) -> list:
    return parse("\n".join(lines) + "\n").entries


def track(forward=WEB, *snapshots: tuple[float, list[str]], public: bool = True, **kw) -> Tracker:
    """A tracker fed with (time, lines) snapshots, then every open attempt ended."""
    tracker = Tracker(Subject.of(plan(forward, public=public), forward.name))
    tracker.baseline([])
    for when, lines in snapshots:
        tracker.feed(entries(*lines), when)
    tracker.expire(99, force=True)
    return tracker


def codes(tracker: Tracker, number: int = 1) -> list[str]:
    return next(a.stages for a in tracker.attempts.values() if a.number == number)


def verdict(tracker: Tracker, rules: Rules = NO_RULES) -> str:
    return decide(tracker, rules, 10).code


# -- the stages of one attempt ---------------------------------------------------------------


def test_a_working_connection_goes_through_every_stage() -> None:
    t = track(
        WEB,
        (0.5, [inbound()]),
        (1.0, [inbound(state="ESTABLISHED", replied=True, assured=True)]),
    )
    assert codes(t) == ["translated", "answered", "connected"]
    [a] = t.attempts.values()
    assert (a.path, a.client, a.sees, a.snatted) == ("internet", CLIENT, CLIENT, False)
    assert verdict(t) == "working"


def test_stages_seen_at_once_come_in_order() -> None:
    tracker = Tracker(Subject.of(plan(WEB), "web"))
    events = tracker.feed(entries(inbound(state="TIME_WAIT", replied=True, assured=True)), 1)
    assert [e.code for e in events] == ["arrived", "translated", "answered", "connected"]
    assert "11.0.0.10" in events[0].parts[0].render() and "192.168.1.2:8081" in str(events[0].parts)


def test_connections_there_before_the_test_do_not_count() -> None:
    tracker = Tracker(Subject.of(plan(WEB), "web"))
    assert tracker.baseline(entries(inbound(sport=1))) == 1
    assert tracker.feed(entries(inbound(sport=1, state="ESTABLISHED", replied=True)), 1) == []
    assert len(tracker.feed(entries(inbound(sport=2)), 2)) == 2


def test_a_reset_after_the_devices_answer_is_not_the_devices_refusal() -> None:
    """The kernel deletes a connection whose only reply is a reset (the DESTROY path): a
    CLOSE entry with a reply was answered first (a SYN scan, a client that gave up)."""
    reset = track(WEB, (0.5, [inbound(state="CLOSE", replied=True)]))
    assert codes(reset) == ["translated", "answered", "answer_lost"]
    assert verdict(reset) == "answer_lost"
    answered, reset = inbound(state="SYN_RECV", replied=True), inbound(state="CLOSE", replied=True)
    gave_up = track(WEB, (0.5, [answered]), (1, [reset]))
    assert codes(gave_up) == ["translated", "answered", "answer_lost"]
    assert verdict(gave_up) == "answer_lost"


def test_no_answer_waits_for_the_grace_time_and_a_late_answer_still_counts() -> None:
    tracker = Tracker(Subject.of(plan(WEB), "web"))
    tracker.feed(entries(inbound()), 0.5)
    assert [e.code for e in tracker.feed(entries(inbound()), 3.0)] == []
    assert [e.code for e in tracker.feed(entries(inbound()), 3.6)] == ["no_answer"]
    late = tracker.feed(entries(inbound(state="ESTABLISHED", replied=True, assured=True)), 4)
    assert [e.code for e in late] == ["answered", "connected"]
    assert decide(tracker, NO_RULES, 5).code == "working"


def test_a_reset_before_any_reply_shows_only_in_the_destroy_event() -> None:
    """The kernel deletes an unanswered connection when a reset passes: NEW, then DESTROY
    in CLOSE and still [UNREPLIED] (recorded with `conntrack -E`)."""
    from dualnat.live.events import parse_event

    new = parse_event(
        "    [NEW] tcp      6 120 SYN_SENT src=11.0.0.10 dst=192.168.1.2 sport=52298 "
        "dport=8081 [UNREPLIED] src=192.168.1.50 dst=11.0.0.10 sport=9001 dport=52298"
    )
    gone = parse_event(
        "[DESTROY] tcp      6 120 CLOSE src=11.0.0.10 dst=192.168.1.2 sport=52298 "
        "dport=8081 [UNREPLIED] src=192.168.1.50 dst=11.0.0.10 sport=9001 dport=52298"
    )
    assert new is not None and gone is not None
    assert (new[0], gone[0], gone[1].state, gone[1].replied) == ("NEW", "DESTROY", "CLOSE", False)
    tracker = Tracker(Subject.of(plan(WEB), "web"))
    tracker.feed([new[1]], 0.5)
    tracker.feed([gone[1]], 0.5, gone=True)
    assert codes(tracker) == ["translated", "device_refused"]
    assert decide(tracker, NO_RULES, 5).code == "device_refused"
    # this router refusing a source that allow_source keeps out: not translated
    refused = ct(OTHER, BYPASS, 40000, 8087, state="CLOSE")
    t = Tracker(Subject.of(plan(ALLOWED), "office"))
    t.feed(entries(refused), 0.5, gone=True)
    assert codes(t) == ["source_refused"]
    # an unanswered connection that simply timed out says nothing new
    t = Tracker(Subject.of(plan(WEB), "web"))
    t.feed(entries(inbound(state="SYN_SENT")), 0.5, gone=True)
    assert codes(t) == ["translated"]
    assert parse_event("conntrack v1.4.7 (conntrack-tools): 4 flow events") is None


def test_udp_answered_is_connected() -> None:
    line = ct(CLIENT, BYPASS, 5000, 9053, proto="udp", reply_src=DEVICE, replied=True)
    t = track(DNS, (0.5, [line]))
    assert codes(t) == ["translated", "connected"]
    assert verdict(t) == "working"


# -- every failure mode and its verdict --------------------------------------------------------


def test_wrong_gateway_when_the_plan_keeps_the_source_and_nothing_comes_back() -> None:
    t = track(WEB, (0.5, [inbound()]))
    assert codes(t) == ["translated", "no_answer"]
    v = decide(t, NO_RULES, 10)
    assert v.code == "wrong_gateway" and v.severity == "error"
    assert "target_gateway 'main' for forward 'web'" in " ".join(p.render() for p in v.fix)


def test_a_silent_device_whose_own_traffic_passes_here_is_not_called_wrong_gateway() -> None:
    own = ct(DEVICE, "11.0.0.20", 33000, 9000, state="ESTABLISHED", replied=True)
    t = track(WEB, (0.5, [inbound(), own]))
    assert t.device_own and verdict(t) == "device_silent"


def test_snat_missing_when_the_plan_snats_and_the_device_saw_the_client() -> None:
    line = ct(CLIENT, BYPASS, 40000, 8082, reply_src=DEVICE_MAIN, reply_sport=9002)
    t = track(CAM, (0.5, [line]))
    [a] = t.attempts.values()
    assert a.snat_planned and not a.snatted
    assert verdict(t) == "snat_missing"
    snatted = ct(
        CLIENT, BYPASS, 40000, 8082, reply_src=DEVICE_MAIN, reply_sport=9002, reply_dst=BYPASS
    )
    assert verdict(track(CAM, (0.5, [snatted]))) == "device_silent"


def test_hairpin_without_snat_from_a_lan_client() -> None:
    line = ct(LAN_CLIENT, PUBLIC, 41000, 8081, reply_src=DEVICE, reply_sport=9001)
    t = track(WEB, (0.5, [line]))
    [a] = t.attempts.values()
    assert (a.path, a.snat_planned, a.snatted) == ("lan", True, False)
    assert verdict(t) == "hairpin_no_snat"
    fine = ct(
        LAN_CLIENT, PUBLIC, 41000, 8081, reply_src=DEVICE, reply_sport=9001, reply_dst=BYPASS,
        state="ESTABLISHED", replied=True, assured=True,
    )  # fmt: skip
    assert verdict(track(WEB, (0.5, [fine]))) == "working_lan_only"


def test_the_main_routers_own_address_is_its_own_path() -> None:
    line = ct(MAIN, BYPASS, 42000, 8081, reply_src=DEVICE, reply_sport=9001)
    [a] = track(WEB, (0.5, [line])).attempts.values()
    assert a.path == "main" and a.snat_planned


def test_allow_source_refusing_the_client() -> None:
    refused = ct(OTHER, BYPASS, 40000, 8087, state="CLOSE", replied=True)
    t = track(ALLOWED, (0.5, [refused]))
    assert codes(t) == ["source_refused"]
    v = decide(t, NO_RULES, 10)
    assert (v.code, v.severity) == ("source_not_allowed", "warning")
    assert OTHER in v.message[0].render() and f"{CLIENT}/32" in v.message[0].render()


def test_not_translated_is_rules_missing_when_they_are_not_loaded() -> None:
    from dualnat.doctor.ruleset import RuleCheck

    t = track(WEB, (0.5, [ct(CLIENT, BYPASS, 40000, 8081, state="CLOSE", replied=True)]))
    assert codes(t) == ["not_translated"]
    assert verdict(t) == "not_translated"
    missing = Rules("fw4", RuleCheck(("a", "b"), ("b",)))
    v = decide(t, missing, 10)
    assert v.code == "rules_missing"
    assert "/etc/init.d/firewall reload" in v.fix[0].render()


def test_without_attempts_nothing_arrived_or_the_rules_or_the_device_answering_direct() -> None:
    from dualnat.doctor.ruleset import RuleCheck

    assert verdict(track(WEB)) == "nothing_arrived"
    assert verdict(track(WEB), Rules("none", RuleCheck(("a",), ("a",)))) == "rules_missing"
    answer = ct(DEVICE, CLIENT, 9053, 5000, proto="udp")
    t = track(DNS, (0.5, [answer]))
    assert not t.attempts and verdict(t) == "main_router_to_device"


def test_the_first_failure_wins_and_the_counts_say_what_worked() -> None:
    ok = inbound(sport=1, state="ESTABLISHED", replied=True, assured=True)
    pin = ct(LAN_CLIENT, PUBLIC, 41000, 8081, reply_src=DEVICE, reply_sport=9001)
    v = decide(track(WEB, (0.5, [ok, pin])), NO_RULES, 10)
    assert v.code == "hairpin_no_snat"
    assert v.counts == {"internet": 1, "internet_ok": 1, "lan": 1, "lan_ok": 0}


def test_a_port_scan_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dualnat.live import attempts
    from dualnat.live import watch as watch_module

    monkeypatch.setattr(attempts, "MAX_ATTEMPTS", 5)
    monkeypatch.setattr(watch_module, "MAX_EVENTS", 12)
    scan = [inbound(sport=p, state="CLOSE", replied=True) for p in range(1, 9)]
    _, report = watch(tmp_path, [(1, scan)])
    assert report.omitted == 1 + 5 * 4 - 12 and len(report.events) == 12  # note + 4 an attempt
    assert report.verdict.counts["internet"] == 5


def test_a_forward_that_is_not_planned_cannot_be_tested() -> None:
    with pytest.raises(NotTestable):
        Subject.of(plan(WEB), "nope")


# -- the watch ---------------------------------------------------------------------------------


def watch(
    tmp_path: Path,
    script_steps,
    forward=WEB,
    options: Options | None = None,
    public: bool = True,
    ruleset: str = "",
    **kw,
) -> tuple[list, object]:
    clock = Clock()
    script = Script(tmp_path / "proc", clock, ruleset=ruleset)
    for when, lines in script_steps:
        script.at(when, *lines)
    script.tick()
    sunk: list = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        script.tick()

    w = Watch(
        Subject.of(plan(forward, public=public), forward.name),
        script.system(),
        options or Options(seconds=30),
        lambda r: sunk.append(r.to_dict()),
        clock=clock,
        sleep=sleep,
        **{"events": lambda *_: None, **kw},
    )
    return sunk, w.run()


def test_the_watch_ends_a_few_seconds_after_the_verdict(tmp_path: Path) -> None:
    done = inbound(state="ESTABLISHED", replied=True, assured=True)
    sunk, report = watch(tmp_path, [(0, []), (2, [inbound()]), (2.5, [done])])
    assert report.state == DONE and report.verdict.code == "working"
    assert 6 <= report.elapsed < 8  # QUIET (4 s) after the last event at 2.5 s
    codes_seen = [e["code"] for e in sunk[-1]["events"]]
    assert codes_seen == ["note", "arrived", "translated", "answered", "connected"]
    assert sunk[0]["state"] == "watching" and sunk[-1]["verdict"]["code"] == "working"


def test_with_full_and_without_attempts_it_watches_the_whole_time(tmp_path: Path) -> None:
    done = inbound(state="ESTABLISHED", replied=True, assured=True)
    _, report = watch(tmp_path, [(1, [done])], options=Options(seconds=12, full=True))
    assert report.elapsed >= 12 and report.verdict.code == "working"
    _, report = watch(tmp_path, [], options=Options(seconds=8))
    assert report.elapsed >= 8 and report.verdict.code == "rules_missing"  # none loaded
    loaded = recorded("nft_dualnat.nft_list_ruleset.txt")  # the lab's rules, web among them
    _, report = watch(tmp_path, [], options=Options(seconds=8), public=False, ruleset=loaded)
    assert report.verdict.code == "nothing_arrived"
    assert "On the main router (generic), forward tcp external port 8081" in (
        report.verdict.fix[0].render()
    )


def test_a_stopped_watch_gives_the_verdict_of_what_it_saw(tmp_path: Path) -> None:
    calls = []
    _, report = watch(
        tmp_path, [(1, [inbound()])], stopped=lambda: calls.append(1) or len(calls) > 4
    )
    assert report.state == STOPPED and report.verdict.code == "wrong_gateway"
    assert report.verdict.message[0].id == "verdict.stopped"


def test_an_unreadable_table_fails_at_once(tmp_path: Path) -> None:
    clock = Clock()
    from dualnat.doctor.system import System

    failing = System(proc=tmp_path / "none", run=lambda *a, **k: (_ for _ in ()).throw(OSError()))
    w = Watch(
        Subject.of(plan(WEB), "web"), failing, Options(), lambda r: None, clock=clock,
        events=lambda *_: None,
    )  # fmt: skip
    report = w.run()
    assert report.state == FAILED and report.error[0].id == "error.unreadable"


# -- the self-test -----------------------------------------------------------------------------


def _wait(probe: SelfTest) -> tuple[str, str]:
    import time

    deadline = time.monotonic() + 5
    while (result := probe.poll()) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return result


def test_the_self_test_connects_or_is_refused_without_blocking() -> None:
    from ipaddress import IPv4Address

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        probe = SelfTest(IPv4Address("127.0.0.1"), port)
        probe.start()
        assert _wait(probe) == (CONNECTED, "")
    probe = SelfTest(IPv4Address("127.0.0.1"), port)
    probe.start()
    assert _wait(probe) == (REFUSED, "")
    clock = Clock()
    silent = SelfTest(IPv4Address("192.0.2.1"), 9, timeout=2, clock=clock)  # TEST-NET-1
    silent.start()
    clock.now = 2.5
    assert silent.poll() in ((TIMED_OUT, ""), ("failed", "ENETUNREACH"))


def test_the_watch_says_what_the_self_test_proves(tmp_path: Path) -> None:
    class Connected:
        timeout = 4.0

        def __init__(self, address, port) -> None:
            self.result = None
            self.args = (str(address), port)

        def start(self) -> None:
            pass

        def poll(self):
            self.result = (CONNECTED, "")
            return self.result

        def close(self) -> None:
            pass

    loop = ct(MAIN, BYPASS, 42000, 8081, reply_src=DEVICE, reply_sport=9001, reply_dst=BYPASS,
              state="ESTABLISHED", replied=True, assured=True)  # fmt: skip
    _sunk, report = watch(
        tmp_path, [(1, [loop])], options=Options(seconds=20, self_test=True), self_test=Connected
    )
    st = report.self_test
    assert st["result"] == "connected" and st["arrived"] is True
    assert st["proves"][0]["id"] == "self.proves.path" and st["cannot"][0]["id"] == "self.cannot"
    assert report.verdict.code == "working_lan_only"
    shown = render(report.to_dict(), "en", False, 0)
    assert shown["self_test"]["text"] == f"Self-test: connected to {PUBLIC}:8081."
    assert "from outside" in shown["self_test"]["cannot"]


def test_no_self_test_without_a_public_address(tmp_path: Path) -> None:
    clock = Clock()
    script = Script(tmp_path / "proc", clock)
    script.tick()
    w = Watch(
        Subject.of(plan(WEB, public=False), "web"),
        script.system(),
        Options(seconds=5, self_test=True),
        lambda r: None,
        clock=clock,
        sleep=clock.sleep,
        events=lambda *_: None,
    )
    report = w.run()
    assert report.self_test["result"] == "unavailable"
    assert report.self_test["parts"][0]["id"] == "self.no_public"


# -- every sentence in every language ----------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_every_event_and_verdict_renders(tmp_path: Path, lang: str) -> None:
    from dualnat.doctor.ruleset import RuleCheck
    from dualnat.live.verdict import BUILD, Facts

    cat = load_catalog(lang)
    keys = [k for k in load_catalog("en").messages if k.startswith("live.")]
    assert all(k in cat or k.endswith(".one") for k in keys)
    t = track(WEB, (0.5, [inbound(), ct(LAN_CLIENT, PUBLIC, 1, 8081, reply_src=DEVICE)]))
    t.direct[("udp", DEVICE, 9001, CLIENT, 5)] = entries(ct(DEVICE, CLIENT, 9001, 5))[0]
    rules = Rules("fw4", RuleCheck(("a",), ("a",)))
    for code, build in BUILD.items():
        message, fix = build(Facts(t, rules, 10, tuple(t.attempts.values())))
        for p in (*message, *fix):
            assert "{" not in p.render(lang), (code, p)
    _sunk, report = watch(tmp_path, [(1, [inbound()])])
    shown = render(report.to_dict(), lang, False, 0)
    assert all(e["text"] for e in shown["events"]) and shown["verdict"]["title"]


def test_strays_from_the_internet_do_not_spoil_a_working_forward() -> None:
    """A forwarded public port meets scanners: once a client from the Internet got
    through, others that were cut off or never answered name nothing (they are counted);
    without the working one the same attempts name the failure."""
    worked = inbound(sport=1, state="ESTABLISHED", replied=True, assured=True)
    scan = inbound(sport=2, state="CLOSE", replied=True)  # a SYN scan: answered, then reset
    silent = inbound(sport=3)  # never answered
    mixed = decide(track(WEB, (0.5, [worked, scan, silent])), NO_RULES, 10)
    assert mixed.code == "working"
    assert (mixed.counts["internet"], mixed.counts["internet_ok"]) == (3, 1)
    assert verdict(track(WEB, (0.5, [scan, silent]))) != "working"
    # a refusal by allow_source is the user's own setting: it is still named
    refused = ct(OTHER, BYPASS, 40000, 8087, state="CLOSE", replied=True)
    allowed = ct(
        CLIENT, BYPASS, 40001, 8087, state="ESTABLISHED", replied=True, assured=True,
        reply_src=DEVICE, reply_sport=9007,
    )  # fmt: skip
    assert verdict(track(ALLOWED, (0.5, [refused, allowed]))) == "source_not_allowed"
