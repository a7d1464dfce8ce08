"""public_address 'auto': discovery over HTTP (mocked with `responses`: nothing leaves the
machine), validation of the answers, the cache, and the use by the planner and the API."""

from __future__ import annotations

import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import requests
import responses
from conftest import FIXTURES

from dualnat import publicip
from dualnat.api import create_app
from dualnat.config import parse_public_address
from dualnat.publicip import (
    DiscoveryError,
    PublicAddress,
    discover,
    parse_answer,
    service_urls,
)

FIRST, SECOND = service_urls(tls=True)
ADDR = IPv4Address("198.51.100.23")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def with_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python here has ssl; tests that need it gone say so."""
    monkeypatch.setattr(publicip, "has_tls", lambda: True)


def answer(url: str, body: str | Exception, status: int = 200) -> None:
    responses.add(responses.GET, url, body=body, status=status)


def test_auto_is_a_valid_public_address() -> None:
    assert parse_public_address("auto") == "auto"
    assert parse_public_address("AUTO") == "auto"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"198.51.100.23\n", None),
        (b"  198.51.100.23  ", None),
        (b"192.168.1.1", "not a public address"),
        (b"100.64.0.1", "not a public address"),
        (b"127.0.0.1", "not a public address"),
        (b"<html>blocked</html>", "not an IPv4 address"),
        (b"2001:db8::1", "not an IPv4 address"),
        (b"\xff\xfe", "not an IPv4 address"),
        (b"", "not an IPv4 address"),
    ],
)
def test_parse_answer(body: bytes, error: str | None) -> None:
    if error is None:
        assert parse_answer(body) == ADDR
    else:
        with pytest.raises(ValueError, match=error):
            parse_answer(body)


@responses.activate
def test_success_asks_only_the_first_service() -> None:
    answer(FIRST, "198.51.100.23\n")
    assert discover() == ADDR
    assert [c.request.url.rstrip("/") for c in responses.calls] == [FIRST]
    assert responses.calls[0].request.headers["User-Agent"].startswith("dualnat/")


@responses.activate
def test_without_python_ssl_the_services_are_asked_over_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenWrt without python3-openssl: requests cannot do HTTPS at all (ImportError)."""
    monkeypatch.setattr(publicip, "has_tls", lambda: False)
    answer("http://api.ipify.org", "198.51.100.23")
    assert discover() == ADDR
    assert [c.request.url.rstrip("/") for c in responses.calls] == ["http://api.ipify.org"]


def test_service_urls_follow_whether_python_has_ssl(monkeypatch: pytest.MonkeyPatch) -> None:
    assert service_urls(tls=True) == ("https://api.ipify.org", "https://ipv4.icanhazip.com")
    assert service_urls(tls=False) == ("http://api.ipify.org", "http://ipv4.icanhazip.com")
    monkeypatch.undo()  # the real check: this Python has _ssl
    assert publicip.has_tls() is True
    monkeypatch.setattr(publicip, "find_spec", lambda name: None)
    assert publicip.has_tls() is False
    assert service_urls()[0] == "http://api.ipify.org"


@responses.activate
def test_a_timeout_falls_back_to_the_second_service() -> None:
    answer(FIRST, requests.exceptions.ConnectTimeout("connect timed out"))
    answer(SECOND, "198.51.100.23")
    assert discover() == ADDR
    assert len(responses.calls) == 2


