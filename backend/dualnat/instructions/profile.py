"""A vendor profile seen in one language: labels, protocol names, forms, limits.

Labels live in the vendor's TOML file under [labels] (nested tables, each leaf either a
string used in every language or a table with en/zh/ja, an optional confidence, optional
confidence_<lang> overrides and an optional hint table with en/zh/ja). A label the vendor
does not define comes from the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..i18n.catalog import Catalog, flatten, load_catalog
from ..vendors import VendorProfile, load_vendor
from .model import CONFIRMED, INFERRED, UNKNOWN

_CONFIDENCE = {
    "confirmed": CONFIRMED,
    "inferred": INFERRED,
    "source-document": INFERRED,
    "unknown": UNKNOWN,
    "gap": UNKNOWN,
}
# Generic hint for an unconfirmed label: by its whole key, else by its first part.
_HINT_FOR = {
    "menu.port_forward": "hint.menu_port_forward",
    "menu.dhcp": "hint.menu_dhcp",
    "menu": "hint.label",
    "form": "hint.form",
    "field": "hint.field",
    "value": "hint.field",
    "text": "",  # sentences of the vendor's own say what to do when they do not fit
    "note": "",
}


def confidence(word: str | None, default: str = UNKNOWN) -> str:
    """A profile's confidence word as one of confirmed / inferred / unknown."""
    return _CONFIDENCE[word.lower()] if word else default


@dataclass(frozen=True)
class Label:
    """Text shown to the user, with how sure we are of it and what to do if it is wrong."""

    text: str
    confidence: str = CONFIRMED
    hint: str = ""


class Ui:
    """One vendor's labels and form layout in one language."""

    def __init__(self, vendor_id: str, lang: str, context: dict[str, str]) -> None:
        self.vendor: VendorProfile = load_vendor(vendor_id)
        self.lang = lang
        self.cat: Catalog = load_catalog(lang)
        self.context = context
        self.raw: dict[str, Any] = self.vendor.raw
        self.default_confidence = confidence(self.raw.get("label_confidence"), INFERRED)

    @cached_property
    def labels(self) -> dict[str, Any]:
        return flatten(self.raw.get("labels", {}), labels=True)

    def has(self, key: str) -> bool:
        return key in self.labels

    def t(self, key: str, **values: object) -> str:
        """A catalogue message (never a vendor label) with the common placeholders."""
        return self.cat.t(key, **{**self.context, **values})

    def plural(self, key: str, n: int, **values: object) -> str:
        """The catalogue message `key` in the plural form that n takes (n is {n})."""
        return self.cat.plural(key, n, **{**self.context, **values})

    def join(self, items: Iterable[str]) -> str:
        """Items as a list in running text ('a, b and c')."""
        return self.cat.join(items)

    def names(self, names: Iterable[str]) -> str:
        """Forward or rule names, each quoted, as a list in running text."""
        return self.join(self.t("doc.quote", name=n) for n in names)

    def label(self, key: str, **values: object) -> Label:
        """The vendor's label `key`, else the catalogue's, with its confidence and hint."""
        entry = self.labels.get(key)
        if entry is None:
            text, conf, hint = self.cat.messages[key], self.default_confidence, ""
        elif isinstance(entry, str):
            text, conf, hint = entry, self.default_confidence, ""
        else:
            text = entry[self.lang]
            word = entry.get(f"confidence_{self.lang}", entry.get("confidence"))
            conf = confidence(word, self.default_confidence)
            hint = entry.get("hint", {}).get(self.lang, "")
        fill = {**self.context, **values}
        text = text.format(**fill)
        if conf != CONFIRMED and not hint:
            generic = _HINT_FOR.get(key, _HINT_FOR.get(key.split(".")[0], "hint.label"))
            hint = self.cat.messages[generic] if generic else ""
        return Label(text, conf, hint.format(**fill) if hint else "")

    # -- port forwarding ---------------------------------------------------------------

    @property
    def port_forward(self) -> dict[str, Any]:
        return self.raw["port_forward"]

    def proto(self, proto: str) -> tuple[str, str, str]:
        """(what the form shows, the API value or "", confidence) for tcp / udp / tcpudp."""
        pf = self.port_forward
        shown = pf.get("proto", {}).get(proto)
        if shown is None:
            text = self.cat.messages[f"proto.{proto}"]
        else:
            text = shown if isinstance(shown, str) else shown[self.lang]
        api = str(pf.get("proto_api", {}).get(proto, ""))
        return text, api, confidence(pf.get("proto_confidence"), self.default_confidence)

    def form(self, ranged: bool) -> tuple[str, list[str]]:
        """("single" or "range", field keys) of the form an entry goes into."""
        forms = self.port_forward["forms"]
        if ranged and "range" in forms:
            return "range", list(forms["range"])
        return "single", list(forms["single"])

    @property
    def separate_range_form(self) -> bool:
        return "range" in self.port_forward["forms"]

    @property
    def range_separator(self) -> str:
        return str(self.port_forward.get("range_separator", "-"))

    @property
    def checkboxes(self) -> dict[str, str]:
        """Fixed checkbox states of this vendor's forms (on / off)."""
        return dict(self.raw.get("checkboxes", {}))

    @property
    def limits(self) -> dict[str, Any]:
        return dict(self.port_forward.get("limits", {}))

    # -- DHCP, loopback, access ----------------------------------------------------

    @property
    def dhcp(self) -> dict[str, Any]:
        return self.raw["dhcp"]

    @property
    def loopback(self) -> dict[str, Any]:
        return dict(self.raw.get("loopback", {"mode": "unknown"}))

    @property
    def ipv6(self) -> dict[str, Any]:
        """The vendor's IPv6 firewall facts ([ipv6]: default, suffix, forms)."""
        return dict(self.raw["ipv6"])

    @property
    def ui_languages(self) -> tuple[str, ...]:
        return tuple(self.raw.get("ui_languages", ("en",)))

    @property
    def uci(self) -> bool:
        """True when the main router takes `uci` commands (OpenWrt)."""
        return bool(self.raw.get("uci_commands", False))
