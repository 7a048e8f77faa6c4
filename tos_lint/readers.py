"""Readers: files in, a stream of parsed records and input problems out.

Nothing here holds a whole file in memory: JSONL is read in blocks, JSON
arrays through a streaming parser, compressed files through streaming
decompressors. A line that cannot be read becomes an `InputIssue` with its
file and line, and reading goes on with the next line.
"""
from __future__ import annotations

import bz2
import codecs
import collections
import errno
import fnmatch
import functools
import hashlib
import itertools
import json
import lzma
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Container, Generator, Iterable, Iterator, Sequence

import orjson

from tos_lint import dupkeys
from tos_lint.errors import UsageError
from tos_lint.pathnames import shown

PLAIN_JSONL_EXTS = (".jsonl", ".jsonlines", ".ndjson", ".jl")  # names of files made of lines
JSON_EXTS = (*PLAIN_JSONL_EXTS, ".json")
COMPRESSION_EXTS = (".gz", ".zst", ".zstd", ".bz2", ".xz")
# Data files that are not JSON: the tabular ones (Parquet, Arrow, CSV, TSV) are
# read by `tos_lint.tabular`; the others are reported, never skipped silently.
OTHER_DATA_EXTS = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".arrow", ".feather", ".ipc", ".txt", ".tar", ".zip")
BLOCK_SIZE = 1 << 20
DEFAULT_MAX_RECORD_BYTES = 64 << 20
_MAGIC = {b"\x1f\x8b": "gz", b"\x28\xb5\x2f\xfd": "zst", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}


@dataclass(frozen=True)
class InputFile:
    path: str  # as shown in output (`pathnames.shown`: a byte that is not UTF-8 written \xNN)
    fs_path: Path | None  # None for stdin
    # Found while walking a folder but not to be opened: a FIFO (opening it
    # would wait for a writer forever), a dangling symlink or a loop, a
    # folder that cannot be listed. It is reported as this issue instead.
    problem: "InputIssue | None" = None

    def stored_size(self) -> int:
        """Bytes as stored: 0 for stdin, a problem path, or a file gone since discovery."""
        if self.fs_path is None or self.problem is not None:
            return 0
        try:
            return self.fs_path.stat().st_size
        except OSError:
            return 0  # the reader reports it when it tries to open it


@dataclass(frozen=True)
class InputIssue:
    code: str  # e.g. malformed-json -> rule id tos-lint.input.malformed-json
    message: str
    line: int | None = None
    index: int | None = None
    # Reading of the file stopped here: nothing after it was read (a cut or
    # bomb, an unreadable or binary file). `filter` must not pass such a
    # file's copies off as complete.
    final: bool = False
    # A JSON line that could not be read as a record, as read: `filter`
    # puts it in the quarantine copy rather than lose it.
    raw: bytes | None = None

    def __post_init__(self) -> None:
        # Parser messages can span lines (with ASCII art); keep one line.
        object.__setattr__(self, "message", " ".join(self.message.split()))


@dataclass(frozen=True)
class RawRecord:
    data: Any
    line: int | None = None
    index: int | None = None
    raw: bytes | None = None  # the line as read, for JSONL (lets `filter` copy it byte for byte)
    # Other readings of a record that repeats a key (see `tos_lint.dupkeys`):
    # the parser kept the last value; these hold the earlier ones.
    readings: "dupkeys.Readings | None" = None


@dataclass
class FileStats:
    records: int = 0
    malformed: int = 0
    bytes: int = 0  # decompressed bytes read
    prefiltered: int = 0  # valid records that no rule could match, not adapted
    size: int = 0  # bytes of the file as stored
    sha256: str = ""  # of the file as stored, for the audit manifest
    # A byte range read by `read_jsonl_range`: the newlines in it, which is
    # where the lines of the next range of the file start; and whether it
    # starts at the start of a line (else its first line is the previous range's).
    range_newlines: int = 0
    range_starts_on_line: bool = True


@dataclass
class ReadOptions:
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    # For JSONL: whether a raw line may hold a hit. Lines it rejects are
    # parsed (validated) and counted, but not adapted or matched.
    line_filter: Callable[[bytes], bool] | None = None
    # The same judgement for a block of whole JSONL lines at once: the
    # 0-based indices of the lines to keep, or None to ask `line_filter`.
    block_filter: Callable[[bytes, Sequence[bytes]], Container[int] | None] | None = None
    # Changed-only scans: the 1-based line numbers to read; others are skipped
    # unread (None: every line). Only line-oriented files honour it.
    only_lines: frozenset[int] | None = None
    limits: "DecompressLimits | None" = None
    # Tabular files: the columns to read (None: those that can hold text,
    # see tabular._columns); `field_names`: fields rules read, whatever their type.
    columns: tuple[str, ...] | None = None
    field_names: frozenset[str] = frozenset()


# --- discovery -----------------------------------------------------------------

# Version-control internals: never data, never walked (not even with `hidden`).
VCS_FOLDERS = frozenset({".git", ".hg", ".svn"})


@dataclass
class PassedOver:
    """Paths inside the folders walked that were not scanned, kept so that a
    report can say so (a skip is never silent)."""

    hidden: list[Path] = field(default_factory=list)  # names starting with '.'
    unknown_type: list[Path] = field(default_factory=list)  # files no reader knows by their name


def discover(paths: list[str], include: list[str] | None = None, exclude: list[str] | None = None,
             hidden: bool = False) -> tuple[list[InputFile], PassedOver]:
    """Files to scan, in a stable order, and the paths passed over.
    Paths inside a folder that cannot be read as files come with their
    `problem`; a path given that does not exist, an empty path and `-`
    given twice are usage errors.

    Inside a folder, a file is read when its name is a data file's
    (`.jsonl`, `.json`, `.csv`, `.parquet`, ... compressed or not) or an
    `include` glob names it; other files (`notes.md`, `data.jsonl.1`) are
    passed over and returned in `PassedOver.unknown_type`. Files and
    folders whose names start with `.` are passed over (and returned,
    data-looking files and folders alike) unless `hidden`; `.git`, `.hg`
    and `.svn` are never walked. A file named on the command line is read
    whatever its name. A file reached twice (named twice, inside a folder
    also given, through a symlink) is read once, under the path it was
    first reached by.

    A symlink to a folder, inside a folder given, is followed as a symlink
    to a file is: after every folder given has been walked, so that each
    real folder is walked once, under its own path where it has one among
    them; a link to a folder already walked (a loop, or a second way to the
    same folder) adds nothing."""
    _check_paths(paths)
    files: list[InputFile] = []
    walk = _Walk(include, exclude, hidden)
    for raw in paths:
        if raw == "-":
            files.append(InputFile("<stdin>", None))
            continue
        path = Path(raw)
        if path.is_dir():
            files.extend(walk.folder(path))
        elif path.exists():
            files.append(InputFile(shown(str(path)), path))
        else:
            raise UsageError(f"{shown(raw)}: {_missing(path)}")
    files.extend(walk.linked_folders())
    return _once(files), walk.passed_over


def _check_paths(paths: list[str]) -> None:
    if "" in paths:  # Path("") is the current folder: a variable left empty would scan it unasked
        raise UsageError("'' (an empty path) is not a file or folder; give '.' to scan the current folder")
    if paths.count("-") > 1:
        raise UsageError("'-' (standard input) is given more than once; it can be read only once")


def _once(files: list[InputFile]) -> list[InputFile]:
    """Each file once, by its real path (`x x ./x`, a file and its folder):
    read twice, its records and findings would count twice. A path found
    unfit to open is reported under each name it was found by."""
    seen: set[str] = set()
    out: list[InputFile] = []
    for f in files:
        if f.fs_path is not None and f.problem is None:
            real = os.path.realpath(f.fs_path)  # names a symlink loop too, where Path.resolve raises
            if real in seen:
                continue
            seen.add(real)
        out.append(f)
    return out


def _missing(path: Path) -> str:
    """Why a path given cannot be found: a symlink's own problem, or none there."""
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as exc:
            return _broken_link(path, exc) or f"dangling symlink to {os.readlink(path)}"
    return "no such file or directory"


def _broken_link(path: Path, exc: OSError) -> str | None:
    """What is wrong with `path` when `os.stat` fails with `exc` because it
    is a symlink loop or a dangling symlink; None for any other failure."""
    if exc.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"dangling symlink to {os.readlink(path)}"
    return None


class _Walk:
    """The folders of one discovery: each real folder walked once (by device
    and inode), symlinks to folders kept to be walked after the folders given."""

    def __init__(self, include: list[str] | None, exclude: list[str] | None, hidden: bool = False):
        self.include, self.exclude, self.hidden = include, exclude, hidden
        self.walked: set[tuple[int, int]] = set()
        self.links: collections.deque[Path] = collections.deque()
        self.passed_over = PassedOver()
        # the file-name part of each include glob that says more than `*`
        self.name_globs = [n for n in (g.rsplit("/", 1)[-1] for g in include or ()) if n.strip("*")]

    def folder(self, root: Path) -> Iterator[InputFile]:
        """The data files under `root` (sorted), and paths that cannot be read as files."""
        for child, error in self._files(root):
            name = shown(str(child))
            if error is not None:  # a folder whose files cannot even be listed
                yield InputFile(name, child, _unreadable(f"cannot list this folder: {error.strerror or error}; "
                                                          "nothing in it was scanned"))
                continue
            if not _selected(name, self.include, self.exclude):
                continue
            if not self._readable_name(child.name):
                self.passed_over.unknown_type.append(child)
                continue
            problem = _not_a_file(child)
            if problem is not None:
                yield InputFile(name, child, problem)
            elif not _is_hf_metadata(child):
                yield InputFile(name, child)

    def _wanted(self, path: str, name: str) -> bool:
        return _selected(path, self.include, self.exclude) and self._readable_name(name)

    def _readable_name(self, name: str) -> bool:
        """Whether a file is read for its name: a data file's, or one whose
        name an `include` glob spells out (`*.bak`, `logs/*.jsonl.1`: who
        includes them wants them read; `train/*` selects a folder's data
        files, not its README)."""
        return _is_json_name(name) or _is_other_data(name) or any(
            fnmatch.fnmatch(name, g) for g in self.name_globs)

    def linked_folders(self) -> Iterator[InputFile]:
        """The files under the symlinked folders met so far (and under those met in them)."""
        while self.links:
            yield from self.folder(self.links.popleft())

    def _files(self, root: Path) -> Iterator[tuple[Path, OSError | None]]:
        """Files under `root`, sorted, each with None; and each folder that
        could not be listed, with its error (os.walk would pass over it)."""
        from tos_lint.tabular import prune_dirs  # Hugging Face hub-cache layouts

        errors: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
            yield from _listing_errors(errors)
            here = Path(dirpath)
            if not self._first_visit(here):
                dirnames[:] = []
                continue
            names = prune_dirs(here, sorted(d for d in dirnames if self._looks_in(here / d, folder=True)))
            dirnames[:] = [d for d in names if not (here / d).is_symlink()]
            self.links.extend(here / d for d in names if (here / d).is_symlink())
            for name in sorted(filenames):
                if self._looks_in(here / name, folder=False):
                    yield here / name, None
        yield from _listing_errors(errors)

    def _looks_in(self, path: Path, folder: bool) -> bool:
        """Whether a file or folder found is looked at: a hidden one (its name
        starts with '.') only with `hidden`, and is otherwise noted as passed
        over (a file only if it would have been read); never `.git` and the like."""
        if not path.name.startswith("."):
            return True
        if folder and path.name in VCS_FOLDERS:
            return False
        if self.hidden:
            return True
        if folder or self._wanted(shown(str(path)), path.name):
            self.passed_over.hidden.append(path)
        return False

    def _first_visit(self, folder: Path) -> bool:
        try:
            info = os.stat(folder)
        except OSError:
            return True  # listing it reports what is wrong
        key = (info.st_dev, info.st_ino)
        if key in self.walked:
            return False
        self.walked.add(key)
        return True


