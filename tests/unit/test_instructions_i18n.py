"""No message lacks a translation: the catalogues and every vendor label have en, zh and ja
with the same placeholders, and the vendor profiles name everything the forms use."""

from __future__ import annotations

import re

import pytest
from instructions_cases import LANGS, VENDORS, catalog, vendor_labels

from dualnat.i18n.catalog import PLURAL_FORMS, load_catalog, normalize_lang, placeholders
from dualnat.instructions.profile import _CONFIDENCE
from dualnat.vendors import load_vendor

CJK = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")
# Full-width brackets, quotes and other CJK punctuation.
CJK_PUNCTUATION = re.compile(r"[\u3000-\u303f\uff00-\uffef]")
# Messages that are the same in every language on purpose.
NEUTRAL = {"proto.tcp", "proto.udp", "proto.tcpudp"}
# Punctuation and quoting that only differ between English and the CJK languages.
PUNCTUATION = {
    "render.colon", "render.paren", "render.dash", "doc.quote", "doc.list_sep",
    "doc.named_address", "push.on_ports", "push.port_list_sep", "push.separator", "text.push.line",
}  # fmt: skip
FORMS = {"one", "other"}


def base(key: str) -> str:
    """step.forward.one → step.forward: the message, whatever its plural form."""
    head, _, last = key.rpartition(".")
    return head if last in FORMS else key


def plural_forms(lang: str) -> dict[str, set[str]]:
    """{message: its plural forms} for the messages that have them."""
    out: dict[str, set[str]] = {}
    for key in catalog(lang):
        if base(key) != key:
            out.setdefault(base(key), set()).add(key.rpartition(".")[2])
    return out


def test_every_catalogue_has_every_key():
    keys = [{base(k) for k in catalog(lang)} for lang in LANGS]
    assert keys[0] == keys[1] == keys[2], {
        lang: sorted(keys[0] ^ k) for lang, k in zip(LANGS, keys, strict=True)
    }


@pytest.mark.parametrize("lang", LANGS)
def test_plural_messages_have_the_forms_of_their_language(lang):
    forms = plural_forms(lang)
    assert forms.keys() == plural_forms("en").keys()
    for key, have in forms.items():
        assert have == set(PLURAL_FORMS[lang]), (lang, key)


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_placeholders_match_english(lang):
    en = catalog("en")
    for key, text in catalog(lang).items():
        assert placeholders(text) == placeholders(en[key]), key


def test_singular_and_plural_take_the_same_values():
    en = catalog("en")
    for key in plural_forms("en"):
        one, other = placeholders(en[f"{key}.one"]), placeholders(en[f"{key}.other"])
        assert one - {"n"} == other - {"n"}, key


@pytest.mark.parametrize(("lang", "n"), [("en", 1), ("en", 2), ("en", 0), ("zh", 1), ("ja", 1)])
def test_plural_picks_the_form(lang, n):
    cat = load_catalog(lang)
    text = cat.plural("step.forwards_open", n, menu="M", bypass_ip="192.0.2.2")
    form = "one" if lang == "en" and n == 1 else "other"
    assert text == cat.t(f"step.forwards_open.{form}", n=n, menu="M", bypass_ip="192.0.2.2")


