"""One language mechanism: every sentence the backend produces comes from the catalogues,
in the caller's language; English is the default and stays as it was."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from dualnat.cli import main
from dualnat.i18n import table

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend" / "dualnat"
EXAMPLE = ROOT / "examples" / "bypass-router"
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, d)
    return d


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", ["problems", "main_router", "reasons", "doctor", "text", "push"])
def test_every_template_is_used_by_the_code(name: str) -> None:
    """No dead sentence: each template id of a table is named in the code that says it,
    whole or as the fixed start of an f-string (f"dhcp.{mode}")."""
    code = "\n".join(p.read_text() for p in BACKEND.rglob("*.py"))
    quoted = set(re.findall(r'"([a-z_][\w.]*)"', code))
    prefixes = set(re.findall(r'f"([a-z_][\w.]*\.)\{', code))
    unused = []
    for key in table(name):
        base = re.sub(r"\.(one|other|suggest)$", "", key)
        named = {key, base, f"{name}.{key}", f"{name}.{base}"} & quoted
        started = any(f"{name}.{key}".startswith(p) or key.startswith(p) for p in prefixes)
        if not named and not started:
            unused.append(key)
    assert unused == []


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_plan_and_doctor_json_in_another_language(capsys, confdir: Path, lang: str) -> None:
    code, out, _ = run(capsys, "--config-dir", str(confdir), "plan", "--json", "--lang", lang)
    plan = json.loads(out)
    assert code == 0 and all(CJK.search(i["reason"]) for i in plan["items"])
    assert all(CJK.search(n) for n in plan["main_router"]["notes"])
    code, out, _ = run(capsys, "--config-dir", str(confdir), "doctor", "--json", "--lang", lang)
    doctor = json.loads(out)
    assert doctor["findings"] and all(
        CJK.search(f["title"]) and CJK.search(f["message"]) for f in doctor["findings"]
    )


def test_english_is_the_default_and_the_same_as_asking_for_it(capsys, confdir: Path) -> None:
    for command in (["plan"], ["plan", "--json"], ["main-router", "--json"], ["check"]):
        _, default, _ = run(capsys, "--config-dir", str(confdir), *command)
        _, english, _ = run(capsys, "--config-dir", str(confdir), *command, "--lang", "en")
        assert default == english and not CJK.search(default)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "unknown option for a forward (did you mean hairpin?)"), ("zh", "是不是想写 hairpin")],
)
def test_configuration_problems_in_the_callers_language(
    capsys, confdir: Path, lang: str, expected: str
) -> None:
    text = (confdir / "dualnat").read_text() + "\n\toption hairpn '0'\n"
    (confdir / "dualnat").write_text(text)
    code, _, err = run(capsys, "--config-dir", str(confdir), "check", "--lang", lang)
    assert code == 2 and expected in err
    assert f"{confdir / 'dualnat'}:" in err and "hairpn:" in err


def test_api_field_errors_in_the_callers_language(confdir: Path) -> None:
    pytest.importorskip("flask")
    from dualnat.api import create_app

    client = create_app(confdir, resolve=lambda _: None).test_client()
    bad = {"external_port": "70000", "internal_ip": "192.168.1.9", "hairpin": "yes"}
    en = client.put("/api/v1/forwards/cam?check=1", json=bad).get_json()["errors"]
    ja = client.put("/api/v1/forwards/cam?check=1&lang=ja", json=bad).get_json()["errors"]
    assert en["hairpin"] == ["must be true or false"]
    assert ja["hairpin"] == ["true か false にしてください"]
    assert CJK.search(ja["external_port"][0])
    clash = {"external_port": "8443", "internal_ip": "192.168.1.9"}  # nas_web's port
    zh = client.put("/api/v1/forwards/cam?check=1&lang=zh-cn", json=clash).get_json()["errors"]
    assert zh["external_port"] == ["8443 与转发“nas_web”在 tcp 上重叠；两个转发不能共用一个端口"]
