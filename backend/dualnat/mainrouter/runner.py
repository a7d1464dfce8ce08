"""Who runs a push or removal for the API: at once (`Inline`: ``dualnat serve``, tests), or
the daemon's keeper in a forked child (ubus/keeper.py), so that no ubus call waits for
the main router. Both answer `request(action)` and `state()`.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..site import Site
from .control import ClientFactory

ACTIONS = ("push", "remove")


class Runner(Protocol):
    def request(self, action: str) -> str:
        """Push or remove now: "started" (it runs elsewhere; its result arrives in the
        state file), "queued" (after the one running), or "done"."""
        ...

    def state(self) -> dict[str, Any]:
        """{"running": action or None, "queued": action or None, "next_at": epoch
        seconds of the next check or None}."""
        ...


def run(site: Site, action: str, factory: ClientFactory | None = None) -> bool:
    """One push or removal, as the configuration says; True when every forward is in
    place. Raises what reading the configuration raises (ConfigInvalid, UciError)."""
    from ..context import load_inputs, make_plan
    from .control import push_plan, remove_all

    if action == "push":
        return push_plan(site, make_plan(site, with_public=False), factory=factory).ok
    inputs, _ = load_inputs(site)
    settings, net = inputs.config.settings, inputs.network
    result = remove_all(site, settings, net, factory=factory)
    return result is None or result.ok


class Inline:
    """Runs each request at once: the caller waits for the main router."""

    def __init__(self, site: Site, factory: ClientFactory | None = None) -> None:
        self.site = site
        self.factory = factory

    def request(self, action: str) -> str:
        """ "done", or "failed" when the configuration cannot be read for it."""
        from ..errors import DualnatError
        from ..uci import UciError

        if action not in ACTIONS:
            raise ValueError(action)
        try:
            run(self.site, action, self.factory)
        except (DualnatError, UciError, OSError):
            return "failed"
        return "done"

    def state(self) -> dict[str, Any]:
        return {"running": None, "queued": None, "next_at": None}
