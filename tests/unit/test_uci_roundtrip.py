"""Property tests: generated UCI files survive parse → serialize byte for byte, their
semantic view is what the generator meant, and edits keep both properties."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dualnat.uci import Document, SectionNotFoundError
from dualnat.uci.lexer import split_chunks

SECTION_NAMES = ["a", "b", "lan", "wan_1", "Rule9"]
OPTION_NAMES = ["name", "src", "dest_ip", "x", "L_2"]
TYPES = ["zone", "rule", "redirect", "wifi-iface", "x.y"]
TYPE_CHARS = [chr(c) for c in range(33, 127)]
VALUE_CHARS = [*"abcXYZ019 _-./:=@", "\t", "'", '"', "\\", "#", ";", "$", "(", ")", "`"]
VALUE_CHARS += ["\n", "\r", "é", "中", "ß"]
COMMENT_CHARS = [*"abc xyz#;'\"\\$`\t", "é"]
WRITE_CHARS = [*"abcXYZ019 _-./:=@", "\t", "'", '"', "\\", "#", ";", "$", "(", ")", "`", "é"]

# Escaping one of these in unquoted text would change its meaning (\n, \r\n continue
# the line) or is needed for the char to stay in the word.
MUST_ESCAPE_UNQUOTED = set(" \t'\"\\#;")


@dataclass
class Model:
    """What a file means, computed independently of the library."""

    package: str | None = None
    sections: list[dict] = field(default_factory=list)

    def named(self, name: str) -> dict | None:
        return next((s for s in self.sections if s["name"] == name), None)

    def view(self) -> list[tuple]:
        return [(s["type"], s["name"], s["options"]) for s in self.sections]


def meaning(stmts: list[tuple[str, list[str]]]) -> Model:
    """libuci's semantics: an empty option value sets nothing; a changed option and an
    option turned into a list move to the end (the generator keeps types per name)."""
    model = Model()
    current = None
    for keyword, args in stmts:
        if keyword == "package":
            model.package = args[0]
        elif keyword == "config":
            name = args[1] if len(args) > 1 and args[1] else None
            current = model.named(name) if name else None
            if current is None:
                current = {"type": args[0], "name": name, "options": {}}
                model.sections.append(current)
            assert current["type"] == args[0]
        elif keyword == "option":
            opts = current["options"]
            if args[1] and opts.get(args[0]) != args[1]:
                opts.pop(args[0], None)
                opts[args[0]] = args[1]
        else:
            opts = current["options"]
            old = opts.get(args[0])
            if old is None:
                opts[args[0]] = [args[1]]
            elif isinstance(old, str):
                del opts[args[0]]
                opts[args[0]] = [old, args[1]]
            else:
                opts[args[0]] = [*old, args[1]]
    return model


def encoded(value: str, rnd: random.Random, plain: bool) -> str:
    """Some valid encoding of *value* as one word: quoting forms, escapes, concatenated
    segments and backslash-newline continuations (*plain*: export-like forms only)."""
    if not value:
        return rnd.choice(["''"] if plain else ["''", '""', "''\"\"", "\"\"''"])
    cuts = (
        []
        if plain or len(value) < 2
        else rnd.sample(range(1, len(value)), rnd.randint(0, min(2, len(value) - 1)))
    )
    bounds = [0, *sorted(cuts), len(value)]
    out = []
    for start, end in itertools.pairwise(bounds):
        piece = value[start:end]
        forms = [] if plain else ["double"]
        if "'" not in piece:
            forms.append("single")
        if "\n" not in piece and "\r" not in piece and not (plain and set(piece) & set(" \t#;")):
            forms.append("bare")
        form = rnd.choice(forms or ["double"])
        if form == "single":
            out.append(f"'{piece}'")
        elif form == "double":
            parts = []
            for ch in piece:
                escape = ch in '"\\' or (not plain and ch not in "\r\n" and rnd.random() < 0.1)
                parts.append("\\" + ch if escape else ch)
                if not plain and rnd.random() < 0.06:
                    parts.append(rnd.choice(["\\\n", "\\\r\n"]))
            out.append('"' + "".join(parts) + '"')
        else:
            parts = []
            for i, ch in enumerate(piece):
                if i and not plain and rnd.random() < 0.06:  # continuation inside the word
                    parts.append(rnd.choice(["\\\n", "\\\r\n"]))
                escape = ch in MUST_ESCAPE_UNQUOTED or (not plain and rnd.random() < 0.1)
                parts.append("\\" + ch if escape else ch)
            out.append("".join(parts))
    return "".join(out)


def spaces(rnd: random.Random, plain: bool, min_size: int = 0) -> str:
    if plain:
        return " " * min_size
    return "".join(rnd.choice(" \t") for _ in range(rnd.randint(min_size, 3)))


values = st.text(st.sampled_from(VALUE_CHARS), max_size=10)
types = st.one_of(
    st.sampled_from(TYPES), st.text(st.sampled_from(TYPE_CHARS), min_size=1, max_size=6)
)


@st.composite
def statements(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    stmts: list[tuple[str, list[str]]] = []
    if draw(st.integers(0, 4)) == 0:
        stmts.append(("package", [draw(st.sampled_from(["firewall", "my-pkg"]))]))
    type_of: dict[str, str] = {}  # libuci refuses a named section re-typed
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.one_of(st.none(), st.sampled_from(SECTION_NAMES)))
        type_ = type_of.get(name) if name else None
        if type_ is None:
            type_ = draw(types)
            if name:
                type_of[name] = type_
        stmts.append(("config", [type_, name or ""]))
        for _ in range(draw(st.integers(0, 4))):
            keyword = draw(st.sampled_from(["option", "list"]))
            stmts.append((keyword, [draw(st.sampled_from(OPTION_NAMES)), draw(values)]))
    return stmts


def statement_text(
    keyword: str, args: list[str], last_on_line: bool, rnd: random.Random, plain: bool
) -> tuple[str, bool]:
    """The statement's text, and whether its last word is bare (no quote or backslash:
    libuci would then end the whole line at a ";" glued to it)."""
    out = keyword if plain or rnd.random() < 0.5 else keyword[0]
    # An empty last argument may be left out, but not before ";" (libuci would
    # then read the ";" as the argument).
    omit_last = last_on_line and keyword in ("config", "option") and not args[-1]
    word = ""
    for i, arg in enumerate(args):
        if omit_last and i == len(args) - 1 and rnd.random() < 0.5:
            break
        sep = "\t" if plain and keyword != "config" else spaces(rnd, plain, 1)
        word = encoded(arg, rnd, plain)
        out += sep + word
    return out, not set(word) & set("'\"\\")


@st.composite
def uci_files(draw: st.DrawFn) -> tuple[str, Model]:
    """A whole file and its meaning; *plain* files look like libuci's export."""
    stmts = draw(statements())
    rnd = draw(st.randoms(use_true_random=False))
    plain = draw(st.booleans())
    eol_style = "\n" if plain else rnd.choice(["\n", "\r\n", "mixed"])
    comment_chars = COMMENT_CHARS

    def eol() -> str:
        return rnd.choice(["\n", "\r\n"]) if eol_style == "mixed" else eol_style

    def comment() -> str:
        return "#" + "".join(rnd.choice(comment_chars) for _ in range(rnd.randint(0, 8)))

    lines: list[str] = []
    i = 0
    while i < len(stmts) or (not lines and rnd.random() < 0.5):
        for _ in range(rnd.choice([0, 0, 1, 2])):  # blank and comment lines
            if rnd.random() < 0.5:
                lines.append(spaces(rnd, plain))
            else:
                lines.append(spaces(rnd, plain) + comment())
        if i >= len(stmts):
            break
        group = stmts[i : i + (1 if plain else rnd.randint(1, 3))]
        i += len(group)
        line = ""
        bare = False
        for j, (kw, args) in enumerate(group):
            if j:  # a ";" glued to a bare word would end the line: space it then
                line += spaces(rnd, plain, 1 if bare else 0) + ";" + spaces(rnd, plain)
            text, bare = statement_text(kw, args, j == len(group) - 1, rnd, plain)
            line += text
        indent = "\t" if plain and group[0][0] in ("option", "list") else spaces(rnd, plain)
        line = indent + line
        if not plain and bare and rnd.random() < 0.15:
            line += ";"  # glued to a bare word: libuci ignores the rest of the line
        if rnd.random() < 0.2:
            line += spaces(rnd, plain) + comment()
        else:
            line += spaces(rnd, plain)
        lines.append(line)
    text = "".join(line + eol() for line in lines)
    if lines and rnd.random() < 0.3:
        text = text[: -2 if text.endswith("\r\n") else -1]  # no newline at the end
    return text, meaning(stmts)


