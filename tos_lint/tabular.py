"""Tabular inputs: Parquet, Arrow IPC (Hugging Face `datasets`), CSV and TSV.

Each row becomes a `RawRecord` whose data is the row as a dict and whose
location is the file and the 0-based row index (`[index]` in output), so the
record adapters apply unchanged. Nothing holds a whole file: Parquet is read
one row group at a time in batches (`ParquetFile.iter_batches`), Arrow files one
record batch at a time, CSV through the standard library's streaming reader,
and every batch is turned into Python objects a slice at a time.

Only the columns that can hold text are read, with the id columns and
those holding a field some rule reads: numbers, booleans, dates and lists of
them (embeddings, scores) are left on disk. A row's content hash (its
identity in fingerprints when it has no id column) covers the columns read.

Rows read as the JSON objects they were written from (in the columns read):

- Parquet and Arrow have no "absent": a key missing from some records is a
  null column in the others. Null values inside rows and structs are
  dropped, so a `list<struct>` message column gives the same dicts (and the
  same content hash and fingerprint) as the JSONL it was made from.
- A `messages` / `conversations` / `conversation` column held as text (CSV
  cells, string columns) is parsed as JSON, else as a Python literal
  (`ast.literal_eval`, which evaluates no code; pandas' `str()` of a numpy
  array of dicts, `[{...}\\n {...}]`, is read too). A cell that is neither is
  reported (`malformed-field`) and the row is still scanned with the text as
  it is. DPO `chosen` / `rejected` cells are parsed when they hold a list and
  left as text otherwise.

Every column is read whatever its name: a repeated name gets `#2`, `#3`,
... by its occurrence (`unique_names`). Binary values that are UTF-8 are
read as text.

Problems become `InputIssue`s with the row index: a CSV row with the wrong
number of fields or a CSV syntax error (`malformed-csv`, not scanned; a
row that spans lines costs only its first, the lines after it are read
again, see `_LineFeed`), a field or row over `max_record_bytes`
(`oversized-record`), invalid UTF-8 (`invalid-utf8`, scanned with
replacement characters), UTF-16 or UTF-32 CSV (`not-utf8`, read
converted), a binary value that is not text (`binary-field`, once per
column, not scanned), a Parquet row group or Arrow batch that cannot be
decoded (`malformed-parquet` / `malformed-arrow`: those rows are not
scanned, reading goes on with the next row group), a file that is not
Parquet or Arrow at all.

Hugging Face layouts on disk (no network is ever used):

- A `save_to_disk` folder (`dataset_info.json`, `state.json`,
  `data-00000-of-0000N.arrow`; a `DatasetDict` has one such folder per split
  and a `dataset_dict.json`) is scanned as its Arrow files, each one input:
  locations name the real file, and shards run on different cores. The
  metadata files beside them are not records and are skipped.
- The hub cache (`.../datasets--org--name/{blobs,refs,snapshots/<rev>/...}`)
  is scanned through `snapshots/`: only the revision `refs/main` names when
  there is one (else every snapshot), never `blobs/` (the same bytes under
  hash names). `models--*` and `spaces--*` next to `datasets--*` folders are
  not data and are skipped. Parquet, JSON and JSONL files in a snapshot are
  read by their own readers.
"""
from __future__ import annotations

import ast
import collections
import csv
import io
import itertools
import re
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator

import orjson

from tos_lint.readers import (
    _DECOMPRESS_ERRORS, BLOCK_SIZE, FileStats, HashingReader, InputFile, InputIssue, RawRecord, ReadOptions,
    TranscodingReader, _Replayed, _strip_compression, _wide_encoding, not_utf8, open_input, oversized, stream_issue,
)

if TYPE_CHECKING:
    import pyarrow as pa

PARQUET_EXTS = (".parquet", ".pq")
ARROW_EXTS = (".arrow", ".feather", ".ipc")
CSV_EXTS = (".csv",)
TSV_EXTS = (".tsv", ".tab")
TABULAR_EXTS = PARQUET_EXTS + ARROW_EXTS + CSV_EXTS + TSV_EXTS

# Columns that hold a list of messages; as text, they must parse.
MESSAGE_COLUMNS = ("messages", "conversations", "conversation")
# Columns that may hold a list of messages or plain text (DPO).
MAYBE_MESSAGE_COLUMNS = ("chosen", "rejected")

