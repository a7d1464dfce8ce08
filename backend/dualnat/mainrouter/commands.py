"""`dualnat main-router push | status | remove | secret`, and the main router's part of
`apply` and `revert` (the command line waits for the main router; the daemon never does,
see ubus/keeper.py)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from ..config import CONFIG_NAME, parse_config
from ..context import load_inputs, make_plan
from ..i18n import DEFAULT_LANG, load_catalog
from ..plan import Plan
from ..site import Site
from .control import (
    Result,
    Target,
    load_state,
    look,
    push_plan,
    remove_all,
    secret_name,
    secret_store,
)
from .marks import MANUAL, needed
from .model import State
from .present import result_json, result_lines

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _plan(site: Site) -> Plan:
    """The plan for the main router: no public address lookup (it changes nothing here)."""
    return make_plan(site, with_public=False)


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def push_after_apply(site: Site, plan: Plan, out: Callable[[str], None] = print) -> bool:
    """`apply`'s push (English lines, as apply's own); True when every forward is in place."""
    if not needed(site, plan.settings):
        return True
    result = push_plan(site, plan)
    for line in result_lines(result, plan):
        out(line)
    return result.ok


def remove_after_revert(site: Site, dry_run: bool, out: Callable[[str], None] = print) -> bool:
    """`revert`'s removal of dualnat's entries from the main router."""
    cat = load_catalog(DEFAULT_LANG)
    try:
        inputs, _ = load_inputs(site)
    except Exception as exc:  # the LAN cannot be read: the main router cannot be named
        out(cat.t("text.push.revert.skipped", reason=str(exc).splitlines()[0]))
        return True
    result = remove_all(site, inputs.config.settings, inputs.network, dry_run=dry_run)
    if result is None:
        return True
    for line in result_lines(result, None):
        out(line)
    return result.ok


def _cmd_push(args: argparse.Namespace) -> int:
    plan = _plan(args.site)
    result = push_plan(args.site, plan, dry_run=args.dry_run)
    if args.json:
        _print_json(result_json(result, plan, args.lang))
    else:
        print("\n".join(result_lines(result, plan, args.lang)))
    return EXIT_OK if result.ok else EXIT_FAILED


def _last_line(last: Result | None, lang: str) -> str | None:
    if last is None or last.router is None:
        return None
    cat = load_catalog(lang)
    verdict = cat.t("text.push.last.ok" if last.ok else "text.push.last.failed")
    return cat.t("text.push.last", time=when(last.at), result=verdict)


def _cmd_status(args: argparse.Namespace) -> int:
    plan = _plan(args.site)
    live = look(args.site, plan)
    last = load_state(args.site)
    target = Target.of(plan.settings, plan.network)
    in_place = live is not None and all(o.state is State.IN_PLACE for o in live.outcomes)
    reached = live is not None and live.report is not None and live.report.found is not None
    if args.json:
        _print_json(
            {
                "control": target.to_dict() if target else {"kind": MANUAL},
                "live": result_json(live, plan, args.lang) if live else None,
                "last": result_json(last, None, args.lang) if last else None,
            }
        )
    elif live is None:
        print(load_catalog(args.lang).t("text.push.manual"))
    else:
        lines = result_lines(live, plan, args.lang, held=True)
        last_line = _last_line(last, args.lang)
        print("\n".join([*lines, *([last_line] if last_line else [])]))
    return EXIT_OK if live is None or (reached and in_place) else EXIT_FAILED


def _cmd_remove(args: argparse.Namespace) -> int:
    inputs, _ = load_inputs(args.site)
    settings, net = inputs.config.settings, inputs.network
    result = remove_all(args.site, settings, net, dry_run=args.dry_run)
    if result is None:
        if args.json:
            _print_json({"kind": MANUAL})
        else:
            print(load_catalog(args.lang).t("text.push.manual"))
        return EXIT_OK
    if args.json:
        _print_json(result_json(result, None, args.lang))
    else:
        print("\n".join(result_lines(result, None, args.lang)))
    return EXIT_OK if result.ok else EXIT_FAILED


def _cmd_secret(args: argparse.Namespace) -> int:
    cat = load_catalog(args.lang)
    kind = args.kind
    if not kind:
        config, _ = parse_config(args.site.backend.read(CONFIG_NAME), require_main=False)
        kind = config.settings.main_router_control.value
    if kind == MANUAL:
        print("error: " + cat.t("text.push.secret.no_kind"), file=sys.stderr)
        return EXIT_INVALID
    name = secret_name(kind)
    if name is None:
        print("error: " + cat.t("text.push.secret.not_needed", kind=kind), file=sys.stderr)
        return EXIT_INVALID
    store = secret_store(args.site)
    if args.clear:
        store.delete(name)
        print(cat.t("text.push.secret.cleared", kind=kind))
        return EXIT_OK
    prompt = cat.t("text.push.secret.prompt", kind=kind)
    value = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()
    value = value.rstrip("\r\n")
    if not value:
        print("error: empty secret (use --clear to delete it)", file=sys.stderr)
        return EXIT_INVALID
    store.set(name, value)
    print(cat.t("text.push.secret.set", kind=kind, path=store.path))
    return EXIT_OK
