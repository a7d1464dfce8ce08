"""A test's state file (`<state dir>/live/<forward>.json`: the daemon's child writes it,
replaced atomically, and the poll reads it) and its rendering in the caller's language.

The rendered answer (`test_poll`, `dualnat test --json`)::

    {"forward", "target", "state": "starting|watching|done|stopped|failed", "running": bool,
     "seconds", "elapsed", "left",
     "events": [{"at", "attempt", "path": "internet|lan|main|self|", "code", "text"}],
     "omitted": N (older events left out; the latest 300 are kept),
     "self_test": {"result": "connected|refused|timeout|failed|unavailable|stopped|null",
                   "text", "proves", "cannot", "arrived"} | null,
     "verdict": {"code", "severity", "title", "message", "fix", "counts"} | null,
     "error": str | null}
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from ..i18n import load_catalog
from ..site import Site
from ..uci.backends import atomic_write
from .parts import dump, part, text
from .watch import FAILED, STARTING, WATCHING, Report

FOLDER = "live"
RUNNING_STATES = (STARTING, WATCHING)


def path(site: Site, forward: str) -> Path:
    return site.state_dir / FOLDER / f"{forward}.json"


def write(file: Path, report: Report | dict[str, Any]) -> None:
    data = report.to_dict() if isinstance(report, Report) else report
    file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(file, json.dumps(data, ensure_ascii=False))


def read(file: Path) -> dict[str, Any] | None:
    """The stored state, or None (no test ran, or the file is not a state)."""
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "forward" in data else None


def failed(data: dict[str, Any], error: str) -> dict[str, Any]:
    """The state of a test whose process ended without saying how (its error text)."""
    if data.get("state") not in RUNNING_STATES:
        return data
    return {**data, "state": FAILED, "error": dump((part("error.failed", error=error),))}


def _text(parts: Any, lang: str) -> str | None:
    if not parts:
        return None
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return text(parts, lang)
    return None


def render(data: dict[str, Any], lang: str, running: bool, now: float) -> dict[str, Any]:
    """The API's answer: every sentence in `lang`; `now` in epoch seconds."""
    seconds = float(data.get("seconds", 0))
    elapsed = float(data.get("elapsed", 0))
    if running:
        elapsed = round(min(seconds, max(elapsed, now - float(data.get("started", now)))), 1)
    events = [
        {k: e.get(k) for k in ("at", "attempt", "path", "code")} | {"text": _text(e["parts"], lang)}
        for e in data.get("events", [])
    ]
    st = data.get("self_test")
    self_test = None
    if st is not None:
        self_test = {
            "result": st.get("result"),
            "text": _text(st.get("parts"), lang),
            "proves": _text(st.get("proves"), lang),
            "cannot": _text(st.get("cannot"), lang),
            "arrived": st.get("arrived"),
        }
    v = data.get("verdict")
    verdict = None
    if v is not None:
        verdict = {
            "code": v["code"],
            "severity": v["severity"],
            "title": load_catalog(lang).t(f"live.title.{v['code']}"),
            "message": _text(v["message"], lang),
            "fix": _text(v["fix"], lang),
            "counts": v.get("counts", {}),
        }
    return {
        "forward": data.get("forward"),
        "target": data.get("target", ""),
        "state": data.get("state"),
        "running": running,
        "seconds": seconds,
        "elapsed": elapsed,
        "left": max(0.0, round(seconds - elapsed, 1)) if running else 0.0,
        "events": events,
        "omitted": int(data.get("omitted", 0)),
        "self_test": self_test,
        "verdict": verdict,
        "error": _text(data.get("error"), lang),
    }
