"""Results kept by their inputs (memo.py and its uses) are never those of other inputs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualnat.config import parse_config
from dualnat.context import make_plan
from dualnat.errors import ConfigInvalid
from dualnat.memo import Memo, enable, enabled, forget_all
from dualnat.site import Site
from dualnat.uci import Document


@pytest.fixture(autouse=True)
def memos_on() -> Iterator[None]:
    """As in the service (api.create_app turns them on)."""
    was = enabled()
    enable()
    yield
    enable(was)


ROUTER = Path(__file__).resolve().parents[1] / "fixtures" / "router"
MAIN = "config dualnat 'main'\n\toption public_address '198.51.100.7'\n\n"
WEB = "config forward 'web'\n\toption external_port '8080'\n\toption internal_ip '192.168.1.50'\n"
BAD = "config forward 'bad'\n\toption external_port '99999'\n\toption internal_ip '192.168.1.60'\n"


def test_memos_are_off_in_a_command_that_runs_once() -> None:
    enable(False)
    memo: Memo[object] = Memo(4)
    assert memo.get("a", object) is not memo.get("a", object)
    assert memo.find("a") is None


def test_memo_keeps_results_by_key_and_forgets_all_when_full() -> None:
    memo: Memo[int] = Memo(2)
    calls: list[str] = []

    def make(key: str) -> int:
        calls.append(key)
        return len(calls)

    assert memo.get("a", lambda: make("a")) == 1
    assert memo.get("a", lambda: make("a")) == 1
    assert memo.get("b", lambda: make("b")) == 2
    assert memo.get("c", lambda: make("c")) == 3  # full: a and b are forgotten
    assert memo.find("a") is None and memo.find("c") == 3
    assert calls == ["a", "b", "c"]


def test_the_same_text_gives_the_same_config_and_other_text_another() -> None:
    first, _ = parse_config(Document.parse(MAIN + WEB, "/x/dualnat"))
    again, _ = parse_config(Document.parse(MAIN + WEB, "/x/dualnat"))
    assert again is first
    other, _ = parse_config(Document.parse(MAIN + WEB.replace("8080", "8081"), "/x/dualnat"))
    assert [str(f.external_port) for f in other.forwards] == ["8081"]
    elsewhere, _ = parse_config(Document.parse(MAIN + WEB, "/y/dualnat"))
    assert elsewhere.source == "/y/dualnat"


def test_a_forward_with_problems_is_read_again_where_it_now_is() -> None:
    """Problems carry the line: a bad section is never taken from the memo."""
    _, problems = parse_config(Document.parse(MAIN + BAD, "/x/dualnat"))
    assert [(p.section, p.field, p.line) for p in problems] == [("bad", "external_port", 5)]
    moved = MAIN + WEB + "\n" + BAD
    _, problems = parse_config(Document.parse(moved, "/x/dualnat"))
    assert [(p.section, p.field, p.line) for p in problems] == [("bad", "external_port", 9)]


def test_memos_never_change_a_result(tmp_path: Path) -> None:
    """Configs that share sections, read in turn with warm memos, read as with none."""
    texts = [
        MAIN + WEB,
        MAIN + WEB + "\n" + BAD,
        MAIN + WEB.replace("'web'", "'web2'"),
        MAIN.replace("198.51.100.7", "198.51.100.8") + WEB,
        MAIN + WEB + "\toption enabled '0'\n",
        MAIN + WEB.replace("forward 'web'", "forward"),  # anonymous: never kept
    ]

    def read_all() -> list[tuple[object, list[tuple[str, str, int, str]]]]:
        out = []
        for text in texts:
            cfg, problems = parse_config(Document.parse(text, "/x/dualnat"))
            out.append((cfg, [(p.section, p.field, p.line, p.message) for p in problems]))
        return out

    forget_all()
    cold = read_all()
    warm = read_all()
    assert warm == cold
    forget_all()
    assert read_all() == cold


def site_with(tmp_path: Path, dualnat: str) -> Site:
    folder = tmp_path / "config"
    shutil.copytree(ROUTER, folder, dirs_exist_ok=True)
    (folder / "dualnat").write_text(dualnat)
    return Site.open(folder)


def test_a_plan_is_made_again_when_any_input_changes(tmp_path: Path) -> None:
    site = site_with(tmp_path, MAIN + WEB)
    plan = make_plan(site, lambda _: None)
    assert make_plan(site, lambda _: None) is plan  # nothing changed
    network = site.config_dir / "network"
    network.write_text(network.read_text().replace("192.168.1.2", "192.168.1.3"))
    moved = make_plan(site, lambda _: None)
    assert moved is not plan
    assert str(moved.network.bypass_ip) == "192.168.1.3"
    assert make_plan(site, lambda _: None, "linksys").main_router.vendor == "linksys"


def test_an_invalid_config_is_reported_every_time(tmp_path: Path) -> None:
    site = site_with(tmp_path, MAIN + BAD)
    for _ in range(2):
        with pytest.raises(ConfigInvalid) as info:
            make_plan(site, lambda _: None)
        assert [p.field for p in info.value.problems] == ["external_port"]
