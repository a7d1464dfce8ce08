"""`dualnat` command line: a thin front end over the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .context import make_plan
from .errors import ApplyError, ConfigInvalid
from .i18n import DEFAULT_LANG, normalize_lang
from .plan import Plan
from .plan_text import check_text, main_router_text, plan_text
from .site import Site, config_dir_from
from .uci import UciError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, as a shell reports a program that SIGPIPE ended


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _main_router_json(plan: Plan, lang: str) -> dict[str, Any]:
    data = plan.main_router.to_dict(lang)
    data["port_forwards"] = [
        {k: f[k] for k in ("name", "proto", "external_port", "internal_ip", "internal_port")}
        for f in data["port_forwards"]
    ]
    return data


def _cmd_check(args: argparse.Namespace) -> int:
    print(check_text(_plan(args), args.lang))
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    plan = _plan(args)
    if args.json:
        _print_json(plan.to_dict(args.lang))
    else:
        print(plan_text(plan, args.lang))
    return EXIT_OK


def _cmd_render(args: argparse.Namespace) -> int:
    from .render import REVERTERS, render

    if args.revert:
        if args.format not in REVERTERS:
            raise SystemExit("--revert exists for the nft and iptables formats")
        sys.stdout.write(REVERTERS[args.format]())
        return EXIT_OK
    sys.stdout.write(render(_plan(args), args.format))
    return EXIT_OK


def _cmd_main_router(args: argparse.Namespace) -> int:
    plan = _plan(args)
    if args.json:
        _print_json(_main_router_json(plan, args.lang))
    else:
        print(main_router_text(plan, args.lang))
    return EXIT_OK


def _cmd_instructions(args: argparse.Namespace) -> int:
    from .instructions import build_instructions, render

    plan = _plan(args, args.vendor)
    sys.stdout.write(render(build_instructions(plan, args.lang, args.dns), args.format))
    return EXIT_OK


def _report(result_diff: str, messages: list[str], dry_run: bool) -> None:
    if dry_run:
        sys.stdout.write(result_diff or "no changes\n")
        return
    for m in messages:
        print(m)


def _cmd_apply(args: argparse.Namespace) -> int:
    from .apply import apply_plan

    plan = _plan(args)
    result = apply_plan(plan, args.site, dry_run=args.dry_run)
    _report(result.diff, result.messages, args.dry_run)
    if not args.dry_run:
        from .mainrouter.marks import needed, resume

        resume(args.site)  # after a revert, the daemon keeps the main router again
        if not args.no_push and needed(args.site, plan.settings):
            from .mainrouter.commands import push_after_apply  # main_router_control

            push_after_apply(args.site, plan)
    return EXIT_OK


def _cmd_revert(args: argparse.Namespace) -> int:
    from .apply import revert

    result = revert(args.site, dry_run=args.dry_run)
    _report(result.diff, result.messages, args.dry_run)
    from .mainrouter.commands import remove_after_revert  # dualnat's entries on the main router

    remove_after_revert(args.site, args.dry_run)
    return EXIT_OK


def _shown_default(option: dict[str, Any]) -> str:
    """An option's default as it would be written in the file."""
    value = option["default"]
    if option["required"]:
        return "required"
    if option["name"] == "internal_port":
        return "default: the external_port"
    if isinstance(value, bool):
        return f"default '{int(value)}'"
    if value in (None, "", []):
        return "default: not set"
    return f"default '{value}'"


def _cmd_schema(args: argparse.Namespace) -> int:
    from .options import schema

    data = schema()
    if args.json:
        _print_json(data)
        return EXIT_OK
    for section, options in data.items():
        print(f"config {section}")
        for o in options:
            kind = f"list of {o['kind']}" if o["list"] else o["kind"]
            extra = f" ({' | '.join(o['choices'])})" if o["choices"] else ""
            print(f"  {o['name']:<24} {kind}{extra}; {_shown_default(o)}")
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import diagnose

    report = diagnose(_plan(args))
    if args.json:
        _print_json(report.to_dict(args.lang))
    else:
        sys.stdout.write(report.text(args.lang))
    return EXIT_FAILED if report.failed else EXIT_OK


