"""A push, removal or look for people and programs, in the caller's language: JSON
(the API, ``--json``) and lines of text (the command line). A forward that failed comes
with its manual steps: the forward's steps of the main-router instructions
(``forward.<name>`` and ``forward.<name>.<k>``, see dualnat.instructions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..i18n import DEFAULT_LANG, Catalog, load_catalog
from ..plan import Plan
from .control import Result
from .model import Entry, State


def manual_steps(plan: Plan | None, names: Iterable[str], lang: str = DEFAULT_LANG) -> dict:
    """The instructions' steps for each forward in `names`: name → [(number, Step)]."""
    wanted = set(names)
    if plan is None or not wanted:
        return {}
    from ..instructions import build_instructions

    doc = build_instructions(plan, lang)
    out: dict[str, list] = {}
    for _, steps in doc.numbered():
        for n, step in steps:
            parts = step.id.split(".")
            if parts[0] == "forward" and len(parts) > 1 and parts[1] in wanted:
                out.setdefault(parts[1], []).append((n, step))
    return out


def failed(result: Result) -> list[str]:
    names = [o.forward for o in result.outcomes if o.state is State.FAILED]
    if result.previous:
        names += failed(result.previous)
    return names


def result_json(result: Result, plan: Plan | None, lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """The result as JSON with its sentences in `lang`; each failed forward has `steps`,
    its manual steps (instructions JSON steps)."""
    data = result.to_dict(lang)
    steps = manual_steps(plan, failed(result), lang)
    for forward in data["forwards"]:
        if forward["state"] == State.FAILED.value:
            forward["steps"] = [s.to_dict(n) for n, s in steps.get(forward["forward"], [])]
    return data


def _target(e: Entry, cat: Catalog) -> str:
    if e.target_ip and e.target:
        return f"{e.target_ip}:{e.target}"
    return cat.t("text.push.unknown_target")


def entry_line(e: Entry, cat: Catalog) -> str:
    ports = f"{'+'.join(e.protocols)} {e.external}"
    if e.ours:
        lease = cat.t("text.push.lease", n=e.lease) if e.lease else ""
        return (
            cat.t("text.push.mine", forward=e.forward, ports=ports, target=_target(e, cat)) + lease
        )
    tag = e.tag or cat.t("text.push.no_name")
    return cat.t("text.push.theirs", tag=tag, ports=ports, target=_target(e, cat))


def result_lines(
    result: Result, plan: Plan | None, lang: str = DEFAULT_LANG, held: bool = False
) -> list[str]:
    """The result as lines of text: a heading, one line per forward (failures with their
    manual steps), and with `held` what the main router holds."""
    from ..instructions.render import step_lines

    cat = load_catalog(lang)
    lines: list[str] = []
    if result.previous is not None:
        lines += result_lines(result.previous, None, lang)
    if result.router is None:
        return [*lines, cat.t("text.push.manual")]
    lines.append(cat.t("text.push.header", kind=result.kind, router=result.router))
    error = result.report.error if result.report else None
    if not result.outcomes:
        lines.append("  " + (error.text(lang) if error else cat.t("text.push.nothing")))
    steps = manual_steps(plan, failed(result), lang)
    for o in result.outcomes:
        state = (
            cat.t(f"text.push.would.{o.state.value}")
            if result.dry_run
            else cat.t(f"text.push.state.{o.state.value}")
        )
        lines.append(
            "  " + cat.t("text.push.line", forward=o.forward, state=state, reason=o.text(lang))
        )
        if o.state is State.FAILED and steps.get(o.forward):
            lines.append("    " + cat.t("text.push.by_hand"))
            for n, step in steps[o.forward]:
                lines += ["    " + line for line in step_lines(n, step, lang)]
    if held and result.held is not None:
        lines.append("  " + cat.t("text.push.held"))
        lines += ["    " + entry_line(e, cat) for e in result.held] or [
            "    " + cat.t("text.push.held_none")
        ]
    return lines
