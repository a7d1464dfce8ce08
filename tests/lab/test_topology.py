"""The lab itself: it cleans up after errors, and refuses to skip when CI requires it."""

from __future__ import annotations

import pytest
from gate import REQUIRE_ENV, unavailable
from netns import missing_requirements, run
from topology import Topology


def test_topology_is_torn_down_after_an_error() -> None:
    if missing_requirements():
        unavailable("; ".join(missing_requirements()))
    topo = Topology()
    with pytest.raises(RuntimeError, match="boom"), topo:
        procs = list(topo.procs)
        assert len(topo.ns) > 10 and procs
        raise RuntimeError("boom")
    assert topo.leftovers() == []
    assert all(proc.poll() is not None for proc in procs)
    assert not topo.workdir.exists()
    names = run(["ip", "netns", "list"]).stdout
    assert topo.prefix not in names


def test_missing_lab_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="cannot run: no root"):
        unavailable("no root")


def test_missing_lab_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no root"):
        unavailable("no root")
