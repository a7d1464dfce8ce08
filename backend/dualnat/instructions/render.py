"""Instructions → text (a terminal), markdown (a README or an issue) or JSON (LuCI)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable

from ..i18n.catalog import load_catalog
from .model import SELECT, TEXT, Field, Instructions, Step

FORMATS = ("text", "markdown", "json")


def _width(text: str) -> int:
    """Columns `text` takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _field_tail(f: Field, words: dict[str, str]) -> str:
    extra = []
    if f.optional:
        extra.append(words["optional"])
    if f.api_value:
        extra.append(f"{words['api']} {f.api_value}")
    tail = words["paren"].format(text=words["sep"].join(extra)) if extra else ""
    return tail + (f"{words['dash']}{f.note}" if f.note else "")


def _words(lang: str) -> dict[str, str]:
    """The catalogue's words for headings and punctuation around the steps."""
    cat = load_catalog(lang)
    keys = ("note", "hint", "optional", "api", "warnings", "main_router", "bypass_router")
    words = {k: cat.messages[f"render.{k}"] for k in (*keys, "colon", "paren", "dash")}
    words["sep"] = cat.messages["doc.list_sep"]
    return words


def _text_step(n: int, step: Step, words: dict[str, str]) -> list[str]:
    colon = words["colon"]
    lines = [f"{n:>2}. {step.text}"]
    heads = [f"{f.label}{colon.rstrip()}" for f in step.fields]
    width = max((_width(h) for h in heads), default=0)
    for head, f in zip(heads, step.fields, strict=True):
        pad = " " * (width - _width(head))
        value = f.display or f.value
        lines.append(f"      {head}{pad} {value}{_field_tail(f, words)}")
    lines += [f"    {words['note']}{colon}{note}" for note in step.notes]
    lines += [f"    {words['hint']}{colon}{hint}" for hint in step.hints]
    if step.code:
        lines.append(f"    {words[step.code.target]}{colon.rstrip()}")
        lines += [f"      {line}" for line in step.code.text.splitlines()]
    return lines


def step_lines(n: int, step: Step, lang: str) -> list[str]:
    """One step as `render_text` prints it (numbered `n`)."""
    return _text_step(n, step, _words(lang))


def render_text(doc: Instructions) -> str:
    words = _words(doc.lang)
    lines = [doc.title, doc.intro]
    for section, steps in doc.numbered():
        lines += ["", f"== {section.title} =="]
        for n, step in steps:
            lines += _text_step(n, step, words)
    if doc.warnings:
        lines += ["", f"== {words['warnings']} =="]
        lines += [f" ! {w.text}" for w in doc.warnings]
    return "\n".join(lines) + "\n"


def _md_step(n: int, step: Step, words: dict[str, str]) -> list[str]:
    colon = words["colon"]
    lines = [f"{n}. {step.text}"]
    if step.fields:
        lines.append("")
    for f in step.fields:
        value = f"`{f.value}`" if f.kind in (TEXT, SELECT) else f"*{f.display}*"
        lines.append(f"   - **{f.label}**{colon}{value}{_field_tail(f, words)}")
    for word, texts in ((words["note"], step.notes), (words["hint"], step.hints)):
        for text in texts:
            lines += ["", f"   > **{word}**{colon}{text}"]
    if step.code:
        head = f"{words[step.code.target]}{colon.rstrip()}"
        lines += ["", f"   {head}", "", f"   ```{step.code.lang}"]
        lines += [f"   {line}" for line in step.code.text.splitlines()]
        lines.append("   ```")
    return lines


def render_markdown(doc: Instructions) -> str:
    words = _words(doc.lang)
    lines = [f"# {doc.title}", "", doc.intro]
    for section, steps in doc.numbered():
        lines += ["", f"## {section.title}"]
        for n, step in steps:
            lines += ["", *_md_step(n, step, words)]
    if doc.warnings:
        lines += ["", f"## {words['warnings']}", ""]
        lines += [f"- **{w.text}**" for w in doc.warnings]
    return "\n".join(lines) + "\n"


def render_json(doc: Instructions) -> str:
    return json.dumps(doc.to_dict(), ensure_ascii=False, indent=2) + "\n"


RENDERERS: dict[str, Callable[[Instructions], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}


def render(doc: Instructions, fmt: str) -> str:
    """`doc` in one of FORMATS."""
    return RENDERERS[fmt](doc)
