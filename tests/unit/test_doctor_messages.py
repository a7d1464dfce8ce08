"""The templates of the findings' messages and fixes (LuCI translates them).

Every finding that the other test_doctor_* modules make is checked against its parts by
the autouse fixture in conftest.py; these tests look at the templates themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from finding_parts import PLACEHOLDER, check_finding
from test_doctor_diagnosis import run

import dualnat.doctor
from dualnat.doctor.messages import TEMPLATES, Part, part, plural, render

DOCTOR = Path(dualnat.doctor.__file__).parent


def test_every_template_is_used() -> None:
    """The doctor's code names every id, as part("<id>") or in RELOAD_FIX; a plural form
    (<base>.one, <base>.other) through plural("<base>", n)."""
    code = "\n".join(p.read_text() for p in DOCTOR.glob("*.py") if p.name != "messages.py")
    literals = set(re.findall(r'"([a-z_.0-9]+)"', code))
    plurals = set(re.findall(r'plural\(\s*"([a-z_.0-9]+)"', code))
    unused = [
        t
        for t in TEMPLATES
        if (
            t.rsplit(".", 1)[0] not in plurals
            if t.endswith((".one", ".other"))
            else t not in literals
        )
    ]
    assert unused == []


def test_templates_hold_only_word_placeholders() -> None:
    for tid, template in TEMPLATES.items():
        rest = PLACEHOLDER.sub("", template)
        assert "{" not in rest and "}" not in rest, tid
        assert template == template.strip() and "  " not in template, tid


def test_plural_forms_take_the_same_parameters() -> None:
    for tid, template in TEMPLATES.items():
        if tid.endswith(".one"):
            other = TEMPLATES[tid[: -len(".one")] + ".other"]
            assert "n" in PLACEHOLDER.findall(template)
            assert set(PLACEHOLDER.findall(template)) == set(PLACEHOLDER.findall(other)), tid


def test_parts_render_and_join_with_a_space() -> None:
    parts = [
        plural("forward.rules_missing.arrived", 1, relays="tcp 192.168.1.2:8081"),
        part("forward.rules_missing.no_trace"),
    ]
    assert parts[0].id == "forward.rules_missing.arrived.one"
    assert parts[0].to_dict() == {
        "id": "forward.rules_missing.arrived.one",
        "params": {"n": "1", "relays": "tcp 192.168.1.2:8081"},
    }
    text = render(parts)
    assert text.startswith("1 connection arrived at tcp 192.168.1.2:8081 and went nowhere. No ")
    assert (
        plural("forward.rules_missing.arrived", 2, relays="x")
        .render()
        .startswith("2 connections arrived")
    )
    assert render([]) == ""


def test_a_part_must_name_a_template_and_give_every_placeholder() -> None:
    with pytest.raises(ValueError, match="unknown message template"):
        part("forward.nothing")
    with pytest.raises(ValueError, match="takes"):
        part("forward.unchecked.fix", extra="1")
    with pytest.raises(ValueError, match="takes"):
        Part("forward.no_traffic", (("relays", "x"),))


def test_the_check_sees_parts_that_do_not_give_the_text() -> None:
    finding = run().findings[0].to_dict()
    check_finding(finding)
    broken = {**finding, "message": finding["message"] + "!"}
    with pytest.raises(AssertionError):
        check_finding(broken)


def test_no_rule_loaded_has_a_singular_and_a_plural() -> None:
    one = plural("forward.rules_missing.none", 1, kind="fw4").render()
    assert one.startswith("The bypass router has not loaded the 1 rule that dualnat needs")
    assert one.endswith("something removed it.")
    many = plural("forward.rules_missing.none", 3, kind="fw4").render()
    assert "has none of dualnat's 3 rules for this forward" in many
