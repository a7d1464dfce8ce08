"""Golden files for a few instruction outputs (DUALNAT_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from instructions_cases import CASES

from dualnat.instructions import build_instructions, render

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "instructions"
UPDATE = os.environ.get("DUALNAT_UPDATE_GOLDEN") == "1"
EXTENSION = {"text": "txt", "markdown": "md", "json": "json"}

# (case, vendor, language, format)
OUTPUTS = [
    ("udp_tcpudp", "ikuai", "en", "text"),
    ("translated_range", "linksys", "zh", "markdown"),
    ("translated_range", "xiaomi", "ja", "text"),
    ("single", "openwrt", "en", "json"),
    ("single", "pfsense", "ja", "markdown"),
    ("too_many", "asus", "en", "text"),
    ("single", "generic", "zh", "text"),
    ("ipv6", "openwrt", "en", "text"),
    ("ipv6", "opnsense", "ja", "markdown"),
    ("ipv6", "linksys", "zh", "text"),
    ("ipv6", "ikuai", "en", "json"),
    ("ipv6", "generic", "en", "text"),
]


@pytest.mark.parametrize(("case", "vendor", "lang", "fmt"), OUTPUTS)
def test_golden(case: str, vendor: str, lang: str, fmt: str) -> None:
    text = render(build_instructions(CASES[case](vendor), lang), fmt)
    path = GOLDEN / f"{case}.{vendor}.{lang}.{EXTENSION[fmt]}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} differs (DUALNAT_UPDATE_GOLDEN=1 rewrites it)"
    )
