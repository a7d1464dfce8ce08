"""Tags, the expansion of a forward into router entries, and reconcile: dualnat's entries
only, conflicts reported and left alone, ranges one mapping per port for UPnP."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from hypothesis import given
from hypothesis import strategies as st
from mainrouter_fakes import API, BYPASS, UPNP, fwd, theirs

from dualnat.mainrouter.model import (
    Entry,
    Shape,
    State,
    expand,
    forward_of,
    is_tagged,
    tag_for,
)
from dualnat.mainrouter.reconcile import Op, reconcile
from dualnat.model import PortRange


def ours(**kw: object) -> Entry:
    """dualnat's entry for tcp 9000 → the bypass router, with `kw` changed (the target
    port follows the external port unless given)."""
    external = kw.get("external", PortRange.single(9000))
    base = Entry(("tcp",), external, BYPASS, external, "dualnat web", True)  # type: ignore[arg-type]
    return replace(base, **kw)  # type: ignore[arg-type]


def test_tag_fits_63_bytes_without_splitting_a_character() -> None:
    tag = tag_for("服务器" * 30)
    assert len(tag.encode()) <= 63 and tag.startswith("dualnat 服务器")
    tag.encode().decode("utf-8")  # whole characters only
    assert tag_for("web") == "dualnat web" and is_tagged("dualnat web")
    assert not is_tagged("my dualnat") and forward_of("dualnat web") == "web"


def test_upnp_expands_a_range_into_one_mapping_per_port_and_protocol() -> None:
    wants = expand(fwd("rng", "8000-8002", "tcpudp", "9000-9002"), UPNP)
    assert [(w.protocols, w.external.first, w.target.first) for w in wants] == [
        (("tcp",), 8000, 9000),
        (("tcp",), 8001, 9001),
        (("tcp",), 8002, 9002),
        (("udp",), 8000, 9000),
        (("udp",), 8001, 9001),
        (("udp",), 8002, 9002),
    ]
    # a range to one port: every external port goes to that port
    assert {w.target.first for w in expand(fwd("one", "8000-8002", "tcp", "9000"), UPNP)} == {9000}


def test_api_routers_take_the_range_and_both_protocols_in_one_entry() -> None:
    (want,) = expand(fwd("rng", "8000-8002", "tcpudp", "9000-9002"), API)
    assert want.protocols == ("tcp", "udp") and str(want.external) == "8000-8002"
    assert str(want.target) == "9000-9002" and want.tag == "dualnat rng"


def test_empty_router_gets_everything_added() -> None:
    plan = reconcile([fwd("web", "9000"), fwd("rng", "9010-9011", "udp")], [], UPNP)
    assert [(s.op, s.ports) for s in plan.actions] == [
        (Op.ADD, "tcp 9000"),
        (Op.ADD, "udp 9010"),
        (Op.ADD, "udp 9011"),
    ]
    assert [(o.forward, o.state) for o in plan.outcomes()] == [
        ("web", State.ADDED),
        ("rng", State.ADDED),
    ]


def test_what_is_there_stays_what_changed_is_updated_what_is_stale_goes() -> None:
    web = ours()
    old_target = ours(
        external=PortRange.single(9001), target=PortRange.single(1), tag="dualnat ssh"
    )
    stale = ours(external=PortRange.single(9002), tag="dualnat gone")
    plan = reconcile([fwd("web", "9000"), fwd("ssh", "9001")], [web, old_target, stale], UPNP)
    assert [(s.op, s.ports) for s in plan.actions] == [
        (Op.DELETE, "tcp 9002"),
        (Op.UPDATE, "tcp 9001"),
    ]
    assert {o.forward: o.state for o in plan.outcomes()} == {
        "web": State.IN_PLACE,
        "ssh": State.UPDATED,
        "gone": State.REMOVED,
    }


def test_someone_elses_entry_is_a_conflict_for_that_forward_only() -> None:
    user = theirs(9000, tag="my game")
    plan = reconcile([fwd("web", "9000"), fwd("ok", "9001")], [user], UPNP)
    assert [(s.op, s.ports) for s in plan.actions] == [(Op.ADD, "tcp 9001")]
    web, ok = plan.outcomes()
    assert web.state is State.FAILED and web.manual
    assert "'my game' → 192.168.1.60:9000" in web.reason and web.reason.startswith("tcp 9000: ")
    assert ok.state is State.ADDED
    # a different protocol or a disabled entry is no conflict
    other = [theirs(9000, proto="udp"), replace(theirs(9001), enabled=False)]
    assert {
        o.state for o in reconcile([fwd("web", "9000"), fwd("ok", "9001")], other, UPNP).outcomes()
    } == {State.ADDED}


def test_a_range_overlapping_someone_elses_range_conflicts_on_api_routers() -> None:
    user = replace(theirs(8005), external=PortRange(8005, 8007))
    (out,) = reconcile([fwd("rng", "8000-8010")], [user], API).outcomes()
    assert out.state is State.FAILED and "8000-8010" in out.reason


def test_api_routers_match_their_entries_by_forward_name() -> None:
    moved = ours(tag="dualnat web", external=PortRange(7000, 7000), key="dualnat_web")
    plan = reconcile([fwd("web", "9000")], [moved], API)
    (step,) = plan.actions
    assert step.op is Op.UPDATE and step.entry == moved and str(step.want.external) == "9000"


def test_duplicates_of_dualnat_entries_are_removed() -> None:
    a, b = ours(key="a"), ours(key="b")
    plan = reconcile([fwd("web", "9000")], [a, b], UPNP)
    assert [(s.op, s.entry.key) for s in plan.actions] == [(Op.DELETE, "b")]
    (out,) = plan.outcomes()
    assert out.state is State.UPDATED  # one kept, one removed


def test_leases_about_to_end_are_renewed() -> None:
    short, long = (
        ours(lease=100),
        ours(external=PortRange.single(9001), lease=5000, tag="dualnat b"),
    )
    permanent = ours(external=PortRange.single(9002), lease=0, tag="dualnat c")
    plan = reconcile(
        [fwd("web", "9000"), fwd("b", "9001"), fwd("c", "9002")],
        [short, long, permanent],
        UPNP,
        renew_below=600,
    )
    assert [(s.op, s.ports) for s in plan.actions] == [(Op.RENEW, "tcp 9000")]
    web, b, c = plan.outcomes()
    assert web.state is State.IN_PLACE and "renewed" in web.reason
    assert b.state is c.state is State.IN_PLACE and "renewed" not in b.reason


ports = st.integers(1, 200)
entries = st.builds(
    lambda port, proto, mine, tag, enabled: Entry(
        (proto,),
        PortRange.single(port),
        IPv4Address("192.168.1.9"),
        PortRange.single(port),
        f"dualnat {tag}" if mine else tag,
        mine,
        key=f"{port}{proto}{tag}",
        enabled=enabled,
    ),
    ports,
    st.sampled_from(["tcp", "udp"]),
    st.booleans(),
    st.sampled_from(["a", "b", "c", "game"]),
    st.booleans(),
)
forwards = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]), ports, st.sampled_from(["tcp", "udp", "tcpudp"])
    ),
    max_size=4,
    unique_by=lambda t: t[0],
)


@given(st.lists(entries, max_size=12), forwards, st.sampled_from([UPNP, API]))
def test_only_dualnat_entries_are_ever_touched(
    found: list[Entry], wanted: list[tuple[str, int, str]], shape: Shape
) -> None:
    fwds = [fwd(n, str(p), proto) for n, p, proto in wanted]
    plan = reconcile(fwds, found, shape)
    for step in plan.actions:
        assert step.entry is None or step.entry.ours
        assert step.op is not Op.ADD or not any(
            e.overlaps(step.want) and not e.ours and e.enabled for e in found
        )
    # every dualnat entry not wanted is deleted; every forward gets exactly one outcome
    names = [f.name for f in fwds]
    outcomes = plan.outcomes()
    assert [o.forward for o in outcomes if o.forward in names] == names
    assert all(o.state is not State.REMOVED for o in outcomes if o.forward in names)
