"""The instructions read as a native reader expects, in every situation × vendor × language:
English has real plurals and lists; Chinese and Japanese have no English left (command
comments included) beyond names, values and the router's own English UI, full-width
punctuation without stray spaces, and Japanese keeps to です/ます."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

import pytest
from instructions_cases import CASES, VENDORS, catalog, vendor_labels

from dualnat.instructions import DNS_CHOICES, Instructions, build_instructions, render
from dualnat.instructions.entries import entries
from dualnat.instructions.model import TEXT
from dualnat.instructions.profile import Ui
from dualnat.pinholes import alias_name, tag
from dualnat.vendors import load_vendor

CONTEXT = {
    "bypass_ip": "192.168.1.2",
    "main_router_ip": "192.168.1.1",
    "url": "http://192.168.1.1/",
}
# A word in Latin letters (not the x of "4.x", not inside an address or a path).
LATIN_WORD = re.compile(r"(?<![\w./:-])[A-Za-z][A-Za-z0-9_+-]*(?:\.[A-Za-z0-9_+-]+)*")
# Latin words that Chinese and Japanese text uses as they are.
KEPT_AS_IS = frozenset({
    # protocols and network terms
    "DHCP", "DNS", "NAT", "SNAT", "DNAT", "IP", "IPv4", "IPv6", "TCP", "UDP", "TCP+UDP", "LAN",
    "WAN", "ACL", "RFC", "ID",
    "SSH", "API", "Wi-Fi",
    # software, and the kernel feature "bridge netfilter"
    "dualnat", "LuCI", "OpenWrt", "dnsmasq", "netfilter", "bridge",
    # option names, values and commands, written as they are typed
    "public_address", "bypass_dhcp", "bypass_port", "masquerade", "hairpin", "ignore", "start",
    "limit", "auto", "on", "option", "enabled", "list", "dhcp_option", "lan", "apply",
    "ipv6_suffix", "allow_source", "ra", "server", "hybrid", "disabled", "ping", "ff02",
})  # fmt: skip
# Lower-case Latin words in a vendor's labels written in its own UI language: names and
# values that the router shows or that are typed as they are.
KEPT_IN_LABELS = KEPT_AS_IS | {
    "dhcpd_dns_router", "wan1", "adsl1", "lan1", "wan", "useradmin", "kmod-br-netfilter",
    "net.bridge.bridge-nf-call-iptables", "tcp", "udp", "tcp+udp",
}  # fmt: skip
# An English UI term glossed right away, as LuCI's “Ignore interface”（インターフェースを無視）.
GLOSSED = re.compile(r"(?:「[^」]*」|“[^”]*”|[A-Za-z][\w .+/&→'-]*)（[^（）]*）")
CJK = r"\u3040-\u30ff\u4e00-\u9fff"
FULL_WIDTH = "，。、；：！？（）「」『』“”"
SPACE_AT_FULL_WIDTH = re.compile(f" [{FULL_WIDTH}]|[{FULL_WIDTH}] ")
ASCII_PUNCT_AT_CJK = re.compile(f"(?<=[{CJK}])[,;:!?()]|[,;:!?()](?=[{CJK}])")
# Nouns that English counts, and little words that end in s but are no plural.
NOUNS = "rule|port|forward|option|device|connection|range|address|field|server|line"
NOT_PLURAL = {"is", "as", "has", "was", "does", "its", "this", "us", "plus", "address"}
SINGULAR_BEFORE_PLURAL = re.compile(r"\b(?:1|one) ([a-z]+s)\b")
PLURAL_BEFORE_SINGULAR = re.compile(rf"\b(?:[2-9]|[1-9]\d+) (?:{NOUNS})(?![\w-])")
# "“a”, “b”:" is a list without its "and"
UNFINISHED_LIST = re.compile(r"”, “[^”]+”(?!, | and | or )")
JA_POLITE_END = ("ます", "です", "ください", "ません", "ました", "でした")
JA_SENTENCES = ("step.", "note.", "warning.", "hint.", "code.", "doc.intro")
SITUATIONS = [(case, dns) for case in sorted(CASES) for dns in ("auto",)] + [
    ("several", "keep"),
    ("several", "bypass"),
    ("single", "keep"),
]


@cache
def doc(case: str, vendor: str, lang: str, dns: str = "auto") -> Instructions:
    assert dns in DNS_CHOICES
    return build_instructions(CASES[case](vendor), lang, dns)


def pieces(d: Instructions) -> Iterator[str]:
    """Every text a reader sees, values to type left out, command comments put in."""
    yield from (d.title, d.intro, *(w.text for w in d.warnings))
    for section in d.sections:
        yield section.title
        for step in section.steps:
            yield from (step.text, *step.notes, *step.hints)
            for f in step.fields:
                yield from (f.label, f.note)
                if f.kind != TEXT:
                    yield f.display or f.value
            if step.code:
                lines = step.code.text.splitlines()
                yield from (line[1:].strip() for line in lines if line.startswith("#"))


@cache
def vendor_texts(vendor: str, lang: str) -> tuple[str, ...]:
    """The vendor's own labels, hints and protocol names in `lang`, longest first."""
    ui = Ui(vendor, lang, CONTEXT)
    texts = {ui.proto(p)[0] for p in ("tcp", "udp", "tcpudp")}
    if not ui.has("vendor_name"):
        texts.add(ui.vendor.name)
    for key in ui.labels:
        label = ui.label(key)
        texts |= {label.text, label.hint}
    return tuple(sorted((t for t in texts if t), key=len, reverse=True))


