"""Message catalogues: one TOML file per language (i18n/<lang>.toml), flattened to dotted
keys. Every sentence dualnat produces is here: the main-router instructions (top-level
tables), the plan's reasons and warnings ([reasons]), the doctor's messages and fixes
([doctor]) and finding titles ([findings]), the main-router notes ([main_router]) and the
configuration problems ([problems]).

A message whose English depends on a number has one key per plural form the language
distinguishes (CLDR categories): English ``key.one`` and ``key.other``, Chinese and
Japanese only ``key.other``. ``Catalog.plural(key, n)`` picks the form and passes n as {n}.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ..datafile import read_toml

LANGS = ("en", "zh", "ja")
DEFAULT_LANG = "en"
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z0-9]")
# Chinese and Japanese put a space between their own script and an inserted Latin word.
_SPACED = frozenset({"zh", "ja"})
_ALIASES = {"zh-cn": "zh", "zh_cn": "zh", "zh-hans": "zh", "zh_hans": "zh", "ja-jp": "ja"}
# The plural forms of each language, and which one a number takes.
PLURAL_FORMS: dict[str, tuple[str, ...]] = {
    "en": ("one", "other"),
    "zh": ("other",),
    "ja": ("other",),
}
_PLURAL_RULE: dict[str, Callable[[int], str]] = {"en": lambda n: "one" if n == 1 else "other"}


def normalize_lang(text: str) -> str:
    """'zh_CN', 'zh-Hans', 'ja-JP', 'en-US' → zh, ja, en; ValueError for anything else."""
    word = text.strip().lower()
    word = _ALIASES.get(word, word.split("-")[0].split("_")[0])
    if word not in LANGS:
        raise ValueError(f"'{text}' is not one of: {', '.join(LANGS)}")
    return word


def flatten(data: dict[str, Any], labels: bool = False, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': x}} → {'a.b': x}. With `labels`, a table that has an 'en' key is a leaf
    (a vendor label with its translations)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and not (labels and "en" in value):
            out.update(flatten(value, labels, full + "."))
        else:
            out[full] = value
    return out


@lru_cache(maxsize=1024)
def placeholders(text: str) -> frozenset[str]:
    """The {names} that a message expects."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


class Catalog:
    """The messages of one language; `t(key, **values)` formats one."""

    def __init__(self, lang: str, messages: dict[str, str]) -> None:
        self.lang = lang
        self.messages = messages

    def __contains__(self, key: str) -> bool:
        return key in self.messages

    def t(self, key: str, /, **values: object) -> str:
        """The message `key` with its placeholders filled; KeyError if it is missing."""
        template = self.messages[key]
        if self.lang not in _SPACED:
            return template.format(**values)
        return fill_spaced(template, values)

    def plural(self, key: str, n: int, /, **values: object) -> str:
        """The form of message `key` that the number n takes, with n as {n}."""
        form = _PLURAL_RULE.get(self.lang, lambda _: "other")(n)
        return self.t(f"{key}.{form}", n=n, **values)

    def join(self, items: Iterable[str]) -> str:
        """'a, b and c' in English, 'a、b和c' in Chinese, 'a、bとc' in Japanese."""
        words = list(items)
        out = words[0] if words else ""
        for i, word in enumerate(words[1:], start=2):
            glue = self.messages["doc.list_last" if i == len(words) else "doc.list_sep"]
            out = self._concat(self._concat(out, glue), word)
        return out

    def _concat(self, left: str, right: str) -> str:
        space = self.lang in _SPACED and _meets(left, right)
        return f"{left} {right}" if space else left + right


def _meets(left: str, right: str) -> bool:
    """True when a CJK character and a Latin letter or digit would touch."""
    if not left or not right:
        return False
    a, b = left[-1], right[0]
    return bool((_CJK.match(a) and _LATIN.match(b)) or (_LATIN.match(a) and _CJK.match(b)))


def fill_spaced(template: str, values: dict[str, object]) -> str:
    """str.format, with a space where an inserted value meets CJK text without one."""
    out = ""
    for literal, name, spec, _ in string.Formatter().parse(template):
        out += (" " if _meets(out, literal) else "") + literal
        if name is not None:
            value = format(values[name], spec or "")
            out += (" " if _meets(out, value) else "") + value
    return out


@cache
def load_catalog(lang: str) -> Catalog:
    """Read i18n/<lang>.toml."""
    if lang not in LANGS:
        raise KeyError(lang)
    return Catalog(lang, flatten(read_toml(Path(__file__).parent / f"{lang}.toml")))
