"""Read-only views of the plan: ``/plan``, ``/main-router``, ``/instructions``, ``/doctor``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..body import query
from ..lang import request_lang
from ..schemas import DoctorSchema, MainRouterSchema, PlanSchema
from ..service import service

bp = Blueprint("planning", __name__)
PLAN = PlanSchema()
MAIN_ROUTER = MainRouterSchema()
DOCTOR = DoctorSchema()


@bp.get("/plan")
def plan() -> dict[str, Any]:
    return PLAN.dump(service().plan().to_dict(request_lang()))


@bp.get("/main-router")
def main_router() -> dict[str, Any]:
    return MAIN_ROUTER.dump(service().plan().main_router.to_dict(request_lang()))


@bp.get("/instructions")
def instructions() -> dict[str, Any]:
    """Steps for the main router's admin page: ``?vendor=`` (default: the configured one),
    ``&lang=en|zh|ja``, ``&format=json|text|markdown`` (text comes wrapped in an object)."""
    from ...instructions import DEFAULT_LANG, build_instructions, render
    from ..instructions_schemas import INSTRUCTIONS, QUERY, TEXT

    args = query(QUERY)
    svc = service()
    fmt = args.get("format") or "json"
    lang = args.get("lang") or request_lang() or DEFAULT_LANG
    doc = build_instructions(svc.plan(args.get("vendor")), lang)
    if fmt == "json":
        return INSTRUCTIONS.dump(doc.to_dict())
    return TEXT.dump(
        {"format": fmt, "lang": doc.lang, "vendor": doc.vendor, "text": render(doc, fmt)}
    )


@bp.get("/doctor")
def doctor() -> dict[str, Any]:
    """What the doctor finds on the running router (its rules, sysctls, connections)."""
    from ...doctor import diagnose

    svc = service()
    return DOCTOR.dump(diagnose(svc.plan(), svc.doctor_system).to_dict(request_lang()))
