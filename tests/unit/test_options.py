"""The option table (options.py) is the one list of /etc/config/dualnat's options: the
reader, the API's schemas, the writer and LuCI's field lists agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dualnat.cli import main
from dualnat.model import Forward, Settings
from dualnat.options import FORWARD_TYPE, OPTIONS, SETTINGS_TYPE, schema

ROOT = Path(__file__).resolve().parents[2]
COMMON_JS = ROOT / "luci-app-dualnat/htdocs/luci-static/resources/dualnat/common.js"


def test_every_model_field_is_an_option_and_back() -> None:
    assert set(OPTIONS[SETTINGS_TYPE]) == set(Settings.__dataclass_fields__)
    assert set(OPTIONS[FORWARD_TYPE]) == set(Forward.__dataclass_fields__) - {"name"}


def test_defaults_come_from_the_model() -> None:
    settings = Settings()
    for name, option in OPTIONS[SETTINGS_TYPE].items():
        assert option.default == getattr(settings, name), name
    assert OPTIONS[FORWARD_TYPE]["hairpin"].default is True
    assert OPTIONS[FORWARD_TYPE]["allow_source"].is_list


def test_the_api_schemas_take_exactly_the_options() -> None:
    pytest.importorskip("marshmallow")
    from dualnat.api.schemas import ForwardSchema, SettingsSchema

    assert set(SettingsSchema().fields) == set(OPTIONS[SETTINGS_TYPE])
    assert set(ForwardSchema().fields) == {"name", *OPTIONS[FORWARD_TYPE]}


def _js_list(name: str) -> list[str]:
    text = COMMON_JS.read_text()
    body = re.search(rf"var {name} = \[(.*?)\];", text, re.S)
    assert body is not None
    return re.findall(r"'(\w+)'", body.group(1))


def test_lucis_field_lists_are_the_options() -> None:
    assert _js_list("FORWARD_FIELDS") == list(OPTIONS[FORWARD_TYPE])
    assert _js_list("SETTINGS_FIELDS") == list(OPTIONS[SETTINGS_TYPE])


def test_dualnat_schema_prints_the_table(capsys, tmp_path: Path) -> None:
    assert main(["--config-dir", str(tmp_path / "none"), "schema", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == schema()
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert "external_port            ports; required" in out
    assert "allow_source             list of network; default: not set" in out
