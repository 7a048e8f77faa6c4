"""Background: one call in a forked child, its value or its exception
handed back as a direct call would give them."""
from __future__ import annotations

import os

import pytest

from tos_lint.background import Background
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