@pytest.mark.parametrize(
    ("lang", "items", "joined"),
    [
        ("en", ["a"], "a"),
        ("en", ["a", "b"], "a and b"),
        ("en", ["a", "b", "c"], "a, b and c"),
        ("zh", ["“a”", "“b”", "“c”"], "“a”、“b”和“c”"),
        ("zh", ["3,10.0.0.2", "6,10.0.0.2"], "3,10.0.0.2 和 6,10.0.0.2"),
        ("ja", ["「a」", "「b」"], "「a」と「b」"),
    ],
)
def test_join_lists_the_way_the_language_does(lang, items, joined):
    assert load_catalog(lang).join(items) == joined


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_messages_are_translated(lang):
    en = catalog("en")
    for key, text in catalog(lang).items():
        if key in NEUTRAL | PUNCTUATION:
            continue
        assert text != en[key], f"{lang}: {key} is the English text"
        script = CJK if lang == "zh" else re.compile(f"{CJK.pattern}|{KANA.pattern}")
        assert script.search(text), f"{lang}: {key} has no {lang} text"
    # Japanese is not Chinese with another name: most messages have kana
    if lang == "ja":
        ja = catalog("ja")
        with_kana = [k for k, t in ja.items() if KANA.search(t)]
        assert len(with_kana) > 0.8 * len(ja)


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_labels_have_every_language(vendor):
    for key, entry in vendor_labels(vendor).items():
        if isinstance(entry, str):
            continue
        assert set(LANGS) <= set(entry), f"{vendor}: {key}"
        marks = {lang: placeholders(entry[lang]) for lang in LANGS}
        assert marks["en"] == marks["zh"] == marks["ja"], f"{vendor}: {key}"
        assert marks["en"] <= {"bypass_ip", "main_router_ip", "url"}, f"{vendor}: {key}"
        for word in ("confidence", *(f"confidence_{lang}" for lang in LANGS)):
            assert entry.get(word, "confirmed") in _CONFIDENCE, f"{vendor}: {key}"
        hint = entry.get("hint")
        if hint is not None:
            assert set(LANGS) <= set(hint), f"{vendor}: {key}.hint"
        for lang in ("zh", "ja"):
            text = entry[lang]
            assert (
                CJK.search(text) or KANA.search(text) or CJK_PUNCTUATION.search(text)
                or text == entry["en"]
            ), f"{vendor}: {key} ({lang})"  # fmt: skip


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_profile_is_complete(vendor):
    raw = load_vendor(vendor).raw
    labels = vendor_labels(vendor)
    en = catalog("en")
    pf = raw["port_forward"]
    for proto in ("tcp", "udp", "tcpudp"):
        shown = pf["proto"][proto]
        assert isinstance(shown, str) or set(LANGS) <= set(shown), (vendor, proto)
    assert "menu.port_forward" in labels and "menu.dhcp" in labels, vendor
    forms = pf["forms"]
    if "range" in forms:
        assert "form.single" in labels and "form.range" in labels
        assert not pf["range_translation"], "a separate range form has no internal port"
    computed = {
        "name", "proto", "internal_ip", "same_range", "external_port", "external_first",
        "external_last", "internal_port", "internal_first", "internal_last",
    }  # fmt: skip
    static = [
        *(k for form in forms.values() for k in form),
        *raw.get("loopback", {}).get("fields", []),
    ]
    for key in static:
        assert f"field.{key}" in labels or f"field.{key}" in en, (vendor, key)
        if key not in computed:
            assert (
                key in raw.get("checkboxes", {}) or key == "source" or f"value.{key}" in labels
            ), (vendor, key)
    fallback = raw["dhcp"].get("fallback")
    if fallback:
        assert fallback in ("gateway", "move", "manual")
        assert "text.dhcp_fallback_when" in labels, vendor
    for word in (raw["dhcp"]["confidence"], pf["confidence"], raw["loopback"]["confidence"]):
        assert word in _CONFIDENCE
    assert raw["ui_languages"] and set(raw["ui_languages"]) <= set(LANGS)


def test_planner_keys_are_kept():
    for vendor in VENDORS:
        v = load_vendor(vendor)
        flags = (v.range_translation, v.dhcp_can_disable, v.dhcp_gateway_override)
        assert all(isinstance(flag, bool) for flag in (*flags, v.bridge_netfilter_risk))


@pytest.mark.parametrize(
    ("text", "lang"), [("zh_CN", "zh"), ("zh-Hans", "zh"), ("ja-JP", "ja"), ("EN", "en")]
)
def test_normalize_lang(text, lang):
    assert normalize_lang(text) == lang


def test_normalize_lang_refuses_others():
    with pytest.raises(ValueError):
        normalize_lang("fr")
