"""Fixtures for the browser tests: the development server and headless Chromium.

The views run in Debian's Chromium (/usr/bin/chromium), driven by Playwright with a
new, empty profile. Without Chromium or Playwright the tests skip and say why; in CI
(DUALNAT_REQUIRE_LAB=1) they fail instead. Screenshots go to a temporary folder, or to
$DUALNAT_SCREENSHOT_DIR (``make screenshots`` sets docs/screenshots).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEVSERVER = Path(__file__).resolve().parent / "devserver.py"
REQUIRED = os.environ.get("DUALNAT_REQUIRE_LAB") == "1"


def _missing() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (Debian package chromium; scripts/setup installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is missing (pip install 'dualnat[test]')"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"UI tests must run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class DevServer:
    """A running tests/ui/devserver.py: its URL and its router folder."""

    url: str
    workdir: Path
    process: subprocess.Popen[str]

    @property
    def config(self) -> Path:
        return self.workdir / "config"

    def page_url(self, name: str, **query: str) -> str:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.url}/cgi-bin/luci/admin/network/dualnat/{name}" + (f"?{qs}" if qs else "")

    def calls(self) -> list[dict[str, Any]]:
        import json
        from urllib.request import urlopen

        with urlopen(f"{self.url}/_test/calls", timeout=5) as r:
            return json.loads(r.read())

    def set_conntrack(self, text: str) -> None:
        self._post("/_test/conntrack", text.encode())

    def set_grant(self, grant: str) -> None:
        """What the pages' full session holds of the ACL group from now on: "write",
        "read" or "none" (pages already open keep what they learnt when they loaded)."""
        import json

        self._post("/_test/session", json.dumps({"grant": grant}).encode())

    def reload_firewall(self, reload: bool) -> None:
        """False: the firewall keeps the rules it has loaded now, whatever is written
        later; True: it reloads now and after every write (the default)."""
        import json

        self._post("/_test/firewall", json.dumps({"reload": reload}).encode())

    def skip_firewall_sections(self, names: list[str]) -> None:
        """firewall4 does not load these sections (as if it skipped them)."""
        import json

        self._post("/_test/firewall", json.dumps({"skip": names}).encode())

    def _post(self, path: str, data: bytes) -> None:
        from urllib.request import Request, urlopen

        req = Request(f"{self.url}{path}", data=data, method="POST")
        with urlopen(req, timeout=5):
            pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevServer]:
    _require_browser()
    workdir = tmp_path / "router"
    proc = subprocess.Popen(
        [sys.executable, str(DEVSERVER), "--port", "0", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        pytest.fail(f"the development server did not start: {line!r}")
    url = line.split()[1]
    try:
        yield DevServer(url, workdir, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Browser:
    context: Any
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="dualnat-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
                locale="en-US",
            )
            try:
                yield Browser(context)
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Browser, server: DevServer) -> Iterator[Any]:
    """A new tab; copies are recorded in window.__copied (the clipboard is read too)."""
    browser.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    pg = browser.context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    pg.add_init_script(
        """
        window.__copied = [];
        if (navigator.clipboard) {
            const write = navigator.clipboard.writeText.bind(navigator.clipboard);
            navigator.clipboard.writeText = (text) => {
                window.__copied.push(text);
                return write(text);
            };
        }
        """
    )
    try:
        yield pg
    finally:
        pg.close()
    assert errors == [], f"errors in the page: {errors}"


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where screenshots go."""
    target = os.environ.get("DUALNAT_SCREENSHOT_DIR")
    folder = Path(target) if target else Path(tempfile.mkdtemp(prefix="dualnat-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
