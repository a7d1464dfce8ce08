"""The main router configured by dualnat (main_router_control): ``GET
/main-router/status``, ``POST /main-router/push``, ``PUT /main-router/secret``.

A push never runs inside a ubus call: the daemon's keeper runs it in a forked child and
its result arrives in the state file, which `status` reads (``runner.running`` says
that one runs). The secret is written here and never read back: `status` says only
whether it is set.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ...config import load_config
from ...errors import ConfigInvalid
from ...mainrouter.control import Target, load_state, secret_name, secret_store
from ...mainrouter.marks import MANUAL, read_record
from ...mainrouter.present import result_json
from ...mainrouter.secrets import SecretsError
from ...uci import UciError
from ..body import json_body
from ..errors import UNPROCESSABLE, ApiError, say
from ..lang import request_lang
from ..schemas import MainRouterStatusSchema, SecretRequestSchema
from ..service import Service, service

bp = Blueprint("mainrouter", __name__)
STATUS = MainRouterStatusSchema()
SECRET = SecretRequestSchema()


def _secret_set(svc: Service, kind: str) -> bool | None:
    name = secret_name(kind)
    if name is None:
        return None
    try:
        return secret_store(svc.site).is_set(name)
    except SecretsError:
        return False


def status_data(svc: Service) -> dict[str, Any]:
    settings = load_config(svc.document(), require_main=False).settings
    kind = settings.main_router_control.value
    lang = request_lang()
    try:
        plan = svc.plan()
    except (ConfigInvalid, UciError, OSError):
        plan = None
    control: dict[str, Any] = {"kind": kind, "router": None, "url": None, "user": None}
    if plan is not None and kind != MANUAL:
        target = Target.of(settings, plan.network)
        assert target is not None
        control.update(target.to_dict())
    control.update(
        ca=settings.main_router_ca,
        insecure=settings.main_router_insecure,
        secret_set=_secret_set(svc, kind),
    )
    last = load_state(svc.site)
    record = read_record(svc.site)
    assert svc.main_router is not None
    return {
        "control": control,
        "runner": svc.main_router.state(),
        "last": result_json(last, plan, lang) if last else None,
        "pushed_to": {"kind": record[0], "router": str(record[1])} if record else None,
    }


@bp.get("/main-router/status")
def status() -> dict[str, Any]:
    """The control and its settings (the secret only as set or not), whether a push
    runs, and the last push or removal, each forward's reason in the caller's language
    with the manual steps of every forward that failed."""
    return STATUS.dump(status_data(service()))


@bp.post("/main-router/push")
def push_now() -> dict[str, Any]:
    """Push now (the daemon: in a child process; the answer does not wait for it)."""
    svc = service()
    assert svc.main_router is not None
    request = svc.main_router.request("push")
    return STATUS.dump({**status_data(svc), "request": request})


@bp.put("/main-router/secret")
def set_secret() -> dict[str, Any]:
    """Body ``{"kind": "openwrt" | "opnsense" | "ikuai" | "", "secret": "..."}`` ("" kind:
    the configured control; "" secret: delete it). Answers whether it is set."""
    body = json_body(SECRET)
    svc = service()
    kind = (
        body["kind"]
        or load_config(svc.document(), require_main=False).settings.main_router_control.value
    )
    name = secret_name(kind)
    if name is None:
        raise ApiError(UNPROCESSABLE, {"kind": [say("value.no_secret_kind")]})
    store = secret_store(svc.site)
    try:
        store.set(name, body["secret"])
    except (SecretsError, OSError):
        raise ApiError(500, {"_secret": [say("value.secret_unwritable")]}) from None
    return {"kind": kind, "secret_set": bool(body["secret"])}
