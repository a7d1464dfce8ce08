"""The seam between python-ubus and the Flask app.

Each method's callback turns the ubus arguments into an API request, runs it through
the app in-process (a WSGI call, no TCP) and replies with the JSON object the API
answered. Errors are replies too: the API's ``{"errors": ...}`` plus ``"status"``, the
HTTP status code; python-ubus has no way to send a ubus status from a callback.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

from flask import Flask
from werkzeug.test import Client

from ..api import API_PREFIX
from .methods import METHODS, Method

OBJECT = "dualnat"
ENV_MODULE = "DUALNAT_UBUS_MODULE"  # another module in place of `ubus` (tests, bench)
MAX_REPLY = 1024 * 1024 - 4096  # ubusd's message limit, less room for the header

log = logging.getLogger("dualnat.ubus")
Callback = Callable[[Any, dict[str, Any]], None]


class BindingMissing(RuntimeError):
    """python3-ubus is not installed."""


def load_binding(name: str | None = None) -> ModuleType:
    """The python-ubus module (or the one named by $DUALNAT_UBUS_MODULE)."""
    name = name or os.environ.get(ENV_MODULE) or "ubus"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise BindingMissing(f"cannot import {name} (install python3-ubus): {exc}") from None


def signature(binding: ModuleType, method: Method) -> dict[str, int]:
    """The method's signature with the binding's blobmsg type constants."""
    return {arg: getattr(binding, f"BLOBMSG_TYPE_{t}") for arg, t in method.signature().items()}


def _error(status: int, key: str, message: str) -> dict[str, Any]:
    return {"errors": {key: [message]}, "status": status}


def dispatch(client: Client, method: Method, data: dict[str, Any]) -> dict[str, Any]:
    """Run the API request for one call; the reply object."""
    req = method.request(data)
    response = client.open(API_PREFIX + req.pop("path"), **req)
    try:
        body = response.get_json(force=True, silent=True)
    finally:
        response.close()
    if not isinstance(body, dict):
        body = _error(500, "_server", "the API gave no JSON object")
    if response.status_code >= 400:
        body["status"] = response.status_code
    return body


def _bounded(reply: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(reply, ensure_ascii=False).encode())
    if size > MAX_REPLY:
        return _error(413, "_reply", f"the reply ({size} bytes) is larger than ubus allows")
    return reply


def callback(client: Client, method: Method) -> Callback:
    """The python-ubus callback of `method`: never raises, always replies one object."""

    def handle(handler: Any, data: dict[str, Any]) -> None:
        try:
            reply = _bounded(dispatch(client, method, data))
        except Exception:  # a reply is always better than ubus's "Unknown error"
            log.exception("ubus %s.%s failed", OBJECT, method.name)
            reply = _error(500, "_server", "internal error; see the system log")
        handler.reply(reply)

    return handle


def methods_table(binding: ModuleType, app: Flask) -> dict[str, dict[str, Any]]:
    """What ``ubus.add`` takes: name → {"method": callback, "signature": {arg: type}}."""
    client = Client(app, use_cookies=False)
    return {
        m.name: {"method": callback(client, m), "signature": signature(binding, m)} for m in METHODS
    }


def register(binding: ModuleType, app: Flask, name: str = OBJECT) -> None:
    """Add the object `name` with every method (the binding must be connected)."""
    binding.add(name, methods_table(binding, app))
