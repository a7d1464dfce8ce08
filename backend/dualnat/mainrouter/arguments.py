"""The arguments of `dualnat main-router push | status | remove | secret`, without the
actions' modules: building the command line's parser must not load the main-router
clients (every other command would pay for them); an action loads `commands` when it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..model import MainRouterControl

# `secret --kind`: every kind but manual (one that needs no secret is told so)
KINDS = tuple(c.value for c in MainRouterControl if c is not MainRouterControl.MANUAL)


def _action(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from . import commands

        return int(getattr(commands, name)(args))

    return run


def add_actions(parser: argparse.ArgumentParser, add_lang: Callable[[Any], None]) -> None:
    """`push`, `status`, `remove` and `secret` under `dualnat main-router`."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "push", help="make the main router hold exactly these forwards (main_router_control)"
    )
    p.add_argument("--dry-run", action="store_true", help="read the main router, change nothing")
    p.add_argument("--json", action="store_true")
    add_lang(p)
    p.set_defaults(func=_action("_cmd_push"))
    p = actions.add_parser(
        "status", help="what the main router holds for dualnat, and others on the same ports"
    )
    p.add_argument("--json", action="store_true")
    add_lang(p)
    p.set_defaults(func=_action("_cmd_status"))
    p = actions.add_parser("remove", help="delete dualnat's entries from the main router only")
    p.add_argument("--dry-run", action="store_true", help="read the main router, change nothing")
    p.add_argument("--json", action="store_true")
    add_lang(p)
    p.set_defaults(func=_action("_cmd_remove"))
    p = actions.add_parser(
        "secret",
        help="store the main router's password or API secret (read from stdin; root-only file)",
    )
    p.add_argument("--kind", choices=KINDS, help="default: main_router_control")
    p.add_argument("--clear", action="store_true", help="delete it")
    add_lang(p)
    p.set_defaults(func=_action("_cmd_secret"))
