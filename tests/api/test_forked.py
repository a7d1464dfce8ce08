"""`forked.ForkedCall`: a function run in a forked child, its text result collected
without blocking; what the child imports stays out of the parent."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from thread_call import ThreadCall

from dualnat.ubus.forked import FAILED, MAX_RESULT, ForkedCall


def wait(job: ForkedCall | ThreadCall, seconds: float = 10) -> str:
    deadline = time.monotonic() + seconds
    while (text := job.result()) is None:
        assert time.monotonic() < deadline, "the call did not finish"
        time.sleep(0.01)
    return text


def test_the_text_comes_back_and_the_child_is_reaped() -> None:
    job = ForkedCall(lambda: "198.51.100.7")
    assert wait(job) == "198.51.100.7"
    assert job.result() == "198.51.100.7"  # asked again: the same answer
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)


def test_what_the_child_imports_stays_out_of_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dualnat_probe_module.py").write_text("VALUE = 'loaded in the child'\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def use_it() -> str:
        import dualnat_probe_module

        return dualnat_probe_module.VALUE

    assert wait(ForkedCall(use_it)) == "loaded in the child"
    assert "dualnat_probe_module" not in sys.modules


def test_an_exception_in_the_child_is_an_error_text() -> None:
    def fail() -> str:
        raise ValueError("no route to host")

    assert wait(ForkedCall(fail)) == f"{FAILED}ValueError: no route to host"


def test_a_child_that_dies_without_answering_is_an_error_text() -> None:
    assert wait(ForkedCall(lambda: os._exit(3))).startswith(f"{FAILED}the lookup process ended")


def test_a_long_answer_is_cut() -> None:
    assert wait(ForkedCall(lambda: "x" * 100_000)) == "x" * MAX_RESULT


def test_a_running_child_has_no_result_until_it_is_killed() -> None:
    job = ForkedCall(lambda: time.sleep(60) or "late")
    time.sleep(0.1)
    assert job.result() is None
    started = time.monotonic()
    assert job.kill().startswith(FAILED) and "too long" in job.kill()
    assert time.monotonic() - started < 5
    assert job.result() == job.kill()
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)


def test_killing_a_child_ends_what_it_started(tmp_path: Path) -> None:
    """A live test's child runs `conntrack -E`: a killed child must not leave it behind."""
    import subprocess

    pidfile = tmp_path / "grandchild"

    def start() -> str:
        proc = subprocess.Popen(["sleep", "60"])
        pidfile.write_text(str(proc.pid))
        time.sleep(60)
        return "late"

    job = ForkedCall(start)
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    grandchild = int(pidfile.read_text())
    job.kill()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{grandchild}").exists() and _state(grandchild) != "Z":
        assert time.monotonic() < deadline, "the child's own process outlived it"
        time.sleep(0.02)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def test_killing_a_finished_child_keeps_its_answer() -> None:
    job = ForkedCall(lambda: "done")
    time.sleep(0.3)
    assert job.kill() == "done"


def test_the_child_does_not_inherit_the_parents_signal_handlers() -> None:
    """The daemon's SIGTERM handler only sets a flag: a child with it would not stop."""
    import signal

    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        job = ForkedCall(lambda: time.sleep(60) or "late")
        time.sleep(0.2)
        os.kill(job.pid, signal.SIGTERM)
        assert wait(job, 5).startswith(f"{FAILED}the lookup process ended with -15")
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_thread_variant_has_the_same_interface() -> None:
    job = ThreadCall(lambda: "198.51.100.7")
    job.join(5)
    assert job.result() == "198.51.100.7" == job.kill()
    failing = ThreadCall(lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    failing.join(5)
    assert (failing.result() or "").startswith(f"{FAILED}ZeroDivisionError")
