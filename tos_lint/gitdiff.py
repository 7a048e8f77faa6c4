"""Changed-only scans: which lines of which files changed, according to git.

`tos-lint scan --staged` (pre-commit) and `--since REV` (CI) scan only the
records added or changed relative to HEAD or REV. The scanner reads the
files on disk, so every line number here is a line of the working-tree file.

1. `git diff-index --raw -M` lists the changed files with their blob ids.
   It reads no file content, it is plumbing (a user's diff config, colours
   or external diff tools do not apply), and `-M` pairs renames, so a renamed
   file counts as changed only where its lines changed.
2. For a line-oriented file (`.jsonl`, `.ndjson`, `.jl`, not compressed) the
   old blob is streamed from `git cat-file` and compared with the file on
   disk: the common byte prefix and suffix are trimmed, and only the middle
   is diffed line by line. We do not run `git diff` on the whole file:
   it holds both versions in memory, treats files above
   `core.bigFileThreshold` (512 MiB) as binary unless `--text`, refuses
   files above 1023 MiB ("unable to generate diff"), and hashes every line
   of both versions. Streaming keeps memory flat, has no size limit, and a
   one-line change costs one pass over each version.
   Large files skip that pass once they have a line map (tos_lint/linemap.py):
   block and line digests of the old blob, kept in the cache, that find the
   changed lines at memory speed. Each changed-only scan stores the map of the
   version on disk (when git says the file on disk is that blob), so on a
   repository whose pre-commit hook runs at every commit the old version of
   a large file is never inflated again.
3. Anything whose records cannot be located by line (JSON arrays and
   objects, compressed files, files git filters such as Git LFS, new files)
   maps to None: scan the whole file.

The changed lines of a file come with the byte range that holds them, so
the scan reads that range only, not the whole file.

Files absent from the result have no change to scan. Untracked files are
in no diff: `--since` sees committed and modified tracked files only.
"""
from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Sequence

from tos_lint import linemap
from tos_lint.errors import UsageError
from tos_lint.readers import is_line_oriented


class ChangedLines(frozenset[int]):
    """The 1-based numbers of a file's added or changed lines, and where
    they are: `span` = (start byte, end byte, number of the line at start),
    a range of whole lines of the file that holds every one of them, or None
    when unknown (read the file from the start)."""
    span: tuple[int, int, int] | None

    def __new__(cls, lines: Iterable[int] = (), span: tuple[int, int, int] | None = None) -> "ChangedLines":
        self = super().__new__(cls, lines)
        self.span = span
        return self


Changed = dict[Path, frozenset[int] | None]

REGULAR_FILE_MODES = ("100644", "100755")
BLOCK = 1 << 20
# The old and new middles (between the common prefix and suffix) are diffed
# line by line only up to this size each; beyond it (edits far apart in a
# huge file) the whole file is scanned rather than hold more in memory.
MIDDLE_MAX = 64 << 20
# Small middles are diffed in process; larger ones by `git diff --no-index`,
# whose algorithm stays fast where difflib's can go quadratic.
DIFFLIB_MAX_LINES = 2000
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def changed_lines(paths: Sequence[str], staged: bool = False, since: str | None = None) -> dict[Path, frozenset[int] | None]:
    """Resolved path -> the 1-based lines added or changed in the file on
    disk, or None for "scan the whole file", for the changed files under
    `paths` (files or folders), relative to HEAD (`staged`) or to `since`.

    Raises UsageError outside a git repository, for a revision that is not
    a commit, for '-' (stdin has no history), and when git is missing."""
    if staged == (since is not None):
        raise UsageError("changed-only scans need exactly one of --staged or --since REV")
    if since is not None and (not since or since.startswith("-")):
        raise UsageError(f"--since {since!r}: not a git revision")
    targets = _targets(paths)
    result: Changed = {}
    for root, selected in _by_repository(targets).items():
        result.update(_changed_in_repository(root, selected, staged, since))
    return result


# --- which files -----------------------------------------------------------------

def _targets(paths: Sequence[str]) -> list[Path]:
    out = []
    for raw in paths:
        if raw == "-":
            raise UsageError("--staged and --since compare files in a git repository; '-' (stdin) has no history to compare")
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        out.append(path.resolve())
    return out


