"""Parsing: word syntax, statement forms and parse errors with file, line and byte,
as libuci reads them (tests/unit/test_uci_libuci_cases.py holds libuci's own results)."""

from __future__ import annotations

import pytest

from dualnat.uci import Document, Section, UciParseError
from dualnat.uci.errors import SECTION_TYPE_CHANGED
from dualnat.uci.lexer import decode_word, split_words


def value_of(line: str) -> object:
    """Value of option ``a`` in ``config t`` followed by *line* (None: absent)."""
    doc = Document.parse("config t\n" + line)
    return doc.sections()[0].options.get("a")


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("option a plain", "plain"),
        ("option a 'single quoted'", "single quoted"),
        ('option a "double quoted"', "double quoted"),
        ("option a 'x'\"y\"z", "xyz"),
        ("option a 'no \\escapes\\'", "no \\escapes\\"),
        ('option a "q\\"d \\\\ \\n"', 'q"d \\ n'),
        ("option a un\\ quoted\\#\\;\\'", "un quoted#;'"),
        ("option a 'it'\\''s'", "it's"),
        ("option a 'multi\nline'", "multi\nline"),
        ('option a "multi\nline"', "multi\nline"),
        ("option a 'crlf\r\nkept'", "crlf\r\nkept"),
        ("option a con\\\ntinued", "continued"),
        ("option a con\\\r\ntinued", "continued"),
        ('option a "con\\\ntinued"', "continued"),
        ("option a value#comment", "value"),
        ("option a 'v'#comment", "v"),
        ("option a 'v' # comment 'unterminated", "v"),
        ("option a", None),  # libuci: an empty value sets nothing
        ("option a ''", None),
        ("option a # only a comment", None),
        ("option a b;c", "b"),  # a bare word glued to ";" ends the line
        ("option a\\\n b", "b"),  # the continued line's indent ends the word
        ("option a 'b';option c", "b"),
        ("list a ''", [""]),
        ("option a '$(reboot)`id`;x'", "$(reboot)`id`;x"),
        ("option a 'ü 中文'", "ü 中文"),
        ("option a trailing\\", "trailing"),
    ],
)
def test_word_forms(line: str, value: object) -> None:
    assert value_of(line) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [("abc", "abc"), ("'a b'", "a b"), ("'a'b\"c\"", "abc"), ('"\\x"', "x"), ("a\\\nb", "ab")],
)
def test_decode_word(raw: str, value: str) -> None:
    assert decode_word(raw) == value


def test_statement_forms_and_abbreviations() -> None:
    text = (
        "p firewall\n"
        "  c zone 'lan' ; o name 'lan'; l network lan\n"
        "\tconfig\trule\t# anonymous\n"
        'o src "wan";o dest lan\r\n'
        "\n"
        "# comment\n"
        "   #indented comment\n"
        "c rule r1;\n"
        "option x 1 ;"
    )
    doc = Document.parse(text)
    assert doc.package == "firewall"
    assert [(s.type, s.name, s.options) for s in doc.sections()] == [
        ("zone", "lan", {"name": "lan", "network": ["lan"]}),
        ("rule", None, {"src": "wan", "dest": "lan"}),
        ("rule", "r1", {"x": "1"}),
    ]
    assert doc.serialize() == text


def test_a_bare_word_glued_to_a_semicolon_ends_the_line() -> None:
    # libuci overwrites the ";" with the word's end: the rest of the line is not read
    doc = Document.parse("config zone lan; option name lan\n\toption a b; option c 'open\n")
    assert doc.sections() == [Section("zone", "lan", {"a": "b"})]


def test_semantics_merge_lists_and_replacement() -> None:
    doc = Document.parse(
        "config zone lan\n"
        "\toption a 1\n"
        "\tlist b x\n"
        "\toption c old\n"
        "\toption d same\n"
        "config rule\n"
        "\toption a other\n"
        "config zone lan\n"  # same name and type: continues the section
        "\tlist c new\n"  # a plain option turns into a list, old value first
        "\tlist b y\n"
        "\toption a 2\n"
        "\toption b str\n"  # an option after a list replaces the list
        "\toption d same\n"  # the same value changes nothing
        "\toption e ''\n"  # an empty value sets nothing
    )
    lan = doc.section("lan")
    assert lan is not None
    assert lan.type == "zone"
    assert lan.options == {"a": "2", "b": "str", "c": ["old", "new"], "d": "same"}
    # libuci frees a replaced option and appends the new one: export order
    assert list(lan.options) == ["d", "c", "a", "b"]
    assert lan.lines == (1, 8)
    assert lan.option_lines == {"a": 11, "b": 12, "c": 4, "d": 5}
    assert [s.name for s in doc.sections()] == ["lan", None]


def test_package_statements_only_name_the_package() -> None:
    doc = Document.parse("package fw\nconfig t\npackage other\noption a b\n")
    assert doc.package == "other"
    assert doc.sections() == [Section("t", None, {"a": "b"})]


