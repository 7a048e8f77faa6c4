"""One call run in a child process while this process goes on.

A scan's own start-up (registry, packs, planning) and its workers leave
cycles free that a side job such as style attribution can use. The child is
forked, so it starts without importing anything again; where fork does not
exist, or other threads run, the call simply runs in this process when its
result is asked for.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Generic, TypeVar

from tos_lint.errors import ScanAborted

T = TypeVar("T")


class Background(Generic[T]):
    """`fn(*args)` computed in a forked child; `result()` waits for it and
    returns its value or raises its exception, as a direct call would."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._call = (fn, args)
        self._process: Any = None
        self._conn: Any = None
        # forking a process that runs other threads (a progress bar, a Ray
        # worker) can copy a lock another thread holds: then run in-process
        if hasattr(os, "fork") and threading.active_count() == 1:
            self._start()

    def _start(self) -> None:
        from multiprocessing import get_context

        fn, args = self._call
        context = get_context("fork")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(send, fn, *args), daemon=True)
        self._process.start()
        send.close()  # the child holds the other end: its exit ends the pipe
        self._conn = receive

    def result(self) -> T:
        fn, args = self._call
        if self._process is None:
            return fn(*args)
        try:
            answer: tuple[bool, Any] | None = self._conn.recv()
        except EOFError:  # the child died without an answer (killed, out of memory)
            answer = None
        finally:
            self._conn.close()
            self._process.join()  # before reading its exit code
        if answer is None:
            raise ScanAborted(_died(fn.__name__, self._process.exitcode))
        ok, value = answer
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


    def cancel(self) -> None:
        """Stop the child: its result is no longer wanted."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._conn.close()
            self._process = None
        self._call = (_cancelled, ())


def _died(name: str, exitcode: int | None) -> str:
    """Why a child gave no answer: the out-of-memory killer sends SIGKILL."""
    if exitcode is not None and exitcode < 0:
        import signal

        how = f"killed by {signal.Signals(-exitcode).name}, as the out-of-memory killer does"
    else:
        how = f"exit code {exitcode}"
    return (f"a worker process ({name}) ended without a result ({how}); no result was written. "
            "Run again; if memory ran short, with fewer --jobs")


def _cancelled() -> None:
    raise RuntimeError("background call cancelled")


def _child(conn: Any, fn: Callable[..., Any], *args: Any) -> None:
    try:
        answer: tuple[bool, Any] = (True, fn(*args))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        answer = (False, exc)
    try:
        conn.send(answer)
    except Exception as exc:  # noqa: BLE001 - a value or exception that cannot be pickled
        conn.send((False, RuntimeError(f"{fn.__name__}: its {'exception' if not answer[0] else 'result'} "
                                       f"could not be handed back ({exc}): {answer[1]!r}"[:2000])))
    conn.close()