def _by_repository(targets: list[Path]) -> dict[Path, list[Path]]:
    """Targets grouped by the work tree that holds them (usually one).

    pre-commit may pass thousands of files in as many folders: git is asked
    once per nearest folder holding a `.git` entry, not once per folder."""
    by_marker: dict[Path, Path] = {}
    groups: dict[Path, list[Path]] = {}
    for target in targets:
        folder = target if target.is_dir() else target.parent
        marker = _nearest_git_entry(folder)
        root = by_marker.get(marker) if marker is not None else None
        if root is None:
            top = _git(folder, "rev-parse", "--show-toplevel", what=f"{folder}: not inside a git work tree; --staged and --since need one")
            root = Path(os.fsdecode(top.rstrip(b"\n"))).resolve()
            if marker is not None:
                by_marker[marker] = root
        groups.setdefault(root, []).append(target)
    return groups


def _nearest_git_entry(folder: Path) -> Path | None:
    """The nearest folder, from `folder` up, that holds a `.git` entry."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


@dataclass(frozen=True)
class _Change:
    status: str  # A, C, M, R or T (diff-index letters)
    new_mode: str
    old_oid: str
    new_oid: str  # all zeros when git has not hashed the file on disk
    new_path: str  # relative to the work tree, '/'-separated


def _changed_in_repository(root: Path, selected: list[Path], staged: bool, since: str | None) -> Changed:
    base = _base(root, staged, since)
    files = {t for t in selected if not t.is_dir()}
    folders = {t for t in selected if t.is_dir()}
    changes: list[tuple[Path, _Change]] = []
    for change in _list_changes(root, base, staged):
        target = (root / change.new_path).resolve()
        if (target in files or any(p in folders for p in target.parents)) and change.new_mode in REGULAR_FILE_MODES:
            changes.append((target, change))
    dirty = _warn_unstaged(root, [c.new_path for _, c in changes]) if staged else set()
    filtered = _filtered(root, [c.new_path for _, c in changes if c.status in "AMR"])
    result: Changed = {}
    for target, change in changes:
        if not target.is_file():
            continue  # staged, then deleted from disk: nothing to read
        readable = change.new_path not in filtered and is_line_oriented(target)
        # the blob id of the file on disk, when git vouches for it: its map may be stored
        # (git writes an all-zero id for a file on disk it has not hashed)
        on_disk = change.new_oid if change.new_oid.strip("0") and change.new_path not in dirty and readable else None
        if change.status not in "MR" or not readable:
            result[target] = None
            _store_map(on_disk, target)
            continue
        lines = diff_blob_with_file(root, change.old_oid, target, on_disk)
        if lines is None or lines:
            result[target] = lines
    return result


def _base(root: Path, staged: bool, since: str | None) -> str:
    """The commit (or empty tree) the files are compared against."""
    if since is not None:
        out = _git(root, "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}",
                   what=f"--since {since}: not a commit in {root} (in CI, fetch enough history: e.g. actions/checkout with fetch-depth: 0)")
        return out.decode().strip()
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", what="").decode().strip()
    except UsageError:  # no commit yet: everything staged is new
        return _git(root, "hash-object", "-t", "tree", "--stdin", what="cannot compute the empty tree", stdin=b"").decode().strip()


def _list_changes(root: Path, base: str, staged: bool) -> list[_Change]:
    """Added, copied, modified, renamed and retyped files, from
    `git diff-index --raw -z`. The whole tree is listed, not just the given
    paths, so that a rename's source (outside them) can be paired; and the
    index is not refreshed, so this reads no file content."""
    args = ["diff-index", "--raw", "-z", "--no-abbrev", "-M", "--diff-filter=ACMRT", "--ignore-submodules"]
    if staged:
        args.append("--cached")
    out = _git(root, *args, base, "--", what="git diff-index failed")
    fields = out.split(b"\0")
    changes: list[_Change] = []
    i = 0
    while i < len(fields) and fields[i].startswith(b":"):
        _old_mode, new_mode, old_oid, new_oid, status = fields[i][1:].decode().split(" ")
        letter = status[0]
        two_paths = letter in "RC"
        new_path = fields[i + 2 if two_paths else i + 1]
        changes.append(_Change(letter, new_mode, old_oid, new_oid, os.fsdecode(new_path)))
        i += 3 if two_paths else 2
    return changes


def _warn_unstaged(root: Path, paths: list[str]) -> set[str]:
    """--staged reads the files on disk. pre-commit stashes unstaged changes
    first, so disk and index agree; run by hand they may not, and then the
    scan covers the unstaged edits too, and misses a staged line that was
    edited again since. Say so rather than be silently approximate.
    Returns those of `paths` that differ from the index."""
    if not paths:
        return set()
    listed = set(_git(root, "diff-files", "--name-only", "-z", what="git diff-files failed").split(b"\0"))
    dirty = {path for path in paths if os.fsencode(path) in listed}
    for path in sorted(dirty):
        print(f"tos-lint: warning: {path} has unstaged changes; --staged scans the file on disk, including them", file=sys.stderr)
    return dirty


def _filtered(root: Path, paths: list[str]) -> set[str]:
    """Paths with a git `filter` attribute (Git LFS, git-crypt, ...): their
    blob is not the bytes on disk, so lines cannot be matched."""
    if not paths:
        return set()
    out = _git(root, "check-attr", "-z", "--stdin", "filter", what="git check-attr failed",
               stdin=b"".join(os.fsencode(p) + b"\0" for p in paths))
    fields = out.split(b"\0")
    return {os.fsdecode(fields[i]) for i in range(0, len(fields) - 2, 3) if fields[i + 2] not in (b"unspecified", b"unset")}


# --- which lines -----------------------------------------------------------------

def diff_blob_with_file(root: Path, old_oid: str, path: Path, new_oid: str | None = None) -> ChangedLines | None:
    """Lines of `path` added or changed relative to blob `old_oid`, or None
    when the change is too spread out to diff in bounded memory. `new_oid`,
    when given, is the blob id of `path` as it is on disk: its line map is
    stored for the next scan."""
    old_map = linemap.load(old_oid) if path.stat().st_size >= linemap.MIN_BYTES else None
    if old_map is not None:
        return _diff_with_map(old_map, path, new_oid)
    with _blob(root, old_oid) as (old, old_size), path.open("rb") as new:
        middle = trim(old, old_size, new, os.fstat(new.fileno()).st_size)
    _store_map(new_oid, path)
    if middle is None:
        return None
    return middle_changes(middle)


def _diff_with_map(old_map: linemap.LineMap, path: Path, new_oid: str | None) -> ChangedLines | None:
    found = linemap.compare(old_map, path)
    if new_oid is not None and not linemap.exists(new_oid):
        linemap.store(new_oid, found.new_map)
    if max(found.end - found.start, len(found.old_keys)) > MIDDLE_MAX:
        return None
    changed = _changed_indices(found.old_keys, found.new_keys)
    return ChangedLines((found.first_line + j for j in changed), (found.start, found.end, found.first_line))


def _store_map(oid: str | None, path: Path) -> None:
    """Keep the line map of a large file whose blob id is known, unless
    one is kept already: the next scan compares against it."""
    if oid is None or path.stat().st_size < linemap.MIN_BYTES or linemap.exists(oid):
        return
    linemap.store(oid, linemap.build(path))


@contextmanager
def _blob(root: Path, oid: str) -> Iterator[tuple[IO[bytes], int]]:
    """A blob's bytes as a stream (never whole in memory), and its size."""
    proc = _popen(root, ["cat-file", "--batch"])
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(oid.encode() + b"\n")
        proc.stdin.close()
        header = proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            raise UsageError(f"{root}: cannot read blob {oid} ({b' '.join(header).decode(errors='replace') or 'no output'})")
        yield proc.stdout, int(header[2])
    finally:
        if proc.poll() is None:
            proc.kill()  # stopped early (middle too large): do not inflate the rest
        proc.stdout.close()
        proc.wait()


