"""`tos-lint filter`: split datasets into a clean copy and a quarantine.

Parquet and Arrow inputs are copied by `tos_lint.filtering_tables`, CSV and
TSV by `tos_lint.filtering_csv`; this module writes JSON and JSONL, and runs
them all.

Each input file gets a clean copy (records that pass the policy) and a
quarantined copy (records with a failing finding, each carrying its findings
under `_tos_lint_findings`), in the same format and compression, at the same
relative path under the two output folders. JSONL lines are copied byte for
byte; a line that is no record (not JSON, not an object) goes to the
quarantine copy as `{"_tos_lint_unreadable": {"line", "text" or "base64"},
"_tos_lint_findings": [...]}`. Inputs are never opened for writing; an output that is an input is
refused; every output is written to a temporary file and renamed into place.
At the end, records in = kept + quarantined + unreadable, and every input
was read to its end, or the run fails.
"""
from __future__ import annotations

import base64
import bz2
import gzip
import lzma
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Container, Iterable, Iterator, Mapping

from tos_lint import deepjson
from tos_lint.atomic import AtomicFile
from tos_lint.errors import UsageError
from tos_lint.model import Finding
from tos_lint.policy import INPUT_RULE_PREFIX, Verdict
from tos_lint.readers import FileStats, InputFile, InputIssue, RawRecord, ReadOptions, compression_of, read_records

FINDINGS_KEY = "_tos_lint_findings"
UNREADABLE_KEY = "_tos_lint_unreadable"  # a line that is no record, in the quarantine copy


@dataclass
class FilterCounts:
    path: str
    records_in: int = 0
    kept: int = 0
    quarantined: int = 0
    unreadable: int = 0
    unreadable_copied: int = 0  # of those, lines put in the quarantine copy (not those over the size limit)
    stopped: str = ""  # why reading stopped before the end of the file (its records after that are in neither copy)
    opened: bool = True  # False: found unfit to open (a FIFO, a dangling symlink), so no copy was written
    table: bool = False  # a CSV, TSV, Parquet or Arrow input: rows, not lines

    @property
    def changed(self) -> bool:
        """Read, but no longer the file the scan judged, so no copy was written."""
        return self.stopped == CHANGED_SINCE_SCAN

    @property
    def balanced(self) -> bool:
        return self.records_in == self.kept + self.quarantined + self.unreadable


@dataclass
class FilterReport:
    files: list[FilterCounts] = field(default_factory=list)

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def balanced(self) -> bool:
        return all(f.balanced for f in self.files)

    @property
    def stopped(self) -> list[FilterCounts]:
        """Files not read to their end: their copies are incomplete."""
        return [f for f in self.files if f.stopped]


def check_outputs(inputs: list[InputFile], roots: list[Path], clean_dir: Path, quarantine_dir: Path) -> None:
    """Refuse output folders that are, hold, or sit inside an input (a file
    or a folder given to scan)."""
    if clean_dir.resolve() == quarantine_dir.resolve():
        raise UsageError("--clean-dir and --quarantine-dir must differ")
    if any(inp.fs_path is None for inp in inputs):
        raise UsageError("filter cannot read from stdin: it writes one output per input file")
    for inp in inputs:
        if not _is_json_family(inp) and _table_kind(inp) is None:
            raise UsageError(f"{inp.path}: filter writes JSON, JSONL, CSV, TSV, Parquet and Arrow only; "
                             "convert or exclude this file (--exclude)")
    sources = [inp.fs_path.resolve() for inp in inputs if inp.fs_path is not None and inp.problem is None]
    sources += [r.resolve() for r in roots]
    for out in (clean_dir.resolve(), quarantine_dir.resolve()):
        for src in sources:
            if out == src or out in src.parents or src in out.parents:
                raise UsageError(f"output folder {out} overlaps the input {src}; refusing to write there")
    _refuse_shared_outputs(inputs, roots)


def _refuse_shared_outputs(inputs: list[InputFile], roots: list[Path]) -> None:
    """Two inputs whose copies would go to one output path: the second
    would replace the first's records, and the counts would not say so."""
    first: dict[Path, str] = {}
    for inp in inputs:
        if inp.problem is not None:  # never opened: it has no copies
            continue
        rel = _relative(inp, roots)
        if rel in first:
            raise UsageError(f"{first[rel]} and {inp.path} would both be written to {rel} under --clean-dir and "
                             "--quarantine-dir; filter them in separate runs, or give the folder that holds both")
        first[rel] = inp.path


def _is_json_family(inp: InputFile) -> bool:
    from tos_lint.readers import JSON_EXTS, COMPRESSION_EXTS

    name = inp.fs_path.name.lower() if inp.fs_path is not None else ""
    for ext in COMPRESSION_EXTS:
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name.endswith(JSON_EXTS)


