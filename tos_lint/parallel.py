"""Scanning on all cores: files, large plain JSONL files split by byte
range and large Parquet files split by row group are units of work run in
worker processes. Results are put back in input order, so the output is the
same as with one job.

Workers are forked from the scanning process, so they share its compiled
rules; where fork is not available they are spawned and load the rules
from the compile cache. The same `scan_unit` is what a cluster backend runs.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from tos_lint import tabular
from tos_lint.engine import Engine, FileResult, input_finding
from tos_lint.errors import ScanAborted
from tos_lint.model import Finding, finding_spool
from tos_lint.policy import INPUT_RULE_PREFIX
from tos_lint.readers import (
    FileSignature, FileStats, InputFile, InputIssue, RawRecord, changed_during_scan, is_line_oriented, read_jsonl_range,
)

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

SPLIT_BYTES = 64 << 20  # plain JSONL and Parquet files above this are split
# Small inputs are split finer, down to this, so that every job gets several
# units and the last one to finish does not hold up the others.
MIN_SPLIT_BYTES = 8 << 20
UNITS_PER_JOB = 8


@dataclass(frozen=True)
class WorkUnit:
    file: InputFile
    only_lines: frozenset[int] | None = None
    start: int = 0
    end: int | None = None  # None: the whole file
    by: str = "bytes"  # what start/end count: "bytes" (JSONL), "row_groups" (Parquet)
    nbytes: int = 0  # bytes of the file as stored that the unit covers (progress)
    # A byte range: the file as the ranges were planned from (a change by the
    # time the range is read is reported: the ranges no longer cover it).
    planned: FileSignature | None = None

    @property
    def is_range(self) -> bool:
        return self.end is not None


@dataclass
class UnitResult:
    result: FileResult
    newlines: int = 0  # newlines in the unit's byte range
    starts_on_line: bool = True  # the range begins at the start of a line


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan(files: Iterable[InputFile], changed: dict[Path, frozenset[int] | None] | None,
         split: bool, split_bytes: int | None = None, jobs: int | None = None) -> list[WorkUnit]:
    """Units of work, in input order. Without `split_bytes`, files are split
    in pieces of at most SPLIT_BYTES, smaller when the input is small for
    `jobs` (default: all cores)."""
    files = list(files)
    sizes = [f.stored_size() for f in files]
    split_bytes = split_bytes or _split_size(sum(sizes), jobs or default_jobs())
    units: list[WorkUnit] = []
    for f, size in zip(files, sizes):
        only = changed.get(f.fs_path.resolve()) if changed is not None and f.fs_path is not None and f.problem is None else None
        if split and only is None and size > split_bytes:
            units.extend(_split(f, size, split_bytes))
        else:
            units.append(WorkUnit(f, only, nbytes=size))
    return units


def _split_size(total: int, jobs: int) -> int:
    return max(MIN_SPLIT_BYTES, min(SPLIT_BYTES, total // max(1, jobs * UNITS_PER_JOB)))


def _split(f: InputFile, size: int, split_bytes: int) -> list[WorkUnit]:
    if f.fs_path is not None and is_line_oriented(f.fs_path):
        # the ranges cover the size of the signature taken with it, so that
        # any later change shows when a range compares the file with it
        planned = FileSignature.of(f.fs_path)
        if planned is None:
            return [WorkUnit(f, None, nbytes=size)]  # gone: reading it reports why
        size = planned.size
        return [WorkUnit(f, None, s, min(s + split_bytes, size), nbytes=min(split_bytes, size - s), planned=planned)
                for s in range(0, size, split_bytes)]
    if f.fs_path is not None and tabular.kind_of(f.fs_path.name) == "parquet":
        planned = FileSignature.of(f.fs_path)  # before its row groups are read from it
        runs = tabular.parquet_row_group_ranges(f.fs_path, split_bytes)
        if len(runs) > 1:
            return [WorkUnit(f, None, a, b, by="row_groups", nbytes=n, planned=planned) for a, b, n in runs]
    return [WorkUnit(f, None, nbytes=size)]


def scan_unit(engine: Engine, unit: WorkUnit) -> UnitResult:
    span = getattr(unit.only_lines, "span", None)
    if span is not None and unit.only_lines is not None and unit.file.fs_path is not None:
        return UnitResult(_scan_span(engine, unit.file, unit.only_lines, span))
    if not unit.is_range:
        return UnitResult(engine.scan_file(unit.file, unit.only_lines))
    assert unit.file.fs_path is not None and unit.end is not None
    path = unit.file.fs_path
    stats = FileStats()
    watch = engine.field_map_watch()
    if unit.by == "row_groups":  # row indexes are absolute: nothing to shift
        rows = tabular.read_parquet(path, stats, engine.read_options(None, watch), range(unit.start, unit.end))
        return UnitResult(engine.scan_items(unit.file, _checked(rows, path, unit.planned), stats, watch))
    records = read_jsonl_range(path, unit.start, unit.end, stats, engine.read_options(None, watch))
    result = engine.scan_items(unit.file, _checked(records, path, unit.planned), stats, watch)
    return UnitResult(result, stats.range_newlines, stats.range_starts_on_line)


def _checked(items: Iterator[RawRecord | InputIssue], path: Path,
             planned: FileSignature | None) -> Iterator[RawRecord | InputIssue]:
    """A range's records, then a finding if the file is not the one its
    ranges were planned from any more (the ranges no longer cover it). A
    reader that fails on such a file (asked for row groups it no longer
    has) stops there, and the finding says why."""
    try:
        yield from items
    except Exception:  # noqa: BLE001 - raised again unless the file changed under the reader
        if (issue := changed_during_scan(path, planned)) is None:
            raise
        yield issue
        return
    if (issue := changed_during_scan(path, planned)) is not None:
        yield issue


def _scan_span(engine: Engine, inp: InputFile, lines: frozenset[int], span: tuple[int, int, int]) -> FileResult:
    """A changed-only scan that knows where the changed lines are: read
    just that byte range of the file (whole lines, the first of them line
    `first`), not the file from its start. The file is not hashed."""
    assert inp.fs_path is not None
    start, end, first = span
    stats = FileStats(size=inp.stored_size())
    wanted = frozenset(n - first + 1 for n in lines)
    watch = engine.field_map_watch()
    records = read_jsonl_range(inp.fs_path, start, end, stats, engine.read_options(wanted, watch))
    result = engine.scan_items(inp, records, stats, watch)
    result.findings = finding_spool(_shift(f, first - 1) for f in result.findings)
    return result


_ENGINE: Engine | None = None  # the worker's engine, set before forking


def _work(unit: WorkUnit) -> UnitResult:
    assert _ENGINE is not None
    return scan_unit(_ENGINE, unit)


Progress = Callable[[WorkUnit, UnitResult], None]  # called as each unit is done
FileDone = Callable[[FileResult], None]  # called as each file is done, in input order


def run_units(engine: Engine, units: list[WorkUnit], jobs: int, progress: Progress | None = None,
              on_file: FileDone | None = None) -> list[FileResult]:
    """Scan every unit, on `jobs` processes, and merge ranges back into
    files; `on_file` is given each file as soon as it is done, in order."""
    global _ENGINE
    if jobs <= 1 or len(units) <= 1:
        unit_results = _reported(units, (scan_unit(engine, u) for u in units), progress)
        return with_digests(merge(units, unit_results, on_file), units)
    # imported here: a scan that needs no pool (one file, one job) should not pay for it at start-up
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_all_start_methods, get_context

    _ENGINE = engine
    engine.ruleset.load_databases()  # once, here: forked workers share it
    context = get_context("fork") if "fork" in get_all_start_methods() else get_context("spawn")
    # Objects that exist before the fork are shared copy-on-write; the
    # collector of each worker would otherwise write to (and so copy) every
    # page holding one of them as it runs.
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            return _run_pool(pool, units, progress, on_file)
    finally:
        gc.unfreeze()
        _ENGINE = None


def _run_pool(pool: "ProcessPoolExecutor", units: list[WorkUnit], progress: Progress | None,
              on_file: FileDone | None) -> list[FileResult]:
    from concurrent.futures.process import BrokenProcessPool

    # A file split in ranges is hashed whole for the audit manifest: as one
    # more task, first, so that it overlaps the scan instead of following it.
    digests = pool.submit(file_digests, split_files(units))
    futures = [pool.submit(_work, u) for u in units]
    try:
        merged = merge(units, _in_order(units, futures, progress), on_file)
        return with_digests(merged, units, digests.result())
    except BrokenProcessPool:
        # A worker killed (the out-of-memory killer sends SIGKILL) takes the
        # pool down with every unit not yet done: no result can be complete.
        raise ScanAborted(_aborted(units, futures)) from None


def _in_order(units: list[WorkUnit], futures: list["Future[UnitResult]"],
             progress: Progress | None) -> Iterator[UnitResult]:
    """Each unit's result in input order, as soon as it and those before it
    are done; `progress` hears of each as it is done, in any order. A
    result handed on is let go of here (its future's slot is taken by a
    finished placeholder), so that only those done out of turn wait in memory."""
    from concurrent.futures import FIRST_COMPLETED, wait

    # futures progress has not heard of yet (none without progress: each
    # would hold on to its result)
    pending = set(futures) if progress is not None else set()
    where = {f: i for i, f in enumerate(futures) if f in pending}
    for i in range(len(futures)):
        while futures[i] in pending:  # told once done, with any others done meanwhile
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                progress(units[where.pop(f)], f.result())  # type: ignore[misc]
        result = futures[i].result()
        futures[i] = _handed_on()
        yield result


def _handed_on() -> "Future[UnitResult]":
    from concurrent.futures import Future

    done: Future[UnitResult] = Future()
    done.set_result(UnitResult(FileResult("", FileStats())))
    return done


def _aborted(units: list[WorkUnit], futures: list["Future[UnitResult]"]) -> str:
    unfinished = [u for u, f in zip(units, futures) if not (f.done() and f.exception(timeout=0) is None)]
    parts = ", ".join(_describe(u) for u in unfinished[:3]) + (", ..." if len(unfinished) > 3 else "")
    return (f"a worker process ended abruptly (killed by a signal, as the out-of-memory killer does) before the scan "
            f"was done: {len(unfinished)} of {len(units)} parts were not scanned ({parts}); no result was written. "
            "Scan again; if memory ran short, with fewer --jobs")


def _describe(unit: WorkUnit) -> str:
    if not unit.is_range:
        return unit.file.path
    what = "bytes" if unit.by == "bytes" else "row groups"
    return f"{unit.file.path} {what} {unit.start}-{unit.end}"


def split_files(units: list[WorkUnit]) -> dict[str, Path]:
    """Files scanned in ranges (by several workers): no reader saw them whole."""
    return {u.file.path: u.file.fs_path for u in units if u.is_range and u.file.fs_path is not None}


def file_digests(files: dict[str, Path]) -> dict[str, tuple[int, str]]:
    """Size and SHA-256 of each file; none for a file gone since (its
    ranges report it, as unreadable or changed during the scan)."""
    from tos_lint.verify import file_digest

    digests = {}
    for shown, path in files.items():
        try:
            digests[shown] = file_digest(path)
        except OSError:
            continue
    return digests


def with_digests(results: list[FileResult], units: list[WorkUnit],
                 digests: dict[str, tuple[int, str]] | None = None) -> list[FileResult]:
    """Size and SHA-256 of each file scanned in ranges, for the manifest."""
    digests = digests if digests is not None else file_digests(split_files(units))
    for r in results:
        if r.path in digests:
            r.stats.size, r.stats.sha256 = digests[r.path]
    return results


def _reported(units: list[WorkUnit], results: Iterable[UnitResult], progress: Progress | None) -> Iterator[UnitResult]:
    for unit, result in zip(units, results):
        if progress is not None:
            progress(unit, result)
        yield result


def merge(units: list[WorkUnit], unit_results: Iterable[UnitResult], on_file: FileDone | None = None) -> list[FileResult]:
    """One FileResult per file; ranges get their real line numbers back.
    `on_file` is given each file when its last range is merged."""
    merged: list[FileResult] = []
    lines_before = 0
    for unit, part in zip(units, unit_results):
        if not unit.is_range or unit.start == 0:
            if merged and on_file is not None:
                on_file(merged[-1])
            merged.append(part.result)
            lines_before = 0
        else:
            _append(merged[-1], part.result, lines_before + (0 if part.starts_on_line else 1))
        lines_before += part.newlines
    if merged and on_file is not None:
        on_file(merged[-1])
    return merged


def _append(into: FileResult, part: FileResult, offset: int) -> None:
    # A problem of the whole file (changed or gone during the scan) is seen
    # by every range read after it: reported once.
    # Ranges rarely hold one: the file's findings so far are looked through only then.
    whole_file = ({f.fingerprint for f in into.findings if _of_whole_file(f)}
                  if any(_of_whole_file(f) for f in part.findings) else frozenset())
    into.findings.extend(_shift(f, offset) for f in part.findings
                         if not (_of_whole_file(f) and f.fingerprint in whole_file))
    into.flagged_records += part.flagged_records
    into.mapped_records += part.mapped_records
    for name in ("records", "malformed", "bytes", "prefiltered"):
        setattr(into.stats, name, getattr(into.stats, name) + getattr(part.stats, name))


def _of_whole_file(finding: Finding) -> bool:
    return finding.location.line is None and finding.location.index is None


def _shift(finding: Finding, offset: int) -> Finding:
    loc = finding.location
    if loc.line is None:
        return finding
    moved = replace(finding, location=replace(loc, line=loc.line + offset))
    if finding.rule_id.startswith(INPUT_RULE_PREFIX):
        from tos_lint.readers import InputIssue

        code = finding.rule_id.rsplit(".", 1)[-1]
        return input_finding(loc.path, InputIssue(code, finding.message, loc.line + offset))
    return moved
