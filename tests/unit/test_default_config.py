"""The default /etc/config/dualnat that the package installs is valid and plans cleanly."""

from __future__ import annotations

import shutil
from pathlib import Path

from dualnat.config import load_config
from dualnat.context import make_plan
from dualnat.site import Site
from dualnat.uci import Document, FileBackend

ROOT = Path(__file__).resolve().parents[2]


def test_default_config_loads_with_the_example_forward_disabled() -> None:
    cfg = load_config(Document.parse((ROOT / "files/etc/config/dualnat").read_text()))
    assert cfg.settings.enabled and [f.enabled for f in cfg.forwards] == [False]


def test_default_config_plans_no_rules(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tests/fixtures/router", tmp_path, dirs_exist_ok=True)
    shutil.copy(ROOT / "files/etc/config/dualnat", tmp_path / "dualnat")
    plan = make_plan(Site.detect(FileBackend(tmp_path)))
    # generic main router: sysctls, and the bypass router's DHCP prepared but left off
    assert {i.kind for i in plan.items} == {"sysctl", "dhcp"}
    assert [i.enable for i in plan.items if i.kind == "dhcp"] == [False]
    assert plan.main_router.port_forwards == ()
