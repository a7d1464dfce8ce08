"""Every finding the doctor tests make (their scenarios and recorded data) is checked:
its message and fix parts render, the way LuCI renders them, to exactly its English
message and fix, with known templates and every placeholder given.

Likewise every plan that any unit test builds (planner, render, apply, CLI, instructions
tests, their fixtures and random layouts): each item's reason_parts render to exactly its
reason, each warning's parts to the warning."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from finding_parts import check_finding
from reason_parts import check_plan

from dualnat import memo
from dualnat.doctor.findings import Finding
from dualnat.plan import Plan


@pytest.fixture(autouse=True, scope="session")
def _memos_on() -> Iterator[None]:
    """As in the service (memo.py): every plan these tests make goes through the memos'
    keys, so an input that cannot be a key (or a result kept wrongly) shows here; the
    CLI's path without them is what its subprocess tests run."""
    memo.enable()
    yield
    memo.enable(False)


@pytest.fixture(autouse=True)
def _finding_parts_render_to_the_text(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if not request.module.__name__.startswith("test_doctor_"):
        yield
        return
    made: list[Finding] = []
    original = Finding.__post_init__

    def record(self: Finding) -> None:
        original(self)
        made.append(self)

    monkeypatch.setattr(Finding, "__post_init__", record)
    yield
    for finding in made:
        check_finding(finding.to_dict())


@pytest.fixture(autouse=True)
def _reason_parts_render_to_the_text(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    made: list[Plan] = []
    original = Plan.__init__

    def record(self: Plan, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(Plan, "__init__", record)
    yield
    for plan in made:
        check_plan(plan.to_dict())
