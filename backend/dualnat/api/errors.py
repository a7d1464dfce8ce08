"""Every failure as JSON: ``{"errors": {"field": ["message", ...]}}`` with a fitting status.

Keys are field names of the request, ``config.<option>`` and ``forwards.<name>.<option>``
for problems elsewhere in /etc/config/dualnat, and names that start with ``_`` for
problems that belong to no field (``_body``, ``_config``, ``_path``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import ApplyError, ConfigInvalid, Problem, ProblemPart, says
from ..i18n import DEFAULT_LANG, Part, table
from ..uci import UciError

Errors = dict[str, list[str]]


def request_lang() -> str:
    """The language of the request being answered (``?lang=``, see lang.py; English
    outside a request)."""
    return str(g.get("lang", DEFAULT_LANG)) if g else DEFAULT_LANG


def say(template_id: str, **params: object) -> str:
    """A sentence of the catalogue table [problems] in the request's language."""
    return says(template_id, **params).render(request_lang())


def _marshmallow_ids() -> dict[str, str]:
    """marshmallow's own English messages → our templates of them (table [problems])."""
    ids = ("unknown_field", "missing", "null", "not_list", "not_mapping", "not_bool")
    ids += ("not_string", "invalid_type")
    return {table("problems")[f"value.{i}"]: f"value.{i}" for i in ids}


MARSHMALLOW = _marshmallow_ids()


def rendered(message: object) -> str:
    """A field error in the request's language: our parts, marshmallow's known messages."""
    if isinstance(message, Part):
        return message.render(request_lang())
    text = str(message)
    template = MARSHMALLOW.get(text)
    return ProblemPart(template).render(request_lang()) if template else text


BAD_REQUEST = 400
NOT_FOUND = 404
CONFLICT = 409  # /etc/config/dualnat (or a file it depends on) is unreadable or invalid
UNPROCESSABLE = 422
SERVER_ERROR = 500

_HTTP_KEYS = {404: "_path", 405: "_method", 413: "_body", 415: "_body"}


class ApiError(Exception):
    """A request that cannot be served, with the field errors to send back."""

    def __init__(self, status: int, errors: Errors) -> None:
        super().__init__(errors)
        self.status = status
        self.errors = errors


def problem_key(problem: Problem, subject: tuple[str, str] | None = None) -> str:
    """The error key of a configuration problem: the bare field when the problem belongs to
    `subject` ((kind, section) being written; there is one settings section, so its name
    does not matter), else where it is in the config."""
    if (
        subject is not None
        and problem.kind == subject[0]
        and (problem.kind == "settings" or problem.section == subject[1])
    ):
        return problem.field
    if problem.kind == "settings":
        return f"config.{problem.field}" if problem.field else "_config"
    if problem.kind == "forward":
        return f"forwards.{problem.section}.{problem.field}"
    return "_config"  # a section dualnat does not know


def problem_errors(problems: Iterable[Problem], subject: tuple[str, str] | None = None) -> Errors:
    errors: Errors = {}
    for p in problems:
        errors.setdefault(problem_key(p, subject), []).append(p.text(request_lang()))
    return errors


def flatten(messages: Mapping[Any, Any] | list[Any] | str) -> Errors:
    """marshmallow's nested messages as ``{field: [message, ...]}``; nested keys (list
    indexes, keys of a table) become a prefix of the message."""

    def lines(value: Any, prefix: str = "") -> list[str]:
        if isinstance(value, Mapping):
            out: list[str] = []
            for key, inner in value.items():
                label = f"entry {key + 1}" if isinstance(key, int) else str(key)
                out += lines(inner, f"{prefix}{label}: ")
            return out
        if isinstance(value, list):
            return [line for item in value for line in lines(item, prefix)]
        return [f"{prefix}{rendered(value)}"]

    if not isinstance(messages, Mapping):
        return {"_schema": lines(messages)}
    return {str(key)[:64]: lines(value) for key, value in messages.items()}


def error_response(status: int, errors: Errors) -> tuple[Response, int]:
    return jsonify(errors=errors), status


def _http(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or SERVER_ERROR
    key = _HTTP_KEYS.get(status, "_request")
    message = exc.description or exc.name
    if status == NOT_FOUND:
        message = f"no such endpoint: {request.path}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.path}"
    return error_response(status, {key: [message]})


def _unexpected(app: Flask, exc: Exception) -> tuple[Response, int]:
    app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(
        SERVER_ERROR, {"_server": [f"internal error ({type(exc).__name__}); see the system log"]}
    )


def _os_error(app: Flask, exc: OSError) -> tuple[Response, int]:
    app.logger.error("%s %s: %s", request.method, request.path, exc)
    where = f": {exc.filename}" if exc.filename else ""
    return error_response(SERVER_ERROR, {"_server": [f"{exc.strerror or exc}{where}"]})


def register(app: Flask) -> None:
    """Install the handlers that turn every exception into a JSON answer."""
    app.register_error_handler(ApiError, lambda e: error_response(e.status, e.errors))
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(
        ConfigInvalid, lambda e: error_response(CONFLICT, problem_errors(e.problems))
    )
    app.register_error_handler(UciError, lambda e: error_response(CONFLICT, {"_config": [str(e)]}))
    app.register_error_handler(
        ApplyError, lambda e: error_response(SERVER_ERROR, {"_apply": [str(e)]})
    )
    app.register_error_handler(OSError, lambda e: _os_error(app, e))
    app.register_error_handler(Exception, lambda e: _unexpected(app, e))