# Rows are turned into Python objects this many decoded bytes at a time.
CONVERT_BYTES = 8 << 20
MAX_BATCH_ROWS = 4096
HF_METADATA = frozenset({"dataset_info.json", "state.json", "dataset_dict.json", "dataset_infos.json"})
HUB_REPO_PREFIXES = ("datasets--", "models--", "spaces--")
_NUMPY_ITEM_GAP = re.compile(r"\}\s+\{")
_SURROGATE = re.compile("[\udc80-\udcff]")


def kind_of(name: str) -> str | None:
    """`parquet`, `arrow`, `csv` or `tsv` for a tabular file name, else None.
    CSV and TSV may be compressed; Parquet and Arrow compress inside."""
    lower = name.lower()
    if lower.endswith(PARQUET_EXTS):
        return "parquet"
    if lower.endswith(ARROW_EXTS):
        return "arrow"
    plain = _strip_compression(lower)
    if plain.endswith(CSV_EXTS):
        return "csv"
    if plain.endswith(TSV_EXTS):
        return "tsv"
    return None


def read_table(inp: InputFile, kind: str, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """Records of one tabular file (`kind` from `kind_of`)."""
    assert inp.fs_path is not None
    if kind == "parquet":
        yield from read_parquet(inp.fs_path, stats, options)
    elif kind == "arrow":
        yield from read_arrow(inp.fs_path, stats, options)
    else:
        yield from read_csv(inp, stats, options, "\t" if kind == "tsv" else ",")


# --- rows ----------------------------------------------------------------------

def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def parse_messages_text(text: str) -> Any:
    """A list or dict written as JSON or as a Python literal, or None."""
    s = text.strip()
    if not s or s[0] not in "[{":
        return None
    try:
        return orjson.loads(s)
    except orjson.JSONDecodeError:
        pass
    for candidate in (s, _NUMPY_ITEM_GAP.sub("}, {", s) if s[0] == "[" else None):
        if candidate is None:
            continue
        try:
            value = ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, (list, dict)):
            return value
    return None


def _parse_columns(row: dict[str, Any]) -> str | None:
    """Parse message columns held as text, in place; say what failed."""
    problem = None
    for key in MESSAGE_COLUMNS + MAYBE_MESSAGE_COLUMNS:
        value = row.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        parsed = parse_messages_text(value)
        if isinstance(parsed, (list, dict)):
            row[key] = parsed
        elif key in MESSAGE_COLUMNS and problem is None:
            problem = f'column "{key}" is neither a JSON nor a Python list; scanned as text'
    return problem


def _row_items(row: dict[str, Any], index: int, stats: FileStats, options: ReadOptions,
               line: int | None = None) -> Iterator[RawRecord | InputIssue]:
    problem = _parse_columns(row)
    if problem is not None:
        yield InputIssue("malformed-field", problem, line, index)
    stats.records += 1
    if options.line_filter is not None and not options.line_filter(_as_line(row)):
        stats.prefiltered += 1
        return
    yield RawRecord(row, line, index)


def _as_line(row: dict[str, Any]) -> bytes:
    """The row as one JSON line, for the raw-line prefilter: every string of
    the row sits in it whole, which is all the prefilter relies on."""
    try:
        return orjson.dumps(row, default=str)
    except TypeError:
        return b"\\u"  # not serialisable: a form the prefilter always lets through


def unique_names(names: Iterable[str]) -> list[str]:
    """Column names made distinct, so that the row as a dict keeps every
    column: a repeated name gets `#2`, `#3`, ... by its occurrence
    (`text, text` -> `text, text#2`; three blank names -> `, #2, #3`)."""
    out: list[str] = []
    taken: set[str] = set()
    for name in names:
        candidate, k = name, 1
        while candidate in taken:
            k += 1
            candidate = f"{name}#{k}"
        taken.add(candidate)
        out.append(candidate)
    return out