@dataclass
class Middle:
    """The whole lines between the common prefix and the common suffix."""
    first_line: int  # 1-based number, in the new file, of the first line of `new`
    old: bytes
    new: bytes
    start: int = 0  # where `new` starts in the new file


@dataclass
class _OldTail:
    """The old version after the common prefix, kept cheaply: stretches
    equal to the new file (shifted by the size difference) are recorded as
    ranges, and only the others are held in memory."""
    delta: int  # new size - old size
    segments: list[tuple[int, int, bytes | None]] = field(default_factory=list)  # (start, end, bytes or None: equal to new[start+delta:end+delta])
    held: int = 0

    def add(self, start: int, data: bytes, equal: bool) -> None:
        self.segments.append((start, start + len(data), None if equal else data))
        if not equal:
            self.held += len(data)


def trim(old: IO[bytes], old_size: int, new: IO[bytes], new_size: int) -> Middle | None:
    """Compare the old version (a stream) with the new one (a file) and keep
    the middle: both versions minus their common prefix and suffix, widened
    to whole lines. None if a middle exceeds MIDDLE_MAX.

    One forward pass over the old stream: first block-by-block against the
    same offsets of the new file until the first difference, then against
    the new file shifted by the size difference, remembering the last
    difference. Only differing blocks are held in memory."""
    prefix, newlines, last_nl, rest = _common_prefix(old, old_size, new)
    if prefix == old_size == new_size:
        return Middle(newlines + 1, b"", b"", prefix)
    tail = _OldTail(new_size - old_size)
    old_end = _scan_tail(old, old_size, prefix, rest, new, tail)
    if old_end is None:
        return None
    start = last_nl + 1  # the line that holds the first difference starts here, in both versions
    new_end = _line_boundary_after(old_end, tail, start, prefix, new, new_size)
    old_end = new_end - tail.delta
    if max(new_end - start, old_end - start) > MIDDLE_MAX:
        return None
    new_middle = _pread(new, new_end - start, start)
    old_middle = _pread(new, prefix - start, start) + _old_bytes(tail, prefix, old_end, new)
    return Middle(newlines + 1, old_middle, new_middle, start)


