"""apply/revert against a realistic OpenWrt config folder: byte-safe, idempotent, rolled back."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dualnat.apply import apply_plan, firewall_changes, revert
from dualnat.context import make_plan
from dualnat.errors import ApplyError
from dualnat.render.uci import firewall_sections
from dualnat.site import Site
from dualnat.uci import Document, FileBackend, UciCommandBackend

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FAKE_UCI = FIXTURES / "fake_uci.py"


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(FIXTURES / "router", d)
    return d


def env_for(confdir: Path, **kw) -> Site:
    return Site(FileBackend(confdir), confdir / ".dualnat", **kw)


def dualnat_sections(doc: Document) -> dict[str, dict]:
    return {s.name: s.options for s in doc.sections() if s.name and s.name.startswith("dualnat_")}


def test_apply_writes_planned_sections_and_keeps_everything_else(confdir: Path) -> None:
    original = (confdir / "firewall").read_bytes()
    env = env_for(confdir)
    plan = make_plan(env)
    result = apply_plan(plan, env)
    assert result.changed
    assert any("reload skipped" in m for m in result.messages)
    text = (confdir / "firewall").read_bytes()
    assert text.startswith(original), "the user's part of the file must stay byte for byte"
    doc = Document.parse(text.decode())
    wanted = {s.name: s.as_dict() for s in firewall_sections(plan)}
    assert dualnat_sections(doc) == wanted
    # the user's sections are all still there, value for value
    before = [(s.type, s.name, s.options) for s in Document.parse(original.decode()).sections()]
    after = [
        (s.type, s.name, s.options)
        for s in doc.sections()
        if not (s.name or "").startswith("dualnat_")
    ]
    assert before == after


def test_second_apply_changes_nothing(confdir: Path) -> None:
    env = env_for(confdir)
    apply_plan(make_plan(env), env)
    path = confdir / "firewall"
    first = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    result = apply_plan(make_plan(env), env)
    assert not result.changed and result.diff == ""
    assert path.read_bytes() == first and path.stat().st_mtime_ns == mtime


def test_revert_restores_the_original_bytes(confdir: Path) -> None:
    original = (confdir / "firewall").read_bytes()
    env = env_for(confdir)
    apply_plan(make_plan(env), env)
    result = revert(env)
    assert result.changed
    assert (confdir / "firewall").read_bytes() == original
    assert not revert(env).changed


def test_changed_config_replaces_and_removes_stale_sections(confdir: Path) -> None:
    env = env_for(confdir)
    apply_plan(make_plan(env), env)
    before = dualnat_sections(env.backend.read("firewall"))
    assert "dualnat_office_ssh_dnat" in before
    cfg = confdir / "dualnat"
    text = cfg.read_text()
    text = text.replace("option internal_ip '192.168.1.50'", "option internal_ip '192.168.1.55'")
    text = text.replace(
        "config forward 'office_ssh'", "config forward 'office_ssh'\n\toption enabled '0'"
    )
    cfg.write_text(text)
    dry = apply_plan(make_plan(env), env, dry_run=True)
    assert "+\toption dest_ip '192.168.1.55'" in dry.diff
    apply_plan(make_plan(env), env)
    after = dualnat_sections(env.backend.read("firewall"))
    assert "dualnat_office_ssh_dnat" not in after
    assert after["dualnat_nas_web_dnat"]["dest_ip"] == "192.168.1.55"
    plan = make_plan(env)
    assert after == {s.name: s.as_dict() for s in firewall_sections(plan)}


def test_dry_run_prints_a_diff_and_writes_nothing(confdir: Path) -> None:
    original = (confdir / "firewall").read_bytes()
    env = env_for(confdir)
    result = apply_plan(make_plan(env), env, dry_run=True)
    assert result.diff.startswith("--- a/firewall\n+++ b/firewall\n")
    assert "+config redirect 'dualnat_nas_web_dnat'" in result.diff
    assert (confdir / "firewall").read_bytes() == original


def test_failing_reload_restores_the_backup(confdir: Path) -> None:
    original = (confdir / "firewall").read_bytes()
    calls: list[list[str]] = []

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1 if cmd[0] == "reload" else 0, "", "boom")

    env = env_for(confdir, reload_cmd=["reload"], check_cmd=["check"], run=run)
    with pytest.raises(ApplyError, match=r"reload failed: boom.*restored"):
        apply_plan(make_plan(env), env)
    assert (confdir / "firewall").read_bytes() == original
    assert calls == [["check"], ["reload"], ["reload"]]  # the restore reloads again


def test_failing_fw4_check_restores_the_backup_before_any_reload(confdir: Path) -> None:
    original = (confdir / "firewall").read_bytes()
    calls: list[list[str]] = []

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1 if cmd[0] == "check" else 0, "", "bad rule")

    env = env_for(confdir, reload_cmd=["reload"], check_cmd=["check"], run=run)
    with pytest.raises(ApplyError, match="fw4 check failed: bad rule"):
        apply_plan(make_plan(env), env)
    assert (confdir / "firewall").read_bytes() == original
    assert calls[0] == ["check"]


def test_successful_reload_is_reported(confdir: Path) -> None:
    def run(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 0, "", "")

    env = env_for(confdir, reload_cmd=["reload"], check_cmd=["check"], run=run)
    result = apply_plan(make_plan(env), env)
    assert any("reloaded firewall" in m for m in result.messages)


def test_sysctls_are_set_persisted_and_reverted(confdir: Path, tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    for key, value in {
        "net/ipv4/ip_forward": "0",
        "net/ipv4/conf/all/send_redirects": "1",
        "net/ipv4/conf/br-lan/send_redirects": "1",
    }.items():
        (proc / key).parent.mkdir(parents=True, exist_ok=True)
        (proc / key).write_text(value + "\n")
    sysctl_file = tmp_path / "sysctl.d" / "90-dualnat.conf"
    env = env_for(confdir, sysctl_file=sysctl_file, proc_sys=proc)
    apply_plan(make_plan(env), env)
    assert (proc / "net/ipv4/ip_forward").read_text().strip() == "1"
    assert (proc / "net/ipv4/conf/br-lan/send_redirects").read_text().strip() == "0"
    persisted = sysctl_file.read_text()
    assert "net.ipv4.conf.all.send_redirects=0" in persisted
    # a second apply keeps the values from before dualnat, not its own
    apply_plan(make_plan(env), env)
    assert "# before dualnat: net.ipv4.conf.all.send_redirects=1" in sysctl_file.read_text()
    revert(env)
    assert (proc / "net/ipv4/conf/all/send_redirects").read_text().strip() == "1"
    assert (proc / "net/ipv4/ip_forward").read_text().strip() == "0"
    assert not sysctl_file.exists()


def test_concurrent_applies_are_serialised(confdir: Path) -> None:
    env = env_for(confdir)
    plan = make_plan(env)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            apply_plan(plan, env_for(confdir))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    doc = env.backend.read("firewall")
    assert dualnat_sections(doc) == {s.name: s.as_dict() for s in firewall_sections(plan)}
    names = [s.name for s in doc.sections() if s.name]
    assert len(names) == len(set(names))


def test_changes_for_a_section_with_a_foreign_option(confdir: Path) -> None:
    env = env_for(confdir)
    plan = make_plan(env)
    apply_plan(plan, env)
    doc = env.backend.read("firewall")
    doc.set_option("dualnat_nas_web_dnat", "log", "1")
    changes = firewall_changes(doc, firewall_sections(plan))
    assert [type(c).__name__ for c in changes] == ["DeleteOption"]


@pytest.mark.skipif(not FAKE_UCI.exists(), reason="fake uci binary missing")
def test_apply_through_the_uci_command_backend(confdir: Path, tmp_path: Path) -> None:
    shim = tmp_path / "uci"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_UCI} "$@"\n')
    shim.chmod(0o755)
    backend = UciCommandBackend(confdir, uci_bin=str(shim))
    env = Site(backend, tmp_path / "state")
    plan = make_plan(Site.detect(backend))
    apply_plan(plan, env)
    doc = Document.parse((confdir / "firewall").read_text())
    assert dualnat_sections(doc) == {s.name: s.as_dict() for s in firewall_sections(plan)}
    assert not apply_plan(make_plan(Site.detect(backend)), env).changed
    revert(env)
    original = Document.parse((FIXTURES / "router" / "firewall").read_text())
    # libuci rewrites the layout: compare value for value
    assert [
        (s.type, s.name, s.options)
        for s in Document.parse((confdir / "firewall").read_text()).sections()
    ] == [(s.type, s.name, s.options) for s in original.sections()]


def test_failing_uci_commit_restores_the_backup(confdir: Path, tmp_path: Path) -> None:
    """Real `uci batch` may apply part of a batch before it fails: the file is put back."""
    original = (confdir / "firewall").read_bytes()
    shim = tmp_path / "uci"
    # export works, batch half-writes the file and then fails
    shim.write_text(
        "#!/bin/sh\n"
        f'if [ "$3" = batch ]; then echo garbage >> {confdir}/firewall; '
        "echo 'uci: Parse error' >&2; exit 1; fi\n"
        f'exec {sys.executable} {FAKE_UCI} "$@"\n'
    )
    shim.chmod(0o755)
    backend = UciCommandBackend(confdir, uci_bin=str(shim))
    env = Site(backend, tmp_path / "state")
    with pytest.raises(ApplyError, match="writing the firewall config failed"):
        apply_plan(make_plan(Site.detect(backend)), env)
    assert (confdir / "firewall").read_bytes() == original


def _linksys(confdir: Path, bypass_dhcp: bool = False) -> None:
    """Make the example's main router a Linksys (DHCP moves), with bypass_dhcp set."""
    cfg = confdir / "dualnat"
    lines = [ln for ln in cfg.read_text().splitlines() if "bypass_dhcp" not in ln]
    text = "\n".join(lines).replace("'ikuai'", "'linksys'")
    text = text.replace(
        "option disable_redirects '1'",
        f"option disable_redirects '1'\n\toption bypass_dhcp '{int(bypass_dhcp)}'",
    )
    cfg.write_text(text + "\n")


