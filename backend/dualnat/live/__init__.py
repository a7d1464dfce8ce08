"""`dualnat test FORWARD`: watch one forward's traffic on the bypass router while someone
connects from outside, report each attempt as it happens, and end with one verdict and
its fix.

    subject = Subject.of(plan, "nas_web")             # the forward as the plan has it
    Watch(subject, System(), Options(seconds=120), sink).run()   # sink(report) per change

Modules, one job each: `subject` (the forward under test, from the plan), `attempts`
(the tracker: snapshots of the connection table → attempts, their stages and events;
pure), `verdict` (attempts + loaded rules → one verdict and the fix; pure), `selftest`
(a non-blocking TCP connect to the main router's public address), `watch` (the loop),
`limits` (how long a test may watch), `state` (the state file and its rendering in the
caller's language), `runner` (the daemon's tests in forked children: start, poll, stop).
Sentences are parts of the catalogue table [live] (i18n/<lang>.toml), rendered at the edge.
Only `limits` loads with the package (the command line's parser imports it); the rest on
first use.

Verdict codes (verdict.FAILURES, in the order they win): rules_missing, not_translated,
snat_missing, hairpin_no_snat, wrong_gateway, device_refused, device_silent, answer_lost,
source_not_allowed; else working, working_lan_only; without any attempt
main_router_to_device, rules_missing or nothing_arrived.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .limits import DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS

if TYPE_CHECKING:
    from .runner import Busy, LiveTests
    from .subject import NotTestable, Subject
    from .watch import Options, Report, Watch

# loaded on first use: `dualnat test`'s parser imports this package with every command
_LAZY = {
    "Busy": "runner",
    "LiveTests": "runner",
    "NotTestable": "subject",
    "Subject": "subject",
    "Options": "watch",
    "Report": "watch",
    "Watch": "watch",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "DEFAULT_SECONDS",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "Busy",
    "LiveTests",
    "NotTestable",
    "Options",
    "Report",
    "Subject",
    "Watch",
]
