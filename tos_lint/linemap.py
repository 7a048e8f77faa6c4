"""Line maps: what a changed-only scan remembers about one version of a
large JSONL file, so that the next scan finds the changed lines without
reading that version back out of git.

Inflating a 1 GB blob from git's object store takes seconds; a line map of
it loads in milliseconds. A map belongs to one blob (its git object id, so
it can never describe other content) and holds:

- digests of the file's blocks counted from the start (`head`) and counted
  from the end (`tail`): compared with the same digests of the new file
  they give the common prefix and suffix, block by block, at memory speed
  (xxh3 runs at about 20 GB/s);
- the end offset and a digest of every line: the lines between that prefix
  and suffix are diffed by digest, without the old bytes.

The new version's map is derived from the old one (only the middle is new)
and stored under the new blob's id, so the following commit is fast too.
Maps are only ever built from a file on disk that git says is that blob.
Damaged or foreign map files fail their checksum and are ignored.
"""
from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import xxhash

from tos_lint.cache import cache_dir, write_atomically

BLOCK = 1 << 20
# Below this size inflating the old blob costs less than keeping a map.
MIN_BYTES = 16 << 20
# Line tables are built a chunk at a time, so memory stays flat.
CHUNK = 64 << 20
KEEP = 32  # maps kept in the cache; the least recently used go first
_FORMAT = "tos-lint-linemap-1"


@dataclass(frozen=True)
class LineMap:
    size: int
    final_newline: bool  # whether the last line ends with a newline
    head: np.ndarray  # uint64 digests of bytes [k*BLOCK, (k+1)*BLOCK)
    tail: np.ndarray  # uint64 digests of bytes [size-(k+1)*BLOCK, size-k*BLOCK)
    ends: np.ndarray  # int64 offset just past each line (its newline, or the end of the file)
    hashes: np.ndarray  # uint64 digest of each line, without its newline


@dataclass(frozen=True)
class MapMiddle:
    """The part of the new file that differs from the mapped old version,
    as whole lines: new bytes [start, end), whose first line is line
    `first_line`; the old and new line digests there, to be diffed; and the
    new version's map."""
    start: int
    end: int
    first_line: int
    old_keys: list[bytes]
    new_keys: list[bytes]
    new_map: LineMap


# --- building ------------------------------------------------------------------------

def block_digests(data: memoryview) -> tuple[np.ndarray, np.ndarray]:
    """Digests of BLOCK-sized blocks counted from the start and from the end."""
    size, step, digest = len(data), BLOCK, xxhash.xxh3_64_intdigest
    head = np.fromiter((digest(data[i:i + step]) for i in range(0, size, step)), dtype=np.uint64)
    tail = np.fromiter((digest(data[max(0, e - step):e]) for e in range(size, 0, -step)), dtype=np.uint64)
    return head, tail


def line_table(data: bytes, base: int) -> tuple[np.ndarray, np.ndarray]:
    """End offsets (counted from `base`) and digests of the lines of
    `data`, split on b"\\n" only, as the JSONL reader splits them."""
    if not data:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    digest = xxhash.xxh3_64_intdigest
    ends = np.cumsum(np.fromiter((len(line) + 1 for line in lines), dtype=np.int64, count=len(lines))) + base
    if not data.endswith(b"\n"):
        ends[-1] -= 1
    return ends, np.fromiter((digest(line) for line in lines), dtype=np.uint64, count=len(lines))


def build(path: Path) -> LineMap:
    """The map of a file, read once (a chunk of whole lines at a time)."""
    with _mapped(path) as view:
        head, tail = block_digests(view)
        tables = [line_table(bytes(view[a:b]), a) for a, b in _line_chunks(view)]
        size = len(view)
        final_newline = size > 0 and view[size - 1] == 0x0A
    ends = np.concatenate([t[0] for t in tables]) if tables else np.empty(0, dtype=np.int64)
    hashes = np.concatenate([t[1] for t in tables]) if tables else np.empty(0, dtype=np.uint64)
    return LineMap(size, final_newline, head, tail, ends, hashes)


def _line_chunks(view: memoryview) -> Iterator[tuple[int, int]]:
    """[start, end) ranges of about CHUNK bytes that end after a newline
    (or at the end of the file)."""
    size, start = len(view), 0
    raw = view.obj if isinstance(view.obj, mmap.mmap) else bytes(view)
    while start < size:
        end = min(start + CHUNK, size)
        if end < size:
            nl = raw.find(b"\n", end)
            end = size if nl < 0 else nl + 1
        yield start, end
        start = end


