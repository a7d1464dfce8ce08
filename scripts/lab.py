#!/usr/bin/env python3
"""make lab: build the network-namespace lab, run every scenario with each renderer on
each baseline of the bypass router's own firewall, and print a before/after table.
Everything is torn down at the end, also on errors and Ctrl-C.

Needs root. Usage: python scripts/lab.py [-s 1,4] [-r nft] [-b fw4] [-v]
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "lab")]
try:
    import dualnat  # noqa: F401  (installed in the venv, or run from a checkout)
except ImportError:
    sys.path.insert(0, str(ROOT / "backend"))

from catalogue import CATALOGUE, Scenario  # noqa: E402
from netns import missing_requirements  # noqa: E402
from outcome import LabSkip, Outcome  # noqa: E402
from routers import BASELINES, RENDERERS  # noqa: E402
from topology import Topology  # noqa: E402


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    baseline: str
    renderer: str
    without: str
    with_dualnat: str
    seen: str
    ok: bool
    details: str


def verdict(out: Outcome | None) -> str:
    """'works', 'fails: <first failed check>', or '-'."""
    if out is None:
        return "-"
    if out.ok:
        return "works"
    failed = next(c for c in out.checks if not c.passed)
    if failed.answer is None:
        return f"fails: {failed.detail}"
    if not failed.answer.ok:
        return f"fails ({failed.answer.text})"
    got = f"port {failed.answer.port}" if failed.answer.port else failed.answer.text
    return f"wrong answer ({got})"


def seen(out: Outcome) -> str:
    """What the servers answered, in short."""
    texts = [c.answer.text for c in out.checks if c.answer is not None and c.answer.ok]
    if not texts:
        return next((c.detail for c in out.checks if c.answer is None), "-")
    more = f" (+{len(texts) - 1} more)" if len(texts) > 1 else ""
    return texts[0] + more


def run_row(lab: Topology, sc: Scenario, renderer: str, without: Outcome | None) -> Row:
    try:
        out = sc.with_dualnat(lab, renderer)
    except LabSkip as exc:
        return Row(sc, lab.baseline, renderer, "-", f"skipped: {exc}", "-", True, "")
    return Row(
        sc, lab.baseline, renderer, verdict(without), verdict(out), seen(out), out.ok, out.report()
    )


def run_all(
    lab: Topology, keys: set[str] | None, renderers: list[str], baselines: list[str]
) -> list[Row]:
    return [row for baseline in baselines for row in run_baseline(lab, baseline, keys, renderers)]


def run_baseline(
    lab: Topology, baseline: str, keys: set[str] | None, renderers: list[str]
) -> list[Row]:
    lab.use_baseline(baseline)
    rows = []
    for sc in CATALOGUE:
        if keys and sc.key not in keys:
            continue
        shared: Outcome | None = None
        for renderer in (r for r in sc.renderers if r in renderers):
            without = None
            try:
                if sc.without and (sc.without_per_renderer or shared is None):
                    without = sc.without(lab, renderer)
                    shared = None if sc.without_per_renderer else without
                else:
                    without = shared
            except LabSkip:
                without = None
            rows.append(run_row(lab, sc, renderer, without))
            print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)
    return rows


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[Row]) -> str:
    cols = (
        ("#", 3),
        ("scenario", 34),
        ("baseline", 16),
        ("renderer", 8),
        ("without dualnat", 32),
        ("with dualnat", 16),
        ("what the server saw (with dualnat)", 58),
    )
    lines = [" ".join(name.ljust(w) for name, w in cols), " ".join("-" * w for _, w in cols)]
    for r in rows:
        cells = (
            r.scenario.key,
            r.scenario.title,
            r.baseline,
            r.renderer,
            r.without,
            r.with_dualnat,
            r.seen,
        )
        lines.append(" ".join(clip(c, w).ljust(w) for c, (_, w) in zip(cells, cols, strict=True)))
    return "\n".join(lines)


def legend(rows: list[Row]) -> str:
    seen_keys: dict[str, Scenario] = {r.scenario.key: r.scenario for r in rows}
    lines = ["", "Without dualnat means:"]
    lines += [f"  {k:>3}  {sc.before}" for k, sc in seen_keys.items()]
    lines += ["", "Baselines (the bypass router's own firewall):"]
    lines += [f"  {b.name:<16} {b.summary}" for b in BASELINES.values()]
    return "\n".join(lines)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-s", "--scenarios", help="comma-separated keys, e.g. 1,3t,9")
    parser.add_argument(
        "-r",
        "--renderer",
        action="append",
        choices=RENDERERS,
        help="only this renderer (repeatable)",
    )
    parser.add_argument(
        "-b",
        "--baseline",
        action="append",
        choices=list(BASELINES),
        help="only this baseline of the bypass router's firewall (repeatable)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every check")
    args = parser.parse_args(argv)
    problems = missing_requirements()
    if problems:
        print("lab: cannot run: " + "; ".join(problems), file=sys.stderr)
        return 2
    keys = set(args.scenarios.split(",")) if args.scenarios else None
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    renderers = args.renderer or list(RENDERERS)
    try:
        with Topology() as lab:
            rows = run_all(lab, keys, renderers, args.baseline or list(BASELINES))
    except KeyboardInterrupt:
        print("\nlab: interrupted; everything was torn down", file=sys.stderr)
        return 130
    print(table(rows))
    print(legend(rows))
    failed = [r for r in rows if not r.ok]
    for r in failed if not args.verbose else rows:
        print(f"\n{r.scenario.key} {r.scenario.title} [{r.baseline}, {r.renderer}]")
        print(textwrap.indent(r.details, "  "))
    print(f"\n{len(rows) - len(failed)}/{len(rows)} scenario runs work with dualnat")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
