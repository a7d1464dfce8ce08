"""The HTTP side of the writes (dualnat.writer does them): a refusal or the problems of
the would-be config become the API's error answers, keyed relative to the request."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigInvalid
from ..uci import Change, Document
from ..writer import FORWARD_OPTIONS, SETTINGS_OPTIONS, Refused, Why
from ..writer import write as write_config
from .errors import CONFLICT, NOT_FOUND, UNPROCESSABLE, ApiError, problem_errors, rendered
from .service import Service

__all__ = ["FORWARD_OPTIONS", "SETTINGS_OPTIONS", "write"]

STATUS = {Why.CONFLICT: CONFLICT, Why.INVALID: UNPROCESSABLE, Why.NOT_FOUND: NOT_FOUND}


def write(
    service: Service,
    build: Callable[[Document], list[Change]],
    subject: tuple[str, str] | None,
    *,
    check: bool = False,
) -> Document:
    """dualnat.writer.write for a request: problems become a 422 whose keys are relative
    to `subject` ((kind, section) that the request is about)."""
    try:
        return write_config(service.site, build, service.resolve, check=check)
    except Refused as exc:
        errors = {key: [rendered(m) for m in parts] for key, parts in exc.errors.items()}
        raise ApiError(STATUS[exc.why], errors) from None
    except ConfigInvalid as exc:
        raise ApiError(UNPROCESSABLE, problem_errors(exc.problems, subject)) from None
