"""Cache of compiled pattern databases, so start-up does not recompile packs.

Keyed by the content hashes of the packs, the tool version and the
Hyperscan version; each entry carries a SHA-256 of its bytes and is refused
when it does not match (a database is checked by Hyperscan's own CRC on load
instead: see `load`). Set TOS_LINT_CACHE_DIR to move it, or to an empty
string to turn it off. Every edit of a pack compiles new databases (the
built-in packs make about 20 MB of them), so the cache keeps the most
recently used entries up to TOS_LINT_CACHE_MAX_MB (default 256) and removes
the others.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tos_lint.atomic import atomic_write

_HEADER = b"tos-lint-hsdb-1\n"
DEFAULT_MAX_MB = 256


def cache_dir() -> Path | None:
    configured = os.environ.get("TOS_LINT_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tos-lint"


def cache_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def load(key: str, verify: bool = True) -> bytes | None:
    """The entry stored under `key`, or None. `verify=False` skips the
    SHA-256 check, for a caller whose format checks itself (a Hyperscan
    database carries a CRC of its bytes and its length, and refuses to load
    when either is wrong): on the built-in packs' 35 MB of databases, the
    check is a tenth of start-up."""
    directory = cache_dir()
    if directory is None:
        return None
    path = directory / f"{key}.hsdb"
    try:
        with path.open("rb") as entry:
            head = entry.read(len(_HEADER) + 64)  # the blob is read apart: slicing it off would copy megabytes
            blob = entry.read()
    except OSError:
        return None
    if not head.startswith(_HEADER) or len(head) < len(_HEADER) + 64:
        return None
    digest = head[len(_HEADER):]
    if verify and hashlib.sha256(blob).hexdigest().encode() != digest:
        return None
    try:
        os.utime(path)  # used now: pruning removes the least recently used entries first
    except OSError:
        pass
    return blob


def has(key: str) -> bool:
    """Whether an entry is stored under `key` (unchecked: `load` checks it)."""
    directory = cache_dir()
    return directory is not None and (directory / f"{key}.hsdb").is_file()


def store(key: str, blob: bytes) -> None:
    directory = cache_dir()
    if directory is not None and write_atomically(directory / f"{key}.hsdb", _HEADER,
                                                  hashlib.sha256(blob).hexdigest().encode(), blob):
        prune(directory, max_bytes())


def max_bytes() -> int:
    """TOS_LINT_CACHE_MAX_MB in bytes; the default when unset or not a number."""
    try:
        mb = float(os.environ.get("TOS_LINT_CACHE_MAX_MB", DEFAULT_MAX_MB))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(max(mb, 0) * (1 << 20))


def prune(directory: Path, limit: int) -> None:
    """Remove the least recently used databases until those left hold at
    most `limit` bytes. Another process may be pruning too: a file already
    gone is skipped."""
    entries = []
    for path in directory.glob("*.hsdb"):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        try:
            path.unlink()
        except OSError:
            continue
        total -= size


def write_atomically(path: Path, *parts: bytes) -> bool:
    """Write `parts` to `path` through a temporary file beside it, so that a
    reader never sees half a file. False when it cannot be written: a cache
    that cannot be written is simply not used."""
    try:
        with atomic_write(path) as out:
            for part in parts:
                out.write(part)
    except OSError:
        return False
    return True