class _Rows:
    """Turns the record batches of one file into rows: repeated column
    names made distinct, binary values that hold UTF-8 text decoded (other
    binary values reported once per column, not scanned), and rows over
    `max_record_bytes` reported instead of scanned."""

    def __init__(self, stats: FileStats, options: ReadOptions):
        self.stats, self.options = stats, options
        self.binary_reported: set[str] = set()

    def batch(self, batch: "pa.RecordBatch", first_index: int) -> Iterator[RawRecord | InputIssue]:
        """The rows of a record batch, converted a slice at a time."""
        n = batch.num_rows
        if n == 0:
            return
        if len(set(batch.schema.names)) < batch.num_columns:
            batch = batch.rename_columns(unique_names(batch.schema.names))
        nbytes = batch.nbytes
        self.stats.bytes += nbytes
        binary = any(_may_hold_binary(f.type) for f in batch.schema)
        # no row can be larger than the batch: only then is each measured
        measure = nbytes > self.options.max_record_bytes
        step = max(1, min(n, CONVERT_BYTES * n // max(nbytes, 1)))
        for start in range(0, n, step):
            rows = batch.slice(start, step).to_pylist(maps_as_pydicts="lossy")
            for offset, row in enumerate(rows):
                yield from self._row(row, first_index + start + offset, binary, measure)

    def _row(self, row: dict[str, Any], index: int, binary: bool, measure: bool) -> Iterator[RawRecord | InputIssue]:
        undecoded: dict[str, None] = {}
        row = _decoded(row, None, undecoded) if binary else _without_nulls(row)
        for column in undecoded:
            if column not in self.binary_reported:
                self.binary_reported.add(column)
                yield InputIssue("binary-field", f'column "{column}" holds bytes that are not UTF-8 text (binary data such as '
                                 "an image); such values are not scanned (first at this row, reported once)", index=index)
        if measure and _text_size(row) > self.options.max_record_bytes:
            self.stats.malformed += 1
            yield oversized(self.options, "row", index=index)
            return
        yield from _row_items(row, index, self.stats, self.options)


def _may_hold_binary(t: "pa.DataType") -> bool:
    import pyarrow.types as pt

    return _anywhere(t, lambda leaf: pt.is_binary(leaf) or pt.is_large_binary(leaf) or pt.is_fixed_size_binary(leaf)
                     or pt.is_binary_view(leaf))


def _decoded(value: Any, where: _Where, undecoded: dict[str, None]) -> Any:
    """`_without_nulls`, and bytes that are UTF-8 decoded to text; bytes
    that are not are left out, their column (see `_column`) added to
    `undecoded`. `where`: the keys down to `value`, named only for bytes
    that are not text. Values that hold nothing to decode are kept without
    a call: most of a row is strings and numbers."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, _NESTED):
                v = _decoded(v, (where, k), undecoded)
                if v is _UNDECODED:
                    continue
            elif v is None:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        items = [_decoded(v, where, undecoded) if isinstance(v, _NESTED) else v for v in value]
        # `in` (identity first, in C) spares the copy of a list with nothing left out
        return [v for v in items if v is not _UNDECODED] if _UNDECODED in items else items
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            undecoded[_column(where)] = None
            return _UNDECODED
    return value


# Where a value is in a row: (where its dict is, its key), None for the row
# itself; list positions are left out, as in a column's name.
_Where = tuple[Any, Any] | None
_NESTED = (dict, list, bytes)
_UNDECODED = object()


def _column(where: _Where) -> str:
    """The column a value is in, as the binary-field issue names it: its
    keys from the top joined by '/'."""
    keys = []
    while where is not None:
        where, key = where
        keys.append(key)
    column = ""
    for key in reversed(keys):
        column = f"{column}/{key}" if column else str(key)
    return column


def _text_size(value: Any) -> int:
    """Characters of text in a row (keys and values), as a CSV row's size is counted."""
    if isinstance(value, dict):
        return sum(len(str(k)) + _text_size(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_text_size(v) for v in value)
    return len(value) if isinstance(value, str) else 8


# --- Parquet -------------------------------------------------------------------

def arrow_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowException, OSError, ValueError)


def read_parquet(path: Path, stats: FileStats, options: ReadOptions,
                 row_groups: range | None = None) -> Iterator[RawRecord | InputIssue]:
    """Rows of a Parquet file (of `row_groups` only, for a split file; the
    file is then not hashed, its scan as a whole does that)."""
    import pyarrow.parquet as pq

    errors = arrow_errors()
    try:
        pf = pq.ParquetFile(str(path), memory_map=False, buffer_size=1 << 20, pre_buffer=False)
    except errors as exc:
        yield InputIssue("malformed-parquet", f"not a readable Parquet file: {exc}; it was not scanned")
        _hash_file(path, stats, row_groups is None)
        return
    meta = pf.metadata
    columns = _columns(options, pf.schema_arrow)
    groups = row_groups if row_groups is not None else range(meta.num_row_groups)
    first = sum(meta.row_group(i).num_rows for i in range(groups.start))
    rows = _Rows(stats, options)
    for rg in groups:
        group = meta.row_group(rg)
        yield from _read_row_group(pf, rg, first, group.num_rows, group.total_byte_size, columns, rows, errors)
        first += group.num_rows
    _hash_file(path, stats, row_groups is None)


def _read_row_group(pf: Any, rg: int, first: int, num_rows: int, nbytes: int, columns: list[str] | None,
                    rows: _Rows, errors: tuple[type[BaseException], ...]) -> Iterator[RawRecord | InputIssue]:
    row_bytes = max(1, nbytes // max(num_rows, 1))
    batch_size = max(16, min(MAX_BATCH_ROWS, CONVERT_BYTES // row_bytes))
    done = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_size, row_groups=[rg], columns=columns, use_threads=False):
            yield from rows.batch(batch, first + done)
            done += batch.num_rows
    except errors as exc:
        rows.stats.malformed += num_rows - done
        yield InputIssue(
            "malformed-parquet",
            f"row group {rg} could not be read ({exc}); rows {first + done} to {first + num_rows - 1} were not scanned",
            index=first + done,
        )


def _columns(options: ReadOptions, schema: "pa.Schema") -> list[str] | None:
    """The columns to read: those asked for; else every column that can
    hold text, the id columns, and columns holding a field that a rule reads.
    Numbers, booleans, dates and lists of them (embeddings, scores) cannot
    hold provider text, and turning them into Python objects can cost more
    than the rest of the row. None: every column."""
    from tos_lint.adapters import DIRECTIVE_KEY, ID_FIELDS

    always = set(ID_FIELDS) | {DIRECTIVE_KEY} | set(options.field_names)
    if options.columns is not None:
        return [n for n in schema.names if n in set(options.columns) | always]
    keep = [f.name for f in schema if f.name in always or _may_hold_text(f.type) or _field_names(f.type) & always]
    # a name held by several columns is asked for once: that reads all of them
    return None if len(keep) == len(schema.names) else list(dict.fromkeys(keep))


def _may_hold_text(t: "pa.DataType") -> bool:
    """False for types that cannot hold a string anywhere inside them;
    True for strings, binary (text is sometimes stored so) and anything
    not known to be text-free."""
    import pyarrow.types as pt

    return _anywhere(t, lambda leaf: not (pt.is_null(leaf) or pt.is_boolean(leaf) or pt.is_integer(leaf)
                                          or pt.is_floating(leaf) or pt.is_decimal(leaf) or pt.is_temporal(leaf)))


def _anywhere(t: "pa.DataType", leaf: Callable[["pa.DataType"], bool]) -> bool:
    """Whether `leaf` is true of a type that is not a container, found in
    `t` or nested in it (list items, dictionary values, map keys and items,
    struct fields)."""
    import pyarrow.types as pt

    if _is_list(t) or pt.is_dictionary(t):
        return _anywhere(t.value_type, leaf)
    if pt.is_map(t):
        return _anywhere(t.key_type, leaf) or _anywhere(t.item_type, leaf)
    if pt.is_struct(t):
        return any(_anywhere(t.field(i).type, leaf) for i in range(t.num_fields))
    return leaf(t)


def _is_list(t: "pa.DataType") -> bool:
    import pyarrow.types as pt

    return pt.is_list(t) or pt.is_large_list(t) or pt.is_fixed_size_list(t)


def _field_names(t: "pa.DataType") -> set[str]:
    """Names of the struct fields nested anywhere in a type."""
    import pyarrow.types as pt

    if _is_list(t):
        return _field_names(t.value_type)
    if pt.is_struct(t):
        return {name for i in range(t.num_fields) for name in {t.field(i).name} | _field_names(t.field(i).type)}
    return set()


def parquet_row_group_ranges(path: Path, target_bytes: int) -> list[tuple[int, int, int]]:
    """Runs of consecutive row groups of about `target_bytes` (decoded)
    each, as (first, end, stored bytes): the units a large Parquet file is
    split into. One run when the file cannot be split (or read)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(str(path)).metadata
    except arrow_errors():
        return []
    runs: list[tuple[int, int, int]] = []
    start, decoded, stored = 0, 0, 0
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        decoded += group.total_byte_size
        stored += sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        if decoded >= target_bytes:
            runs.append((start, rg + 1, stored))
            start, decoded, stored = rg + 1, 0, 0
    if start < meta.num_row_groups:
        runs.append((start, meta.num_row_groups, stored))
    return runs


# --- Arrow IPC (Hugging Face `datasets`, Feather v2) ------------------------------

def read_arrow(path: Path, stats: FileStats, options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """Rows of an Arrow IPC file: the stream format that `datasets` writes
    (read and hashed in one pass) or the file format (Feather v2)."""
    errors = arrow_errors()
    try:
        random_access = is_arrow_file(path)
    except OSError as exc:
        yield InputIssue("unreadable", f"cannot open: {exc.strerror or exc}", final=True)
        return
    if random_access:
        yield from _read_arrow_file(path, stats, options, errors)
        _hash_file(path, stats, True)
        return
    hasher = HashingReader(path.open("rb"))
    try:
        yield from _read_arrow_stream(hasher, stats, options, errors)
    finally:
        hasher.drain()
        stats.size, stats.sha256 = hasher.size, hasher.digest.hexdigest()
        hasher.close()


def is_arrow_file(path: Path) -> bool:
    """Whether an Arrow IPC file is in the random-access file format
    (Feather v2), not the stream format: its magic bytes."""
    with path.open("rb") as head:
        return head.read(6) == b"ARROW1"


def _read_arrow_stream(source: IO[bytes] | HashingReader, stats: FileStats, options: ReadOptions,
                       errors: tuple[type[BaseException], ...]) -> Iterator[RawRecord | InputIssue]:
    import pyarrow as pa

    try:
        reader = pa.ipc.open_stream(source)
    except errors as exc:
        yield InputIssue("malformed-arrow", f"not a readable Arrow file: {exc}; it was not scanned")
        return

    def batch(_: int) -> Any:
        try:
            return reader.read_next_batch()
        except StopIteration:
            return None

    yield from _arrow_rows(batch, reader.schema, stats, options, errors,
                           lambda i, first, exc: f"record batch could not be read ({exc}); rows from {first} on were not scanned")


def _read_arrow_file(path: Path, stats: FileStats, options: ReadOptions,
                     errors: tuple[type[BaseException], ...]) -> Iterator[RawRecord | InputIssue]:
    import pyarrow as pa

    try:
        reader = pa.ipc.open_file(pa.OSFile(str(path)))
    except errors as exc:
        yield InputIssue("malformed-arrow", f"not a readable Arrow file: {exc}; it was not scanned")
        return
    yield from _arrow_rows(lambda i: reader.get_batch(i) if i < reader.num_record_batches else None,
                           reader.schema, stats, options, errors,
                           lambda i, first, exc: f"record batch {i} could not be read ({exc}); its rows were not scanned")


def _arrow_rows(batch: Callable[[int], Any], schema: "pa.Schema", stats: FileStats, options: ReadOptions,
                errors: tuple[type[BaseException], ...],
                unreadable: Callable[[int, int, BaseException], str]) -> Iterator[RawRecord | InputIssue]:
    """The rows of record batches `batch(0)`, `batch(1)`, ... (None: no
    more), in the columns `_columns` picks; reading stops at a batch that
    cannot be decoded, reported with `unreadable(index, first row, error)`."""
    columns = _columns(options, schema)
    # by position: a name several columns share cannot select them
    positions = None if columns is None else [i for i, name in enumerate(schema.names) if name in set(columns)]
    rows = _Rows(stats, options)
    first = 0
    for i in itertools.count():
        try:
            current = batch(i)
        except errors as exc:
            yield InputIssue("malformed-arrow", unreadable(i, first, exc), index=first)
            return
        if current is None:
            return
        if positions is not None:
            current = current.select(positions)
        yield from rows.batch(current, first)
        first += current.num_rows


def _hash_file(path: Path, stats: FileStats, whole: bool) -> None:
    """Size and SHA-256 for the audit manifest: random-access formats are
    hashed in a second, sequential pass."""
    if not whole:
        return
    from tos_lint.verify import file_digest

    try:
        stats.size, stats.sha256 = file_digest(path)
    except OSError:
        return


# --- CSV / TSV -----------------------------------------------------------------

class _Counted(io.RawIOBase):
    """The decoded byte stream, counted into `stats.bytes`. A read may hand
    back more than asked for (UTF-16 text read as UTF-8 grows): the rest is
    kept for the next read."""

    def __init__(self, stream: IO[bytes] | TranscodingReader | _Replayed, stats: FileStats):
        self.stream = stream
        self.stats = stats
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.pending or self.stream.read(len(buffer))
        n = min(len(data), len(buffer))
        buffer[:n] = data[:n]
        self.pending = data[n:]
        self.stats.bytes += n
        return n


class _LineFeed:
    """The physical lines `csv.reader` reads, numbered from 1. The lines of
    the row being read are kept until it parses: a row that does not (a
    quote opened and never closed, text after a closing quote) costs only
    its first line, and the lines after it are read again as rows of their
    own. Otherwise a stray quote would swallow every line up to the next
    quote, or to the end of the file, with one finding for all of them."""

    def __init__(self, text: Iterator[str]):
        self.text = text
        # the lines to read again: always the last ones read, in order, so
        # their numbers follow from `read`
        self.again: collections.deque[str] = collections.deque()
        self.row: list[str] = []
        self.read = 0  # lines read from the file

    def __iter__(self) -> "_LineFeed":
        return self

    def __next__(self) -> str:
        if self.again:
            line = self.again.popleft()
        else:
            line = next(self.text)
            self.read += 1
        self.row.append(line)
        return line

    def start_row(self) -> int:
        """Forget the lines of the last row; the line the next row starts on."""
        self.row.clear()
        return self.read - len(self.again) + 1

    def read_again(self) -> int:
        """Give the row being read up but for its first line: the lines after
        it are read again. How many that is."""
        rest = self.row[1:]
        self.again.extendleft(reversed(rest))
        self.row.clear()
        return len(rest)


def read_csv(inp: InputFile, stats: FileStats, options: ReadOptions, delimiter: str) -> Iterator[RawRecord | InputIssue]:
    """Rows of a CSV or TSV file (optionally compressed; UTF-8, or UTF-16 or
    UTF-32 read converted), the first row being the header. Fields may span
    lines when quoted, TSV fields too (as pandas and spreadsheets write them)."""
    assert inp.fs_path is not None
    try:
        hasher = HashingReader(inp.fs_path.open("rb"))
        stream = open_input(inp, hasher, options.limits)
    except OSError as exc:
        yield InputIssue("unreadable", f"cannot open: {exc.strerror or exc}", final=True)
        return
    # The limit is global to the csv module; every reader here sets the same one.
    csv.field_size_limit(options.max_record_bytes)
    try:
        head = stream.read(BLOCK_SIZE)
        source: TranscodingReader | _Replayed = _Replayed(head, stream)
        if (wide := _wide_encoding(head)) is not None:
            yield not_utf8(wide[1], "lines and rows hold, byte counts are of the UTF-8 form")
            source = TranscodingReader(stream, wide[0], head)
        text = io.TextIOWrapper(io.BufferedReader(_Counted(source, stats), BLOCK_SIZE),
                                encoding="utf-8-sig", errors="surrogateescape", newline="")
        feed = _LineFeed(text)
        # strict: a quote left open, or text after a closing quote, is an
        # error reported for its row, not a field silently swallowing rows
        yield from _csv_rows(csv.reader(feed, delimiter=delimiter, strict=True), feed, stats, options)
    except _DECOMPRESS_ERRORS as exc:
        yield stream_issue(exc, "rows", index=stats.records + stats.malformed)
    finally:
        hasher.drain()
        stats.size, stats.sha256 = hasher.size, hasher.digest.hexdigest()
        stream.close()
        hasher.close()


def _csv_rows(rows: Iterator[list[str]], feed: _LineFeed, stats: FileStats,
              options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    """Records and problems, each at the line its row starts on (a quoted
    field may span lines) and its index among the data rows."""
    header: list[str] | None = None
    index = 0
    while True:
        line = feed.start_row()
        try:
            fields = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            if header is None:
                yield InputIssue("malformed-csv", f"the header row could not be read ({exc}); the file was not scanned")
                return
            stats.malformed += 1
            yield _csv_error(exc, line, index, options, feed.read_again())
            index += 1
            continue
        if not fields:
            continue  # a blank line
        if header is None:
            header = unique_names(_clean(h) for h in fields)
            continue
        yield from _csv_row(header, fields, line, index, stats, options)
        index += 1


def _csv_error(exc: csv.Error, line: int, index: int, options: ReadOptions, again: int) -> InputIssue:
    after = f"; the {again} line(s) after this one are read again as rows" if again else ""
    if "field larger than field limit" in str(exc):
        return InputIssue("oversized-record", f"a field is larger than the limit of {options.max_record_bytes} bytes; "
                          f"row not scanned (see --max-record-bytes){after}", line, index)
    if "unexpected end of data" in str(exc):
        return InputIssue("malformed-csv", f"not valid CSV: a quote opened on this line is never closed; "
                          f"this line is not scanned{after}", line, index)
    return InputIssue("malformed-csv", f"not valid CSV: {exc}; row not scanned{after}", line, index)


def _csv_row(header: list[str], fields: list[str], line: int, index: int, stats: FileStats,
             options: ReadOptions) -> Iterator[RawRecord | InputIssue]:
    if len(fields) != len(header):
        stats.malformed += 1
        yield InputIssue("malformed-csv", f"row has {len(fields)} fields, the header has {len(header)}; row not scanned", line, index)
        return
    if sum(len(f) for f in fields) > options.max_record_bytes:
        stats.malformed += 1
        yield oversized(options, "row", line, index)
        return
    if any(_SURROGATE.search(f) for f in fields):
        yield InputIssue("invalid-utf8", "invalid UTF-8 in the row; scanned with replacement characters", line, index)
        fields = [_clean(f) for f in fields]
    yield from _row_items(dict(zip(header, fields)), index, stats, options, line)


def _clean(text: str) -> str:
    """Undo `surrogateescape`: undecodable bytes become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


# --- Hugging Face layouts ---------------------------------------------------------

def is_hf_metadata(path: Path) -> bool:
    """A `datasets` metadata file beside the data it describes (not records)."""
    if path.name not in HF_METADATA:
        return False
    folder = path.parent
    if path.name == "dataset_dict.json":
        return any(_has_arrow(child) for child in folder.iterdir() if child.is_dir())
    if path.name == "dataset_infos.json":
        return in_hub_snapshot(folder) or _has_arrow(folder)
    return _has_arrow(folder)


def _has_arrow(folder: Path) -> bool:
    return any(p.name.lower().endswith(ARROW_EXTS) for p in folder.iterdir())


def in_hub_snapshot(folder: Path) -> bool:
    parts = folder.absolute().parts
    return any(a.startswith(HUB_REPO_PREFIXES) and b == "snapshots" for a, b in zip(parts, parts[1:]))


def prune_dirs(dirpath: Path, dirnames: Iterable[str]) -> list[str]:
    """The sub-folders of `dirpath` worth walking, for hub-cache layouts."""
    names = list(dirnames)
    if dirpath.name.startswith(HUB_REPO_PREFIXES) and "snapshots" in names:
        return ["snapshots"]  # not blobs/ (the same files by hash) nor refs/
    if dirpath.name == "snapshots" and dirpath.parent.name.startswith(HUB_REPO_PREFIXES):
        current = _hub_ref(dirpath.parent)
        return [current] if current in names else names
    if any(n.startswith("datasets--") for n in names):
        return [n for n in names if not n.startswith(("models--", "spaces--"))]
    return names


def _hub_ref(repo: Path, ref: str = "main") -> str | None:
    try:
        return (repo / "refs" / ref).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def columns_for_field_map(field_map: dict[str, list[str]] | None) -> tuple[str, ...] | None:
    """The top-level columns a field map reads (None: no field map, so the
    columns that can hold text). Id columns and the fields rules read are
    added by the reader."""
    if not field_map:
        return None
    from tos_lint.adapters import top_level_field

    return tuple(sorted({top_level_field(k) for keys in field_map.values() for k in keys}))
