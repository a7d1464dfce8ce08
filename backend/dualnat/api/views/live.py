"""Live tests of a forward (dualnat.live): ``POST /forwards/<id>/test`` starts one (or
answers the one running), ``GET`` polls it, ``DELETE`` stops it. The test runs in a forked
child (live/runner.py); every answer is its state file rendered in the caller's
language, and no call waits for the test."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint

from ...config import load_config
from ...live import Busy, NotTestable, Options, Subject
from ...live.runner import LiveTests
from ...live.state import render
from ..body import json_body
from ..errors import NOT_FOUND, UNPROCESSABLE, ApiError, say
from ..lang import request_lang
from ..schemas import LiveTestSchema, TestStartSchema
from ..service import Service, service
from .forwards import checked_id

bp = Blueprint("live", __name__)
START = TestStartSchema()
TEST = LiveTestSchema()
TOO_MANY = 429


def _tests(svc: Service) -> LiveTests:
    assert svc.live_tests is not None
    return svc.live_tests


def _known(svc: Service, name: str) -> None:
    names = {f.name for f in load_config(svc.document(), require_main=False).forwards}
    if name not in names:
        raise ApiError(NOT_FOUND, {"id": [say("forward.none", name=name)]})


def _answer(svc: Service, name: str, **extra: str) -> dict[str, Any]:
    data, running = _tests(svc).poll(name)
    if data is None:
        data = {"forward": name, "state": "none", "events": []}
    return TEST.dump({**render(data, request_lang(), running, time.time()), **extra})


@bp.post("/forwards/<forward_id>/test")
def start(forward_id: str) -> dict[str, Any]:
    """Body ``{"seconds": 0 | 5-600, "self_test": bool}`` (0: 120 s)."""
    name = checked_id(forward_id)
    body = json_body(START, optional=True)
    svc = service()
    _known(svc, name)
    try:
        subject = Subject.of(svc.plan(), name)
    except NotTestable:
        raise ApiError(UNPROCESSABLE, {"id": [say("forward.not_testable", name=name)]}) from None
    tests = _tests(svc)
    try:
        request = tests.start(subject, Options(body["seconds"], body["self_test"]))
    except Busy:
        raise ApiError(TOO_MANY, {"_test": [say("test.busy", n=tests.limit)]}) from None
    return _answer(svc, name, request=request)


@bp.get("/forwards/<forward_id>/test")
def poll(forward_id: str) -> dict[str, Any]:
    """The test as far as it got (state "none": no test of this forward ran)."""
    name = checked_id(forward_id)
    svc = service()
    _known(svc, name)
    return _answer(svc, name)


@bp.delete("/forwards/<forward_id>/test")
def stop(forward_id: str) -> dict[str, Any]:
    """Stop the test (it writes the verdict of what it saw; a poll shows it)."""
    name = checked_id(forward_id)
    svc = service()
    _known(svc, name)
    _tests(svc).stop(name)
    return _answer(svc, name)
