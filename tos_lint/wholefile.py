"""Files the tool reads whole before it starts: a configuration, a rule pack,
a baseline, an allowlist or waiver file, a saved report.

Such a path is a user's choice and may name anything: `/dev/zero` or a
terminal would be read until memory runs out, and a data file given by
mistake could be hundreds of gigabytes. Devices are refused, and what is
read stops at a size no such file reaches, with an `OSError` each caller
already turns into a message that names its option and path.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

# Far above any configuration, pack, baseline or report the tool writes
# (a baseline of ten million findings is about 1.5 GB), far below memory.
MAX_WHOLE_FILE_BYTES = 4 << 30
_READ_PART = 1 << 20  # what a FIFO, which says no size, is read by


def read_whole(path: str | Path, limit: int = MAX_WHOLE_FILE_BYTES) -> bytes:
    """All the bytes of `path`. A FIFO (`<(git show main:baseline.json)`) is
    read too; a device, or more than `limit` bytes, raises an OSError whose
    `strerror` says so."""
    if "\0" in str(path):  # open() would raise ValueError, which no caller expects of a path
        raise OSError(errno.EINVAL, "the path holds a NUL byte, which no file name can")
    with open(path, "rb") as fh:
        info = os.fstat(fh.fileno())
        if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
            raise OSError(errno.ENODEV, "a device, not a file")
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, more than such a file holds ({limit} at most)")
        data = _read_at_most(fh, limit + 1, max(info.st_size + 1, _READ_PART))
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"more than {limit} bytes, more than such a file holds")
    return data


def _read_at_most(fh: BinaryIO, most: int, first: int) -> bytes:
    """Up to `most` bytes of `fh`, asking for `first` bytes (at least the
    file's size and one, so a regular file takes one read), then 1 MiB at a
    time (a FIFO says no size). Never `read(most)`: Python allocates the size
    asked for before reading, and 4 GiB is more than a small machine lends."""
    parts: list[bytes] = []
    total = 0
    want = first
    while total < most and (part := fh.read(min(want, most - total))):
        parts.append(part)
        total += len(part)
        want = _READ_PART
    return b"".join(parts)


def same_version(value: object, expected: int) -> bool:
    """Whether a file's `version` field is `expected`: the integer itself,
    not `true` (which Python compares equal to 1) nor `1.0`."""
    return type(value) is int and value == expected