def _common_prefix(old: IO[bytes], old_size: int, new: IO[bytes]) -> tuple[int, int, int, bytes]:
    """Length of the common prefix; newlines in it; offset of its last
    newline (-1 if none); and the old bytes already read past it."""
    pos = newlines = 0
    last_nl = -1
    while pos < old_size:
        block = old.read(min(BLOCK, old_size - pos))
        if not block:
            raise UsageError(f"git cat-file stopped after {pos} of {old_size} bytes")
        other = _pread(new, len(block), pos)
        same = _first_difference(block, other)
        newlines += block.count(b"\n", 0, same)
        nl = block.rfind(b"\n", 0, same)
        if nl >= 0:
            last_nl = pos + nl
        if same < len(block):
            return pos + same, newlines, last_nl, block[same:]
        pos += same
    return pos, newlines, last_nl, b""


def _scan_tail(old: IO[bytes], old_size: int, prefix: int, rest: bytes, new: IO[bytes], tail: _OldTail) -> int | None:
    """Stream the rest of the old version, comparing old[i] with
    new[i + delta]; return where the common suffix starts in the old
    version, or None when more than MIDDLE_MAX differing bytes pile up."""
    delta = tail.delta
    # Below `aligned` an old byte's partner would fall inside the common
    # prefix of the new version: such bytes are the middle by definition.
    aligned = max(prefix, prefix - delta)
    suffix_start = aligned
    pos, data = prefix, rest
    while True:
        if pos < aligned and data:
            cut = min(len(data), aligned - pos)
            tail.add(pos, data[:cut], equal=False)
            pos, data = pos + cut, data[cut:]
        if data:
            other = _pread(new, len(data), pos + delta)
            if data == other:
                tail.add(pos, data, equal=True)
            else:
                suffix_start = pos + _last_difference(data, other) + 1
                tail.add(pos, data, equal=False)
            pos += len(data)
        if tail.held > MIDDLE_MAX:
            return None
        if pos >= old_size:
            return suffix_start
        data = old.read(min(BLOCK, old_size - pos))  # `cat-file --batch` adds a newline after the blob
        if not data:
            raise UsageError(f"git cat-file stopped after {pos} of {old_size} bytes")


def _line_boundary_after(old_end: int, tail: _OldTail, start: int, prefix: int, new: IO[bytes], new_size: int) -> int:
    """Where the common suffix may begin in the new version so that it
    starts a line in both versions: at the first difference's end if that
    is a line start in both, else just after the next newline (which lies
    in the common suffix, so it ends a line in both)."""
    new_end = old_end + tail.delta
    new_ok = new_end == start or _pread(new, 1, new_end - 1) == b"\n"
    if new_ok and (old_end == start or _old_bytes(tail, old_end - 1, old_end, new, prefix) == b"\n"):
        return new_end
    pos = new_end
    while pos < new_size:
        chunk = _pread(new, 1 << 16, pos)
        nl = chunk.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(chunk)
    return new_size


