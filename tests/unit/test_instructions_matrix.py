"""Every vendor × language × format renders for every situation, with sound structure."""

from __future__ import annotations

import json
import re

import pytest
from instructions_cases import CASES, FORMATS, LANGS, VENDORS

from dualnat.instructions import build_instructions, render
from dualnat.instructions.entries import entries
from dualnat.instructions.model import CONFIRMED, INFERRED, UNKNOWN

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("vendor", VENDORS)
def test_renders(vendor: str, lang: str, case: str) -> None:
    plan = CASES[case](vendor)
    doc = build_instructions(plan, lang)
    rules = entries(plan)
    texts = {fmt: render(doc, fmt) for fmt in FORMATS}
    data = json.loads(texts["json"])
    assert data["schema"] == 1 and data["lang"] == lang and data["vendor"]["id"] == vendor
    assert texts["text"].startswith(doc.title) and texts["markdown"].startswith(f"# {doc.title}")
    # one block per main-router rule, in plan order
    forward_steps = [s["id"] for sec in data["sections"] for s in sec["steps"]]
    assert [i for i in forward_steps if i.startswith("forward.")] == [
        f"forward.{e.key}" for e in rules
    ]
    for e in rules:
        assert str(e.external.first) in texts["text"] and str(e.external.first) in texts["markdown"]
    # ids are unique; numbers run 1..n; copyable means typed
    field_ids = [f["id"] for sec in data["sections"] for s in sec["steps"] for f in s["fields"]]
    assert len(set(forward_steps)) == len(forward_steps)
    assert len(set(field_ids)) == len(field_ids)
    numbers = [s["number"] for sec in data["sections"] for s in sec["steps"]]
    assert numbers == list(range(1, len(numbers) + 1))
    for sec in data["sections"]:
        for step in sec["steps"]:
            assert step["text"] and step["confidence"] in (CONFIRMED, INFERRED, UNKNOWN)
            for f in step["fields"]:
                assert f["copyable"] == (f["kind"] == "text")
                assert f["label"] and (f["value"] or f["kind"] == "empty")
    # no placeholder was left unfilled
    for text in texts.values():
        assert not PLACEHOLDER.search(text)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("vendor", VENDORS)
def test_same_steps_in_every_language(vendor: str, case: str) -> None:
    plan = CASES[case](vendor)
    docs = [build_instructions(plan, lang) for lang in LANGS]
    assert docs[0].step_ids() == docs[1].step_ids() == docs[2].step_ids()
    fields = [
        [(f.id, f.value, f.kind) for s in d.sections for st in s.steps for f in st.fields]
        for d in docs
    ]
    # values that are typed are the same in every language
    typed = [[f for f in fs if f[2] == "text"] for fs in fields]
    assert typed[0] == typed[1] == typed[2]
