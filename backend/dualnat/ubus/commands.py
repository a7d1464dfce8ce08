"""The service subcommands of `dualnat`: ``ubus`` (the daemon) and ``serve`` (development).

Kept free of Flask imports until a command runs, so the rest of the command line works
without the service extra installed.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import Any

DEFAULT_PORT = 8410


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _interval(text: str) -> float:
    seconds = float(text)
    if not 10 <= seconds <= 86400:
        raise argparse.ArgumentTypeError("must be between 10 and 86400 seconds")
    return seconds


MISSING = (
    "error: {exc}: the service needs Flask and marshmallow (on OpenWrt python3-flask and "
    "python3-marshmallow; elsewhere pip install 'dualnat[service]')"
)


def _cmd_ubus(args: argparse.Namespace) -> int:
    try:
        from .daemon import main
    except ImportError as exc:
        print(MISSING.format(exc=exc), file=sys.stderr)
        return 1
    return main(args.config_dir, args.socket, args.refresh)


def _cmd_serve(args: argparse.Namespace) -> int:
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"error: {args.host} is not a loopback address; the API has no authentication. "
            "Use --allow-remote to serve it anyway (development only).",
            file=sys.stderr,
        )
        return 2
    try:
        from ..api import create_app
    except ImportError as exc:
        print(MISSING.format(exc=exc), file=sys.stderr)
        return 1
    create_app(args.config_dir).run(host=args.host, port=args.port, debug=False)
    return 0


def add_commands(sub: Any) -> None:
    """Add ``ubus`` and ``serve`` to the subparsers `sub` of the main parser."""
    p = sub.add_parser("ubus", help="run the ubus object 'dualnat' (the daemon procd starts)")
    p.add_argument("--socket", metavar="PATH", help="ubusd socket (default: the bindings')")
    p.add_argument(
        "--refresh",
        type=_interval,
        default=300.0,
        metavar="SECONDS",
        help="how often public_address 'auto' is looked up (default 300)",
    )
    p.set_defaults(func=_cmd_ubus)
    p = sub.add_parser("serve", help="serve the HTTP API (development only)")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the API has no authentication)",
    )
    p.set_defaults(func=_cmd_serve)
