"""The strict reader of /etc/config/dualnat (issue "Never cut the LAN off", §2): each bad
config a new user wrote is refused with exit status 2, an error naming the file, the
line, the section and the option, and nothing written; what OpenWrt itself writes is
still read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dualnat.cli import EXIT_INVALID, main
from dualnat.config import load_config
from dualnat.errors import ConfigInvalid
from dualnat.uci import Document

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bypass-router"
MAIN = "config dualnat 'main'\n\toption main_router_vendor 'linksys'\n"
FORWARD = (
    "\nconfig forward 'nas'\n\toption external_port '8443'\n\toption internal_ip '192.168.1.50'\n"
)


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, d)
    return d


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def refused(capsys: pytest.CaptureFixture[str], confdir: Path, text: str | bytes) -> list[str]:
    """Write `text` as the dualnat config; check and apply both exit 2, write nothing;
    the error lines of check."""
    path = confdir / "dualnat"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    before = tree(confdir)
    assert main(["--config-dir", str(confdir), "check"]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert main(["--config-dir", str(confdir), "apply"]) == EXIT_INVALID
    capsys.readouterr()
    assert tree(confdir) == before
    return err.splitlines()


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            MAIN + FORWARD + "\toption target_gatway 'main'\n",
            7,
            "forward 'nas': target_gatway: unknown option for a forward (did you mean "
            "target_gateway?)",
        ),
        (
            "config dualnat 'main'\n\toption main_router_vender 'linksys'\n",
            2,
            "settings 'main': main_router_vender: unknown option for settings (did you mean "
            "main_router_vendor?)",
        ),
        (
            MAIN + FORWARD + "\tlist proto 'tcp'\n",
            7,
            "forward 'nas': proto: takes one value: write 'option', not 'list'",
        ),
        (
            MAIN + FORWARD + "\toption allow_source '203.0.113.0/24'\n",
            7,
            "forward 'nas': allow_source: takes a list: write one 'list allow_source ...' per "
            "value",
        ),
        (
            MAIN + "\nconfig forwrd 'nas'\n\toption external_port '80'\n",
            4,
            "section 'nas': type: unknown section type 'forwrd' (did you mean forward?)",
        ),
        (
            MAIN + FORWARD + FORWARD.replace("8443", "8444"),
            4,
            "forward 'nas': name: section 'nas' is defined more than once (lines 4 and 8)",
        ),
    ],
)
def test_a_mistyped_config_is_refused_at_its_line(
    capsys, confdir: Path, text: str, line: int, expected: str
) -> None:
    [error] = refused(capsys, confdir, text)
    assert error.startswith(f"error: {confdir / 'dualnat'}:{line}: {expected}"), error


@pytest.mark.parametrize("text", ["", "# nothing yet\n", FORWARD])
def test_without_a_main_section_nothing_is_configured(capsys, confdir: Path, text: str) -> None:
    """An empty file used to make apply add DHCP options; now nothing is written."""
    errors = refused(capsys, confdir, text)
    assert any("not configured:" in e and "no 'config dualnat' section" in e for e in errors)


def test_a_byte_that_is_not_utf8_is_named(capsys, confdir: Path) -> None:
    text = (MAIN + FORWARD).encode().replace(b"192.168.1.50", b"192.168.1.5\xff")
    [error] = refused(capsys, confdir, text)
    assert error == (
        f"error: {confdir / 'dualnat'}:6: forward 'nas': internal_ip: is not UTF-8 text"
    )
    assert "\\udc" not in error


def test_an_unterminated_quote_is_reported_where_it_opens(capsys, confdir: Path) -> None:
    text = MAIN + FORWARD + "\toption description 'half\n\n\n"
    [error] = refused(capsys, confdir, text)
    assert error.startswith(f"error: {confdir / 'dualnat'}:7:"), error
    assert "unterminated" in error


def test_what_openwrt_writes_is_still_read() -> None:
    """Comments, abbreviations, every quoting form, a list written by LuCI."""
    text = (
        "# written by hand\n"
        "package dualnat\n"
        'c dualnat "main"\n'
        "\to enabled 1 # on\n"
        '\toption masquerade "auto"\n'
        "config forward 'nas'; option external_port 8443\n"
        "\toption internal_ip '192.168.1.50'\n"
        "\tl allow_source '203.0.113.0/24'\n"
        '\tlist allow_source "198.51.100.0/24"\n'
        "\toption description 'the NAS'\\''s web page'\n"
    )
    config = load_config(Document.parse(text))
    [fwd] = config.forwards
    assert fwd.description == "the NAS's web page" and len(fwd.allow_source) == 2


def test_every_problem_of_a_file_at_once() -> None:
    text = MAIN + "\toption masqerade 'on'\n" + FORWARD + "\toption hairpn '0'\n"
    with pytest.raises(ConfigInvalid) as exc:
        load_config(Document.parse(text, "/etc/config/dualnat"))
    assert [(p.section, p.field, p.line) for p in exc.value.problems] == [
        ("main", "masqerade", 3),
        ("nas", "hairpn", 8),
    ]
