"""`dualnat test FORWARD [--seconds N] [--self-test] [--full] [--json] [--lang L]`: the
watch in this process, each event printed as it happens, then the verdict and the fix
(with --json: one document at the end, the shape of the ubus method test_poll)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .limits import DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS

if TYPE_CHECKING:  # the parser is built for every command: the watch loads only to run
    from .watch import Report

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
WORKING = ("working", "working_lan_only")


def seconds_arg(text: str) -> float:
    value = float(text)
    if not MIN_SECONDS <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be between {MIN_SECONDS} and {MAX_SECONDS}")
    return value


class Printer:
    """Prints the events a report has that were not printed yet, in `lang`."""

    def __init__(self, lang: str, out: Callable[[str], None] = print) -> None:
        self.lang = lang
        self.out = out
        self.shown = 0

    def __call__(self, report: Report) -> None:
        from .state import render

        data = render(report.to_dict(), self.lang, False, time.time())
        for event in data["events"][self.shown :]:
            mark = f"#{event['attempt']} " if event["attempt"] else ""
            self.out(f"[{event['at']:6.1f}s] {mark}{event['text']}")
        self.shown = len(data["events"])
        sys.stdout.flush()


def summary(data: dict[str, Any], lang: str) -> list[str]:
    """The verdict, its fix and the self-test's meaning as lines."""
    from ..i18n import load_catalog

    cat = load_catalog(lang)
    lines = [""]
    if data["error"]:
        return [*lines, data["error"]]
    st = data["self_test"]
    if st and st.get("proves"):
        lines += [st["proves"], st["cannot"], ""]
    v = data["verdict"]
    lines.append(cat.t("live.cli.verdict", title=v["title"]) + f" ({v['severity']})")
    lines.append("  " + v["message"])
    if v["fix"]:
        lines.append("  " + cat.t("live.cli.fix", fix=v["fix"]))
    return lines


def run_test(args: argparse.Namespace, plan: Any) -> int:
    from ..doctor.system import System
    from ..i18n import load_catalog
    from .state import render
    from .subject import NotTestable, Subject
    from .watch import Options, Watch

    try:
        subject = Subject.of(plan, args.forward)
    except NotTestable:
        text = load_catalog(args.lang).t("live.cli.not_testable", forward=args.forward)
        print(f"error: {text}", file=sys.stderr)
        return EXIT_INVALID
    options = Options(args.seconds, args.self_test, args.full)
    stop: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sink = (lambda _: None) if args.json else Printer(args.lang)
    try:
        report = Watch(subject, System(), options, sink, stopped=lambda: bool(stop)).run()
    finally:
        signal.signal(signal.SIGINT, previous)
    data = render(report.to_dict(), args.lang, False, time.time())
    if args.json:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print("\n".join(summary(data, args.lang)))
    working = data["verdict"] is not None and data["verdict"]["code"] in WORKING
    return EXIT_OK if working else EXIT_FAILED


def add_command(sub: Any, add_lang: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "test",
        help="watch a forward live while you connect from outside; then the verdict",
        description="Watch FORWARD's connections on this router for up to --seconds: each "
        "attempt as it happens (arrived, forwarded, answered), then one verdict and the fix. "
        "Connect from outside (a phone on mobile data) while it runs.",
    )
    p.add_argument("forward", metavar="FORWARD", help="the forward's name (its section)")
    p.add_argument(
        "--seconds",
        type=seconds_arg,
        default=float(DEFAULT_SECONDS),
        help=f"how long to watch at most ({MIN_SECONDS}-{MAX_SECONDS}, default {DEFAULT_SECONDS})",
    )
    p.add_argument(
        "--self-test",
        action="store_true",
        help="also connect from this router to the main router's public address and port",
    )
    p.add_argument(
        "--full", action="store_true", help="watch the whole time, even once the verdict is in"
    )
    p.add_argument("--json", action="store_true", help="one JSON document at the end")
    add_lang(p)
