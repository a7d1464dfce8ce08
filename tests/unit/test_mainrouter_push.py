"""push through an in-memory router: per-forward failures, an unreachable router, commit,
idempotence, remove, leases."""

from __future__ import annotations

from mainrouter_fakes import UPNP, FakeRouter, fwd, theirs

from dualnat.mainrouter.errors import RouterError
from dualnat.mainrouter.model import SEVEN_DAYS, State
from dualnat.mainrouter.push import push, remove

FORWARDS = [fwd("web", "9000"), fwd("game", "9100-9101", "tcpudp"), fwd("ssh", "2222")]


def states(report) -> dict[str, State]:  # type: ignore[no-untyped-def]
    return {o.forward: o.state for o in report.outcomes}


def test_push_adds_then_a_second_push_changes_nothing() -> None:
    router = FakeRouter()
    first = push(router, FORWARDS)
    assert first.ok and set(states(first).values()) == {State.ADDED}
    assert router.committed == 1 and len(router.held) == 3
    router.calls.clear()
    second = push(router, FORWARDS)
    assert set(states(second).values()) == {State.IN_PLACE}
    assert router.calls == ["entries"]  # nothing written, nothing committed


def test_dry_run_reads_and_writes_nothing() -> None:
    router = FakeRouter(held=[theirs(2222)])
    report = push(router, FORWARDS, dry_run=True)
    assert router.calls == ["entries"] and router.held == [theirs(2222)]
    assert states(report) == {"web": State.ADDED, "game": State.ADDED, "ssh": State.FAILED}


def test_one_refused_forward_fails_alone_with_the_routers_reason() -> None:
    refusal = RouterError("fault.606", manual=True, code="606")
    router = FakeRouter(refuse={9000: refusal})
    report = push(router, FORWARDS)
    assert states(report) == {"web": State.FAILED, "game": State.ADDED, "ssh": State.ADDED}
    web = report.outcomes[0]
    assert web.reason == (
        "tcp 9000: could not add it: the main router does not allow this mapping: the port is "
        "outside its UPnP permission rules (OpenWrt's defaults allow only ports 1024-65535); "
        "use an external port of 1024 or more, or forward this port by hand"
    )
    assert web.text("zh").startswith("tcp 9000：无法添加：")
    assert web.manual and not report.ok


def test_unreachable_router_fails_every_forward_and_never_raises() -> None:
    down = RouterError("net.timeout", unreachable=True, router="192.168.1.1", seconds="5")
    router = FakeRouter(down=down)
    report = push(router, FORWARDS)
    said = "the main router at 192.168.1.1 did not answer within 5 s"
    assert [(o.forward, o.state, o.reason) for o in report.outcomes] == [
        ("web", State.FAILED, said),
        ("game", State.FAILED, said),
        ("ssh", State.FAILED, said),
    ]
    assert report.outcomes[1].ports == ("tcp+udp 9100-9101",)


def test_a_router_that_stops_answering_is_not_asked_again_in_that_push() -> None:
    router = FakeRouter(down_after=2)  # answers `entries` and the first add, then is gone
    report = push(router, FORWARDS)
    assert router.calls == ["entries", "add tcp 9000", "add tcp+udp 9100-9101", "commit"]
    # the add that went through was never committed: it fails as well
    assert states(report) == {"web": State.FAILED, "game": State.FAILED, "ssh": State.FAILED}
    gone = "the main router at 192.168.1.1 could not be reached"
    assert report.outcomes[2].reason == f"tcp 2222: could not add it: {gone}"
    assert report.outcomes[0].reason.endswith(f"the main router did not take the changes: {gone}")


def test_a_failed_commit_fails_every_forward_that_changed() -> None:
    router = FakeRouter(held=[theirs(2222)], commit_error=RouterError("openwrt.undone"))
    report = push(router, FORWARDS)
    assert states(report) == {"web": State.FAILED, "game": State.FAILED, "ssh": State.FAILED}
    assert "undid the changes before dualnat could confirm" in report.outcomes[0].reason
    assert "someone else" in report.outcomes[2].reason  # the conflict keeps its own reason


def test_remove_takes_away_dualnats_entries_only() -> None:
    router = FakeRouter(held=[theirs(8080)])
    push(router, FORWARDS)
    report = remove(router)
    assert set(states(report).values()) == {State.REMOVED}
    assert router.held == [theirs(8080)]


def test_upnp_leases_are_reported_for_renewal() -> None:
    router = FakeRouter(shape=UPNP, lease=3600)
    report = push(router, [fwd("web", "9000")], clock=lambda: 1000.0)
    (web,) = report.outcomes
    assert web.lease is not None
    assert (web.lease.requested, web.lease.remaining, web.lease.renew_at) == (3600, 3600, 2800.0)
    router.age(3000)
    renewed = push(router, [fwd("web", "9000")], renew_below=1800, clock=lambda: 4000.0)
    (web,) = renewed.outcomes
    assert web.state is State.IN_PLACE and "renewed" in web.reason
    assert web.lease.remaining == 3600 and router.held[0].lease == 3600  # type: ignore[union-attr]
    # lease 0: the router grants 7 days
    assert (
        push(FakeRouter(shape=UPNP, lease=0), [fwd("a", "1")]).outcomes[0].lease.remaining
        == SEVEN_DAYS
    )  # type: ignore[union-attr]


def test_outcomes_speak_the_callers_language_and_survive_json() -> None:
    import json

    from dualnat.mainrouter.model import Outcome
    from dualnat.mainrouter.soap import fault_error

    router = FakeRouter(held=[theirs(2222, tag="my ssh")], refuse={9000: fault_error(606, "")})
    report = push(router, FORWARDS)
    web, game, ssh = report.outcomes
    assert "1024" in web.text("zh") and "无法添加" in web.text("zh")
    assert "追加できませんでした" in web.text("ja") and "1024" in web.text("ja")
    assert ssh.text("zh").startswith("tcp 2222：主路由已经为别人转发了这个端口（'my ssh' → ")
    assert game.text("ja") == "メインルーターに追加しました"
    for outcome in report.outcomes:
        again = Outcome.from_dict(json.loads(json.dumps(outcome.to_dict("ja"))))
        assert again == outcome and again.text("zh") == outcome.text("zh")
    assert report.to_dict("zh")["forwards"][1]["reason"] == "已添加到主路由"