class _mapped:
    """A read-only memory map of a file, as a memoryview (empty files too)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> memoryview:
        self.file = self.path.open("rb")
        size = os.fstat(self.file.fileno()).st_size
        self.map = mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        self.view = memoryview(self.map) if self.map is not None else memoryview(b"")
        return self.view

    def __exit__(self, *exc: object) -> None:
        self.view.release()
        if self.map is not None:
            self.map.close()
        self.file.close()


# --- comparing -------------------------------------------------------------------------

def compare(old: LineMap, path: Path) -> MapMiddle:
    """Where the file on disk differs from the mapped old version."""
    with _mapped(path) as view:
        head, tail = block_digests(view)
        size = len(view)
        prefix = min(_equal_run(old.head, head) * BLOCK, old.size, size)
        suffix = min(_equal_run(old.tail, tail) * BLOCK, min(old.size, size) - prefix)
        lo, hi, start, old_end = _old_lines(old, prefix, old.size - suffix)
        end = old_end + (size - old.size)
        ends, hashes = line_table(bytes(view[start:end]), start)
        final_newline = old.final_newline if hi < len(old.ends) else (size > 0 and view[size - 1] == 0x0A)
    new_map = LineMap(
        size, final_newline, head, tail,
        np.concatenate([old.ends[:lo], ends, old.ends[hi:] + (size - old.size)]),
        np.concatenate([old.hashes[:lo], hashes, old.hashes[hi:]]),
    )
    return MapMiddle(start, end, lo + 1, _keys(old.hashes[lo:hi]), _keys(hashes), new_map)


def _equal_run(a: np.ndarray, b: np.ndarray) -> int:
    """How many leading entries of a and b are equal."""
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


def _old_lines(old: LineMap, prefix: int, suffix_start: int) -> tuple[int, int, int, int]:
    """The old lines [lo, hi) that hold bytes [prefix, suffix_start), and
    their byte range, widened so that it starts just after a newline in the
    common prefix and ends just after one in the common suffix: then the
    same offsets (shifted by the size difference at the end) are line
    boundaries in the new version too."""
    ends, n = old.ends, len(old.ends)
    lo = int(np.searchsorted(ends, prefix, side="right"))
    if lo == n and n and not old.final_newline:
        lo -= 1  # the unterminated last line goes on in the new version
    start = int(ends[lo - 1]) if lo else 0
    if suffix_start >= old.size:
        return lo, n, start, old.size
    hi = int(np.searchsorted(ends, suffix_start, side="right")) + 1
    return lo, hi, start, int(ends[hi - 1])


def _keys(hashes: np.ndarray) -> list[bytes]:
    """Line digests as short byte strings, for a line diff."""
    return [b"%016x" % h for h in hashes.tolist()]


# --- storing ---------------------------------------------------------------------------

def _folder() -> Path | None:
    base = cache_dir()
    return None if base is None else base / "linemaps"


def exists(oid: str) -> bool:
    """Whether a map of blob `oid` is stored (not whether it is intact)."""
    folder = _folder()
    return folder is not None and _is_oid(oid) and (folder / f"{oid}.lmap").is_file()


def load(oid: str) -> LineMap | None:
    """The map of blob `oid`, or None (none stored, damaged, or caching off)."""
    folder = _folder()
    if folder is None or not _is_oid(oid):
        return None
    path = folder / f"{oid}.lmap"
    try:
        raw = path.read_bytes()
        header_end = raw.index(b"\n")
        header = json.loads(raw[:header_end])
        body = memoryview(raw)[header_end + 1:]
        if header.get("format") != _FORMAT or header.get("oid") != oid or header.get("block") != BLOCK:
            return None
        if xxhash.xxh3_128_hexdigest(body) != header.get("digest"):
            return None
        counts = [header["head"], header["tail"], header["lines"], header["lines"]]
        if 8 * sum(counts) != len(body):
            return None
        arrays, at = [], 0
        for count, dtype in zip(counts, (np.uint64, np.uint64, np.int64, np.uint64)):
            arrays.append(np.frombuffer(body, dtype=dtype, count=count, offset=at))
            at += 8 * count
        os.utime(path)  # recently used: kept longest
        return LineMap(int(header["size"]), bool(header["final_newline"]), *arrays)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(oid: str, linemap: LineMap) -> None:
    """Write atomically; a cache that cannot be written is simply not used."""
    folder = _folder()
    if folder is None or not _is_oid(oid):
        return
    arrays = (linemap.head.astype(np.uint64), linemap.tail.astype(np.uint64),
              linemap.ends.astype(np.int64), linemap.hashes.astype(np.uint64))
    body = b"".join(a.tobytes() for a in arrays)
    header = {"format": _FORMAT, "oid": oid, "block": BLOCK, "size": linemap.size,
              "final_newline": linemap.final_newline, "head": len(arrays[0]), "tail": len(arrays[1]),
              "lines": len(arrays[2]), "digest": xxhash.xxh3_128_hexdigest(body)}
    if write_atomically(folder / f"{oid}.lmap", json.dumps(header).encode() + b"\n", body):
        _prune(folder)


def _prune(folder: Path) -> None:
    try:
        maps = sorted(folder.glob("*.lmap"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in maps[KEEP:]:
            stale.unlink(missing_ok=True)
    except OSError:
        return  # another scan pruned at the same time


def _is_oid(oid: str) -> bool:
    return len(oid) in (40, 64) and all(c in "0123456789abcdef" for c in oid) and oid.strip("0") != ""