def _cmd_test(args: argparse.Namespace) -> int:
    from .live.commands import run_test

    return run_test(args, _plan(args))


def _plan(args: argparse.Namespace, vendor: str | None = None) -> Plan:
    from .publicip import resolver_for  # public_address 'auto': the address the daemon found

    return make_plan(args.site, resolver_for(args.site), vendor)


def _add_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", default=DEFAULT_LANG, help="en, zh or ja (default en)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dualnat",
        description="Port forwarding, hairpin and masquerade for a bypass router (旁路由).",
    )
    parser.add_argument("--version", action="version", version=f"dualnat {__version__}")
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        help="folder of UCI files (dualnat, network, firewall, dhcp); default "
        "$DUALNAT_CONFIG_DIR or /etc/config",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("check", help="validate the configuration")
    _add_lang(p)
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("plan", help="show what dualnat will do, and why")
    p.add_argument("--json", action="store_true")
    _add_lang(p)
    p.set_defaults(func=_cmd_plan)
    p = sub.add_parser("render", help="print the rules for uci (fw4), nft or iptables")
    p.add_argument("--format", choices=("uci", "nft", "iptables"), default="uci")
    p.add_argument("--revert", action="store_true", help="print the script that removes them")
    p.set_defaults(func=_cmd_render)
    p = sub.add_parser(
        "main-router",
        help="what to enter on the main router; push, status, remove, secret",
        description="Without an ACTION: what to enter on the main router. The actions "
        "configure it by itself (main_router_control).",
    )
    p.add_argument("--json", action="store_true")
    _add_lang(p)
    p.set_defaults(func=_cmd_main_router)
    from .mainrouter.arguments import add_actions

    add_actions(p, _add_lang)
    from .vendors import vendor_ids

    p = sub.add_parser("instructions", help="step-by-step settings for the main router's page")
    p.add_argument("--vendor", choices=sorted(vendor_ids()), help="default: main_router_vendor")
    _add_lang(p)
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument(
        "--dns",
        choices=("auto", "bypass", "keep"),
        default="auto",
        help="DNS server for the devices: the bypass router (bypass), the main router "
        "(keep), or the bypass router as an optional step (auto, the default)",
    )
    p.set_defaults(func=_cmd_instructions)
    p = sub.add_parser("apply", help="write the rules into the firewall config and reload")
    p.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    p.add_argument(
        "--no-push",
        action="store_true",
        help="leave the main router alone (main_router_control; the service pushes instead)",
    )
    p.set_defaults(func=_cmd_apply)
    p = sub.add_parser("revert", help="remove everything dualnat wrote")
    p.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    p.set_defaults(func=_cmd_revert)
    p = sub.add_parser("schema", help="every option of /etc/config/dualnat, with its type")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_schema, needs_config=False)
    p = sub.add_parser("doctor", help="check the running rules, settings and connections")
    p.add_argument("--json", action="store_true")
    _add_lang(p)
    p.set_defaults(func=_cmd_doctor)
    from .live.commands import add_command as add_test

    add_test(sub, _add_lang)
    sub.choices["test"].set_defaults(func=_cmd_test)
    from .ubus.commands import add_commands  # ubus, serve (the service extra)

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.config_dir = config_dir_from(args.config_dir)
    if getattr(args, "needs_config", True) and not args.config_dir.is_dir():
        print(f"error: config folder {args.config_dir}: no such folder", file=sys.stderr)
        return EXIT_INVALID
    if hasattr(args, "lang"):
        try:
            args.lang = normalize_lang(args.lang)
        except ValueError as exc:
            print(f"error: --lang: {exc}", file=sys.stderr)
            return EXIT_INVALID
    args.site = Site.open(args.config_dir)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`dualnat doctor --json | head -c 100`): stop quietly, with
        # the status of a program that SIGPIPE ended, and let nothing write there again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    except ConfigInvalid as exc:
        lang = getattr(args, "lang", DEFAULT_LANG)
        for problem in exc.problems:
            print(f"error: {problem.describe(lang)}", file=sys.stderr)
        return EXIT_INVALID
    except UciError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ApplyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