def test_empty_name_is_anonymous_and_types_may_be_odd() -> None:
    doc = Document.parse("config 'wifi-iface' ''\nconfig a.b:c@d\n")
    assert [(s.type, s.name) for s in doc.sections()] == [("wifi-iface", None), ("a.b:c@d", None)]


ERRORS = [
    ("config t\noption a 'open\n\n", 2, "EOF with unterminated '"),
    ('config t\noption a "open\\"\n', 2, 'EOF with unterminated "'),
    ("config t\n\toption a 'x'y'z\n", 2, "EOF with unterminated '"),
    ("# header\noption a b\nconfig t\n", 2, "option/list command found before the first section"),
    ("\nlist a-b c\n", 2, "option/list command found before the first section"),
    ("config zone lan\nconfig rule lan\n", 2, SECTION_TYPE_CHANGED),
    ("config t\noption a b c\n", 2, "too many arguments"),
    ("config t n x\n", 1, "too many arguments"),
    ("config t\n\n\nlist a b c\n", 4, "too many arguments"),
    ("package a b\n", 1, "too many arguments"),
    ("config t\noption 'a b' c\n", 2, "invalid character in name field"),
    ("config t\noption a-b c\n", 2, "invalid character in name field"),
    ("config t bad-name\n", 1, "invalid character in name field"),
    ("config t\n o \n", 2, "insufficient arguments"),
    ("config t\n o\n", 2, "invalid command"),  # the keyword is "o\n"
    ("config\n", 1, "invalid command"),
    ("config", 1, "config without name"),
    ("config t\nlist", 2, "option without name"),
    ("config t\noption a 'b';\n", 2, "invalid command"),  # "\n" is read as a keyword
    ("config t ; option a b\n", 1, "too many arguments"),  # ";" is the empty name
    ("config ''\n", 1, "insufficient arguments"),
    ("config 'a b'\n", 1, "invalid character in type field"),
    ("config t\nset a b\n", 2, "invalid command"),
    ("config t\n\toptions a b\n", 2, "invalid command"),
    ("config t\noption a 'b'; bogus\n", 2, "invalid command"),
    ("config t\noption a b\x00\n", 2, "NUL byte"),
    ("config t\noption a 'multi\nline'\nbogus\n", 4, "invalid command"),
    ("config t\r\noption a b\r\nx\r\n", 3, "invalid command"),
]


@pytest.mark.parametrize(("text", "line", "reason"), ERRORS)
def test_parse_errors_carry_path_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(UciParseError) as info:
        Document.parse(text, "/etc/config/firewall")
    err = info.value
    assert err.path == "/etc/config/firewall"
    assert err.line == line
    assert err.reason == reason
    assert isinstance(err.byte, int)
    assert str(err) == f"/etc/config/firewall:{line}: {reason}"


@pytest.mark.parametrize(
    ("text", "byte"),
    [
        ("config t\n\toption a b c\n", 14),  # libuci: after the extra word
        ("config t\n\toption a-b c\n", 12),
        ("config t\n\tbogus a\n", 1),
        ("config t\n\toption a 'b'; 'x' c\n", 14),
        ("config t\n\toption a '\u00e9\u00e9' x\n", 19),  # bytes, not characters
    ],
)
def test_parse_errors_carry_libucis_byte(text: str, byte: int) -> None:
    with pytest.raises(UciParseError) as info:
        Document.parse(text)
    assert (info.value.line, info.value.byte) == (2, byte)


def test_unterminated_quote_reports_the_line_where_it_opens() -> None:
    with pytest.raises(UciParseError) as info:
        Document.parse("config t\n\n\toption a 'starts here\nand never\nends\n", "f")
    err = info.value
    assert (err.line, err.byte, err.reason) == (3, 10, "EOF with unterminated '")
    assert str(err) == "f:3: EOF with unterminated '"


def test_split_words_uses_uci_quoting() -> None:
    assert split_words("set fw.a.b='x y'\\''z' # c") == ["set", "fw.a.b=x y'z"]
    with pytest.raises(UciParseError):
        split_words("set fw.a.b='open")


@pytest.mark.parametrize(
    "text",
    [
        "config t\\\n 'n'; option a 'b'",  # a continued line without newline at the end
        "config t 'n'; option a 'x\ny'; option b 'c'\n",
        "config t n\n\toption a 'x\ny' ; list l 'z'\r\n\toption c d\n",
    ],
)
def test_statements_after_a_line_break_inside_a_logical_line_get_their_line(text: str) -> None:
    from dualnat.uci.lexer import split_chunks

    parsed = Document.parse(text).sections()
    chunked = Document(split_chunks(text, fast=False)).sections()
    assert [(s.lines, s.option_lines) for s in parsed] == [
        (s.lines, s.option_lines) for s in chunked
    ]
    assert max(max(s.option_lines.values()) for s in parsed) == text.count("\n") + (
        not text.endswith("\n")
    )
