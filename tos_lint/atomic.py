"""Output files written whole or not at all: the content goes to a
temporary file in the same folder, which is renamed over the path only once
it is complete, so a reader sees the old file or the new one, never half.

Every output of the tool (reports, baselines, `filter` copies, evaluation
reports, indexes, cache entries) is written here, so that they all get the
mode a new file normally gets (0666 less the umask, as `open()` would give),
or keep the mode of the file they replace. `tempfile.mkstemp` would make
every one of them 0600, readable by its owner alone.
"""
from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

_NEW_FILE_MODE = 0o666  # what `open(path, "w")` asks for; the kernel takes the umask off
_TRIES = 100  # names tried before giving up, as tempfile does


class AtomicFile:
    """One output file under way: `open` it, write, then `commit` (rename
    into place) or `discard` (remove the temporary file)."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp: Path | None = None

    def open(self, mode: str = "wb") -> IO[Any]:
        """A new temporary file beside the path, open for writing (`wb` or `w`, UTF-8)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = self._create()
        try:
            _take_mode(fd, self.path)
            return os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8")
        except BaseException:
            os.close(fd)
            self.discard()
            raise

    def _create(self) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for _ in range(_TRIES):
            tmp = self.path.parent / f".{self.path.name}.{os.urandom(6).hex()}"
            try:
                fd = os.open(tmp, flags, _NEW_FILE_MODE)
            except FileExistsError:
                continue
            self.tmp = tmp
            return fd
        raise FileExistsError(f"no unused temporary name beside {self.path}")

    def commit(self) -> None:
        """Rename the (closed) temporary file over the path; a rename that
        fails (a folder in the way) leaves no temporary file behind."""
        if self.tmp is None:
            return
        try:
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


def _take_mode(fd: int, path: Path) -> None:
    """Give the new file the mode of the regular file it will replace; a
    new path keeps the mode it was created with (0666 less the umask)."""
    try:
        current = os.stat(path)
    except OSError:
        return
    if stat.S_ISREG(current.st_mode):
        os.fchmod(fd, stat.S_IMODE(current.st_mode))


@contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """A stream to write `path` through; the file is replaced when the block
    ends without an error, and left as it was when it raises."""
    target = AtomicFile(path)
    stream = target.open(mode)
    try:
        with stream:
            yield stream
    except BaseException:
        target.discard()
        raise
    target.commit()