def view(doc: Document) -> list[tuple]:
    return [(s.type, s.name, s.options) for s in doc.sections()]


def lines_view(doc: Document) -> list[tuple]:
    """Sections with their line information and libuci's option order."""
    return [(s.name, list(s.options), s.lines, s.option_lines) for s in doc.sections()]


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(uci_files())
def test_generated_files_round_trip_and_mean_what_was_generated(case: tuple[str, Model]) -> None:
    text, model = case
    doc = Document.parse(text, "/etc/config/generated")
    assert doc.serialize() == text
    assert doc.serialize().encode("utf-8") == text.encode("utf-8")
    assert view(doc) == model.view()
    assert doc.package == model.package


@FAST
@given(uci_files())
def test_fast_path_and_general_lexer_agree(case: tuple[str, Model]) -> None:
    text, _ = case
    assert split_chunks(text, fast=True) == split_chunks(text, fast=False)
    # the one-pass reader and the chunks agree on values, order and lines
    chunked = Document(split_chunks(text, fast=False))
    assert lines_view(Document.parse(text)) == lines_view(chunked)
    assert view(Document.parse(text)) == view(chunked)


write_values = st.text(st.sampled_from(WRITE_CHARS), min_size=1, max_size=8)
section_names = st.sampled_from([*SECTION_NAMES, "new_1"])
option_names = st.sampled_from(OPTION_NAMES)
edits = st.one_of(
    st.tuples(st.just("set_section"), section_names, st.sampled_from(TYPES)),
    st.tuples(st.just("set_option"), section_names, option_names, write_values),
    st.tuples(st.just("set_list"), section_names, option_names, st.lists(write_values, max_size=3)),
    st.tuples(st.just("delete_option"), section_names, option_names),
    st.tuples(st.just("delete_section"), section_names),
)


