"""Background: one call in a forked child, its value or its exception
handed back as a direct call would give them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, SAMPLE_DATA

from tos_lint.background import Background, Standby
from tos_lint.errors import ScanAborted, UsageError


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def _refuse(message: str) -> None:
    raise UsageError(message)


class _Unpicklable(Exception):
    def __init__(self, handle: object) -> None:
        super().__init__("a lock inside")
        self.handle = handle


def _raise_unpicklable() -> None:
    import threading

    raise _Unpicklable(threading.Lock())


def _die() -> None:
    os._exit(3)


def test_value_comes_back_from_another_process() -> None:
    pid, doubled = Background(_pid_and, 21).result()
    assert doubled == 42 and pid != os.getpid()


def test_exception_is_raised_in_the_caller_with_its_type_and_message() -> None:
    job = Background(_refuse, "attribution threshold must be in (0, 1], got 2")
    with pytest.raises(UsageError, match=r"threshold must be in \(0, 1\], got 2"):
        job.result()


def test_a_child_that_dies_without_an_answer_is_an_error_not_a_hang() -> None:
    with pytest.raises(ScanAborted, match=r"\(_die\) ended without a result \(exit code 3\)"):
        Background(_die).result()


def _killed() -> None:
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def test_a_child_killed_as_the_out_of_memory_killer_does_ends_the_run_with_exit_2_and_says_so() -> None:
    """Before: RuntimeError, which the command line showed as an internal error."""
    with pytest.raises(ScanAborted, match=r"\(_killed\) ended without a result \(killed by SIGKILL") as caught:
        Background(_killed).result()
    assert isinstance(caught.value, UsageError)  # one line on stderr, exit code 2


def test_without_fork_the_call_runs_here_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    pid, doubled = Background(_pid_and, 5).result()
    assert (pid, doubled) == (os.getpid(), 10)


def test_an_exception_that_cannot_cross_processes_still_arrives_as_an_error() -> None:
    with pytest.raises(RuntimeError, match="_raise_unpicklable: its exception could not be handed back"):
        Background(_raise_unpicklable).result()


def _sleep_then(value: int) -> int:
    import time

    time.sleep(60)
    return value


def test_cancel_stops_the_child_and_a_later_result_raises() -> None:
    job = Background(_sleep_then, 1)
    process = job._process
    job.cancel()
    assert process is not None and not process.is_alive()
    with pytest.raises(RuntimeError, match="cancelled"):
        job.result()


def test_with_other_threads_running_the_call_runs_in_this_process() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        pid, doubled = Background(_pid_and, 4).result()
    finally:
        stop.set()
        other.join()
    assert (pid, doubled) == (os.getpid(), 8)


# --- Standby: a child forked before its call is known -------------------------------------

_PREPARED: list[str] = []


def _prepare() -> None:
    _PREPARED.append("ready")


def _fail_to_prepare() -> None:
    raise RuntimeError("no model here")


def _pid_and_prepared(value: int) -> tuple[int, list[str], int]:
    return os.getpid(), list(_PREPARED), value * 2


def test_a_standby_child_runs_the_call_it_is_handed_after_getting_ready() -> None:
    standby = Standby(_prepare)
    pid, prepared, doubled = Background(_pid_and_prepared, 21, standby=standby).result()
    assert doubled == 42 and pid != os.getpid()
    assert prepared == ["ready"] and _PREPARED == []  # prepared there, not here


def test_a_standby_that_failed_to_get_ready_still_runs_the_call() -> None:
    pid, prepared, doubled = Background(_pid_and_prepared, 2, standby=Standby(_fail_to_prepare)).result()
    assert (prepared, doubled) == ([], 4) and pid != os.getpid()


def test_a_call_that_cannot_be_handed_over_gets_a_child_of_its_own() -> None:
    """An argument that does not pickle cannot go to the standby child: that
    child is stopped, and one forked for the call (nothing to pickle) takes it."""
    import threading

    standby = Standby(_prepare)
    waiting = standby._ready
    assert waiting is not None
    job = Background(_echo_type, _Unpicklable(threading.Lock()), standby=standby)
    assert job.result() == "_Unpicklable" and not waiting[0].is_alive()


def _echo_type(value: object) -> str:
    return type(value).__name__


def test_a_standby_is_handed_at_most_one_call_and_cancel_stops_an_unused_one() -> None:
    standby = Standby(_prepare)
    process = standby._ready[0] if standby._ready else None
    standby.cancel()
    assert process is not None and not process.is_alive()
    assert Background(_pid_and, 1, standby=standby).result()[1] == 2  # a child of its own


def test_without_fork_a_standby_has_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    standby = Standby(_prepare)
    assert standby.take() is None
    pid, prepared, doubled = Background(_pid_and_prepared, 5, standby=standby).result()
    assert (pid, prepared, doubled) == (os.getpid(), [], 10)


def _big_result(size: int) -> bytes:
    return b"x" * size  # more than a pipe holds: the child blocks sending it until it is read


_INTERRUPTED_WAIT = """
import os, signal, sys, time
sys.path.insert(0, {repo!r})
from tests.test_background import _big_result
from tos_lint.background import Background

first = Background(_big_result, 50_000_000)
second = Background(_big_result, 1)  # forked later: it holds the first one's pipe open too
time.sleep(1)  # the first child is now blocked writing its result

def interrupt(*_):
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, interrupt)
signal.setitimer(signal.ITIMER_REAL, 0.01)
child = first._process
try:
    first.result()
except KeyboardInterrupt:
    child.join(5)
    print("interrupted", child.is_alive())
second.cancel()
"""


def test_an_interrupted_wait_stops_the_child_instead_of_waiting_for_it(tmp_path: Path) -> None:
    """Ctrl-C while waiting for a child that is blocked writing its result
    into a pipe a sibling also holds open: waiting for it would never end."""
    script = tmp_path / "interrupted.py"
    script.write_text(_INTERRUPTED_WAIT.format(repo=str(REPO)), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.stdout.strip() == "interrupted False", proc.stderr


def test_ctrl_c_during_a_first_run_compile_stops_at_once(tmp_path: Path) -> None:
    """The built-in packs compile for some 20 s on an empty cache, in C,
    where Python sees no signal: the command must still stop at Ctrl-C,
    sent as a terminal sends it (to the whole process group), and leave no
    process behind."""
    env = dict(os.environ, TOS_LINT_CACHE_DIR=str(tmp_path / "cache"))
    # as at a terminal: a suite started in the background has Ctrl-C ignored, which children inherit
    proc = subprocess.Popen([sys.executable, "-m", "tos_lint", "scan", str(SAMPLE_DATA)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)  # compiling by now
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - started
    assert took < 5, f"Ctrl-C waited {took:.1f} s (exit {proc.returncode}): {err.decode(errors='replace')[-2000:]}"
    assert proc.returncode == 130 and b"Traceback" not in err, err
    time.sleep(0.5)
    left = subprocess.run(["ps", "-o", "pid=", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert left == []


def _sleep_then(value: int) -> int:
    time.sleep(1.5)
    return value


def test_ctrl_c_reaching_a_child_leaves_the_decision_to_the_parent() -> None:
    """Ctrl-C at a terminal reaches every process of the group: a child
    must neither die of it nor print a traceback; the parent, which gets it
    too, stops its children when it stops."""
    call = Background(_sleep_then, 7)
    time.sleep(0.5)  # the child has set itself up
    os.kill(call._process.pid, signal.SIGINT)
    assert call.result() == 7
