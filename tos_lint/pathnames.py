"""File names as reports show them, and back.

A POSIX file name is bytes. Python hands one that is not UTF-8 over with
each byte it cannot decode as a lone surrogate (U+DC80 to U+DCFF, the
`surrogateescape` error handler), which no UTF-8 output can carry: JSON,
SARIF and XML writers refuse it, a terminal gets raw bytes. Reports show
such a byte as `\\xNN` instead (`bad\\xff.jsonl`, as Python's `repr` does),
in every format alike; files are opened and written by their real bytes
(`InputFile.fs_path`), never by the name shown.
"""
from __future__ import annotations

import re
from pathlib import Path

_UNDECODED = re.compile("[\udc80-\udcff]")
# Only bytes 0x80-0xFF can be undecodable in UTF-8: nothing else is unescaped.
_ESCAPE = re.compile(r"\\x([89a-f][0-9a-f])")


def shown(path: str) -> str:
    """`path` with every undecodable byte written `\\xNN`; a UTF-8 name is unchanged."""
    if not _UNDECODED.search(path):
        return path
    return _UNDECODED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", path)


def unshown(text: str) -> str:
    """The name `shown` gave `text` for (each `\\xNN` of a byte 0x80-0xFF
    back to that byte): where a report's path is opened again (`verify`).
    A UTF-8 name that holds a backslash and an `x` itself is ambiguous, so
    callers try the name as written first."""
    return _ESCAPE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text)


def places(name: str) -> tuple[Path, ...]:
    """Where a path a report shows may be: as written, then (when that
    differs) with its `\\xNN` turned back into bytes (see `unshown`)."""
    return tuple(dict.fromkeys((Path(name), Path(unshown(name)))))