def _unreadable(message: str) -> InputIssue:
    return InputIssue("unreadable", message, final=True)


def _not_a_file(path: Path) -> InputIssue | None:
    """Why a data file found in a folder must not be opened, if it must not."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        link = _broken_link(path, exc)
        return _unreadable(f"{link}; not scanned" if link else f"cannot open: {exc.strerror or exc}")
    if stat.S_ISREG(mode):
        return None
    return _unreadable(f"not a regular file (a {special_kind(mode)}); not opened (name it on the command line to read it)")


def special_kind(mode: int) -> str:
    """What a path that is not a regular file is, by its `st_mode`."""
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


def _listing_errors(errors: list[OSError]) -> Iterator[tuple[Path, OSError | None]]:
    for error in errors:
        yield Path(error.filename), error
    errors.clear()


def read_input(inp: InputFile, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """`read_records`, or for a path found unfit to open, its problem alone."""
    if inp.problem is not None:
        yield inp.problem
        return
    yield from read_records(inp, stats, options)


def _selected(path: str, include: list[str] | None, exclude: list[str] | None) -> bool:
    if include and not _matches_any(path, include):
        return False
    return not (exclude and _matches_any(path, exclude))


def _matches_any(path: str, globs: list[str]) -> bool:
    """Whether a glob matches the path as shown or its file name."""
    name = Path(path).name
    return any(fnmatch.fnmatch(path, g) or fnmatch.fnmatch(name, g) for g in globs)


def _strip_compression(name: str) -> str:
    lower = name.lower()
    for ext in COMPRESSION_EXTS:
        if lower.endswith(ext):
            return lower[: -len(ext)]
    return lower


def _is_json_name(name: str) -> bool:
    return _strip_compression(name).endswith(JSON_EXTS)


def _is_other_data(name: str) -> bool:
    return _strip_compression(name).endswith(OTHER_DATA_EXTS)


def _is_hf_metadata(path: Path) -> bool:
    """Hugging Face `datasets` metadata beside its Arrow data: not records."""
    from tos_lint.tabular import is_hf_metadata

    return path.name.endswith(".json") and is_hf_metadata(path)


# --- opening -------------------------------------------------------------------

class HashingReader:
    """Reads a binary file while hashing every byte, so that the audit
    manifest's SHA-256 costs no second pass over the input."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.digest.update(memoryview(buffer)[:n])
        self.size += n
        return n

    def peek(self, size: int = 0) -> bytes:
        return self.raw.peek(size)  # type: ignore[attr-defined,no-any-return]

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """Hash what the readers did not need (a truncated stream, a skip)."""
        while self.read(BLOCK_SIZE):
            pass

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed


def open_input(inp: InputFile, hasher: HashingReader | None = None, limits: "DecompressLimits | None" = None) -> IO[bytes]:
    """A binary stream of the file's decompressed bytes (by magic number),
    or of standard input's: piped data may be compressed too."""
    if inp.fs_path is None:
        head = sys.stdin.buffer.read(_MAGIC_BYTES)  # a pipe cannot be peeked at reliably: read, then hand back
        raw: Any = _Replayed(head, sys.stdin.buffer)
    else:
        raw = hasher if hasher is not None else open(inp.fs_path, "rb")  # noqa: SIM115 - closed by the caller
        head = raw.peek(_MAGIC_BYTES)[:_MAGIC_BYTES] if hasattr(raw, "peek") else b""
    kind = _compression(head)
    if kind is None:
        return raw  # type: ignore[no-any-return]
    return DecompressedStream(raw, kind, limits or DecompressLimits())  # type: ignore[return-value]


_MAGIC_BYTES = max(len(magic) for magic in _MAGIC)


class _Replayed:
    """A stream whose first bytes, read already (to tell its kind or its
    shape), are handed out again before the rest of it; what is read past
    them is counted into `stats.bytes` when `stats` is given."""

    def __init__(self, head: bytes, stream: IO[bytes], stats: FileStats | None = None):
        self.head = head
        self.stream = stream
        self.stats = stats

    def read(self, size: int = -1) -> bytes:
        if 0 <= size < len(self.head):
            out, self.head = self.head[:size], self.head[size:]
            return out
        out, self.head = self.head, b""
        wanted = -1 if size < 0 else size - len(out)
        more = self.stream.read(wanted) if wanted else b""
        if self.stats is not None:
            self.stats.bytes += len(more)
        return out + more

    def close(self) -> None:
        self.stream.close()


def _compression(head: bytes) -> str | None:
    """`gz`, `zst`, `bz2` or `xz` by the magic number `head` starts with; a
    zstd file may start with a skippable frame (pzstd and the seekable
    format write one first), which the zstd decoder passes over."""
    kind = next((k for magic, k in _MAGIC.items() if head.startswith(magic)), None)
    return "zst" if kind is None and _starts_member("zst", head) else kind


def compression_of(path: Path) -> str | None:
    """`gz`, `zst`, `bz2`, `xz` (by magic number), or None for plain files."""
    with path.open("rb") as f:
        return _compression(f.read(6))


class TruncatedStream(EOFError):
    """The compressed stream ended before its end marker."""


class DecompressionBomb(OSError):
    """The stream expands beyond the configured ratio or size."""


class TrailingData(OSError):
    """Bytes after the end of the compressed stream that start no new member."""


_KIND_NAMES = {"gz": "gzip", "zst": "zstd", "bz2": "bzip2", "xz": "xz"}
_MAGIC_OF = {kind: magic for magic, kind in _MAGIC.items()}


def _starts_member(kind: str, head: bytes) -> bool:
    """Whether `head` starts a member, frame or stream of this kind (a zstd
    skippable frame too: magic 0x184D2A50 to 0x184D2A5F)."""
    if head.startswith(_MAGIC_OF[kind]):
        return True
    return kind == "zst" and len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50


DEFAULT_MAX_EXPANSION = 1000.0
DEFAULT_MAX_DECOMPRESSED_BYTES = 1 << 40
# The ratio is only judged past this much output: the first blocks of a
# compressed text file can expand well beyond its average ratio.
RATIO_GRACE_BYTES = 16 << 20


@dataclass(frozen=True)
class DecompressLimits:
    """Caps on a compressed file's expansion (`--max-expansion`,
    `--max-decompressed-bytes`, or the same keys in the configuration)."""

    max_ratio: float = DEFAULT_MAX_EXPANSION  # decompressed / compressed bytes, checked past RATIO_GRACE_BYTES
    max_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES  # decompressed bytes per file


def _decompressor(kind: str) -> Any:
    if kind == "gz":
        try:  # ISA-L inflates about 3x faster than zlib
            from isal import isal_zlib

            return isal_zlib.decompressobj(wbits=31)
        except ImportError:
            import zlib

            return zlib.decompressobj(wbits=31)
    if kind == "zst":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


class DecompressedStream:
    """Streaming decompression that hands out every byte it could decode
    before reporting a truncated or corrupt stream, follows concatenated
    members and frames, and stops a decompression bomb.

    Memory stays bounded whatever the compression ratio: each decoder call
    produces at most `STEP` bytes (gzip, bz2 and xz take an output cap; zstd
    does not, so it is fed `ZSTD_SLICE` compressed bytes at a time, which
    cannot expand past a few MiB). Input goes in `SLICE` bytes at a time, so
    that damage in the middle of a chunk loses only the output of one slice."""

    CHUNK = 256 << 10  # compressed bytes read at a time
    SLICE = 16 << 10  # compressed bytes per decoder call
    STEP = 1 << 20  # decompressed bytes per decoder call, at most
    ZSTD_SLICE = 256  # a zstd block of 4 bytes can expand to 128 KiB

    def __init__(self, raw: IO[bytes], kind: str, limits: DecompressLimits):
        self.raw, self.kind, self.limits = raw, kind, limits
        self.decoder = _decompressor(kind)
        self.pending = bytearray()
        self.input = b""  # the compressed chunk being decoded
        self.pos = 0  # how much of it the decoder has taken
        self.more = False  # the decoder holds output it could not hand out yet
        self.in_bytes = self.out_bytes = 0
        self.error: BaseException | None = None
        self.finished = False
        self.member_open = False  # bytes fed since the last member ended
        self.ended = False  # a member has ended: what follows must start another one

    def read(self, size: int = -1) -> bytes:
        while not self.finished and (size < 0 or len(self.pending) < size):
            self._fill()
        if not self.pending and self.error is not None:
            error, self.error = self.error, None
            raise error
        take = len(self.pending) if size < 0 else min(size, len(self.pending))
        out = bytes(self.pending[:take])
        del self.pending[:take]
        return out

    def _fill(self) -> None:
        if self.pos >= len(self.input) and not self.more:
            chunk = self.raw.read(self.CHUNK)
            if not chunk:
                self.finished = True
                if self.member_open:
                    self.error = TruncatedStream("the compressed stream ends early (truncated file)")
                return
            self.in_bytes += len(chunk)
            self.input, self.pos = chunk, 0
        if self.ended and not self.member_open and not self.more and not self._next_member():
            return
        try:
            self._step()
        except DecompressionBomb as exc:
            self.finished, self.error = True, exc
        except Exception as exc:  # noqa: BLE001 - zlib.error, ZstdError, OSError, LZMAError alike
            self.finished, self.error = True, OSError(f"corrupt compressed data: {exc}")

    def _step(self) -> None:
        """One bounded decoder call; a member that ends hands what follows it
        to a fresh decoder (concatenated gzip members, zstd frames)."""
        decoder = self.decoder
        if self.more and self.kind in ("bz2", "xz"):
            data = b""  # they hold their input: let them finish it first
        else:
            size = self.ZSTD_SLICE if self.kind == "zst" else self.SLICE
            data = self.input[self.pos: self.pos + size]
            self.pos += len(data)
        if self.kind == "zst":
            out = decoder.decompress(data)
        elif self.kind == "gz":
            out = decoder.decompress(data, self.STEP)
            self.pos -= len(decoder.unconsumed_tail)  # zlib hands back what it did not take
            self.more = len(out) >= self.STEP  # capped: more may wait even with no input left
        else:
            out = decoder.decompress(data, self.STEP)
            self.more = not decoder.needs_input and not decoder.eof
        if data or out:
            self.member_open = True
        self._emit(out)
        if getattr(decoder, "eof", False):
            self.member_open = self.more = False
            self.ended = True
            self.pos -= len(getattr(decoder, "unused_data", b""))  # the next member starts there
            self.decoder = _decompressor(self.kind)

    def _next_member(self) -> bool:
        """Whether the bytes after a member that ended start another one.
        If not, the stream ends there: zero bytes to the end are padding
        (gzip and xz accept them too); anything else is reported."""
        magic = len(_MAGIC_OF[self.kind])
        while len(self.input) - self.pos < magic and (chunk := self.raw.read(self.CHUNK)):
            self.in_bytes += len(chunk)  # the magic number may straddle two chunks
            self.input, self.pos = self.input[self.pos:] + chunk, 0
        if _starts_member(self.kind, self.input[self.pos:self.pos + magic]):
            return True
        offset = self.in_bytes - len(self.input) + self.pos
        self.finished = True
        if not self._only_zeros_left():
            name = _KIND_NAMES[self.kind]
            self.error = TrailingData(f"trailing data after the end of the {name} stream, from byte {offset} of the "
                                      f"file: not {name} data, so not read")
        return False

    def _only_zeros_left(self) -> bool:
        """Whether the rest of the compressed input is zero bytes (read to its end)."""
        data = self.input[self.pos:]
        while not data.lstrip(b"\x00"):
            data = self.raw.read(self.CHUNK)
            if not data:
                return True
            self.in_bytes += len(data)
        return False

    def _emit(self, out: bytes) -> None:
        self.out_bytes += len(out)
        self.pending += out
        if self.out_bytes > self.limits.max_bytes:
            raise DecompressionBomb(f"expands past the limit of {self.limits.max_bytes} bytes (see --max-decompressed-bytes)")
        if self.out_bytes > RATIO_GRACE_BYTES and self.out_bytes > self.limits.max_ratio * max(self.in_bytes, 1):
            raise DecompressionBomb(f"expands more than {self.limits.max_ratio:g} times, a decompression bomb? (see --max-expansion)")

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> "DecompressedStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, lzma.LZMAError, ValueError)


