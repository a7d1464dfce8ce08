"""Main-router instructions: the plan's main-router settings as numbered, copy-ready steps
for one vendor's admin page, in English, Simplified Chinese or Japanese.

Data, not code, says what each router looks like: the vendor's TOML profile
(``dualnat/vendors/<id>.toml``: labels per language, protocol names, forms, limits, DHCP
and loopback facts, each with a confidence) and the message catalogues
(``i18n/<lang>.toml``). ``build_instructions(plan, lang)`` makes an :class:`Instructions`;
``render(doc, "text" | "markdown" | "json")`` prints it.

JSON shape (``schema`` 1; what the LuCI page shows)::

    {
      "schema": 1,
      "lang": "en",                              # en | zh | ja
      "vendor": {"id": "ikuai", "name": "iKuai"},
      "bypass_ip": "192.168.1.2",
      "main_router_ip": "192.168.1.1",
      "title": "...", "intro": "...",
      "sections": [                              # start, forwards, dhcp and dhcp_alt
        {"id": "forwards", "title": "...",       # (the gateway way first), hairpin, ipv6, bridge
         "steps": [
           {"id": "forward.nas_web",             # stable ids, see below
            "number": 3,                         # 1..n across the whole document
            "text": "...",
            "confidence": "confirmed",           # confirmed | inferred | unknown
            "fields": [
              {"id": "forward.nas_web.proto",
               "label": "Protocol",              # as the router labels the field
               "value": "TCP",                   # exactly what to type or choose
               "display": "TCP",                 # how to show it ("off (unchecked)", ...)
               "kind": "select",                 # text | select | checkbox | empty
               "copyable": false,                # true for typed values (kind text)
               "optional": false,
               "note": "",
               "confidence": "confirmed",
               "api_value": "1"}],               # only where the router's API differs
            "code": {"lang": "sh",               # or null: commands to paste over SSH
                     "target": "main_router",    # main_router | bypass_router
                     "text": "uci ...\\n", "copyable": true},
            "notes": ["..."],                    # extra facts
            "hints": ["..."]}]}],               # what to look for where a fact is inferred
      "warnings": [{"id": "forwards.too_many", "text": "..."}]
    }

Step ids: ``start.login``; ``forwards.open``, ``forwards.before``, ``forward.<name>`` (or
``forward.<name>.<k>`` when the planner cut a forward into k = 1..n rules),
``forwards.done``, ``forwards.uci``, ``forwards.none``; ``dhcp.<step>`` and
``dhcp_alt.<step>`` (open, set, uci, per_device, renew; prepare, main_off, bypass_on;
manual); ``hairpin.bypass``, ``hairpin.no_public``, ``hairpin.loopback``, ``hairpin.off``;
``bridge.masquerade``, ``bridge.no_masquerade``, ``bridge.note``; ``ipv6.path``,
``ipv6.open``, ``ipv6.default``, ``ipv6.<name>`` (``ipv6.<name>.<k>`` for one rule per
address), ``ipv6.<name>.alias``, ``ipv6.uci``, ``ipv6.missing.<name>``. Field ids: the step's id
plus the field key, e.g. ``forward.nas_web.external_port``, ``dhcp.gateway``, ``dhcp.dns``,
``dhcp.enable``, ``dhcp.bypass.router``, ``hairpin.loopback_filter``.
"""

from __future__ import annotations

from ..i18n.catalog import DEFAULT_LANG, LANGS, normalize_lang
from .build import build_instructions
from .dhcp import DNS_CHOICES
from .model import Instructions
from .render import FORMATS, render

__all__ = [
    "DEFAULT_LANG",
    "DNS_CHOICES",
    "FORMATS",
    "LANGS",
    "Instructions",
    "build_instructions",
    "normalize_lang",
    "render",
]
