"""The caller's language: ``?lang=en|zh|ja`` on any request (LuCI passes its UI language;
zh-cn, zh_Hans, ja-JP ... are understood). Sentences of the answer — plan reasons, doctor
findings, main-router notes, errors — are rendered in it; English is the default."""

from __future__ import annotations

from flask import Flask, g, request

from ..errors import says
from ..i18n import DEFAULT_LANG, normalize_lang
from .errors import UNPROCESSABLE, ApiError, request_lang


def _read() -> None:
    values = request.args.getlist("lang")
    text = values[0] if values else ""
    if len(values) > 1:
        raise ApiError(UNPROCESSABLE, {"lang": [says("value.once").render()]})
    try:
        g.lang = normalize_lang(text) if text else DEFAULT_LANG
    except ValueError as exc:
        g.lang = DEFAULT_LANG
        raise ApiError(UNPROCESSABLE, {"lang": [str(exc)]}) from None


def register(app: Flask) -> None:
    app.before_request(_read)


__all__ = ["register", "request_lang"]
