"""Whether the lab may skip: without root or tools it skips, unless CI requires it."""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "DUALNAT_REQUIRE_LAB"


def lab_required() -> bool:
    """DUALNAT_REQUIRE_LAB=1: a missing lab is a failure, never a skip."""
    return os.environ.get(REQUIRE_ENV) == "1"


def unavailable(reason: str) -> None:
    """Skip the lab test, or fail it when the lab is required."""
    if lab_required():
        pytest.fail(f"{REQUIRE_ENV}=1 but the lab cannot run: {reason}", pytrace=False)
    pytest.skip(f"network-namespace lab skipped: {reason}")
