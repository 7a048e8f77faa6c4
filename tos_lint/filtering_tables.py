"""`tos-lint filter` for Parquet and Arrow IPC files (Hugging Face `datasets`
caches, Feather v2): a clean copy and a quarantined copy in the same format.

A table is read twice. The first pass goes through the scan's own reader,
so a row is a record, or is reported instead of read (over the record size
limit), exactly as the scan saw it. The second pass copies whole record
batches with pyarrow, every column as stored: the clean copy keeps the
input's schema (its metadata too) and, for Parquet, its compression and
row groups (an input row group's kept rows form one output row group). The
quarantine copy adds one string column, `_tos_lint_findings`, the JSON list
of each row's failing findings (or of the reason a row was not read); a
column of that name already in the input is replaced. Rows in a part of the
file pyarrow cannot decode are in neither copy, and the run says so.

The file must be the one the scan read (same SHA-256) and stay unchanged
from the first pass to the end of the second, or no copy is written.
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Protocol

from tos_lint import deepjson
from tos_lint.atomic import AtomicFile
from tos_lint.filtering import (
    CHANGED_SINCE_SCAN, FINDINGS_KEY, FilterCounts, differs_from_scan, drop_stale_copy, finish_copy, issue_note,
)
from tos_lint.model import Finding
from tos_lint.readers import FileSignature, FileStats, InputFile, InputIssue, RawRecord, ReadOptions, read_records
from tos_lint.tabular import arrow_errors, is_arrow_file

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

# Issues about a row that was read all the same: its fate is that of its record.
_ROW_STILL_READ = frozenset({"binary-field", "malformed-field"})
_HF_METADATA = b"huggingface"


class RowRuns:
    """A set of row indices kept as runs of consecutive ones: a table's rows
    arrive in order and nearly all are read, so a file of a hundred million
    rows is a run or a few, not a hundred million Python integers."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []  # exclusive

    def add(self, index: int) -> None:
        """Add `index`, at least as large as every index added before."""
        if self.ends and self.ends[-1] == index:
            self.ends[-1] += 1
        elif not self.ends or index > self.ends[-1]:
            self.starts.append(index)
            self.ends.append(index + 1)

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int):
            return False
        at = bisect.bisect_right(self.starts, index) - 1
        return at >= 0 and index < self.ends[at]


@dataclass
class RowFates:
    """What the first pass made of each row, by its 0-based index."""

    read: RowRuns = field(default_factory=RowRuns)  # rows read as records
    not_read: dict[int, InputIssue] = field(default_factory=dict)  # reported instead (over the size limit)
    stopped: str = ""  # a part of the file could not be decoded, or it changed while read

    def fate(self, index: int, failing: dict[int, list[Finding]]) -> list[dict[str, Any]] | None:
        """None for a clean row; the findings (as dicts) that quarantine it;
        [] for a row that is in neither copy (never decoded)."""
        if index in self.not_read:
            return issue_note(self.not_read[index])
        if index not in self.read:
            return []
        found = failing.get(index)
        return [f.to_dict() for f in found] if found else None


def row_fates(inp: InputFile, stats: FileStats, options: ReadOptions) -> RowFates:
    """Each row's fate, read as the scan reads the file."""
    fates = RowFates()
    for item in read_records(inp, stats, options):
        if isinstance(item, RawRecord):
            assert item.index is not None
            fates.read.add(item.index)
        elif item.code == "oversized-record" and item.index is not None:
            fates.not_read[item.index] = item
        elif item.code not in _ROW_STILL_READ and not fates.stopped:
            fates.stopped = f"{item.code}: {item.message}"
    return fates


