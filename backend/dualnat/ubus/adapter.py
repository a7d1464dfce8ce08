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
from werkzeug.test import EnvironBuilder, run_wsgi_app

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


def _call(app: Flask, path: str, **request: Any) -> tuple[int, bytes]:
    """Status code and body of one request through the app's WSGI interface (not
    werkzeug's test Client, whose responses keep each request and its environ in a
    reference cycle for the garbage collector)."""
    builder = EnvironBuilder(path=path, **request)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    app_iter, status, _ = run_wsgi_app(app, environ, buffered=True)
    try:
        body = b"".join(app_iter)
    finally:
        getattr(app_iter, "close", lambda: None)()
    return int(status.split(None, 1)[0]), body


def dispatch(app: Flask, method: Method, data: dict[str, Any]) -> dict[str, Any]:
    """Run the API request for one call; the reply object."""
    req = method.request(data)
    status, raw = _call(app, API_PREFIX + req.pop("path"), **req)
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = _error(500, "_server", "the API gave no JSON object")
    if status >= 400:
        body["status"] = status
    return body


def _bounded(reply: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(reply, ensure_ascii=False).encode())
    if size > MAX_REPLY:
        return _error(413, "_reply", f"the reply ({size} bytes) is larger than ubus allows")
    return reply


def callback(app: Flask, method: Method) -> Callback:
    """The python-ubus callback of `method`: never raises, always replies one object."""

    def handle(handler: Any, data: dict[str, Any]) -> None:
        try:
            reply = _bounded(dispatch(app, method, data))
        except Exception:  # a reply is always better than ubus's "Unknown error"
            log.exception("ubus %s.%s failed", OBJECT, method.name)
            reply = _error(500, "_server", "internal error; see the system log")
        handler.reply(reply)

    return handle


def methods_table(binding: ModuleType, app: Flask) -> dict[str, dict[str, Any]]:
    """What ``ubus.add`` takes: name → {"method": callback, "signature": {arg: type}}."""
    return {
        m.name: {"method": callback(app, m), "signature": signature(binding, m)} for m in METHODS
    }


def register(binding: ModuleType, app: Flask, name: str = OBJECT) -> None:
    """Add the object `name` with every method (the binding must be connected)."""
    binding.add(name, methods_table(binding, app))
