"""Reading a request: strict JSON bodies and query strings, validated by a schema."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from .errors import BAD_REQUEST, UNPROCESSABLE, ApiError, flatten, say
from .schemas import WriteQuerySchema

WRITE_QUERY = WriteQuerySchema()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"key '{key[:40]}' appears twice")
        data[key] = value
    return data


def _no_constant(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """Decode a JSON document: UTF-8, no duplicate keys, no NaN or Infinity."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise ApiError(BAD_REQUEST, {"_body": ["the body is not UTF-8"]}) from None
    except RecursionError:
        raise ApiError(BAD_REQUEST, {"_body": ["the JSON document is nested too deeply"]}) from None
    except ValueError as exc:
        raise ApiError(BAD_REQUEST, {"_body": [f"invalid JSON: {exc}"]}) from None


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """`data` validated by `schema`; a 422 with field errors otherwise."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ApiError(UNPROCESSABLE, flatten(exc.messages)) from None


def _document(raw: bytes) -> Any:
    if request.mimetype != "application/json":
        raise ApiError(
            BAD_REQUEST, {"_body": ["send a JSON object with Content-Type: application/json"]}
        )
    return parse_json(raw)


def json_document() -> Any:
    """The request's JSON document, any JSON value (the caller validates it)."""
    return _document(request.get_data(cache=False))


def json_body(schema: Schema, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object validated by `schema` (an empty body is {} if `optional`)."""
    raw = request.get_data(cache=False)
    if not raw and optional:
        return load(schema, {})
    return load(schema, _document(raw))


def query(schema: Schema) -> dict[str, Any]:
    """The query string validated by `schema`; a parameter given twice is an error."""
    data: dict[str, str] = {}
    for key, values in request.args.lists():
        if len(values) > 1:
            raise ApiError(UNPROCESSABLE, {key[:40]: [say("value.once")]})
        data[key] = values[0]
    return load(schema, data)


def check_only() -> bool:
    """True for ``?check=1``: the write is validated as a whole, and nothing is written."""
    return query(WRITE_QUERY)["check"] == "1"
