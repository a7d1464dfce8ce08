"""The LuCI side of luci-app-dualnat, checked against the backend it talks to: the ACL,
the menu, the rpc declarations (all from the one method table, ubus/methods.py), the
vendor list, the package Makefile and the translations (every msgid translated,
placeholders kept)."""

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
READ = [m.name for m in METHODS if not m.write]
WRITE = [m.name for m in METHODS if m.write]
VIEWS = ["overview", "forwards", "mainrouter", "settings"]
PLACEHOLDER = re.compile(r"%(?:-?\d*)(?:\.\d+)?[sdhqfx]")


def test_the_acl_grants_exactly_the_ubus_methods() -> None:
    acl = json.loads((SHARE / "rpcd" / "acl.d" / "luci-app-dualnat.json").read_text())
    [(name, entry)] = acl.items()
    assert name == "luci-app-dualnat"
    assert sorted(entry["read"]["ubus"]["dualnat"]) == sorted(READ)
    assert sorted(entry["write"]["ubus"]["dualnat"]) == sorted(WRITE)
    assert WRITE == ["apply", "revert", "main_router_push", "set_main_router_secret"]
    assert entry["read"]["ubus"]["luci-rpc"] == ["getHostHints"]
    # the page's own list, to tell a refused write from a refused read
    text = (RESOURCES / "dualnat" / "common.js").read_text()
    listed = re.search(r"var WRITE_METHODS = \[([^\]]*)\]", text)
    assert listed is not None and re.findall(r"'(\w+)'", listed.group(1)) == WRITE
    assert "dualnat" in entry["read"]["uci"] and entry["write"]["uci"] == ["dualnat"]
    # the main router's secret lives in a root-only file: LuCI gets no file access at all
    assert sorted(entry["read"]) == ["ubus", "uci"] and sorted(entry["write"]) == ["ubus", "uci"]


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
        "+python3-xml",
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


def test_no_view_carries_a_sentence_of_the_backend() -> None:
    """One language mechanism: the backend renders its sentences (plan reasons, doctor
    findings and titles, main-router notes) in the UI's language; no view holds a copy of
    one to translate it itself."""
    from dualnat.i18n import table

    sentences = [
        text
        for name in ("reasons", "doctor", "findings", "main_router")
        for text in table(name).values()
        if len(text) > 24
    ]
    assert len(sentences) > 80
    for path in (RESOURCES / "view" / "dualnat").glob("*.js"):
        js = path.read_text().replace("\\'", "'")
        for text in sentences:
            assert text[:60] not in js, (path.name, text)