def catalogue_text(text: str, vendor: str, lang: str, names: set[str]) -> str:
    """`text` without what the vendor profile put in, quoted rule names, `code`, URLs,
    paths and glossed UI terms: what the message catalogue (and the code) wrote."""
    if text in names:  # a value that names a rule (an alias chosen by its name)
        return " "
    for label in vendor_texts(vendor, lang):
        text = text.replace(label, " ")
    for name in names:
        text = text.replace(f"“{name}”", " ").replace(f"「{name}」", " ")
    text = re.sub(r"`[^`]*`|https?://\S+|/[\w/.-]+", " ", text)
    return GLOSSED.sub(" ", text)


def rule_names(case: str, vendor: str) -> set[str]:
    plan = CASES[case](vendor)
    rules = entries(plan)
    holes = plan.main_router.ipv6.pinholes  # IPv6 rule and alias names are typed as they are
    six = {n for p in holes for n in (f"{p.name}_ipv6", alias_name(p.name), tag(p.name))}
    return {e.rule_name for e in rules} | {e.forward for e in rules} | six


# -- English ------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "dns"), SITUATIONS)
@pytest.mark.parametrize("vendor", VENDORS)
def test_english_plurals_and_lists(vendor: str, case: str, dns: str) -> None:
    d = doc(case, vendor, "en", dns)
    for fmt in ("text", "markdown"):
        out = render(d, fmt)
        assert "(s)" not in out
        plurals = {w for w in SINGULAR_BEFORE_PLURAL.findall(out) if w not in NOT_PLURAL}
        assert not plurals, f"a singular number before a plural: {plurals}"
        assert not PLURAL_BEFORE_SINGULAR.findall(out), "a plural number before a singular"
        assert not UNFINISHED_LIST.findall(out), "a list without “and”"
    for step in (s for sec in d.sections for s in sec.steps if s.id.startswith("forward.")):
        assert not re.search(r"external port \d+-\d+", step.text), step.text
        assert not re.search(r"external ports \d+ ", step.text), step.text


# -- Chinese and Japanese --------------------------------------------------------------


@pytest.mark.parametrize(("case", "dns"), SITUATIONS)
@pytest.mark.parametrize("lang", ["zh", "ja"])
@pytest.mark.parametrize("vendor", VENDORS)
def test_no_english_left_in_chinese_and_japanese(vendor: str, lang: str, case: str, dns: str):
    names = rule_names(case, vendor)
    for piece in pieces(doc(case, vendor, lang, dns)):
        own = catalogue_text(piece, vendor, lang, names)
        english = [w for w in LATIN_WORD.findall(own) if w not in KEPT_AS_IS]
        assert not english, f"{english} in {piece!r}"
        assert not ASCII_PUNCT_AT_CJK.search(own), f"ASCII punctuation in {piece!r}"
        assert not SPACE_AT_FULL_WIDTH.search(piece), (
            f"a space at full-width punctuation: {piece!r}"
        )


