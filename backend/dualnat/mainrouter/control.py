"""The main router as /etc/config/dualnat says to configure it (``main_router_control``),
and what dualnat does to it: push the forwards, remove them, look at what it holds, ask
it for its public address.

Who runs this: the command line (it waits), ``dualnat serve`` (inline), and the ubus
daemon in a forked child (ubus/keeper.py), so that the daemon never loads an HTTP client
and no ubus call waits for the main router. Files (see `Site`):

- ``<state_dir>/main_router.json``: what the last push or removal did (`Result`), read by
  the daemon (when to renew UPnP leases) and shown by LuCI and ``main-router status``;
- ``<state_dir>/main_router.lock``: one push or removal at a time, across processes;
- ``<state_dir>/main_router.off``: a removal (revert) happened; the daemon pushes no more
  by itself until the next push (apply, push now) or a restart;
- ``<private_dir>/main_router``: which main router dualnat last pushed to (kind and
  address, nothing secret), so that a change of the control, or back to manual, takes
  dualnat's entries off the previous one; written only when that changes;
- ``<private_dir>/secrets``: the password or API secret (secrets.py; root-only).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from ..i18n import DEFAULT_LANG
from ..model import NOT_PUBLIC, NetworkState, Settings
from ..plan import Ipv6Advice, MainRouterForward, Plan
from ..site import Site
from ..uci import atomic_write
from .client import RouterClient
from .errors import RouterError
from .marks import (
    MANUAL,
    RECORD_FILE,
    read_record,
    set_off,
)
from .model import PROTOCOLS, SEVEN_DAYS, Entry, Outcome, Why
from .push import Report, push, unreadable
from .secrets import SecretsError, SecretStore

STATE_FILE = "main_router.json"
LOCK_FILE = "main_router.lock"  # pushes and removals: one at a time, apart from writes
SECRETS_FILE = "secrets"
# the secret of each API router, by name in the secrets file
SECRET_NAMES = {
    "openwrt": "openwrt.password",
    "opnsense": "opnsense.secret",
    "ikuai": "ikuai.password",
}
DEFAULT_SCHEME = {"openwrt": "http", "opnsense": "https", "ikuai": "http"}
RENEW_SHARE = 0.6  # a UPnP mapping is added again once less than this share of its lease is left
STATE_VERSION = 1

ClientFactory = Callable[["Target", SecretStore], RouterClient]


@dataclass(frozen=True)
class Target:
    """The main router to configure and how: `kind` (upnp, openwrt, opnsense, ikuai), its
    LAN address, the bypass router's (the forwards' target), and for the API routers the
    base URL, user (OPNsense: API key), CA file or no verification; the UPnP lease."""

    kind: str
    router: IPv4Address
    bypass: IPv4Address
    url: str = ""
    user: str | None = None
    ca: str | None = None
    insecure: bool = False
    lease: int = 3600

    @classmethod
    def of(cls, settings: Settings, net: NetworkState, kind: str | None = None) -> Target | None:
        """The configured main router (None for manual); `kind` overrides the control."""
        kind = kind or settings.main_router_control.value
        if kind == MANUAL:
            return None
        url = (
            settings.main_router_url or f"{DEFAULT_SCHEME.get(kind, 'http')}://{net.main_router_ip}"
        )
        return cls(
            kind,
            net.main_router_ip,
            net.bypass_ip,
            url,
            settings.main_router_user,
            settings.main_router_ca,
            settings.main_router_insecure,
            settings.main_router_lease,
        )

    @property
    def renew_below(self) -> int | None:
        """UPnP: renew mappings with fewer seconds left than this (a lease of 0 becomes 7
        days on IGDv2 routers; a permanent mapping reports 0 and is never renewed)."""
        if self.kind != "upnp":
            return None
        return int((self.lease or SEVEN_DAYS) * RENEW_SHARE)

    def to_dict(self) -> dict[str, Any]:
        """What is shown (never a secret)."""
        return {
            "kind": self.kind,
            "router": str(self.router),
            "url": self.url if self.kind != "upnp" else None,
            "user": self.user if self.kind != "upnp" else None,
            "lease": self.lease if self.kind == "upnp" else None,
        }


def secret_store(site: Site) -> SecretStore:
    return SecretStore(site.private_dir / SECRETS_FILE)


def secret_name(kind: str) -> str | None:
    """The name of the secret that `kind` needs (None: it needs none)."""
    return SECRET_NAMES.get(kind)


def _verify(target: Target) -> bool | str:
    if target.insecure:
        import urllib3  # the user asked for it: no warning on every request

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return False
    if target.ca:
        if not os.access(target.ca, os.R_OK) or not Path(target.ca).is_file():
            raise RouterError(
                "control.ca_unreadable", manual=True, unreachable=True, path=target.ca
            )
        return target.ca
    return True


def client_for(target: Target, store: SecretStore) -> RouterClient:
    """The client of `target` (its module imported only now). RouterError when a setting
    or the secret is missing."""
    if target.kind == "upnp":
        from .upnp import UpnpClient

        return UpnpClient(target.bypass, target.router, lease=target.lease)
    if not target.user:
        raise RouterError("control.no_user", manual=True, unreachable=True)
    name = SECRET_NAMES[target.kind]
    try:
        secret = store.get(name)
    except SecretsError:
        path = str(store.path)
        raise RouterError("control.secrets_unreadable", unreachable=True, path=path) from None
    if secret is None:
        raise RouterError("control.no_secret", manual=True, unreachable=True)
    scheme, _, rest = target.url.partition("://")
    port = int(rest.partition(":")[2] or 0) or None
    options: dict[str, Any] = {"scheme": scheme, "port": port, "verify": _verify(target)}
    if target.kind == "openwrt":
        from .openwrt import OpenWrtClient

        return OpenWrtClient(target.router, target.user, secret, **options)
    if target.kind == "opnsense":
        from .opnsense import OpnsenseClient

        return OpnsenseClient(target.router, target.user, secret, **options)
    from .ikuai import IkuaiClient

    return IkuaiClient(target.router, target.user, secret, **options)


# -- what happened ---------------------------------------------------------------------


def relevant(entries: Iterable[Entry], forwards: Sequence[MainRouterForward]) -> list[Entry]:
    """dualnat's entries, and the others that use a protocol and external port of one of
    `forwards`."""
    wanted = [(set(PROTOCOLS[f.proto]), f.external_port) for f in forwards]
    return [
        e
        for e in entries
        if e.ours or any(set(e.protocols) & p and e.external.overlaps(r) for p, r in wanted)
    ]


@dataclass(frozen=True)
class Result:
    """What one push or removal did on one main router (`report`: None when nothing was
    asked), what the router held afterwards for dualnat and on its ports (`held`: None
    when unknown), and the removal from the main router dualnat pushed to before."""

    action: str  # push | remove
    kind: str  # manual | upnp | openwrt | opnsense | ikuai
    router: str | None
    at: float
    report: Report | None = None
    held: tuple[Entry, ...] | None = None
    dry_run: bool = False
    previous: Result | None = None

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        return self.report.outcomes if self.report else ()

    @property
    def reached(self) -> bool:
        """The main router was asked and answered."""
        return self.report is not None and self.report.found is not None

    @property
    def ok(self) -> bool:
        """Every forward is in place (or gone), the router answered, and so did the one
        pushed to before."""
        mine = self.report is None or (self.report.ok and self.reached)
        return mine and (self.previous is None or self.previous.ok)

    def leases_renew_at(self) -> float | None:
        """When the first of the UPnP leases should be renewed (None: none)."""
        times = [o.lease.renew_at for o in self.outcomes if o.lease and o.lease.remaining]
        return min(times) if times else None

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "action": self.action,
            "kind": self.kind,
            "router": self.router,
            "at": self.at,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "asked": self.report is not None,
            "reached": self.reached,
            "error": self._error(lang),
            "forwards": [o.to_dict(lang) for o in self.outcomes],
            "held": None if self.held is None else [e.to_dict() for e in self.held],
            "previous": self.previous.to_dict(lang) if self.previous else None,
        }

    def _error(self, lang: str) -> dict[str, Any] | None:
        error = self.report.error if self.report else None
        return {"reason": error.text(lang), **error.to_dict()} if error else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        held = data.get("held")
        report = None
        if data.get("asked"):
            outcomes = tuple(Outcome.from_dict(o) for o in data.get("forwards") or ())
            error = Why.from_dict(data["error"]) if data.get("error") else None
            report = Report(outcomes, () if data.get("reached") else None, False, error)
        previous = data.get("previous")
        return cls(
            str(data["action"]),
            str(data["kind"]),
            data.get("router"),
            float(data["at"]),
            report,
            None if held is None else tuple(Entry.from_dict(e) for e in held),
            bool(data.get("dry_run")),
            cls.from_dict(previous) if previous else None,
        )


def save_state(site: Site, result: Result) -> None:
    site.state_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(site.state_dir / STATE_FILE, json.dumps(result.to_dict()) + "\n")


def load_state(site: Site) -> Result | None:
    """The last push or removal (None: none, or the file cannot be read)."""
    try:
        data = json.loads((site.state_dir / STATE_FILE).read_text())
        if data.get("version") != STATE_VERSION:
            return None
        return Result.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_record(site: Site, target: Target | None) -> None:
    path = site.private_dir / RECORD_FILE
    if target is None:
        path.unlink(missing_ok=True)
        return
    if read_record(site) == (target.kind, target.router):
        return  # unchanged: no write (on the router this is flash)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, json.dumps({"kind": target.kind, "router": str(target.router)}) + "\n")


# -- the actions ------------------------------------------------------------------------


def _run(
    target: Target,
    forwards: Sequence[MainRouterForward],
    action: str,
    *,
    store: SecretStore,
    factory: ClientFactory | None,
    dry_run: bool,
    clock: Callable[[], float],
    ipv6: Ipv6Advice | None = None,
) -> Result:
    now = clock()
    try:
        client = (factory or client_for)(target, store)
    except RouterError as err:
        report = unreadable(forwards, err)
        return Result(action, target.kind, str(target.router), now, report, None, dry_run)
    try:
        report = push(
            client,
            forwards,
            ipv6=ipv6,
            renew_below=target.renew_below,
            dry_run=dry_run,
            clock=clock,
        )
        held = report.found
        if report.changed:
            try:
                held = tuple(client.entries())
            except RouterError:
                held = None
    finally:
        client.close()
    kept = None if held is None else tuple(relevant(held, forwards))
    return Result(action, target.kind, str(target.router), now, report, kept, dry_run)


def _previous(
    site: Site, target: Target | None, settings: Settings, net: NetworkState
) -> Target | None:
    """The main router dualnat pushed to before, if it is not `target` any more."""
    record = read_record(site)
    if record is None or (target and (target.kind, target.router) == record):
        return None
    kind, router = record
    before = Target.of(settings, net, kind)
    return replace(before, router=router) if before else None


def push_plan(
    site: Site,
    plan: Plan,
    *,
    dry_run: bool = False,
    factory: ClientFactory | None = None,
    clock: Callable[[], float] = time.time,
) -> Result:
    """Make the main router hold exactly the plan's forwards (main-router --json):
    dualnat's entries only; first take them off a main router pushed to before. The
    result is kept in the state file (not for a dry run)."""
    settings, net = plan.settings, plan.network
    target = Target.of(settings, net)
    store = secret_store(site)
    run = dict(store=store, factory=factory, dry_run=dry_run, clock=clock)
    with site.lock(dry_run, LOCK_FILE):  # one push or removal at a time
        before = _previous(site, target, settings, net)
        previous = None
        if before is not None:
            previous = _run(before, (), "remove", **run)  # type: ignore[arg-type]
            if previous.ok and not dry_run:
                _write_record(site, None)
        if target is None:
            result = Result("push", MANUAL, None, clock(), None, None, dry_run, previous)
        else:
            forwards, ipv6 = plan.main_router.port_forwards, plan.main_router.ipv6
            done = _run(target, forwards, "push", ipv6=ipv6, **run)  # type: ignore[arg-type]
            result = replace(done, previous=previous)
            if not dry_run and result.report and result.report.found is not None:
                _write_record(site, target)
        if not dry_run:
            set_off(site, False)
            save_state(site, result)
    return result


def remove_all(
    site: Site,
    settings: Settings,
    net: NetworkState,
    *,
    dry_run: bool = False,
    factory: ClientFactory | None = None,
    clock: Callable[[], float] = time.time,
) -> Result | None:
    """Delete dualnat's entries from the configured main router and from the one pushed
    to before (nothing else); None when there is no main router to ask (manual, never
    pushed)."""
    target = Target.of(settings, net)
    store = secret_store(site)
    run = dict(store=store, factory=factory, dry_run=dry_run, clock=clock)
    with site.lock(dry_run, LOCK_FILE):  # one push or removal at a time
        if not dry_run:
            set_off(site, True)
        before = _previous(site, target, settings, net)
        previous = _run(before, (), "remove", **run) if before else None  # type: ignore[arg-type]
        if target is None and previous is None:
            return None
        result = previous
        if target is not None:
            result = replace(_run(target, (), "remove", **run), previous=previous)  # type: ignore[arg-type]
        assert result is not None
        if not dry_run:
            if result.ok:
                _write_record(site, None)
            save_state(site, result)
    return result


def look(
    site: Site,
    plan: Plan,
    *,
    factory: ClientFactory | None = None,
    clock: Callable[[], float] = time.time,
) -> Result | None:
    """What the configured main router holds for dualnat and on the forwards' ports,
    now (nothing is changed, nothing kept); None for manual."""
    target = Target.of(plan.settings, plan.network)
    if target is None:
        return None
    forwards, ipv6 = plan.main_router.port_forwards, plan.main_router.ipv6
    run = dict(store=secret_store(site), factory=factory, dry_run=True, clock=clock)
    return _run(target, forwards, "status", ipv6=ipv6, **run)  # type: ignore[arg-type]


# -- the public address -----------------------------------------------------------------


def public_address(
    settings: Settings, net: NetworkState, site: Site, factory: ClientFactory | None = None
) -> IPv4Address | None:
    """The main router's public IPv4 as it reports it (UPnP GetExternalIPAddress, the
    API): an address, or None when it reports none that is public (an empty or private
    answer: carrier-grade NAT, or another router in front). RouterError when it cannot
    tell (manual control, not asked, no answer)."""
    target = Target.of(settings, net)
    if target is None:
        raise RouterError("control.manual", code="unsupported")
    client = (factory or client_for)(target, secret_store(site))
    try:
        address = client.external_address()
    finally:
        client.close()
    if address is None or any(address in n for n in NOT_PUBLIC):
        return None
    return address
