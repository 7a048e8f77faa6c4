"""One call run in a child process while this process goes on.

A scan's own start-up (registry, packs, planning) and its workers leave
cycles free that a side job such as style attribution can use. The child is
forked, so it starts without importing anything again; where fork does not
exist, or other threads run, the call simply runs in this process when its
result is asked for.

A call whose arguments are known only later can still start early: a
`Standby` child is forked at once and gets ready (imports, loading) while
this process works out the arguments, then runs the call it is handed
(`Background(fn, *args, standby=...)`), its arguments pickled.
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

    def __init__(self, fn: Callable[..., T], *args: Any, standby: Standby | None = None) -> None:
        self._call = (fn, args)
        self._process: Any = None
        self._conn: Any = None
        ready = standby.take() if standby is not None else None
        if (ready is None or not self._handover(ready)) and _can_fork():
            self._process, self._conn = _fork(_child, fn, *args, duplex=False)

    def _handover(self, ready: tuple[Any, Any]) -> bool:
        """Hand the call to a standby child; one that cannot take it (an
        argument that does not pickle, a child gone) is stopped, and False
        says the call needs a child of its own."""
        process, conn = ready
        try:
            conn.send(self._call)
        except Exception:  # noqa: BLE001 - pickling raises more than PicklingError
            _stop(process, conn)
            return False
        self._process, self._conn = process, conn
        return True

    def result(self) -> T:
        fn, args = self._call
        if self._process is None:
            return fn(*args)
        try:
            answer: tuple[bool, Any] | None = self._conn.recv()
        except EOFError:  # the child died without an answer (killed, out of memory)
            answer = None
        except BaseException:
            # interrupted while waiting (Ctrl-C): stop the child rather than
            # wait for it; it may be blocked writing to a pipe that a sibling
            # forked later also holds open, and would never end
            self.cancel()
            raise
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
            _stop(self._process, self._conn)
            self._process = None
        self._call = (_cancelled, ())


def _fork(target: Callable[..., None], *args: Any, duplex: bool) -> tuple[Any, Any]:
    """A forked daemon child running `target(child_end, *args)`, and this
    process's end of the pipe between them (one way, child to parent,
    unless `duplex`)."""
    from multiprocessing import get_context

    context = get_context("fork")
    ours, theirs = context.Pipe(duplex=duplex)
    process = context.Process(target=target, args=(theirs, *args), daemon=True)
    process.start()
    theirs.close()  # the child holds the other end: its exit ends the pipe
    return process, ours


def _died(name: str, exitcode: int | None) -> str:
    """Why a child gave no answer: the out-of-memory killer sends SIGKILL."""
    if exitcode is not None and exitcode < 0:
        import signal

        how = f"killed by {signal.Signals(-exitcode).name}, as the out-of-memory killer does"
    else:
        how = f"exit code {exitcode}"
    return (f"a worker process ({name}) ended without a result ({how}); no result was written. "
            "Run again; if memory ran short, with fewer --jobs")


class Standby:
    """A child forked now that runs `prepare()` (imports, loading: whatever
    the call will need, its errors left for the call to meet) and then waits
    for one call, handed over by `Background(fn, *args, standby=self)`.
    Without fork, or with other threads running, there is no child, and the
    Background starts as it would without a standby. A standby never handed
    a call is stopped by `cancel()`, or ends with this process."""

    def __init__(self, prepare: Callable[[], object]) -> None:
        self._ready: tuple[Any, Any] | None = None
        if _can_fork():
            self._ready = _fork(_standby, prepare, duplex=True)

    def take(self) -> tuple[Any, Any] | None:
        """The child and its connection, once; None when there is no child."""
        ready, self._ready = self._ready, None
        return ready

    def cancel(self) -> None:
        ready = self.take()
        if ready is not None:
            _stop(*ready)


def _can_fork() -> bool:
    # forking a process that runs other threads (a progress bar, a Ray
    # worker) can copy a lock another thread holds: then run in-process
    return hasattr(os, "fork") and threading.active_count() == 1


def _stop(process: Any, conn: Any) -> None:
    process.terminate()
    process.join()
    conn.close()


def _ignore_ctrl_c() -> None:
    """In a child: Ctrl-C reaches the whole process group, and the parent
    alone decides, stopping its children; a child that raised
    KeyboardInterrupt would print a traceback of its own."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _standby(conn: Any, prepare: Callable[[], object]) -> None:
    _ignore_ctrl_c()
    try:
        prepare()
    except Exception:  # noqa: BLE001 - the call meets the same problem and reports it
        pass
    try:
        fn, args = conn.recv()
    except EOFError:  # no call came: the parent went on without it
        return
    _child(conn, fn, *args)


def _cancelled() -> None:
    raise RuntimeError("background call cancelled")


def _child(conn: Any, fn: Callable[..., Any], *args: Any) -> None:
    _ignore_ctrl_c()
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