@pytest.mark.parametrize("lang", ["zh", "ja"])
@pytest.mark.parametrize("vendor", VENDORS)
def test_labels_in_the_uis_own_language_are_not_english(vendor: str, lang: str) -> None:
    """Where the router's UI speaks `lang`, its labels are that language: capitalised Latin
    words are names and UI terms, lower-case ones must be values or names as typed."""
    if lang not in load_vendor(vendor).raw.get("ui_languages", ()):
        pytest.skip(f"{vendor}'s UI has no {lang}: its English labels are shown as they are")
    for text in vendor_texts(vendor, lang):
        text = re.sub(r"`[^`]*`|https?://\S+|/[\w/.-]+|\{\w+\}", " ", text)
        lower = [w for w in LATIN_WORD.findall(text) if w.islower()]
        assert set(lower) <= KEPT_IN_LABELS, (vendor, lang, text)


def sentences(text: str) -> Iterator[str]:
    """The sentences of `text` that end with 。 outside brackets, brackets at the end cut."""
    depth, start = 0, 0
    for i, c in enumerate(text):
        depth += (c in "（「『“") - (c in "）」』”")
        if c == "。" and depth == 0:
            yield re.sub(r"(（[^（）]*）)+$", "", text[start:i]).strip()
            start = i + 1
    rest = re.sub(r"(（[^（）]*）)+$", "", text[start:]).strip()
    if rest and not rest.endswith(("：", "}")):
        yield rest


def japanese_sentences() -> Iterator[tuple[str, str]]:
    for key, text in catalog("ja").items():
        if key.startswith(JA_SENTENCES):
            yield key, text
    for vendor in VENDORS:
        for key, entry in vendor_labels(vendor).items():
            if not isinstance(entry, dict):
                continue
            # text.dhcp_fallback_when is a section title, no sentence
            if key.startswith(("text.", "note.")) and key != "text.dhcp_fallback_when":
                yield f"{vendor}: {key}", entry["ja"]
            if "hint" in entry:
                yield f"{vendor}: {key}.hint", entry["hint"]["ja"]


def test_japanese_keeps_to_desu_masu() -> None:
    for key, text in japanese_sentences():
        for sentence in sentences(text):
            assert sentence.endswith(JA_POLITE_END) or sentence.endswith("}"), (key, sentence)


# -- what a reader reported ---------------------------------------------------------------


def step(d: Instructions, step_id: str) -> str:
    return next(s.text for sec in d.sections for s in sec.steps if s.id == step_id)


def test_counts_and_names_read_as_english() -> None:
    one = doc("single", "ikuai", "en")
    assert "You will add one rule, pointing to" in step(one, "forwards.open")
    several = doc("several", "ikuai", "en")
    assert "You will add 6 rules, all pointing to" in step(several, "forwards.open")
    assert "external ports 27015-27020 →" in step(several, "forward.game")
    covered = step(several, "hairpin.bypass")
    assert "for “nas_web”, “game”, “web” and “rng”:" in covered
    assert "home.example.net (198.51.100.9)" in covered
    off = step(several, "hairpin.off")
    assert "“ssh” and “office”" in off and "for them" in off
    assert step(doc("udp_tcpudp", "ikuai", "en"), "hairpin.off").endswith("address for it.")


def test_ikuai_snat_advice_is_a_sentence() -> None:
    text = step(doc("single", "ikuai", "en"), "hairpin.loopback")
    assert (
        "NAT规则 (NAT rules): for connections from the LAN to 192.168.1.2, set the source" in text
    )
    assert "192.168.1.2 iKuai's" not in text


@pytest.mark.parametrize(
    ("lang", "comment"),
    [
        ("en", "# dualnat apply adds the DHCP options 3,192.168.1.2 and 6,192.168.1.2"),
        ("zh", "# dualnat apply 会添加 DHCP 选项 3,192.168.1.2 和 6,192.168.1.2"),
        ("ja", "# dualnat apply で DHCP オプション 3,192.168.1.2 と 6,192.168.1.2 が追加されます"),
    ],
)
def test_command_comments_are_translated(lang: str, comment: str) -> None:
    prepare = next(
        s for sec in doc("several", "ikuai", lang).sections for s in sec.steps
        if s.id == "dhcp.prepare"
    )  # fmt: skip
    assert prepare.code is not None and comment in prepare.code.text.splitlines()
    uci = next(
        s for sec in doc("single", "openwrt", lang).sections for s in sec.steps
        if s.id == "dhcp.uci"
    )  # fmt: skip
    assert uci.code is not None
    comments = [line for line in uci.code.text.splitlines() if line.startswith("#")]
    assert comments == [f"# {catalog(lang)['code.dns_optional']}"]