def _table_kind(inp: InputFile) -> str | None:
    """`parquet`, `arrow`, `csv` or `tsv` for a table, else None."""
    from tos_lint.tabular import kind_of

    return kind_of(inp.fs_path.name) if inp.fs_path is not None else None


RecordAt = tuple[str, "int | None", "int | None"]  # a record's path, line and index


def _failing_groups(verdict: Verdict, paths: Container[str]) -> Iterator[tuple[RecordAt, list[Finding]]]:
    """Each record's failing findings (not input problems), in the order of
    the verdict's outcomes, for the records of `paths` only."""
    at: RecordAt | None = None
    found: list[Finding] = []
    for outcome in verdict.outcomes:
        loc = outcome.finding.location
        if outcome.status != "fail" or not loc.pointer or outcome.finding.rule_id.startswith(INPUT_RULE_PREFIX):
            continue
        if loc.path not in paths:
            continue
        here = (loc.path, loc.line, loc.index)
        if here != at and found:
            yield at, found  # type: ignore[misc]
            found = []
        at = here
        found.append(outcome.finding)
    if found and at is not None:
        yield at, found


def _order(at: RecordAt) -> tuple[int, int]:
    return (at[1] or 0, at[2] or 0)


class FailingRecords:
    """The failing findings of each record, for the copy of each input.

    A scan's verdict lists findings in the order the copy reads the records:
    files in the order found, each file's records in input order. The copy
    then takes each record's findings as it reaches it, holding none ahead,
    however many records fail. That order is checked first, in one pass; a
    verdict in any other order is held as a map of records instead."""

    def __init__(self, verdict: Verdict, paths: list[str]):
        self._turn = {p: i for i, p in enumerate(paths)}
        self._map: dict[RecordAt, list[Finding]] | None = None
        if not _in_copy_order(_failing_groups(verdict, self._turn), self._turn):
            self._map = defaultdict(list)
            for at, found in _failing_groups(verdict, self._turn):
                self._map[at].extend(found)
        self._groups = _failing_groups(verdict, self._turn) if self._map is None else iter(())
        self._next = next(self._groups, None)

    def of_file(self, path: str) -> Callable[[int | None, int | None], list[Finding] | None]:
        """The failing findings of the record at (line, index) of `path`,
        asked of the file's records in input order (None: not failing)."""
        if self._map is not None:
            failing = self._map
            return lambda line, index: failing.get((path, line, index))
        self._pass_files_before(path)
        return lambda line, index: self._take(path, line, index)

    def rows_of(self, path: str) -> dict[int, list[Finding]]:
        """A table's failing findings by row index (tables have no line)."""
        if self._map is not None:
            return {at[2]: found for at, found in self._map.items() if at[0] == path and at[2] is not None}
        self._pass_files_before(path)
        rows: dict[int, list[Finding]] = {}
        while self._next is not None and self._next[0][0] == path:
            (_, _, index), found = self._next
            if index is not None:
                rows[index] = found
            self._next = next(self._groups, None)
        return rows

    def _pass_files_before(self, path: str) -> None:
        """Let go of the findings of files before this one (not opened, or
        not copied: the run says so)."""
        turn = self._turn[path]
        while self._next is not None and self._turn[self._next[0][0]] < turn:
            self._next = next(self._groups, None)

    def _take(self, path: str, line: int | None, index: int | None) -> list[Finding] | None:
        wanted = _order((path, line, index))
        while self._next is not None and self._next[0][0] == path and _order(self._next[0]) < wanted:
            self._next = next(self._groups, None)
        # kept until a later record is asked for: records that lone CRs end
        # share the line they sit on, and each is asked for at it
        if self._next is not None and self._next[0] == (path, line, index):
            return self._next[1]
        return None


def _in_copy_order(groups: Iterator[tuple[RecordAt, list[Finding]]], turn: Mapping[str, int]) -> bool:
    """Whether each file's records come together, files in `turn` order and
    records in input order, each record once."""
    last: tuple[int, int, int] | None = None
    for at, _ in groups:
        here = (turn[at[0]], *_order(at))
        if last is not None and here <= last:
            return False
        last = here
    return True