def filter_table(inp: InputFile, kind: str, failing: dict[int, list[Finding]], counts: FilterCounts,
                 clean_path: Path, quarantine_path: Path, options: ReadOptions, scanned_sha256: str | None) -> None:
    """Fill `counts` for one Parquet or Arrow input and write its copies.
    `failing`: the failing findings by row index."""
    path = inp.fs_path
    assert path is not None
    before = FileSignature.of(path)
    stats = FileStats()
    fates = row_fates(inp, stats, options)
    if differs_from_scan(stats, scanned_sha256):
        counts.stopped = CHANGED_SINCE_SCAN  # nothing of it is counted: the copies would not be of what was judged
        _drop_stale_copies(clean_path, quarantine_path)
        return
    counts.records_in = stats.records + stats.malformed
    counts.unreadable = stats.malformed
    counts.stopped = fates.stopped
    table = _PARQUET if kind == "parquet" else _ARROW
    errors = arrow_errors()
    try:
        factory = table.writer(path)
    except errors as exc:  # the first pass said why already
        counts.stopped = counts.stopped or f"unreadable: {exc}"
        _drop_stale_copies(clean_path, quarantine_path)
        return
    with _TableOutput(clean_path, factory) as clean, _TableOutput(quarantine_path, factory) as quarantine:
        try:
            _copy_rows(table, path, fates, failing, clean, quarantine, counts)
        except errors as exc:  # the file cannot be opened again
            counts.stopped = counts.stopped or f"unreadable: {exc}"
        if FileSignature.of(path) != before:
            clean.abandon()
            quarantine.abandon()
            counts.records_in = counts.kept = counts.quarantined = counts.unreadable = 0
            counts.stopped = CHANGED_SINCE_SCAN
            return
    counts.unreadable_copied = len(fates.not_read)


def _drop_stale_copies(*paths: Path) -> None:
    for path in paths:
        drop_stale_copy(path)


def _copy_rows(table: "_Table", path: Path, fates: RowFates, failing: dict[int, list[Finding]],
               clean: "_TableOutput", quarantine: "_TableOutput", counts: FilterCounts) -> None:
    """Every row group (or record batch) of the file into the copies. A
    group that cannot be decoded is passed over, as the first pass did."""
    for group in table.groups(path):
        try:
            for batch, first in group:
                _split(batch, first, fates, failing, clean, quarantine, counts)
        except arrow_errors() as exc:  # rows the first pass could not read either: in neither copy
            counts.stopped = counts.stopped or f"unreadable: {exc}"
        clean.end_group()
        quarantine.end_group()


def _split(batch: "pa.RecordBatch", first: int, fates: RowFates, failing: dict[int, list[Finding]],
           clean: "_TableOutput", quarantine: "_TableOutput", counts: FilterCounts) -> None:
    """One record batch, whose first row has index `first`, into the copies."""
    import pyarrow as pa

    keep, out, notes = [], [], []
    for index in range(first, first + batch.num_rows):
        fate = fates.fate(index, failing)
        keep.append(fate is None)
        out.append(bool(fate))
        if fate:
            notes.append(deepjson.dumps(fate).decode("utf-8"))
            counts.quarantined += index in fates.read
        elif fate is None:
            counts.kept += 1
    clean.add(batch.filter(pa.array(keep, pa.bool_())))
    if notes:
        quarantine.add(with_findings(batch.filter(pa.array(out, pa.bool_())), notes))


def with_findings(batch: "pa.RecordBatch", notes: list[str]) -> "pa.RecordBatch":
    """`batch` with the findings column (JSON text per row) last, in place
    of any column of that name."""
    import pyarrow as pa

    schema = batch.schema
    keep = [i for i, name in enumerate(schema.names) if name != FINDINGS_KEY]
    columns = [batch.column(i) for i in keep] + [pa.array(notes, pa.string())]
    fields = [schema.field(i) for i in keep] + [pa.field(FINDINGS_KEY, pa.string())]
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, metadata=_with_findings_feature(schema.metadata)))


def _with_findings_feature(metadata: dict[bytes, bytes] | None) -> dict[bytes, bytes] | None:
    """The schema's metadata, with the findings column added to the column
    list that Hugging Face `datasets` keeps there (else it would refuse a
    column it has no feature for)."""
    if not metadata or _HF_METADATA not in metadata:
        return metadata
    try:
        info = json.loads(metadata[_HF_METADATA])
        info["info"]["features"][FINDINGS_KEY] = {"dtype": "string", "_type": "Value"}
    except (ValueError, KeyError, TypeError):
        return metadata  # not the layout `datasets` writes: left as it is
    return {**metadata, _HF_METADATA: json.dumps(info).encode("utf-8")}


class TableWriter(Protocol):
    def write(self, group: list["pa.RecordBatch"]) -> None: ...

    def close(self) -> None: ...


WriterFactory = Callable[[IO[bytes], "pa.Schema"], TableWriter]