def model_apply(model: Model, edit: tuple) -> bool:
    """Apply *edit* to *model*; False if it must fail (section missing)."""
    kind, name, *rest = edit
    sec = model.named(name)
    if kind == "set_section":
        if sec is None:
            model.sections.append({"type": rest[0], "name": name, "options": {}})
        else:
            sec["type"] = rest[0]
    elif kind == "delete_section":
        if sec is not None:
            model.sections.remove(sec)
    elif kind == "delete_option":
        if sec is not None:
            sec["options"].pop(rest[0], None)
    elif sec is None:
        return False
    elif kind == "set_option":
        sec["options"][rest[0]] = rest[1]
    elif rest[1]:
        sec["options"][rest[0]] = list(rest[1])
    else:
        sec["options"].pop(rest[0], None)
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uci_files(), st.lists(edits, max_size=6))
def test_edits_on_generated_files_mean_what_they_say(case: tuple[str, Model], todo: list) -> None:
    text, model = case
    doc = Document.parse(text)
    for edit in todo:
        ok = model_apply(model, edit)
        method = getattr(doc, edit[0])
        if ok:
            method(*edit[1:])
        else:
            with pytest.raises(SectionNotFoundError):
                method(*edit[1:])
        assert view(doc) == model.view()
    reparsed = Document.parse(doc.serialize())
    assert view(reparsed) == model.view()
    assert reparsed.serialize() == doc.serialize()
    assert lines_view(doc) == lines_view(reparsed)  # lines follow the edited text


@FAST
@given(
    uci_files(), st.sampled_from(TYPES), st.lists(st.tuples(option_names, write_values), max_size=4)
)
def test_appending_then_deleting_a_section_restores_the_bytes(
    case: tuple[str, Model], type_: str, options: list[tuple[str, str]]
) -> None:
    text, _ = case
    assume(text == "" or text.endswith("\n"))
    doc = Document.parse(text)
    doc.set_section("zz_added", type_)
    for option, value in options:
        doc.set_option("zz_added", option, value)
    doc.set_list("zz_added", "zz_list", ["one", "two"])
    assert doc.section("zz_added").options["zz_list"] == ["one", "two"]
    doc.delete_section("zz_added")
    assert doc.serialize() == text