@responses.activate
def test_both_timing_out_is_a_discovery_error_naming_both() -> None:
    answer(FIRST, requests.exceptions.ConnectTimeout("connect timed out"))
    answer(SECOND, requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(DiscoveryError) as exc:
        discover()
    assert FIRST in str(exc.value) and SECOND in str(exc.value)
    assert "timed out" in str(exc.value)


@responses.activate
def test_garbage_and_private_answers_are_refused() -> None:
    answer(FIRST, "<html><body>captive portal</body></html>")
    answer(SECOND, "192.168.1.1")
    with pytest.raises(DiscoveryError, match=r"not an IPv4 address.*not a public address"):
        discover()


@responses.activate
def test_an_http_error_or_an_endless_answer_is_refused() -> None:
    answer(FIRST, "198.51.100.23", status=503)
    answer(SECOND, "1" * 10_000)
    with pytest.raises(DiscoveryError, match=r"HTTP status 503.*longer than 64 bytes"):
        discover()


@responses.activate
def test_a_change_of_address_is_reported_and_saved(tmp_path: Path) -> None:
    state = tmp_path / "public_ip"
    clock = Clock()
    public = PublicAddress(state, clock=clock)
    answer(FIRST, "198.51.100.23")
    assert public.refresh() is True  # first address
    assert state.read_text() == f"198.51.100.23 {int(clock.now)}\n"
    assert public.refresh() is False  # the same again
    responses.replace(responses.GET, FIRST, body="198.51.100.99")
    clock.now += 300
    assert public.refresh() is True
    assert public.address == IPv4Address("198.51.100.99")
    assert state.read_text().startswith("198.51.100.99 ")


@responses.activate
def test_a_failed_refresh_keeps_the_last_address(tmp_path: Path) -> None:
    public = PublicAddress(tmp_path / "public_ip")
    answer(FIRST, "198.51.100.23")
    public.refresh()
    responses.replace(responses.GET, FIRST, body=requests.exceptions.ConnectTimeout("down"))
    answer(SECOND, requests.exceptions.ConnectTimeout("down"))
    assert public.refresh() is False
    assert public.address == ADDR and public.error and "down" in public.error


@responses.activate
def test_a_fresh_state_file_answers_without_http(tmp_path: Path) -> None:
    clock = Clock()
    (tmp_path / "public_ip").write_text(f"198.51.100.23 {int(clock.now) - 60}\n")
    public = PublicAddress(tmp_path / "public_ip", clock=clock)
    assert public.current() == ADDR
    assert len(responses.calls) == 0
    clock.now += publicip.MAX_AGE  # stale now: asked again
    answer(FIRST, "198.51.100.24")
    assert public.current() == IPv4Address("198.51.100.24")
    assert len(responses.calls) == 1


@responses.activate
def test_after_a_failure_the_services_are_not_asked_at_every_call(tmp_path: Path) -> None:
    clock = Clock()
    public = PublicAddress(tmp_path / "public_ip", clock=clock)
    answer(FIRST, "garbage")
    answer(SECOND, "garbage")
    assert public.current() is None
    assert public.current() is None
    assert len(responses.calls) == 2  # one attempt, both services
    clock.now += publicip.RETRY_AFTER
    assert public.current() is None
    assert len(responses.calls) == 4


def test_resolve_uses_discovery_only_for_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    public = PublicAddress(None, discover=lambda: ADDR)
    monkeypatch.setattr(publicip, "resolve_ipv4", lambda name: IPv4Address("198.51.100.1"))
    assert public.resolve("auto") == ADDR
    assert public.resolve("home.example.net") == IPv4Address("198.51.100.1")


def test_a_corrupt_state_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "public_ip").write_text("192.168.1.1 123\n")  # not public
    public = PublicAddress(tmp_path / "public_ip", discover=lambda: ADDR)
    public.load()
    assert public.address is None


@pytest.fixture
def auto_confdir(tmp_path: Path) -> Path:
    import shutil

    d = tmp_path / "config"
    shutil.copytree(FIXTURES / "router", d)
    text = (d / "dualnat").read_text().replace("'198.51.100.7'", "'auto'")
    (d / "dualnat").write_text(text)
    return d


def hairpin_addresses(plan: dict) -> set[str]:
    return {i["dest_addr"] for i in plan["items"] if i["kind"] == "dnat" and i["hairpin"]}


@responses.activate
def test_the_api_plans_with_the_discovered_address(auto_confdir: Path) -> None:
    answer(FIRST, "198.51.100.23")
    client = create_app(auto_confdir).test_client()
    plan = client.get("/api/v1/plan").get_json()
    assert hairpin_addresses(plan) == {"198.51.100.23"}
    status = client.get("/api/v1/status").get_json()
    assert status["public_address"]["mode"] == "auto"
    assert status["public_address"]["address"] == "198.51.100.23"
    assert (auto_confdir / ".dualnat" / "public_ip").read_text().startswith("198.51.100.23 ")
    assert client.get("/api/v1/config").get_json()["public_address"] == "auto"
    assert len(responses.calls) == 1  # later plans use the known address


@responses.activate
def test_auto_without_an_answer_is_a_clear_problem(auto_confdir: Path) -> None:
    answer(FIRST, requests.exceptions.ConnectTimeout("down"))
    answer(SECOND, requests.exceptions.ConnectTimeout("down"))
    client = create_app(auto_confdir).test_client()
    r = client.get("/api/v1/plan")
    assert r.status_code == 409
    assert r.get_json() == {
        "errors": {"config.public_address": ["'auto' does not resolve to an IPv4 address"]}
    }
    status = client.get("/api/v1/status").get_json()
    assert status["valid"] is False and "down" in status["public_address"]["error"]


@responses.activate
def test_put_config_accepts_auto(confdir: Path) -> None:
    answer(FIRST, "198.51.100.23")
    client = create_app(confdir).test_client()
    r = client.put("/api/v1/config", json={"public_address": "auto", "main_router_vendor": "ikuai"})
    assert r.status_code == 200 and r.get_json()["public_address"] == "auto"
    assert "option public_address 'auto'" in (confdir / "dualnat").read_text()


@responses.activate
def test_the_command_line_plans_with_the_address_the_daemon_keeps(
    auto_confdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from dualnat.cli import main

    state = auto_confdir / ".dualnat"
    state.mkdir()
    (state / "public_ip").write_text(f"198.51.100.77 {int(time.time())}\n")
    assert main(["--config-dir", str(auto_confdir), "plan", "--json"]) == 0
    assert hairpin_addresses(json.loads(capsys.readouterr().out)) == {"198.51.100.77"}
    assert len(responses.calls) == 0  # the kept address, no lookup