def test_dhcp_is_prepared_then_switched_on_and_reverted_byte_for_byte(confdir: Path) -> None:
    dhcp = confdir / "dhcp"
    # the user already hands out an NTP server: that item is theirs and stays
    dhcp.write_text(dhcp.read_text() + "\tlist dhcp_option '42,192.168.1.9'\n")
    original = dhcp.read_bytes()
    env = env_for(confdir)
    _linksys(confdir)
    apply_plan(make_plan(env), env)
    lan = env.backend.read("dhcp").section("lan")
    assert lan.options["dhcp_option"] == ["42,192.168.1.9", "3,192.168.1.2", "6,192.168.1.2"]
    assert lan.options["ignore"] == "1"  # prepared, still off
    assert dhcp.read_bytes().startswith(original)
    assert not apply_plan(make_plan(env), env).changed

    _linksys(confdir, bypass_dhcp=True)  # the main router's DHCP is off now
    apply_plan(make_plan(env), env)
    lan = env.backend.read("dhcp").section("lan")
    assert lan.options["ignore"] == "0" and lan.options["dualnat_ignore_was"] == "1"
    assert not apply_plan(make_plan(env), env).changed

    _linksys(confdir, bypass_dhcp=False)  # and back: the server goes off again
    apply_plan(make_plan(env), env)
    assert env.backend.read("dhcp").section("lan").options["ignore"] == "1"

    revert(env)
    assert dhcp.read_bytes() == original


