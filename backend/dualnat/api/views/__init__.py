"""One blueprint per area of the API; `blueprints()` lists them in registration order."""

from __future__ import annotations

from flask import Blueprint

from . import actions, forwards, live, mainrouter, planning, settings, status


def blueprints() -> list[Blueprint]:
    return [settings.bp, forwards.bp, live.bp, planning.bp, actions.bp, status.bp, mainrouter.bp]
