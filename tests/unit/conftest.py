"""Every finding the doctor tests make (their scenarios and recorded data) is checked:
its message and fix parts render, the way LuCI renders them, to exactly its English
message and fix, with known templates and every placeholder given."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from finding_parts import check_finding

from dualnat.doctor.findings import Finding


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