class _TableOutput:
    """One output table, written to a temporary file and renamed into place
    on success. A row group's rows gather until the input's row group ends,
    then go out together. A copy with no row is not written (and an older
    copy at the path is removed, so no stale row survives a re-run)."""

    def __init__(self, path: Path, factory: WriterFactory):
        self.path, self.factory = path, factory
        self.pending: list["pa.RecordBatch"] = []
        self.target: AtomicFile | None = None
        self.raw: IO[bytes] | None = None
        self.writer: TableWriter | None = None
        self.count = 0

    def __enter__(self) -> "_TableOutput":
        return self

    def add(self, batch: "pa.RecordBatch") -> None:
        if batch.num_rows:
            self.pending.append(batch)
            self.count += batch.num_rows

    def end_group(self) -> None:
        if not self.pending:
            return
        if self.writer is None:
            self.target = AtomicFile(self.path)
            self.raw = self.target.open()
            self.writer = self.factory(self.raw, self.pending[0].schema)
        self.writer.write(self.pending)
        self.pending = []

    def abandon(self) -> None:
        """Write nothing: on exit the temporary file goes, and so does an
        older copy at the path."""
        self.count = 0

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        finally:
            if self.raw is not None:
                self.raw.close()
        finish_copy(self.target, self.path, self.count, exc_type is not None)


class _Table(Protocol):
    def groups(self, path: Path) -> Iterator[Iterator[tuple["pa.RecordBatch", int]]]:
        """Row groups (Parquet) or record batches (Arrow), each as its
        batches with the index of their first row, every column read."""

    def writer(self, path: Path) -> WriterFactory:
        """Writes copies in the format and with the settings of `path`."""


class _ParquetTable:
    def groups(self, path: Path) -> Iterator[Iterator[tuple["pa.RecordBatch", int]]]:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(str(path), memory_map=False)
        first = 0
        for rg in range(pf.metadata.num_row_groups):
            yield _numbered(pf.iter_batches(row_groups=[rg], use_threads=False), first)
            first += pf.metadata.row_group(rg).num_rows

    def writer(self, path: Path) -> WriterFactory:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(str(path), memory_map=False).metadata
        codec = _parquet_codec(meta)

        def open_writer(sink: IO[bytes], schema: "pa.Schema") -> TableWriter:
            return _ParquetWriter(pq.ParquetWriter(sink, schema, compression=codec))

        return open_writer


def _parquet_codec(meta: Any) -> str:
    """The input's compression, as pyarrow names it for writing (snappy when
    the file has no column to tell)."""
    if not meta.num_row_groups or not meta.num_columns:
        return "snappy"
    name = str(meta.row_group(0).column(0).compression).lower()
    return {"uncompressed": "none", "lz4_raw": "lz4"}.get(name, name)


class _ParquetWriter:
    def __init__(self, writer: Any):
        self.writer = writer

    def write(self, group: list["pa.RecordBatch"]) -> None:
        import pyarrow as pa

        self.writer.write_table(pa.Table.from_batches(group))  # one row group, as in the input

    def close(self) -> None:
        self.writer.close()


class _ArrowTable:
    def groups(self, path: Path) -> Iterator[Iterator[tuple["pa.RecordBatch", int]]]:
        import pyarrow as pa

        first = 0
        with path.open("rb") as source:
            if is_arrow_file(path):
                reader = pa.ipc.open_file(source)
                batches: Iterator["pa.RecordBatch"] = (reader.get_batch(i) for i in range(reader.num_record_batches))
            else:
                batches = iter(pa.ipc.open_stream(source))
            for batch in batches:
                yield iter([(batch, first)])
                first += batch.num_rows

    def writer(self, path: Path) -> WriterFactory:
        import pyarrow as pa

        new = pa.ipc.new_file if is_arrow_file(path) else pa.ipc.new_stream

        def open_writer(sink: IO[bytes], schema: "pa.Schema") -> TableWriter:
            return _ArrowWriter(new(sink, schema))

        return open_writer


class _ArrowWriter:
    def __init__(self, writer: Any):
        self.writer = writer

    def write(self, group: list["pa.RecordBatch"]) -> None:
        for batch in group:
            self.writer.write_batch(batch)

    def close(self) -> None:
        self.writer.close()


def _numbered(batches: Iterator["pa.RecordBatch"], first: int) -> Iterator[tuple["pa.RecordBatch", int]]:
    for batch in batches:
        yield batch, first
        first += batch.num_rows


_PARQUET: _Table = _ParquetTable()
_ARROW: _Table = _ArrowTable()
