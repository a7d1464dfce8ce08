"""The LuCI side of luci-app-dualnat, checked against the backend it talks to: the ACL,
the menu, the rpc declarations, the vendor list, the package Makefile and the
translations (every msgid translated, placeholders kept)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from dualnat import __version__
from dualnat.ubus.methods import METHODS
from dualnat.vendors import load_vendor, vendor_ids

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import i18n_scan  # noqa: E402
import package_tree  # noqa: E402

PACKAGE = ROOT / "luci-app-dualnat"
RESOURCES = PACKAGE / "htdocs" / "luci-static" / "resources"
SHARE = PACKAGE / "root" / "usr" / "share"
READ = [
    "status",
    "get_config",
    "list_forwards",
    "plan",
    "main_router",
    "instructions",
    "doctor",
    "check_config",
    "check_forward",
    "check_forwards",
]
WRITE = ["set_config", "set_forward", "set_forwards", "delete_forward", "apply", "revert"]
VIEWS = ["overview", "forwards", "mainrouter", "settings"]
PLACEHOLDER = re.compile(r"%(?:-?\d*)(?:\.\d+)?[sdhqfx]")


def test_the_acl_grants_exactly_the_ubus_methods() -> None:
    acl = json.loads((SHARE / "rpcd" / "acl.d" / "luci-app-dualnat.json").read_text())
    [(name, entry)] = acl.items()
    assert name == "luci-app-dualnat"
    assert entry["read"]["ubus"]["dualnat"] == READ
    assert entry["write"]["ubus"]["dualnat"] == WRITE
    assert sorted(READ + WRITE) == sorted(m.name for m in METHODS)
    assert entry["read"]["ubus"]["luci-rpc"] == ["getHostHints"]
    assert "dualnat" in entry["read"]["uci"] and entry["write"]["uci"] == ["dualnat"]


def test_the_menu_points_at_the_views() -> None:
    menu = json.loads((SHARE / "luci" / "menu.d" / "luci-app-dualnat.json").read_text())
    top = menu["admin/network/dualnat"]
    assert top["depends"] == {"acl": ["luci-app-dualnat"], "uci": {"dualnat": True}}
    assert top["action"] == {"type": "alias", "path": "admin/network/dualnat/overview"}
    views = []
    for path, entry in menu.items():
        assert path.startswith("admin/network/dualnat")
        if entry["action"]["type"] == "view":
            view = entry["action"]["path"]
            assert (RESOURCES / "view" / f"{view}.js").is_file(), view
            views.append(view)
    assert views == [f"dualnat/{v}" for v in VIEWS]


def declarations() -> dict[str, list[str]]:
    """declare('method', [ 'param', ... ]) in common.js."""
    text = (RESOURCES / "dualnat" / "common.js").read_text()
    out = {}
    for m in re.finditer(r"declare\('(\w+)'(?:,\s*\[([^\]]*)\])?\)", text):
        out[m.group(1)] = re.findall(r"'(\w+)'", m.group(2) or "")
    return out


def test_every_method_is_declared_with_all_its_arguments() -> None:
    declared = declarations()
    assert sorted(declared) == sorted(m.name for m in METHODS)
    for m in METHODS:
        # uhttpd adds ubus_rpc_session; the page sends every other declared argument
        assert declared[m.name] == [name for name, _ in m.args], m.name
    text = (RESOURCES / "dualnat" / "common.js").read_text()
    assert "object: 'dualnat'" in text and "reject: true" in text


def test_the_vendor_list_is_the_backends() -> None:
    text = (RESOURCES / "dualnat" / "common.js").read_text()
    block = text[text.index("var VENDORS = [") : text.index("];", text.index("var VENDORS = ["))]
    pairs = re.findall(r"\[ '(\w+)', (?:_\()?'([^']+)'\)? \]", block)
    assert sorted(v for v, _ in pairs) == sorted(vendor_ids())
    for vendor, name in pairs:
        if vendor not in ("generic", "isp_modem"):  # translated names of their own
            assert name == load_vendor(vendor).name


def test_the_views_are_luci_views() -> None:
    for view in VIEWS:
        text = (RESOURCES / "view" / "dualnat" / f"{view}.js").read_text()
        assert text.startswith("'use strict';\n'require view';\n")
        assert "'require dualnat.common as dn';" in text
        assert "return view.extend({" in text
    for path in RESOURCES.rglob("*.js"):
        text = path.read_text()
        assert "console.log" not in text and "debugger" not in text, path
        assert not re.search(r"[ \t]$", text, re.M), f"{path}: trailing whitespace"


def test_the_package_makefile() -> None:
    mk = package_tree.makefile_vars()
    assert mk["PKG_VERSION"] == __version__
    assert mk["LUCI_PKGARCH"] == "all"
    assert mk["LUCI_DEPENDS"].split() == [
        "+luci-base",
        "+python3-flask",
        "+python3-werkzeug",
        "+python3-ubus",
        "+python3-requests",
        "+python3-codecs",
        "+python3-decimal",
        "+python3-email",
        "+python3-logging",
        "+python3-urllib",
        "+python3-uuid",
    ]
    assert mk["MARSHMALLOW_VERSION"] == package_tree.MARSHMALLOW
    text = (PACKAGE / "Makefile").read_text()
    assert "include $(TOPDIR)/feeds/luci/luci.mk" in text
    assert "files.pythonhosted.org/packages/source/m/marshmallow" in text
    assert text.rstrip().endswith("# call BuildPackage - OpenWrt buildroot signature")
    assert "\n/etc/config/dualnat\n" in text  # conffiles
    feeds = (ROOT / "feeds.conf").read_text()
    assert re.search(r"^src-link dualnat \S+$", feeds, re.M)


def test_the_template_is_up_to_date() -> None:
    assert i18n_scan.POT.read_text() == i18n_scan.render_pot(i18n_scan.scan()), (
        "run: python scripts/i18n_scan.py --write"
    )


@pytest.mark.parametrize("lang", ["zh_Hans", "ja"])
def test_every_msgid_is_translated(lang: str) -> None:
    header, entries = i18n_scan.read_po(PACKAGE / "po" / lang / "dualnat.po")
    assert header["Language"] == lang
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert "Plural-Forms" in header
    msgids = [e.msgid for e in i18n_scan.scan()]
    assert [e.msgid for e in entries] == msgids  # nothing missing, nothing obsolete
    for e in entries:
        assert e.msgstr.strip(), f"{lang}: no translation for {e.msgid!r}"
        assert not e.fuzzy, e.msgid
        assert PLACEHOLDER.findall(e.msgstr) == PLACEHOLDER.findall(e.msgid), e.msgid
        assert e.msgid == i18n_scan.normalize(e.msgid)


def test_the_scan_finds_the_strings_of_every_file() -> None:
    refs = {ref.split(":")[0] for e in i18n_scan.scan() for ref in e.refs}
    assert {f"htdocs/luci-static/resources/view/dualnat/{v}.js" for v in VIEWS} <= refs
    assert "root/usr/share/luci/menu.d/luci-app-dualnat.json" in refs
    with pytest.raises(i18n_scan.ScanError):
        i18n_scan.js_string("'unterminated", 0)


def overview_table(name: str) -> dict[str, str]:
    """The JS table `var <name> = { 'id': _('English'), ... };` of overview.js as a dict
    (each id once)."""
    js = (RESOURCES / "view" / "dualnat" / "overview.js").read_text()
    block = js[js.index(f"var {name} = {{") :]
    block = block[: block.index("\n};")]  # a template may hold "};" itself
    ids = re.findall(r"^\t'([a-z_.0-9]+)': _\('", block, re.MULTILINE)
    table = {
        m.group(1): i18n_scan.js_string(block, m.end() - 1)[0]
        for m in re.finditer(r"'([a-z_.0-9]+)': _\('", block)
    }
    assert len(ids) == len(table), f"an id twice in {name}"
    return table


def test_the_overview_has_a_translatable_title_for_every_finding_code() -> None:
    """The overview shows the doctor's titles through _() by code; they must be the
    backend's titles word for word (or the translation would not match)."""
    from dualnat.doctor.findings import CODES

    assert overview_table("FINDING_TITLES") == {code: t for code, (_, t) in CODES.items()}