def test_dhcp_items_the_user_had_before_are_not_taken_over(confdir: Path) -> None:
    dhcp = confdir / "dhcp"
    dhcp.write_text(dhcp.read_text() + "\tlist dhcp_option '3,192.168.1.2'\n")
    original = dhcp.read_bytes()
    env = env_for(confdir)
    _linksys(confdir)
    apply_plan(make_plan(env), env)
    lan = env.backend.read("dhcp").section("lan")
    assert lan.options["dhcp_option"] == ["3,192.168.1.2", "6,192.168.1.2"]
    assert lan.options["dualnat_dhcp_option"] == ["6,192.168.1.2"]
    revert(env)
    assert dhcp.read_bytes() == original


def test_dhcp_reload_failure_restores_dhcp(confdir: Path) -> None:
    original = (confdir / "dhcp").read_bytes()
    _linksys(confdir)

    def run(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1 if cmd[0] == "dnsmasq" else 0, "", "no")

    env = env_for(confdir, reload_cmd=["fw"], dhcp_reload_cmd=["dnsmasq"], run=run)
    with pytest.raises(ApplyError, match="dnsmasq reload failed: no"):
        apply_plan(make_plan(env), env)
    assert (confdir / "dhcp").read_bytes() == original


@pytest.mark.skipif(not FAKE_UCI.exists(), reason="fake uci binary missing")
def test_dhcp_through_the_uci_command_backend(confdir: Path, tmp_path: Path) -> None:
    shim = tmp_path / "uci"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_UCI} "$@"\n')
    shim.chmod(0o755)
    _linksys(confdir, bypass_dhcp=True)
    backend = UciCommandBackend(confdir, uci_bin=str(shim))
    env = Site(backend, tmp_path / "state")
    before = Document.parse((confdir / "dhcp").read_text()).sections()
    apply_plan(make_plan(Site.detect(backend)), env)
    lan = Document.parse((confdir / "dhcp").read_text()).section("lan")
    assert lan.options["dhcp_option"] == ["3,192.168.1.2", "6,192.168.1.2"]
    assert lan.options["ignore"] == "0"
    revert(env)
    assert Document.parse((confdir / "dhcp").read_text()).sections() == before


def test_a_failing_dhcp_step_takes_the_firewall_back_too(confdir: Path) -> None:
    firewall = (confdir / "firewall").read_bytes()
    dhcp = (confdir / "dhcp").read_bytes()
    _linksys(confdir)
    calls: list[str] = []

    def run(cmd, **kw):
        calls.append(cmd[0])
        return subprocess.CompletedProcess(cmd, 1 if cmd[0] == "dnsmasq" else 0, "", "no")

    env = env_for(confdir, reload_cmd=["fw"], dhcp_reload_cmd=["dnsmasq"], run=run)
    with pytest.raises(ApplyError, match="firewall config was restored too"):
        apply_plan(make_plan(env), env)
    assert (confdir / "firewall").read_bytes() == firewall
    assert (confdir / "dhcp").read_bytes() == dhcp
    assert calls == ["fw", "dnsmasq", "dnsmasq", "fw"]  # each restore reloads again