def stream_issue(exc: BaseException, units: str, line: int | None = None, index: int | None = None) -> InputIssue:
    """What stopped the reading of a compressed stream, at the `units`
    (records, rows) read so far: a bomb, trailing data, or a cut or corrupt stream."""
    if isinstance(exc, DecompressionBomb):
        code, message = "decompression-bomb", f"{exc}; {units} after this point were not scanned"
    elif isinstance(exc, TrailingData):
        code, message = "trailing-data", f"{exc}; the {units} before it were all scanned"
    else:
        code, message = "truncated-stream", f"the file could not be read to its end ({exc}); {units} after this point were not scanned"
    return InputIssue(code, message, line=line, index=index, final=True)


# --- reading -------------------------------------------------------------------

def read_records(inp: InputFile, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """Records of one file (JSONL, JSON array or single JSON object; the
    tabular formats through `tos_lint.tabular`), and a finding at the end
    if the file changed while it was read."""
    before = FileSignature.of(inp.fs_path) if inp.fs_path is not None else None
    yield from _read_records(inp, stats, options)
    if inp.fs_path is not None and (issue := changed_during_scan(inp.fs_path, before)) is not None:
        yield issue


@dataclass(frozen=True)
class FileSignature:
    """What tells a regular file from itself edited or replaced: its device
    and inode (which file the path names), size and modification time."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> "FileSignature | None":
        """The file's signature now; None for what cannot be stat'ed or is no
        regular file (a FIFO's time changes as it is written to)."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def changed_during_scan(path: Path, before: FileSignature | None) -> InputIssue | None:
    """A finding when the file at `path` is no longer the one `before` (taken
    before reading it) describes: what was read may be neither version. One
    stat: the check costs nothing next to reading the file."""
    if before is None:
        return None
    now = FileSignature.of(path)
    if now == before:
        return None
    if now is None:
        what = "it was deleted"
    elif (now.dev, now.ino) != (before.dev, before.ino):
        what = "another file was put in its place"
    elif now.size != before.size:
        what = f"its size went from {before.size} to {now.size} bytes"
    else:
        what = "it was written to"
    return InputIssue("changed-during-scan", f"the file changed while it was scanned ({what}): records written, cut "
                      "or replaced meanwhile may be missing from this report or read from two versions of the file; "
                      "scan it again once nothing writes to it", final=True)


def _read_records(inp: InputFile, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    name = inp.fs_path.name if inp.fs_path is not None else "stdin.jsonl"
    if inp.fs_path is not None:
        from tos_lint import tabular

        if (kind := tabular.kind_of(name)) is not None:
            yield from tabular.read_table(inp, kind, stats, options)
            return
    if _is_other_data(name) and not _is_json_name(name):
        yield InputIssue("unsupported-format", f"no reader for this file type ({Path(name).suffix}); it was not scanned", final=True)
        return
    hasher: HashingReader | None = None
    try:
        if inp.fs_path is not None:
            hasher = HashingReader(open(inp.fs_path, "rb"))  # noqa: SIM115 - closed below
        stream = open_input(inp, hasher, options.limits)
    except OSError as exc:
        yield InputIssue("unreadable", f"cannot open: {exc.strerror or exc}", final=True)
        return
    reopen = (lambda: open_input(inp, None, options.limits)) if inp.fs_path is not None else None
    try:
        yield from _read_stream(stream, stats, options, reopen, _named_as_lines(name))
    except _DECOMPRESS_ERRORS as exc:
        yield stream_issue(exc, "records", line=stats.records + stats.malformed + 1)
    finally:
        if hasher is not None:
            hasher.drain()
            stats.size, stats.sha256 = hasher.size, hasher.digest.hexdigest()
            stream.close()
            hasher.close()


def _named_as_lines(name: str) -> bool:
    """Whether the file's name says JSON lines (`.jsonl`, `.ndjson.gz`, ...)."""
    return _strip_compression(name).endswith(PLAIN_JSONL_EXTS)


def _read_stream(stream: IO[bytes], stats: FileStats, options: ReadOptions,
                 reopen: Callable[[], IO[bytes]] | None = None,
                 lines_by_name: bool = False) -> Iterator[RawRecord | InputIssue]:
    """Records of a decompressed stream, by the shape of its start;
    `reopen` reads the same bytes again (a JSON array with NaN needs it);
    `lines_by_name`: the file is named as JSON lines (see `_shape`)."""
    first = _first_block(stream, stats)
    if (wide := _wide_encoding(first)) is not None:
        codec, label = wide
        yield not_utf8(label, "line numbers hold, byte offsets are of the UTF-8 form")
        stats.bytes -= len(first)  # counted again below, as UTF-8 like the rest of the text
        stream = TranscodingReader(stream, codec, first)
        reopen = _transcoded(reopen, codec) if reopen is not None else None
        first = _first_block(stream, stats)
    if _cr_only(first):
        stream = CrToLfReader(stream)
        first = first.replace(b"\r", b"\n")
    first, blank_lines = _skip_blank(first, stream, stats)
    if not first:
        return
    shape = _shape(first)
    if shape == "array" and lines_by_name and reopen is None:
        # A stream that cannot be opened again (standard input) is kept
        # aside, so that it is read as a file is: as one JSON array only if
        # it is one complete document, and read again past NaN or Infinity.
        with _Spool(first, stream) as spool:
            yield from _read_shaped(shape, first, spool.reader(len(first)), stats, options, spool.reader,
                                    lines_by_name, 1 + blank_lines)
        return
    yield from _read_shaped(shape, first, stream, stats, options, reopen, lines_by_name, 1 + blank_lines)


def _read_shaped(shape: str, first: bytes, stream: IO[bytes], stats: FileStats, options: ReadOptions,
                 reopen: Callable[[], IO[bytes]] | None, lines_by_name: bool,
                 first_line: int) -> Iterator[RawRecord | InputIssue]:
    """Records of a stream whose first block (with content) is `first`, read as `_shape` says."""
    if shape == "array" and lines_by_name and reopen is not None and not _one_document(reopen):
        shape = "jsonl"
    if shape == "array":
        yield from _read_array(first, stream, stats, options, reopen)
    elif shape == "single":
        yield from _read_single(first, stream, stats, options, first_line)
    elif shape == "binary":
        yield InputIssue("binary-file", "this looks like a binary file, not JSON or JSONL; it was not scanned", final=True)
    else:
        yield from read_jsonl_blocks(_chain([first], stream, stats), stats, options, first_line=first_line)


class _Spool:
    """A stream that can be read once, kept whole (in memory up to `MEMORY`
    bytes, then in a temporary file) to be read from its start as often as
    needed. A decompression error met while keeping it is raised again where
    a reader reaches that point, as reading the stream itself would."""

    MEMORY = 16 << 20

    def __init__(self, first: bytes, stream: IO[bytes]):
        self.file = tempfile.SpooledTemporaryFile(max_size=self.MEMORY, prefix="tos-lint-stdin-")
        self.file.write(first)
        self.error: BaseException | None = None
        try:
            while chunk := stream.read(BLOCK_SIZE):
                self.file.write(chunk)
        except _DECOMPRESS_ERRORS as exc:
            self.error = exc

    def reader(self, start: int = 0) -> IO[bytes]:
        return _SpoolReader(self, start)  # type: ignore[return-value]

    def __enter__(self) -> "_Spool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()


class _SpoolReader:
    """One reading of a `_Spool`, with its own position (readings may interleave)."""

    def __init__(self, spool: _Spool, start: int):
        self.spool, self.pos = spool, start

    def read(self, size: int = -1) -> bytes:
        self.spool.file.seek(self.pos)
        out = self.spool.file.read(size)
        self.pos += len(out)
        if not out and size != 0 and self.spool.error is not None:
            raise self.spool.error
        return out

    def close(self) -> None:
        pass  # the spool is closed once, by its owner


def _shape(first: bytes) -> str:
    """How a stream whose first block (past any blank lines) is `first`
    is read: `array`, `single` (one pretty-printed object), `binary` or
    `jsonl`. `is_plain_jsonl` asks the same question of a stored file."""
    head = first.lstrip()[:1]
    if head == b"[" and not _is_jsonl(first):
        return "array"
    if head == b"{" and _is_pretty_object(first):
        return "single"
    return "binary" if _looks_binary(first) else "jsonl"


def _skip_blank(first: bytes, stream: IO[bytes], stats: FileStats) -> tuple[bytes, int]:
    """The first block that holds more than white space, and the newlines
    of the blocks passed over before it. The shape of a file is judged from
    one block, and a file may start with any amount of blank lines: judged
    from a blank block, it would read as empty and every record be lost.
    White space after the last of those newlines is dropped (JSON ignores
    it); the first block with content is kept whole."""
    newlines = 0
    while first.isspace():
        newlines += first.count(b"\n")
        first = stream.read(BLOCK_SIZE)
        stats.bytes += len(first)
    return first, newlines


def _cr_only(first: bytes) -> bool:
    """Whether lines end in a lone CR (classic Mac OS): a CR and no LF in the
    first block. Split at LF only, such a file would be one malformed line."""
    return b"\n" not in first and b"\r" in first


class CrToLfReader:
    """A stream with every CR turned into LF, for a file whose lines end in
    CR only. Byte for byte, so sizes and offsets hold; a JSON string cannot
    hold a raw CR, so no record's content changes."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size).replace(b"\r", b"\n")

    def close(self) -> None:
        self.stream.close()


# A NUL byte marks a binary file, but one NUL in a text line must cost that
# line, not the whole file: control bytes other than JSON's white space,
# within the first 4 KiB, beyond this share of it mean binary...
_BINARY_SHARE = 0.01
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r") + b"\x7f"
# ... unless one of the block's first lines is a JSON object on its own.
_SNIFF_LINES = 64


def _looks_binary(first: bytes) -> bool:
    """Whether a block with a NUL in its first 4 KiB is binary data rather
    than JSON lines with a stray NUL (which are read, and the line with the
    NUL reported as malformed)."""
    head = first[:4096]
    if b"\x00" not in head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls <= _BINARY_SHARE * len(head):
        return False
    return not any(_is_object_line(line) for line in _sniffed_lines(first))


def _sniffed_lines(first: bytes) -> list[bytes]:
    """The first `_SNIFF_LINES` whole lines of a file's first block."""
    lines = first.split(b"\n", _SNIFF_LINES)
    whole = lines if len(first) < BLOCK_SIZE else lines[:-1]  # a full block's last line may be cut
    return whole[:_SNIFF_LINES]


def _is_object_line(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def _one_document(reopen: Callable[[], IO[bytes]]) -> bool:
    """Whether the stream holds one complete JSON document (NaN and Infinity
    allowed, as the array reader allows them). A file named as JSON lines
    that starts with `[` is read as a JSON array only then: a first line
    such as `[1,2` must not swallow the lines after it into one broken
    array. Costs one more pass over the file, for such files only."""
    import ijson

    stream = reopen()
    try:
        scratch = FileStats()
        first = _first_block(stream, scratch)
        for _ in ijson.basic_parse(_fixed(_Replayed(first.lstrip(), stream, scratch), _ALL_FIXES), use_float=False):
            pass
    except (EOFError, OSError, lzma.LZMAError):
        # A cut or bomb is the stream's own damage: the array reader reports
        # it where it stops, after the elements before it, as for any array.
        return True
    except (ijson.JSONError, ValueError):
        return False
    finally:
        stream.close()
    return True


def _first_block(stream: IO[bytes], stats: FileStats) -> bytes:
    """The stream's first block, without a UTF-8 byte-order mark."""
    first = stream.read(BLOCK_SIZE)
    stats.bytes += len(first)
    return first[len(_UTF8_BOM):] if first.startswith(_UTF8_BOM) else first


_UTF8_BOM = b"\xef\xbb\xbf"


def not_utf8(label: str, what_holds: str) -> InputIssue:
    """A UTF-16 or UTF-32 file (`label`), read converted to UTF-8; `what_holds`:
    how its locations relate to the file's own."""
    return InputIssue("not-utf8", f"{label} text, not UTF-8 (most training loaders expect UTF-8); it was read "
                      f"converted to UTF-8 and scanned: {what_holds}")


# UTF-32 before UTF-16: a UTF-32 LE mark starts with the UTF-16 LE one.
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32", "UTF-32 LE"), (b"\x00\x00\xfe\xff", "utf-32", "UTF-32 BE"),
              (b"\xff\xfe", "utf-16", "UTF-16 LE"), (b"\xfe\xff", "utf-16", "UTF-16 BE"))
# Without a mark: which of the first 8 bytes (two ASCII characters) are zero.
_WIDE_ZEROS = (("utf-32-le", "UTF-32 LE", {1, 2, 3, 5, 6, 7}), ("utf-32-be", "UTF-32 BE", {0, 1, 2, 4, 5, 6}),
               ("utf-16-le", "UTF-16 LE", {1, 3, 5, 7}), ("utf-16-be", "UTF-16 BE", {0, 2, 4, 6}))


def _wide_encoding(first: bytes) -> tuple[str, str] | None:
    """(codec, label) of UTF-16 or UTF-32 text: by its byte-order mark, or,
    without one, by where the zero bytes of its first two characters fall
    (JSON starts with ASCII: `{"` is `{ NUL " NUL` in UTF-16 LE)."""
    for bom, codec, label in _WIDE_BOMS:
        if first.startswith(bom):
            return codec, f"{label} (byte-order mark)"
    head = first[:8]
    if len(head) < 8 or b"\x00" not in head:
        return None
    zeros = {i for i, byte in enumerate(head) if byte == 0}
    for codec, label, expected in _WIDE_ZEROS:
        if zeros == expected:
            return codec, f"{label} (no byte-order mark)"
    return None


def _transcoded(reopen: Callable[[], IO[bytes]], codec: str) -> Callable[[], IO[bytes]]:
    return lambda: TranscodingReader(reopen(), codec)


class TranscodingReader:
    """UTF-8 bytes of a UTF-16 or UTF-32 stream, decoded a block at a time
    (`first`: bytes of the stream's start already read). Units that do not
    decode become U+FFFD."""

    def __init__(self, stream: IO[bytes], codec: str, first: bytes = b""):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        self.first = first

    def read(self, size: int = -1) -> bytes:
        """The next decoded block; empty only at the end of the stream (a
        block that ends inside a character decodes to nothing yet)."""
        if size == 0:
            return b""
        while True:
            raw = self.first or self.stream.read(BLOCK_SIZE if size < 0 else size)
            self.first = b""
            out = self.decoder.decode(raw, final=not raw).encode("utf-8", "surrogatepass")
            if out or not raw:
                return out

    def close(self) -> None:
        self.stream.close()


def _chain(read_already: list[bytes], stream: IO[bytes], stats: FileStats) -> Iterator[bytes]:
    """The blocks read already (each let go of once handed on), then the rest of the stream."""
    while read_already:
        yield read_already.pop(0)
    while chunk := stream.read(BLOCK_SIZE):
        stats.bytes += len(chunk)
        yield chunk


def _is_jsonl(first: bytes) -> bool:
    """A `[` file is JSONL (whose first line holds an array) when its first
    line is a whole JSON value on its own and more lines follow; a JSON
    array file's first line is cut short (`[`, or `[{...},`) or is the whole file."""
    text = first.lstrip()
    cut = text.find(b"\n")
    if cut < 0 or not text[cut + 1:].strip():
        return False
    line = text[:cut].rstrip()
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as exc:  # positions count characters
        if exc.pos >= len(line.decode("utf-8", "replace")):
            return False  # cut short: the array goes on
        return line.endswith(b"]")  # a whole (if broken or too deep) array line, not `[{...},`
    return True


def _is_pretty_object(first: bytes) -> bool:
    """A `{` file is one JSON document spread over lines (a pretty-printed
    object, or several one after another) when its first line opens more
    than it closes (`{` alone, `{"messages": [`) and none of the lines after
    it is a record line; else it is JSONL. What JSONL promises to read
    leniently (NaN, a trailing comma, invalid UTF-8, `{..}{..}`) is no
    strict JSON, so a record line is told by its shape: it starts with `{`
    and ends with `}`, where a pretty printer indents every inner line (and
    it does not follow a key, as `"a":` alone on the line before it)."""
    filled = [line.rstrip() for line in _sniffed_lines(first) if line.strip()]
    if len(filled) <= 1 or not _opens_more(filled[0]):
        return False  # one line (a single-record JSONL file is the same thing), or a line that closes all it opens
    return not any(_is_record_line(line) and not before.endswith(b":") for before, line in zip(filled, filled[1:]))


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def _opens_more(line: bytes) -> bool:
    """Whether a line opens more objects and arrays than it closes, outside
    strings (a line that ends inside a string is a cut record: JSON text
    never breaks a line inside a string)."""
    rest = _JSON_STRING.sub(b"", line)
    if b'"' in rest:
        return False
    return rest.count(b"{") + rest.count(b"[") > rest.count(b"}") + rest.count(b"]")


def _is_record_line(line: bytes) -> bool:
    return (line.startswith(b"{") and line.endswith(b"}")) or _is_object_line(line)


def read_jsonl_range(path: Path, start: int, end: int, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """The JSONL lines of a plain file that start in bytes [start, end):
    the unit of work when one large file is split across cores. Line
    numbers count from the first line of the range (the caller offsets them).

    Ranges are planned by file name; a file that turns out not to be JSONL
    (a JSON array, one pretty-printed object, a binary file) is read whole
    by its first range, as `read_records` would, and its other ranges are empty.
    A file gone since the ranges were planned is reported unreadable."""
    try:
        f = path.open("rb")
    except OSError as exc:
        yield _unreadable(f"cannot open: {exc.strerror or exc}; it was there when the scan started (deleted or "
                          f"moved during the scan?), and its part from byte {start} on was not scanned")
        return
    with f:
        yield from _read_range(f, path, start, end, stats, options)


def _read_range(f: IO[bytes], path: Path, start: int, end: int, stats: FileStats,
                options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    if not _is_plain_jsonl_stream(f):
        if start == 0:
            f.seek(0)
            yield from _read_stream(f, stats, options, lambda: path.open("rb"), _named_as_lines(path.name))
        return
    if start > 0:
        f.seek(start - 1)
        if f.read(1) != b"\n":
            stats.range_starts_on_line = False
            # the line under way belongs to the previous range; its newline may fall in this one
            if _skip_line(f) and f.tell() <= end:
                stats.range_newlines += 1
    else:
        f.seek(0)
    if f.tell() >= end:
        return  # the line under way filled the whole range
    newlines = yield from read_jsonl_blocks(_range_blocks(f, end, stats), stats, options)
    stats.range_newlines += newlines - _newline_past(f, end)


def _newline_past(f: IO[bytes], end: int) -> int:
    """1 when the range's last line ran on past `end` and was read up to its
    newline (which is in the next range's bytes), else 0."""
    pos = f.tell()
    if pos <= end:
        return 0
    f.seek(pos - 1)
    return int(f.read(1) == b"\n")


def is_line_oriented(path: Path) -> bool:
    """A JSONL file by name and by content: one record per line, so a line
    number locates a record and a large file can be read in byte ranges."""
    return path.name.lower().endswith(PLAIN_JSONL_EXTS) and is_plain_jsonl(path)


def is_plain_jsonl(path: Path) -> bool:
    """Whether the reader reads this file, as stored, line by line as JSONL:
    not compressed, no byte-order mark, and a first block that reads as
    JSONL (not a JSON array or one pretty-printed object, not binary). Then
    a line number locates a record and a read may start at any line."""
    with path.open("rb") as f:
        return _is_plain_jsonl_stream(f)


def _is_plain_jsonl_stream(f: IO[bytes]) -> bool:
    """`is_plain_jsonl` of an open file, read from its start (the position it is left at varies)."""
    first = f.read(BLOCK_SIZE)
    if first.startswith(_UTF8_BOM) or _compression(first) is not None or _cr_only(first):
        return False
    first, _ = _skip_blank(first, f, FileStats())
    return not first or _shape(first) == "jsonl"


def _skip_line(f: IO[bytes]) -> bool:
    """Move past the next newline, a block at a time (a line may be huge);
    False when there is none (then at the end of the file)."""
    while block := f.read(BLOCK_SIZE):
        cut = block.find(b"\n")
        if cut >= 0:
            f.seek(cut + 1 - len(block), os.SEEK_CUR)
            return True
    return False


def _range_blocks(f: IO[bytes], end: int, stats: FileStats) -> Iterator[bytes]:
    """Blocks up to `end`, then up to the end of the line that straddles it
    (a block at a time, so that a huge line is never read whole)."""
    last = b"\n"
    while (pos := f.tell()) < end:
        block = f.read(min(BLOCK_SIZE, end - pos))
        if not block:
            return
        stats.bytes += len(block)
        last = block[-1:]
        yield block
    while last != b"\n":
        block = f.read(BLOCK_SIZE)
        if not block:
            return
        cut = block.find(b"\n")
        if cut >= 0:
            f.seek(cut + 1 - len(block), os.SEEK_CUR)  # the file stands just past what was read of it
            block = block[: cut + 1]
        stats.bytes += len(block)
        last = block[-1:]
        yield block


def read_jsonl_blocks(blocks: Iterator[bytes], stats: FileStats, options: ReadOptions,
                      first_line: int = 1) -> Generator[RawRecord | InputIssue, None, int]:
    """JSONL from a stream of byte blocks, each line a record, the first
    numbered `first_line` (blank lines before it were passed over). Returns
    the number of newlines read (a range's reader needs it; counting them
    again would be one more pass over every byte).

    Lines longer than `max_record_bytes` are reported and skipped without
    being held in memory; a long line is gathered in parts (no quadratic
    re-copying)."""
    parts: list[bytes] = []  # the start of the line under way
    carried = 0
    line_no = first_line
    skipping_from: int | None = None
    limit = options.max_record_bytes
    for block in blocks:
        if skipping_from is not None:
            cut = block.find(b"\n")
            if cut < 0:
                continue
            yield oversized(options, line=skipping_from)
            stats.malformed += 1
            block = block[cut + 1:]
            line_no = skipping_from + 1
            skipping_from = None
        cut = block.rfind(b"\n")
        if cut < 0:
            if carried + len(block) > limit:
                skipping_from, parts, carried = line_no, [], 0
            elif block:
                parts.append(block)
                carried += len(block)
            continue
        start = 0
        if parts:  # the line under way ends here: it is read on its own, the block's other lines in place
            start = block.find(b"\n") + 1
            line_no += yield from _lines(b"".join([*parts, block[:start]]), line_no, stats, options)
        line_no += yield from _lines(block, line_no, stats, options, start, cut + 1)
        rest = block[cut + 1:]
        parts, carried = ([rest], len(rest)) if rest else ([], 0)
        if carried > limit:
            skipping_from, parts, carried = line_no, [], 0
    if skipping_from is not None:
        stats.malformed += 1
        yield oversized(options, line=skipping_from)
    elif parts:
        carry = b"".join(parts)
        if carry.strip():
            yield from _lines(carry, line_no, stats, options)
    return line_no - first_line  # the last line has no newline: it moved line_no on by none


def _cr_parts(line: bytes, n: int, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """A line that is no JSON and holds lone CRs, read as the lines those CRs
    end (a raw CR cannot be inside a JSON string, so no record is cut). Each
    part keeps the line number `n`: lines are counted by LF (as git counts
    them, and as a range of a split file is numbered), so a part cannot have
    a number of its own without moving every line after it. Only such lines
    pay for this: a line that reads as JSON never gets here."""
    for part in line.split(b"\r"):
        yield from _lines(part, n, stats, options)


def oversized(options: ReadOptions, unit: str = "record", line: int | None = None,
              index: int | None = None) -> InputIssue:
    """A record (a JSON line or document, a table's row) over `max_record_bytes`."""
    return InputIssue("oversized-record", f"{unit} is larger than the limit of {options.max_record_bytes} bytes; "
                      "not scanned (see --max-record-bytes)", line=line, index=index)


def _lines(block: bytes, first_line: int, stats: FileStats, options: ReadOptions,
           start: int = 0, end: int | None = None) -> Generator[RawRecord | InputIssue, None, int]:
    """Parse every line of block[start:end]; adapt only those the line
    filter keeps. `start` is 0 or just past the block's first newline (the
    line before it is someone else's), `end` just past a newline or the
    block's end: the lines are read in place, without copying the block.
    Returns the number of newlines in block[start:end] (the reader's line
    count moves on by it, without a second pass to count them)."""
    end = len(block) if end is None else end
    only = options.only_lines
    if only is not None:
        last = first_line + block.count(b"\n", start, end - 1)
        if not any(first_line <= n <= last for n in only):
            return block.count(b"\n", start, end)  # nothing asked for in this block: do not even split it
    if block.isspace():
        return block.count(b"\n", start, end)  # blank lines only (a run of newlines costs nothing)
    pieces = block.split(b"\n")
    skip = 1 if start else 0  # the piece before `start`
    lines = pieces[skip:] if end == len(block) else pieces[skip:-1]  # past `end`: the line under way
    kept = _block_kept(block, pieces, options) if only is None else None
    if kept is not None and len(block) <= options.max_record_bytes:
        chosen = _chosen_when_all_valid(lines, kept, skip, stats)
        if chosen is not None:
            for index in chosen:
                yield from _read_line(lines[index], first_line + index, True, stats, options)
            return len(pieces) - 1 - skip
    keep = (lambda index, line: index in kept) if kept is not None else _line_keeper(options)
    is_object = object_validator()
    for n, line in enumerate(lines, first_line):
        if not line:
            continue
        if only is not None and n not in only:
            continue
        # an oversized line is not judged (`_read_line` reports it)
        kept_line = len(line) > options.max_record_bytes or keep(n - first_line + skip, line)
        if not kept_line and is_object(line):
            stats.records += 1  # a valid record no rule can hit: validated, never built
            stats.prefiltered += 1
            continue
        yield from _read_line(line, n, kept_line, stats, options)
    return len(pieces) - 1 - skip


def _chosen_when_all_valid(lines: list[bytes], kept: Container[int], skip: int, stats: FileStats) -> list[int] | None:
    """When every line that is not blank is a valid JSON object (the
    usual block, judged in one C-level pass, with no Python loop over its
    lines), count the records and return the indices in `lines` of those
    the block filter kept, to be read; else None, and the block is read
    line by line (it holds something to report)."""
    valid = sum(map(object_validator(), lines))
    if valid + lines.count(b"") != len(lines):
        return None
    chosen = [index for index in sorted(i - skip for i in kept) if 0 <= index < len(lines) and lines[index]]
    stats.records += valid - len(chosen)  # the chosen ones are counted as they are read
    stats.prefiltered += valid - len(chosen)
    return chosen


def _read_line(line: bytes, n: int, kept: bool, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """Parse one line; adapt it when `kept`."""
    if len(line) > options.max_record_bytes:
        stats.malformed += 1
        yield oversized(options, line=n)
        return
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if line.isspace():
            return
        if line.startswith(_UTF8_BOM):  # files joined by `cat`: the mark of each starts a line inside
            yield from _lines(line[len(_UTF8_BOM):], n, stats, options)
        elif b"\r" in line[:-1]:  # lone CRs: lines ended as on classic Mac OS, within an LF file
            yield from _cr_parts(line, n, stats, options)
        else:
            yield from _bad_line(line, n, str(exc), stats)
        return
    if not isinstance(data, dict):
        stats.malformed += 1
        yield _line_not_an_object(data, n, line)
        return
    stats.records += 1
    if kept:
        yield RawRecord(data, line=n, raw=line, readings=dupkeys.other_readings(line, data))
    else:
        stats.prefiltered += 1


@functools.cache
def object_validator() -> Callable[[bytes], bool]:
    """A test that a line is one valid JSON object, which builds no Python
    objects: simdjson validates at about 3 GB/s where orjson, which builds
    every dict and string, parses at 0.6-0.9, and most lines of a clean
    corpus need nothing more. False means "ask orjson": its reading of the
    line, and its error, stay the ones reported. The line must start with
    `{`: simdjson accepts a leading byte-order mark, which orjson refuses."""
    try:
        import simdjson
    except ImportError:  # an optional speed-up: every line goes to orjson
        return lambda line: False
    parser, object_type = simdjson.Parser(), simdjson.Object

    def is_object(line: bytes) -> bool:
        if not line.startswith(b"{"):
            return False
        try:
            # the document is dropped at once: the parser refuses to parse
            # again while one of its documents is alive
            return type(parser.parse(line)) is object_type
        except Exception:  # any refusal (syntax, depth, big integers): orjson decides
            return False

    return is_object


def _block_kept(block: bytes, lines: Sequence[bytes], options: ReadOptions) -> Container[int] | None:
    """The 0-based indices of the lines of `block` (split at newlines into
    `lines`, pieces of lines at its edges too) to adapt, when the block
    filter judges the block whole; None when the lines go one by one."""
    return options.block_filter(block, lines) if options.block_filter is not None else None


def _line_keeper(options: ReadOptions) -> Callable[[int, bytes], bool]:
    """Whether to adapt the line at this 0-based index of the block, judged
    line by line (a small block, or a changed-only scan's few lines)."""
    may_match = options.line_filter
    if may_match is None:
        return lambda index, line: True
    return lambda index, line: may_match(line)


def _line_not_an_object(data: Any, n: int, line: bytes) -> InputIssue:
    """A JSON line that holds something other than an object, kept as read
    (`filter` puts it in the quarantine copy)."""
    return InputIssue("not-an-object", f"line holds a JSON {_kind(data)}, not an object; it was not scanned", line=n, raw=line)


def _bad_line(line: bytes, n: int, reason: str, stats: FileStats) -> Iterator[RawRecord | InputIssue]:
    """A line orjson refused. Invalid UTF-8 is reported and the line read with
    replacement characters; JSON that only a lenient parser reads (NaN,
    Infinity, numbers beyond a double, lone surrogates) is reported and read;
    anything else is a malformed line. A line that is read is scanned."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield _invalid_utf8(exc.start, n)
        text = line.decode("utf-8", "replace")
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc2:
            reason = str(exc2)
            data = _NOT_JSON
    else:
        data = _NOT_JSON
    if data is _NOT_JSON:
        data = lenient_loads(text)
        if data is _TOO_DEEP:
            reason = f"nested more than {MAX_DEPTH} levels deep"
        elif data is _NOT_JSON and (values := _concatenated(text, n, stats)) is not None:
            yield from values
            return
        if data is _NOT_JSON or data is _TOO_DEEP:
            stats.malformed += 1
            yield InputIssue("malformed-json", f"not valid JSON: {reason}", line=n, raw=line)
            return
        yield InputIssue("nonstandard-json", f"strict JSON parsers refuse this line ({reason}); it was read leniently (NaN and Infinity kept, numbers beyond a double read as infinity, lone surrogates replaced) and scanned", line=n)
    if not isinstance(data, dict):
        stats.malformed += 1
        yield _line_not_an_object(data, n, line)
        return
    stats.records += 1
    yield RawRecord(data, line=n, raw=line, readings=dupkeys.other_readings(line, data))


_NOT_JSON: Any = object()


def _invalid_utf8(at: int, n: int) -> InputIssue:
    return InputIssue("invalid-utf8", f"invalid UTF-8 at byte {at} of the line; scanned with replacement characters", line=n)


def _concatenated(text: str, n: int, stats: FileStats) -> Iterator[RawRecord | InputIssue] | None:
    """The records of `text` (from line `n`) read as JSON values written one
    after another (`{..}{..}`, as `cat` of one-object files or `jq` without
    `-c` make), each located at the line it starts on; None when it does not
    start with two whole values (then it is one broken value). Other readers
    refuse such text or read only its first value: that is reported once.
    The text is read a block at a time, as a streamed one is, so that the
    values are built as they are handed on, not all at once."""
    pieces = ((text[i:i + BLOCK_SIZE], i + BLOCK_SIZE >= len(text)) for i in range(0, len(text), BLOCK_SIZE))
    events = _value_events(pieces, n, None)
    head, values = _to_second_value(events)
    if values < 2:
        return None
    return _value_items(itertools.chain(head, events), stats, concatenated_at=n)


def _streamed_values(blocks: Iterator[bytes], n: int, stats: FileStats,
                     options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """A JSON document over the record size limit, read a block at a time as
    JSON values one after another (a jq dump of many objects, `cat` of JSON
    files): read as `_bad_line` reads the whole text, but each value is held
    on its own and one over the limit is reported and passed over, so that
    memory depends on the limit, not on the file. Fewer than two values are
    not reported as concatenated: a value and then text that is none are one
    broken value, as there; one value over the limit is reported as it was."""
    events = _value_events(_decoded(blocks, n), n, options.max_record_bytes)
    head, values = _to_second_value(events)
    two = values == 2
    if not two and head and isinstance(head[-1], _Stop):
        head = [*(e for e in head if isinstance(e, InputIssue)), _Stop(n)]
    yield from _value_items(itertools.chain(head, events), stats, concatenated_at=n if two else None)


def _to_second_value(events: Iterator[_Value | _Stop | InputIssue]) -> tuple[list[_Value | _Stop | InputIssue], int]:
    """The events up to the second value (all of them if there is none), and
    how many values they hold: whether the text is concatenated JSON is
    known there."""
    head: list[_Value | _Stop | InputIssue] = []
    values = 0
    for event in events:
        head.append(event)
        values += isinstance(event, _Value)
        if values == 2:
            break
    return head, values


@dataclass(frozen=True)
class _Value:
    """A value of concatenated JSON, at the line it starts on: as read, or a
    `_Skipped` when it is too large to read; `text` is what it was read from."""

    line: int
    data: Any
    text: str = ""


@dataclass(frozen=True)
class _Stop:
    """Where the reading of concatenated JSON stopped at text that is no JSON value."""

    line: int


def _value_items(events: Iterable[_Value | _Stop | InputIssue], stats: FileStats,
                 concatenated_at: int | None) -> Iterator[RawRecord | InputIssue]:
    """The records and findings of the values `_value_events` read; first,
    with `concatenated_at` (the line the text starts on), the one finding
    that says the text is concatenated JSON."""
    count = 0
    for event in events:
        if isinstance(event, InputIssue):
            yield event
        elif isinstance(event, _Stop):
            stats.malformed += 1
            after = f" after the {count} values before it" if count else ""  # (none: it is one broken value)
            yield InputIssue("malformed-json", f"not valid JSON{after}; the rest of it was not scanned", line=event.line)
        else:
            if count == 0 and concatenated_at is not None:
                yield InputIssue(
                    "nonstandard-json", "JSON values written one after another (concatenated JSON) where one is "
                    "expected: strict JSON readers refuse this, others keep only the first; each value was read and "
                    "scanned, at the line it starts on", line=concatenated_at)
            count += 1
            yield _value_item(event, stats)


def _value_item(value: _Value, stats: FileStats) -> RawRecord | InputIssue:
    data = value.data
    if isinstance(data, dict):
        stats.records += 1
        return RawRecord(data, line=value.line, readings=dupkeys.other_readings(value.text, data))
    stats.malformed += 1
    if isinstance(data, _Skipped):
        return InputIssue(data.code, f"value {data.message}; it was not scanned", line=value.line)
    return InputIssue("not-an-object", f"value is a JSON {_kind(data)}, not an object; it was not scanned", line=value.line)


# The characters of a number, and the start of one as far as it goes: a
# number that ends a piece of text may go on in the next (`12|34`, `1.|5`),
# which the parser would read as one value, or as one and garbage.
_NUMBER = re.compile(r"[-+.0-9eE]*")
_NUMBER_SO_FAR = re.compile(r"-?(?:0|[1-9][0-9]*)?(?:\.[0-9]*)?(?:[eE][-+]?[0-9]*)?")
_NUMBER_STARTS = "-0123456789"
# What a value too large to read can start with: a word (true, NaN) is never that long.
_LONG_VALUE_STARTS = '{["' + _NUMBER_STARTS


_WORDS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")  # as the lenient reading reads them


def _may_go_on(text: str) -> bool:
    """Whether `text`, a value the parser refused, may be a number or word
    cut short at its end."""
    return _number_goes_on(text, 0) or any(word.startswith(text) for word in _WORDS)


def _number_goes_on(text: str, start: int) -> bool:
    """Whether the value at `start` is a number that text after `text` may go on."""
    return text[start] in _NUMBER_STARTS and _NUMBER_SO_FAR.fullmatch(text, start) is not None


def _value_events(texts: Iterable[tuple[str, bool] | InputIssue], line: int,
                  max_bytes: int | None) -> Iterator[_Value | _Stop | InputIssue]:
    """The JSON values one after another in a text given in pieces (each with
    whether it is the last), read as `_values` reads them, each at the line
    it starts on (the text starts on `line`), one over `max_bytes` passed
    over (`_ValueReader`); and where reading stopped, if it did. Findings
    among the pieces are handed on where they come; a stream that fails (a
    cut or bomb) is reported at the line of the first value it kept from being read."""
    reader = _ValueReader(line, max_bytes)
    pieces = iter(texts)
    while not reader.stopped:
        try:
            piece = next(pieces)
        except StopIteration:
            return
        except _DECOMPRESS_ERRORS as exc:
            yield stream_issue(exc, "records", line=reader.line)
            return
        if isinstance(piece, InputIssue):
            yield piece
        else:
            yield from reader.read(*piece)


class _ValueReader:
    """Concatenated JSON read a piece of text at a time.

    A piece may end inside a value: the parser then fails with no line break
    after the point where it failed (no JSON string holds one), where a
    broken value fails before one. The value is read again with the next
    piece; an object, array or string cut short again has its end looked for
    (`_ValueEnd`) and is read once, whole, so that a large value is not
    parsed over and over. One over `max_bytes` is a `_Skipped`, passed over
    to its end without being held."""

    def __init__(self, line: int, max_bytes: int | None):
        self.line = line  # where `parts` starts
        self.max_bytes = max_bytes
        self.parts: list[str] = []  # the text not read yet, from the start of a value
        self.cut_short = False  # the value it starts with was cut short at the end of the text read
        self.extent: _ValueEnd | None = None  # looking for that value's end: cut short twice, or too large
        self.held = True  # ... keeping its text, to be read at its end (else passing over it)
        self.stopped = False

    def read(self, more: str, final: bool) -> Iterator[_Value | _Stop]:
        """The values that one more piece of text completes."""
        if self.extent is not None:
            after = yield from self._look_for_end(more, final)
            if after is None:
                return
            more = after
        text = "".join([*self.parts, more])
        values, stop, failed = _values(text)
        if not final and values and _number_goes_on(text, values[-1][0]):
            stop, failed = values.pop()[0], len(text)
        counted = 0
        for start, end, data in values:
            self.line, counted = self.line + text.count("\n", counted, start), start
            too_large = _over(text, start, end, self.max_bytes)
            yield _Value(self.line, _too_large(self.max_bytes) if too_large else data, "" if too_large else text[start:end])
        consumed = len(text) if stop is None else stop
        self.line += text.count("\n", counted, consumed)
        rest = text[consumed:]
        self.parts = [rest]
        was_cut_short, self.cut_short = self.cut_short and stop == 0, False  # (the same value, none read before it)
        if stop is not None:
            yield from self._refused(rest, failed if failed is None else failed - stop, final, was_cut_short)

    def _refused(self, rest: str, failed: int | None, final: bool, was_cut_short: bool) -> Iterator[_Value | _Stop]:
        """The value `rest` starts with, which the parser refused (at `failed` in it, None: too deep)."""
        if final or failed is None or rest.find("\n", failed) >= 0:
            yield self._stop()
        elif _over(rest, 0, len(rest), self.max_bytes):  # cut short: it goes on past all the text read
            if rest[0] not in _LONG_VALUE_STARTS:  # a word (true, NaN) is never that long: no JSON value
                yield self._stop()
                return
            yield _Value(self.line, _too_large(self.max_bytes))
            self.extent, self.held, self.parts = _ValueEnd(rest[0]), False, []
            after = yield from self._look_for_end(rest, final)
            if after is not None:
                self.parts = [after]
        elif was_cut_short and rest[0] in '{["':  # (a word or number is read again until it ends)
            self.extent, self.held = _ValueEnd(rest[0]), True
            if self.extent.end(rest) is not None:  # it ends in the text read, which the parser refused: broken
                yield self._stop()
        elif rest[0] not in '{["' and not _may_go_on(rest):
            yield self._stop()  # neither a number nor a word cut short: broken already, more text will not mend it
        else:
            self.cut_short = True

    def _look_for_end(self, more: str, final: bool) -> Generator[_Value, None, str | None]:
        """One more piece of the value whose end is looked for: the text to
        read once it ends (with the value's own, when it is held), else None."""
        assert self.extent is not None
        end = self.extent.end(more)
        if not self.held:
            self.line += more.count("\n", 0, end)
            if end is None:
                return None
            self.extent, self.held = None, True
            return more[end:]
        self.parts.append(more)
        if end is not None or final:
            self.extent = None
            return ""
        if self.max_bytes is not None and sum(map(len, self.parts)) > self.max_bytes:
            yield _Value(self.line, _too_large(self.max_bytes))
            self.line += sum(part.count("\n") for part in self.parts)
            self.parts, self.held = [], False
        return None

    def _stop(self) -> _Stop:
        self.stopped = True
        return _Stop(self.line)


def _over(text: str, start: int, end: int, max_bytes: int | None) -> bool:
    """Whether text[start:end] takes more than `max_bytes` in UTF-8 (None: no
    limit). A character takes 1 to 4 bytes: it is encoded only in doubt."""
    if max_bytes is None or 4 * (end - start) <= max_bytes:
        return False
    return end - start > max_bytes or len(text[start:end].encode("utf-8", "surrogatepass")) > max_bytes


_IN_STRING = re.compile(r'[^"\\\n]*(?:\\.[^"\\\n]*)*', re.S)  # unrolled: no state kept per character
_BRACKET_OR_QUOTE = re.compile(r'["{}\[\]]')
_WHOLE_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')
_NOT_BRACKET = re.compile(r'[^{}\[\]]+')
_DEPTH_CHANGE = {"{": 1, "[": 1, "}": -1, "]": -1}
_LINES_AT_ONCE = 1 << 16  # characters of whole lines gone over at once, at most: a value may end in them


class _ValueEnd:
    """Where one JSON value ends, in text given a window at a time, none of
    it held or parsed: for a value too large to read, passed over. Brackets
    are counted outside strings; a line break ends a string, as it ends the
    JSON value (none holds one), so that a broken value costs what follows
    its line at most. A number ends where its characters do (where the
    parser might split a run such as `1.2.3` or `1-2`: no record is a number).

    Inside the value, whole lines are gone over at once where their brackets
    do not close it (`_lines_stay_open`), and one mark at a time only where
    they might: the last lines of the value, and a line that breaks a string."""

    def __init__(self, first: str):
        self.depth = 0
        self.in_string = self.escaped = False
        self.number = first not in '{["'  # a number, at the top

    def end(self, text: str) -> int | None:
        """Just past the value's end in `text`; None when it goes on past `text`."""
        pos = one_by_one = 0  # one_by_one: up to where marks are read one at a time
        while pos < len(text):
            if self.number:
                pos = _NUMBER.match(text, pos).end()  # type: ignore[union-attr]  # it matches the empty string
                return pos if pos < len(text) else None
            if self.in_string:
                if self.escaped:  # the last window ended in a backslash
                    pos, self.escaped = pos + 1, False
                    continue
                pos = _IN_STRING.match(text, pos).end()  # type: ignore[union-attr]
                if pos == len(text):
                    return None
                if text[pos] == "\\":  # at the window's end: it escapes the next one's first character
                    self.escaped = True
                    return None
                self.in_string, pos = False, pos + 1
                if self.depth == 0 or text[pos - 1] == "\n":
                    return pos
                continue
            if self.depth > 0 and pos >= one_by_one:
                cut = text.rfind("\n", pos, pos + _LINES_AT_ONCE) + 1
                if cut > pos and self._lines_stay_open(text[pos:cut]):
                    pos = cut
                    continue
                one_by_one = cut
            m = _BRACKET_OR_QUOTE.search(text, pos)
            if m is None:
                return None
            pos, mark = m.end(), m.group()
            if mark == '"':
                self.in_string = True
            elif mark in "{[":
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth <= 0:
                    return pos
        return None

    def _lines_stay_open(self, lines: str) -> bool:
        """Whether the brackets of whole lines, outside their strings, leave
        the value open all along: then the depth moves on by them at once.
        False when they may close it, or a string in them is broken."""
        outside = _WHOLE_STRING.sub("", lines)
        if '"' in outside:
            return False
        levels = list(itertools.accumulate(map(_DEPTH_CHANGE.__getitem__, _NOT_BRACKET.sub("", outside)),
                                           initial=self.depth))
        if min(levels) <= 0:
            return False
        self.depth = levels[-1]
        return True


def _decoded(blocks: Iterator[bytes], n: int) -> Iterator[tuple[str, bool] | InputIssue]:
    """The text of UTF-8 blocks, each piece with whether it is the last, as
    `_bad_line` decodes the whole text: its first invalid byte reported
    (at line `n`, by its offset), every one replaced."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    read = 0
    for block, final in _marked_last(blocks):
        held = decoder.getstate()[0]  # the start of a character cut at the last block's end
        try:
            text = decoder.decode(block, final)
        except UnicodeDecodeError as exc:
            yield _invalid_utf8(read - len(held) + exc.start, n)
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            text = decoder.decode(held + block, final)
        read += len(block)
        yield text, final


def _marked_last(blocks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each block with whether it is the last. A stream that fails (a cut or
    bomb) hands on the block before the failure first, so that what it holds
    is read before the failure is reported."""
    block = next(blocks, b"")
    while True:
        try:
            following = next(blocks, None)
        except _DECOMPRESS_ERRORS:
            yield block, False
            raise
        yield block, following is None
        if following is None:
            return
        block = following


_SPACE = re.compile(r"[ \t\n\r]*")


def _values(text: str) -> tuple[list[tuple[int, int, Any]], int | None, int | None]:
    """The JSON values one after another in `text`, read leniently, each with
    the span it takes; where reading stopped at text that is no JSON value
    (None: at the end); and where the parser failed there (None: nested too
    deep to read, whatever follows)."""
    values: list[tuple[int, int, Any]] = []
    pos = _SPACE.match(text).end()  # type: ignore[union-attr]  # it matches the empty string
    while pos < len(text):
        try:
            data, end = decode_nested(_LENIENT.raw_decode, text, pos)
        except json.JSONDecodeError as exc:
            return values, pos, exc.pos
        except (ValueError, RecursionError):
            return values, pos, None
        data = _as_read(data, text, pos, end)
        if data is _TOO_DEEP:
            return values, pos, None
        values.append((pos, end, data))
        pos = _SPACE.match(text, end).end()  # type: ignore[union-attr]
    return values, None, None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _lenient_int(digits: str) -> int | float:
    """An integer as Python reads it, but one orjson could not write back
    (beyond 64 bits) becomes a float, and no 5000-digit string reaches int()."""
    if len(digits) <= 18:
        return int(digits)
    value = float(digits)
    return int(digits) if abs(value) < 2 ** 63 else value


_LENIENT = json.JSONDecoder(parse_int=_lenient_int)
_TOO_DEEP: Any = object()


def lenient_loads(text: str) -> Any:
    """Python's own JSON reading of `text` (NaN, Infinity, out-of-range
    numbers, lone surrogates, which orjson refuses), or `_NOT_JSON`, or
    `_TOO_DEEP` past `MAX_DEPTH` levels of nesting.
    Lone surrogates become U+FFFD so that the text can be encoded again."""
    try:
        data = decode_nested(_LENIENT.decode, text)
    except ValueError:
        return _NOT_JSON
    except RecursionError:
        return _TOO_DEEP
    return _as_read(data, text, 0, len(text))


def _as_read(data: Any, text: str, start: int, end: int) -> Any:
    """`data`, read leniently from `text[start:end]`, as the readers keep
    it: `_TOO_DEEP` past `MAX_DEPTH` levels of nesting, lone surrogates
    replaced. Nesting that deep needs more brackets than that, so a text
    with fewer is not walked (every line of a NaN-laden export comes here)."""
    brackets = text.count("{", start, end) + text.count("[", start, end)
    if brackets > MAX_DEPTH and _too_deep(data):
        return _TOO_DEEP
    return _replace_surrogates(data) if text.find("\\u", start, end) >= 0 else data


def decode_nested(decode: Callable[..., Any], *args: Any) -> Any:
    """`decode(*args)` (a method of a Python JSON decoder) for text nested up
    to `MAX_DEPTH` levels, as orjson reads it. Python's decoder recurses once
    per level and fails at the recursion limit, which counts every call
    under way (C calls too); the caller is less than the limit deep, so
    raising the limit by `MAX_DEPTH` and a margin leaves room for that many
    levels wherever it is called from (text nested deeper than that still
    raises RecursionError; `_too_deep` tells those in between)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(old + MAX_DEPTH + 64)
    try:
        return decode(*args)
    finally:
        sys.setrecursionlimit(old)


def _too_deep(data: Any) -> bool:
    """Whether objects and arrays nest more than `MAX_DEPTH` levels in `data`."""
    if not isinstance(data, (dict, list)):
        return False
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _replace_surrogates(data: Any) -> Any:
    """`data` with every lone surrogate in its strings (keys too) replaced."""
    fix = _LONE_SURROGATE.sub
    if isinstance(data, str):
        return fix("\ufffd", data)
    root = [data]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, value in items:
            if isinstance(value, str):
                value = fix("\ufffd", value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
            if isinstance(node, dict) and isinstance(key, str) and _LONE_SURROGATE.search(key):
                del node[key]
                node[fix("\ufffd", key)] = value
            else:
                node[key] = value
    return root[0]


def _kind(data: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(data), "null")


MAX_DEPTH = 1024  # nesting levels inside one record, as orjson allows for a JSONL line


def _read_array(first: bytes, stream: IO[bytes], stats: FileStats, options: ReadOptions,
                reopen: Callable[[], IO[bytes]] | None = None) -> Iterator[RawRecord | InputIssue]:
    """Elements of a JSON array, one at a time. Built from the parser's
    events (not `ijson.items`, whose cost grows with the square of the
    nesting depth): an element nested deeper than `MAX_DEPTH` or larger than
    `max_record_bytes` is reported and skipped, and the next one is read.

    The streaming parser stops at NaN or Infinity, and at bytes that are not
    UTF-8; then the file is read again (`reopen`) from the element where it
    stopped, with those words rewritten or those bytes replaced, so that
    nothing after it is lost."""
    import ijson

    start_bytes = stats.bytes - len(first)
    cursor = _Cursor()
    fixes: frozenset[str] = frozenset()
    source: Any = _Replayed(first.lstrip(), stream, stats)
    while True:
        try:
            yield from _array_items(source, stats, options, cursor, lenient=_NONSTANDARD in fixes)
            return
        except (ijson.JSONError, ValueError) as exc:  # ValueError: a number ijson cannot convert
            fix = _array_fix(exc)
            if reopen is None or fix is None or fix in fixes:
                stats.malformed += 1
                yield _broken_array(cursor.index, exc)
                return
            if fix == _NOT_UTF8:
                yield InputIssue("invalid-utf8", f"invalid UTF-8 in array element {cursor.index}; the array was read "
                                 "again from there with each invalid byte as a replacement character, and scanned",
                                 index=cursor.index)
        finally:
            if fixes:
                source.close()  # a reading of ours, not the caller's stream
        fixes |= {fix}
        stats.bytes = start_bytes  # the next reading counts them all again
        source = _reading_again(reopen, stats, fixes)


_NONSTANDARD, _NOT_UTF8 = "nonstandard", "not-utf8"
_ALL_FIXES = frozenset({_NONSTANDARD, _NOT_UTF8})


def _array_fix(exc: BaseException) -> str | None:
    """What a second reading of an array must fix for the parser to go on
    past `exc`, if anything can."""
    if isinstance(exc, UnicodeDecodeError) or "invalid bytes in UTF8" in _parser_error(exc):
        return _NOT_UTF8
    return _NONSTANDARD if _NONSTANDARD_WORD.search(_parser_error(exc)) else None


def _reading_again(reopen: Callable[[], IO[bytes]], stats: FileStats, fixes: frozenset[str]) -> Any:
    """The array's stream from its start again, with `fixes` applied; closed
    when the parser has read it to its end (or is dropped)."""
    stream = reopen()
    try:
        first = _first_block(stream, stats)
    except BaseException:
        stream.close()
        raise
    return _fixed(_Replayed(first.lstrip(), stream, stats), fixes)


def _fixed(source: Any, fixes: frozenset[str]) -> Any:
    """`source` read with `fixes`: each byte that is not UTF-8 as U+FFFD (as
    the JSONL reader reads it), NaN and Infinity rewritten."""
    if _NOT_UTF8 in fixes:
        source = TranscodingReader(source, "utf-8")
    return _Lenient(source) if _NONSTANDARD in fixes else source


def _parser_error(exc: BaseException) -> str:
    """The streaming parser's message as text: its C backend gives bytes."""
    message = exc.args[0] if exc.args else exc
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.split())


@dataclass
class _Cursor:
    index: int = 0  # the element being read


def _array_items(source: Any, stats: FileStats, options: ReadOptions, cursor: _Cursor,
                 lenient: bool = False) -> Iterator[RawRecord | InputIssue]:
    """Records of an array, from element `cursor.index` on (the ones before
    it were handed on by an earlier reading and are passed over)."""
    import ijson

    skip, cursor.index = cursor.index, 0
    repeats: list[tuple[Any, Any]] = []
    events = ijson.basic_parse(source, use_float=False)
    next(events)  # the array's own start
    for item in _elements(events, options.max_record_bytes, repeats, _lenient_number if lenient else _number):
        found, index = tuple(repeats), cursor.index
        repeats.clear()
        cursor.index += 1
        if index < skip:
            continue
        if isinstance(item, _Skipped):
            stats.malformed += 1
            yield InputIssue(item.code, f"array element {item.message}; it was not scanned", index=index)
        elif isinstance(item, dict):
            stats.records += 1
            if _not_finite(item):
                yield _nonstandard_element(index, lenient)
            yield RawRecord(item, index=index, readings=dupkeys.readings(item, dupkeys.grouped(found)) if found else None)
        else:
            stats.malformed += 1
            yield InputIssue("not-an-object", f"array element is a JSON {_kind(item)}, not an object; it was not scanned", index=index)
    for _ in events:  # anything after the closing bracket is an error
        pass


def _nonstandard_element(index: int, lenient: bool) -> InputIssue:
    if lenient:
        return InputIssue("nonstandard-json", "strict JSON parsers refuse this element (NaN, Infinity or a number beyond a double); it was read leniently and scanned", index=index)
    return InputIssue("nonstandard-json", "a number in this element is beyond the range of a double; it was read as infinity and the element scanned", index=index)


def _broken_array(index: int, exc: BaseException) -> InputIssue:
    return InputIssue("malformed-json", f"not valid JSON at element {index}: {_parser_error(exc)}; the rest of the "
                      "file was not scanned", index=index, final=True)


# The words a lenient parser reads and a strict one refuses, as the
# streaming parser's error shows them (it quotes the text around the error).
_NONSTANDARD_WORD = re.compile(r"NaN|Infinity")


# NaN and Infinity become number literals that the streaming parser reads
# and `_lenient_number` turns back (a file holding this very literal would
# read it as NaN too, in this second reading only).
_NAN_MARK = "1E-999999999"
_NAN_DECIMAL = Decimal(_NAN_MARK)
_WORD_MARKS = {b"NaN": _NAN_MARK.encode(), b"Infinity": b"1E+999999999", b"-Infinity": b"-1E+999999999"}
_OUTSIDE_STRING = re.compile(rb'"|-?Infinity|NaN')
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # unrolled: no state kept per character
_PARTIAL = b"-\\" + bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))


class _Lenient:
    """A JSON byte stream with NaN, Infinity and -Infinity outside strings
    rewritten as number literals. The string state is carried from block to
    block; a block's last letters and backslashes wait for the next one (a
    word or an escape may be cut there)."""

    def __init__(self, source: Any):
        self.source = source
        self.carry = b""
        self.in_string = False

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson probes with read(0) to tell bytes from text
        while True:
            chunk = self.source.read(size if size > 0 else BLOCK_SIZE)
            data = self.carry + chunk
            if not chunk:
                self.carry = b""
                return self._rewrite(data)
            cut = len(data) - min(len(data) - len(data.rstrip(_PARTIAL)), 16)
            self.carry = data[cut:]
            out = self._rewrite(data[:cut])
            if out:
                return out

    def close(self) -> None:
        self.source.close()

    def _rewrite(self, data: bytes) -> bytes:
        out: list[bytes] = []
        pos = 0
        while pos < len(data):
            if self.in_string:
                m = _STRING_REST.match(data, pos)
                if m is None:  # the string goes on in the next block
                    out.append(data[pos:])
                    break
                out.append(data[pos:m.end()])
                pos, self.in_string = m.end(), False
                continue
            m = _OUTSIDE_STRING.search(data, pos)
            if m is None:
                out.append(data[pos:])
                break
            out.append(data[pos:m.start()])
            word = m.group()
            out.append(word if word == b'"' else _WORD_MARKS[word])
            self.in_string = word == b'"'
            pos = m.end()
        return b"".join(out)


@dataclass(frozen=True)
class _Skipped:
    code: str
    message: str


def _too_large(max_bytes: int | None) -> _Skipped:
    return _Skipped("oversized-record", f"is larger than the limit of {max_bytes} bytes (see --max-record-bytes)")


_INF = float("inf")


def _not_finite(data: Any) -> bool:
    """Whether a built element holds an infinite number (from a number too
    large for a double, or a lenient reading's Infinity) or NaN."""
    stack = [data]
    while stack:
        node = stack.pop()
        for value in (node.values() if isinstance(node, dict) else node):
            if isinstance(value, float):
                if value in (_INF, -_INF) or value != value:
                    return True
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return False


def _number(value: Any) -> Any:
    """ijson's int or Decimal as the JSONL reader would give it: a float,
    or an int within 64 bits (orjson cannot write larger ones back)."""
    if isinstance(value, int):
        if -(2 ** 63) <= value < 2 ** 63:
            return value
        try:
            return float(value)
        except OverflowError:
            return _INF if value > 0 else -_INF
    return float(value)


def _lenient_number(value: Any) -> Any:
    """`_number`, with the mark `_Lenient` wrote for NaN read back as NaN."""
    if isinstance(value, Decimal) and value == _NAN_DECIMAL:
        return float("nan")
    return _number(value)


def _elements(events: Iterator[tuple[str, Any]], max_bytes: int, repeats: list[tuple[Any, Any]],
              number: Callable[[Any], Any] = _number) -> Iterator[Any]:
    """The top-level elements of an array from its parser events (the
    opening event already consumed), or a `_Skipped` for each element too
    deep or too large, whose remaining events are read and dropped. A key
    met twice in one object adds (its path, the value dropped) to `repeats`."""
    stack: list[Any] = []  # containers under construction
    keys: list[Any] = []  # the pending key of each mapping on the stack
    depth = 0  # nesting inside the current element, counting skipped levels
    size = 0  # bytes of strings and keys in the current element (an estimate of its size)
    skipped: _Skipped | None = None
    for event, value in events:
        if event == "start_map" or event == "start_array":
            depth += 1
            if skipped is not None:
                continue
            if depth > MAX_DEPTH:
                skipped = _Skipped("malformed-json", f"is nested more than {MAX_DEPTH} levels deep")
                stack.clear()
                keys.clear()
                continue
            stack.append({} if event == "start_map" else [])
            keys.append(None)
            continue
        if event == "end_map" or event == "end_array":
            if depth == 0:
                return  # the end of the array itself
            depth -= 1
            if skipped is not None:
                if depth == 0:
                    yield skipped
                    skipped, size = None, 0
                continue
            keys.pop()
            value = stack.pop()
        elif skipped is not None:
            continue
        elif event == "map_key":
            keys[-1] = value
            size += len(value)
            continue
        elif event == "number":
            value = number(value)
        elif event == "string":
            size += len(value)
        if size > max_bytes:
            skipped = _too_large(max_bytes)
            stack.clear()
            keys.clear()
            if depth == 0:
                yield skipped
                skipped, size = None, 0
            continue
        if not stack:
            yield value
            size = 0
        elif isinstance(stack[-1], list):
            stack[-1].append(value)
        else:
            if keys[-1] in stack[-1]:  # the parser keeps the last value: note the one dropped
                repeats.append((_key_path(stack, keys), stack[-1][keys[-1]]))
            stack[-1][keys[-1]] = value


def _key_path(stack: list[Any], keys: list[Any]) -> tuple[Any, ...]:
    """The path, in the element, of the pending key of the innermost mapping."""
    path = [keys[j] if isinstance(parent, dict) else len(parent) for j, parent in enumerate(stack[:-1])]
    return (*path, keys[-1])


def _read_single(first: bytes, stream: IO[bytes], stats: FileStats, options: ReadOptions,
                 first_line: int = 1) -> Iterator[RawRecord | InputIssue]:
    """One JSON document spread over lines, read whole (up to the record
    size limit); several values one after another are each read (`_bad_line`),
    streamed past the limit (`_streamed_values`)."""
    chunks = [first]
    size = len(first)
    while chunk := stream.read(BLOCK_SIZE):
        stats.bytes += len(chunk)
        size += len(chunk)
        chunks.append(chunk)
        if size > options.max_record_bytes:
            yield from _streamed_values(_chain(chunks, stream, stats), first_line, stats, options)
            return
    whole = b"".join(chunks)
    try:
        data = orjson.loads(whole)
    except orjson.JSONDecodeError as exc:
        yield from _bad_line(whole, first_line, str(exc), stats)
        return
    stats.records += 1
    yield RawRecord(data, line=first_line, readings=dupkeys.other_readings(whole, data))