def _old_bytes(tail: _OldTail, start: int, end: int, new: IO[bytes], prefix: int | None = None) -> bytes:
    """Old bytes [start, end), rebuilt from the held segments and the new
    file; offsets below the common prefix (when `prefix` is given) come from
    the new file unshifted."""
    parts: list[bytes] = []
    if prefix is not None and start < prefix:
        parts.append(_pread(new, min(end, prefix) - start, start))
        start = prefix
    for seg_start, seg_end, data in tail.segments:
        lo, hi = max(start, seg_start), min(end, seg_end)
        if lo >= hi:
            continue
        if data is None:
            parts.append(_pread(new, hi - lo, lo + tail.delta))
        else:
            parts.append(data[lo - seg_start: hi - seg_start])
    return b"".join(parts)


def _pread(f: IO[bytes], size: int, offset: int) -> bytes:
    """`size` bytes at `offset` (os.pread is not on Windows)."""
    f.seek(offset)
    return f.read(size)


def _first_difference(a: bytes, b: bytes) -> int:
    """Index of the first byte where a and b differ (or the shorter length).
    Bisection on slice equality: memcmp speed, no Python loop per byte."""
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while hi - lo > 1:  # a[:lo] == b[:lo], and they differ before hi
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _last_difference(a: bytes, b: bytes) -> int:
    """Index of the last byte where a and b (same length, not equal) differ."""
    lo, hi = 0, len(a)
    while hi - lo > 1:  # a[hi:] == b[hi:], and they differ at or after lo
        mid = (lo + hi) // 2
        if a[mid:hi] == b[mid:hi]:
            hi = mid
        else:
            lo = mid
    return lo


def middle_changes(middle: Middle) -> ChangedLines:
    """New-file line numbers of the middle's added or changed lines, with
    the byte range of the middle in the new file."""
    changed = _changed_indices(_split_lines(middle.old), _split_lines(middle.new))
    span = (middle.start, middle.start + len(middle.new), middle.first_line)
    return ChangedLines((middle.first_line + j for j in changed), span)


def _changed_indices(old_lines: list[bytes], new_lines: list[bytes]) -> Iterable[int]:
    """0-based indexes of the lines of `new_lines` that a line diff from
    `old_lines` marks added or changed."""
    if not new_lines:
        return ()
    if not old_lines:
        return range(len(new_lines))
    if len(old_lines) <= DIFFLIB_MAX_LINES and len(new_lines) <= DIFFLIB_MAX_LINES:
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        return [j for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("replace", "insert") for j in range(j1, j2)]
    old, new = (b"\n".join(lines) + b"\n" for lines in (old_lines, new_lines))
    return [n - 1 for n in _git_diff_lines(old, new)]


def _split_lines(data: bytes) -> list[bytes]:
    """Lines as the JSONL reader counts them: split on b"\\n" only."""
    if not data:
        return []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return lines


def _git_diff_lines(old: bytes, new: bytes) -> list[int]:
    """1-based lines of `new` that `git diff --no-index -U0` marks added."""
    with tempfile.TemporaryDirectory(prefix="tos-lint-diff-") as tmp:
        a, b = Path(tmp, "old"), Path(tmp, "new")
        a.write_bytes(old)
        b.write_bytes(new)
        proc = _run(Path(tmp), ["diff", "--no-index", "--no-color", "--no-ext-diff", "--no-textconv", "--text", "-U0", "--", "old", "new"])
    if proc.returncode not in (0, 1):  # 1 means "they differ"
        raise UsageError(f"git diff --no-index failed: {proc.stderr.decode(errors='replace').strip()}")
    return parse_hunks(proc.stdout)


def parse_hunks(diff: bytes) -> list[int]:
    """New-side line numbers covered by the `@@ -a,b +c,d @@` hunks of a
    zero-context unified diff (`+c` alone means one line; `,0` none)."""
    lines: list[int] = []
    for m in _HUNK.finditer(diff):
        first, count = int(m.group(1)), int(m.group(2) or 1)
        lines.extend(range(first, first + count))
    return lines


# --- running git ---------------------------------------------------------------------

def _popen(cwd: Path, args: list[str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(["git", *args], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        raise UsageError("git was not found on PATH; --staged and --since need it") from None


def _run(cwd: Path, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True)
    except FileNotFoundError:
        raise UsageError("git was not found on PATH; --staged and --since need it") from None


def _git(cwd: Path, *args: str, what: str, stdin: bytes | None = None) -> bytes:
    """Run git; on failure raise UsageError with `what` and git's message."""
    proc = _run(cwd, list(args), stdin)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"{what}: {detail[-1]}" if detail and what else what or "git failed")
    return proc.stdout
