"""``/forwards`` and ``/forwards/<id>``: the ``config forward`` sections, by section name."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, url_for
from marshmallow import ValidationError

from ...config import load_config
from ...memo import Memo
from ...model import NAME_RE, Forward
from ...uci import Document
from ...writer import delete_changes, forward_changes, forward_set_changes
from ..body import check_only, json_body, json_document
from ..errors import BAD_REQUEST, NOT_FOUND, UNPROCESSABLE, ApiError, Errors, flatten, say
from ..schemas import (
    MAX_FORWARDS,
    NAME_ERROR,
    DeletedSchema,
    ForwardSchema,
    NewForwardSchema,
)
from ..service import service
from ..store import write

bp = Blueprint("forwards", __name__)
SCHEMA = ForwardSchema()
NEW_SCHEMA = NewForwardSchema()
DELETED = DeletedSchema()


# LuCI sends every forward with each check: the ones it sent before are not loaded and
# dumped again (marshmallow's load and dump are pure; see dualnat/memo.py)
_LOADED: Memo[dict[str, Any]] = Memo(2048)
_DUMPED: Memo[dict[str, Any]] = Memo(2048)


def _load(value: Any) -> dict[str, Any]:
    """SCHEMA.load(value) (ValidationError as it raises it)."""
    if not isinstance(value, dict):
        return SCHEMA.load(value)
    key = json.dumps(value, sort_keys=True)  # JSON tells 1, true and "1" apart
    return dict(_LOADED.get(key, lambda: SCHEMA.load(value)))


def _dumped(fwd: Forward) -> dict[str, Any]:
    return _DUMPED.get(fwd, lambda: SCHEMA.dump(fwd))


def _listed(forwards: tuple[Forward, ...]) -> dict[str, Any]:
    """The body of GET /forwards (ForwardListSchema)."""
    return {"forwards": [_dumped(f) for f in forwards]}


def checked_id(forward_id: str) -> str:
    """The forward name of a path, or a 400."""
    if not NAME_RE.fullmatch(forward_id):
        raise ApiError(BAD_REQUEST, {"id": [say(NAME_ERROR)]})
    return forward_id


def _stored(doc: Document, name: str) -> Forward:
    return next(f for f in load_config(doc).forwards if f.name == name)


def _created(doc: Document, name: str) -> tuple[Response, int]:
    response = jsonify(SCHEMA.dump(_stored(doc, name)))
    response.headers["Location"] = url_for("api.forwards.get_forward", forward_id=name)
    return response, 201


def _shown_id(key: str) -> str:
    """A refused id for a message: quoted, control characters escaped, shortened."""
    return json.dumps(key[:40]) + ("..." if len(key) > 40 else "")


def _forward_set(data: Any) -> dict[str, dict[str, Any]]:
    """The body of ``PUT /forwards``, ``{"<id>": forward, ...}``, each forward loaded by
    SCHEMA; every error keyed ``forwards.<id>.<field>`` (a bad id under ``forwards``)."""
    if not isinstance(data, dict):
        raise ApiError(UNPROCESSABLE, {"_schema": ['must be an object {"<id>": forward, ...}']})
    if len(data) > MAX_FORWARDS:
        raise ApiError(
            UNPROCESSABLE, {"forwards": [f"at most {MAX_FORWARDS} forwards ({len(data)} given)"]}
        )
    errors: Errors = {}
    forwards: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        if not NAME_RE.fullmatch(name):
            errors.setdefault("forwards", []).append(f"id {_shown_id(name)}: {say(NAME_ERROR)}")
            continue
        try:
            values = _load(value)
        except ValidationError as exc:
            for field, messages in flatten(exc.messages).items():
                errors[f"forwards.{name}.{field}"] = messages
            continue
        if values.get("name", name) != name:
            errors[f"forwards.{name}.name"] = [f"must be '{name}' (the id it is given under)"]
            continue
        forwards[name] = values
    if errors:
        raise ApiError(UNPROCESSABLE, errors)
    return forwards


@bp.get("/forwards")
def list_forwards() -> dict[str, Any]:
    return _listed(load_config(service().document(), require_main=False).forwards)


@bp.put("/forwards")
def put_forwards() -> dict[str, Any]:
    """Replace every forward with the set in the body, ``{"<id>": forward, ...}``
    (``?check=1``: only validate). 200 with the forwards as stored (as GET answers)."""
    check = check_only()
    forwards = _forward_set(json_document())
    after = write(service(), lambda doc: forward_set_changes(doc, forwards), None, check=check)
    return _listed(load_config(after).forwards)


@bp.post("/forwards")
def create_forward() -> Any:
    """Create a forward (``?check=1``: only validate; 200 with the forward as it would be)."""
    check = check_only()
    values = json_body(NEW_SCHEMA)
    name = values["name"]
    after = write(
        service(),
        lambda doc: forward_changes(doc, name, values, True),
        ("forward", name),
        check=check,
    )
    return SCHEMA.dump(_stored(after, name)) if check else _created(after, name)


@bp.get("/forwards/<forward_id>")
def get_forward(forward_id: str) -> dict[str, Any]:
    name = checked_id(forward_id)
    for fwd in load_config(service().document(), require_main=False).forwards:
        if fwd.name == name:
            return SCHEMA.dump(fwd)
    raise ApiError(NOT_FOUND, {"id": [say("forward.none", name=name)]})


@bp.put("/forwards/<forward_id>")
def put_forward(forward_id: str) -> Any:
    """Replace forward `id` (absent fields go back to their defaults), or create it
    (``?check=1``: only validate; 200 with the forward as it would be)."""
    name = checked_id(forward_id)
    check = check_only()
    values = json_body(SCHEMA)
    if values.get("name", name) != name:
        raise ApiError(UNPROCESSABLE, {"name": [say("forward.rename", name=name)]})
    created = False

    def build(doc: Document) -> list[Any]:
        nonlocal created
        section = doc.section(name)
        created = section is None
        return forward_changes(doc, name, values, created)

    after = write(service(), build, ("forward", name), check=check)
    return _created(after, name) if created and not check else SCHEMA.dump(_stored(after, name))


@bp.delete("/forwards/<forward_id>")
def delete_forward(forward_id: str) -> dict[str, Any]:
    name = checked_id(forward_id)
    write(service(), lambda doc: delete_changes(doc, name), ("forward", name))
    return DELETED.dump({"deleted": name})
