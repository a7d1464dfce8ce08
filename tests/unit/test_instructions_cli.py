"""`dualnat instructions` against the example config folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dualnat.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bypass-router"


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, d)
    return d


def run(capsys, confdir: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--config-dir", str(confdir), "instructions", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_defaults_to_the_configured_vendor_in_english(capsys, confdir: Path) -> None:
    code, out, _ = run(capsys, confdir)
    assert code == 0 and out.startswith("iKuai: main-router settings") and "端口映射" in out


def test_json_for_another_vendor_is_planned_for_that_vendor(capsys, confdir: Path) -> None:
    code, out, _ = run(capsys, confdir, "--vendor", "linksys", "--format", "json", "--lang", "zh")
    data = json.loads(out)
    assert code == 0 and data["vendor"]["id"] == "linksys" and data["lang"] == "zh"
    ids = [s["id"] for sec in data["sections"] for s in sec["steps"]]
    assert [i for i in ids if i.startswith("forward.")] == [
        "forward.nas_web",
        "forward.game",
        "forward.web",
        "forward.office_ssh",
    ]
    assert "dhcp.prepare" in ids  # Linksys cannot hand out another gateway
    web = next(s for sec in data["sections"] for s in sec["steps"] if s["id"] == "forward.web")
    values = {f["id"]: f["value"] for f in web["fields"]}
    assert values["forward.web.internal_port"] == "10080"


def test_language_aliases_and_markdown(capsys, confdir: Path) -> None:
    code, out, _ = run(capsys, confdir, "--lang", "ja-JP", "--format", "markdown")
    assert code == 0 and out.startswith("# iKuai（爱快）") and "ポート" in out


def test_dns_keep_leaves_dns_alone(capsys, confdir: Path) -> None:
    _, out, _ = run(capsys, confdir, "--format", "json", "--dns", "keep")
    data = json.loads(out)
    ids = [f["id"] for sec in data["sections"] for s in sec["steps"] for f in s["fields"]]
    assert "dhcp.gateway" in ids and "dhcp.dns" not in ids


def test_unknown_language_is_an_error(capsys, confdir: Path) -> None:
    code, out, err = run(capsys, confdir, "--lang", "fr")
    assert code == 2 and out == "" and "--lang" in err


def test_unknown_vendor_is_refused(capsys, confdir: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        run(capsys, confdir, "--vendor", "dlink")
    assert exc.value.code == 2


def test_invalid_config_exits_2(capsys, confdir: Path) -> None:
    text = (confdir / "dualnat").read_text().replace("'192.168.1.50'", "'10.9.9.9'")
    (confdir / "dualnat").write_text(text)
    code, out, err = run(capsys, confdir)
    assert code == 2 and out == "" and "internal_ip" in err