def filter_files(inputs: list[InputFile], roots: list[Path], verdict: Verdict, clean_dir: Path,
                 quarantine_dir: Path, options: ReadOptions, scanned: Mapping[str, str] | None = None) -> FilterReport:
    """Copy each input's records to the clean or the quarantine folder, read
    with the same `options` (record size, decompression caps) as the scan.
    `scanned`: each input's SHA-256 as the scan read it, by path; an input
    that the copy reads otherwise changed in between, and is not copied."""
    check_outputs(inputs, roots, clean_dir, quarantine_dir)
    failing = FailingRecords(verdict, [inp.path for inp in inputs])
    report = FilterReport()
    for inp in inputs:
        if inp.problem is not None:  # never opened: no copy, and the run says the input was not read
            report.files.append(_not_opened(inp, f"{inp.problem.code}: {inp.problem.message}"))
            continue
        rel, sha256 = _relative(inp, roots), (scanned or {}).get(inp.path)
        table = _table_kind(inp)
        if table is None:
            report.files.append(_filter_one(inp, rel, failing.of_file(inp.path), clean_dir, quarantine_dir, options,
                                            sha256))
            continue
        counts = FilterCounts(inp.path, table=True)
        _filter_table(inp, table, failing.rows_of(inp.path), counts, clean_dir / rel, quarantine_dir / rel, options,
                      sha256)
        report.files.append(counts)
    return report


def _filter_table(inp: InputFile, kind: str, failing: dict[int, list[Finding]], counts: FilterCounts,
                  clean_path: Path, quarantine_path: Path, options: ReadOptions, sha256: str | None) -> None:
    if kind in ("csv", "tsv"):
        from tos_lint.filtering_csv import filter_csv

        filter_csv(inp, "\t" if kind == "tsv" else ",", failing, counts, clean_path, quarantine_path, options, sha256)
        return
    from tos_lint.filtering_tables import filter_table

    filter_table(inp, kind, failing, counts, clean_path, quarantine_path, options, sha256)


def _not_opened(inp: InputFile, why: str) -> FilterCounts:
    return FilterCounts(inp.path, stopped=why, opened=False)


def _relative(inp: InputFile, roots: list[Path]) -> Path:
    """Where an input's copies go under the output folders: its path inside
    the folder given that it was found in (through any symlinked folder on
    the way), else its own name."""
    assert inp.fs_path is not None
    for root in roots:
        if root in inp.fs_path.parents and root.is_dir():
            return inp.fs_path.relative_to(root)
    src = inp.fs_path.resolve()
    for root in roots:
        root = root.resolve()
        if root.is_dir() and root in src.parents:
            return src.relative_to(root)
    return Path(src.name)


CHANGED_SINCE_SCAN = ("changed-during-scan: the file changed between the scan and the copy (its SHA-256 differs), so "
                      "some of its records were not judged; no copy was written: filter it again once nothing writes to it")


def differs_from_scan(stats: FileStats, scanned_sha256: str | None) -> bool:
    """Whether the file just read is not the one the scan hashed."""
    return bool(scanned_sha256 and stats.sha256 and stats.sha256 != scanned_sha256)


def _filter_one(inp: InputFile, rel: Path, failing: Callable[[int | None, int | None], list[Finding] | None],
                clean_dir: Path, quarantine_dir: Path, options: ReadOptions, scanned_sha256: str | None) -> FilterCounts:
    assert inp.fs_path is not None
    counts = FilterCounts(inp.path)
    stats = FileStats()
    try:
        kind = compression_of(inp.fs_path)
        is_array = _is_json_array(inp)
    except OSError as exc:  # an input that cannot be opened: no copies; the run says it was not read
        return _not_opened(inp, f"unreadable: cannot open: {exc.strerror or exc}")
    with _AtomicOutput(clean_dir / rel, kind, is_array) as clean, \
            _AtomicOutput(quarantine_dir / rel, kind, is_array) as quarantine:
        for item in read_records(inp, stats, options):
            if not isinstance(item, RawRecord):
                if item.final:
                    counts.stopped = f"{item.code}: {item.message}"
                if item.raw is not None:  # an unreadable line is kept, in quarantine, never dropped
                    quarantine.write_unreadable(item)
                    counts.unreadable_copied += 1
                continue
            findings = failing(item.line, item.index)
            if findings:
                quarantine.write_record(item, findings)
                counts.quarantined += 1
            else:
                clean.write_record(item, None)
                counts.kept += 1
        if differs_from_scan(stats, scanned_sha256):
            clean.abandon()  # it would pass records the scan never saw as clean
            quarantine.abandon()
            return FilterCounts(inp.path, stopped=CHANGED_SINCE_SCAN)
    counts.records_in = stats.records + stats.malformed
    counts.unreadable = stats.malformed
    return counts


def _is_json_array(inp: InputFile) -> bool:
    from tos_lint.readers import open_input

    with open_input(inp) as stream:
        head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] == b"["


