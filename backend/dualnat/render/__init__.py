"""Renderers: a plan in, text out (pure functions, nothing touches the system)."""

from __future__ import annotations

from collections.abc import Callable

from ..plan import Plan
from . import iptables, nft, uci

RENDERERS: dict[str, Callable[[Plan], str]] = {
    "uci": uci.render,
    "nft": nft.render,
    "iptables": iptables.render,
}
REVERTERS: dict[str, Callable[[], str]] = {
    "nft": nft.render_revert,
    "iptables": iptables.render_revert,
}


def render(plan: Plan, fmt: str) -> str:
    """Render `plan` in format `fmt` (uci, nft or iptables)."""
    return RENDERERS[fmt](plan)
