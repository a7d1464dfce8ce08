"""The layout of the repository itself."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_test_modules_have_unique_names() -> None:
    """`make test` collects every folder at once; pytest imports test modules by their
    basename (no packages), so two folders may not share one."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