def test_the_overview_has_every_message_template_word_for_word() -> None:
    """The overview renders the doctor's messages and fixes from templates through _() by
    id; they must be the backend's templates word for word (messages.TEMPLATES)."""
    from dualnat.doctor.messages import TEMPLATES

    assert overview_table("MESSAGE_TEMPLATES") == TEMPLATES


def test_the_overview_has_every_reason_template_word_for_word() -> None:
    """The overview renders the plan's reasons and warnings from templates through _() by
    id; they must be the backend's templates word for word (reasons.TEMPLATES)."""
    from dualnat.reasons import TEMPLATES

    assert overview_table("REASON_TEMPLATES") == TEMPLATES


NAMED = re.compile(r"\{\w+\}")


@pytest.mark.parametrize("lang", ["zh_Hans", "ja"])
def test_translations_keep_the_named_placeholders(lang: str) -> None:
    """{name} in a msgid (the doctor's message templates) is a parameter: the translation
    has each one exactly as often, in any order, and no other."""
    _, entries = i18n_scan.read_po(PACKAGE / "po" / lang / "dualnat.po")
    named = [e for e in entries if NAMED.search(e.msgid)]
    assert len(named) >= 40
    for e in named:
        assert sorted(NAMED.findall(e.msgstr)) == sorted(NAMED.findall(e.msgid)), e.msgid