class _AtomicOutput:
    """One output file: JSONL lines or a JSON array, compressed like its
    input, written to a temporary file and renamed into place on success.
    A file that would hold no record is not written (and an older copy at
    that path is removed, so that no stale record survives a re-run)."""

    def __init__(self, path: Path, compression: str | None, is_array: bool):
        self.path = path
        self.compression = compression
        self.is_array = is_array
        self.count = 0

    def __enter__(self) -> "_AtomicOutput":
        self.target = AtomicFile(self.path)
        self.raw = self.target.open()
        self.out: IO[bytes] = _compressor(self.raw, self.compression)
        if self.is_array:
            self.out.write(b"[\n")
        return self

    def write_record(self, item: RawRecord, findings: list[Finding] | None) -> None:
        data = item.data
        if findings:
            data = {**item.data, FINDINGS_KEY: [f.to_dict() for f in findings]}
            line = deepjson.dumps(data)
        else:
            line = item.raw if item.raw is not None else deepjson.dumps(data)
        self._write(line)

    def write_lines(self, data: bytes, records: int) -> None:
        """Bytes as they are (a CSV row's lines, their ends included), which
        hold `records` records (0 for a header)."""
        self.out.write(data)
        self.count += records

    def _write(self, line: bytes) -> None:
        if self.is_array:
            self.out.write((b",\n" if self.count else b"") + line)
        else:
            self.out.write(line + b"\n")
        self.count += 1

    def write_unreadable(self, issue: InputIssue) -> None:
        """A line that is not a record, as an object that says why and holds
        the line: its text, or its bytes in base64 where they are no UTF-8."""
        assert issue.raw is not None
        try:
            kept: dict[str, Any] = {"text": issue.raw.decode("utf-8")}
        except UnicodeDecodeError:
            kept = {"base64": base64.b64encode(issue.raw).decode("ascii")}
        self._write(deepjson.dumps({UNREADABLE_KEY: {"line": issue.line, **kept}, FINDINGS_KEY: issue_note(issue)}))

    def abandon(self) -> None:
        """Write nothing: on exit the temporary file goes, and so does an
        older copy at the path."""
        self.count = 0

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.is_array:
            self.out.write(b"\n]\n")
        self.out.close()
        if self.out is not self.raw:
            self.raw.close()
        finish_copy(self.target, self.path, self.count, exc_type is not None)


def finish_copy(target: AtomicFile | None, path: Path, records: int, failed: bool) -> None:
    """Rename a copy into place when it holds records. Else the temporary
    file goes, and after a run that did not fail, so does an older copy at
    the path: it no longer holds for this input."""
    if target is not None and not failed and records:
        target.commit()
        return
    if target is not None:
        target.discard()
    if not failed:
        drop_stale_copy(path)


def drop_stale_copy(path: Path) -> None:
    """Remove a copy from an earlier run, which no longer holds for this input."""
    if path.is_file():
        path.unlink()


def issue_note(issue: InputIssue) -> list[dict[str, str]]:
    """Why a record or row that was not read is in the quarantine copy, as
    its `_tos_lint_findings`."""
    return [{"rule_id": INPUT_RULE_PREFIX + issue.code, "message": issue.message}]


def _compressor(raw: IO[bytes], kind: str | None) -> IO[bytes]:
    if kind == "gz":
        return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)  # type: ignore[return-value]
    if kind == "zst":
        import zstandard

        return zstandard.ZstdCompressor().stream_writer(raw, closefd=False)  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(raw, mode="wb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="wb")  # type: ignore[return-value]
    return raw


def summary_lines(report: FilterReport) -> Iterable[str]:
    for f in report.files:
        yield f"{f.path}: in {f.records_in} = kept {f.kept} + quarantined {f.quarantined} + unreadable {f.unreadable}"
        if f.unreadable_copied and f.table:
            yield (f"{f.path}: {f.unreadable_copied} row(s) not read are in the quarantine copy, "
                   f"with the reason under {FINDINGS_KEY}")
        elif f.unreadable_copied:
            yield (f"{f.path}: {f.unreadable_copied} unreadable line(s) are in the quarantine copy, "
                   f"under {UNREADABLE_KEY}")
        if f.changed:
            yield f"{f.path}: {f.stopped}"
        elif f.stopped and (not f.opened or f.table and not f.records_in):
            yield f"{f.path}: not read ({f.stopped}); no copy written"
        elif f.stopped and f.table:  # a table's reader passes over what it cannot decode, and goes on
            yield f"{f.path}: part of it could not be read ({f.stopped}); those rows are in neither copy"
        elif f.stopped:
            yield f"{f.path}: not read to its end ({f.stopped}); its copies hold only the records before that point"
    yield (f"total: in {report.total('records_in')} = kept {report.total('kept')} + quarantined "
           f"{report.total('quarantined')} + unreadable {report.total('unreadable')}")
