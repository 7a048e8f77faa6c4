"""A progress bar for long scans, on stderr: files, records/s, MB/s, ETA.

Shown only when stderr is a terminal and the run is not quiet
(`show_progress`), so pipes, CI logs and reports never see it. It advances
as each unit of work (a file, a byte range, a run of row groups) is done,
by the bytes of the file as stored that the unit covers: with large files
split into pieces of at most 64 MB, it moves at least every 64 MB.

    with scan_progress(units, enabled=show_progress(quiet)) as on_done:
        results = parallel.run_units(engine, units, jobs, progress=on_done)
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from rich.console import Console

    from tos_lint.parallel import Progress, UnitResult, WorkUnit


def show_progress(quiet: bool, stream: IO[str] | None = None) -> bool:
    """Whether to draw the bar: not quiet, and stderr (or `stream`) is a terminal."""
    stream = stream if stream is not None else sys.stderr
    try:
        return not quiet and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class ScanProgress:
    """Called with each unit as it is done; draws on `console` (stderr)."""

    def __init__(self, units: list["WorkUnit"], console: "Console | None" = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn, TransferSpeedColumn,
        )

        self.console = console or Console(stderr=True)
        self.files = len({u.file.path for u in units})
        self._left = _units_per_file(units)
        self.files_done = 0
        self.records = 0
        self.started = time.monotonic()
        self.bar = Progress(
            TextColumn("[bold]scanning"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[files_done]}/{task.fields[files]} files"),
            TextColumn("{task.fields[rate]} records/s"), TransferSpeedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False,
        )
        total = sum(_unit_bytes(u) for u in units)
        self.task = self.bar.add_task("scan", total=max(total, 1), files=self.files, files_done=0, rate="0")

    def __enter__(self) -> "ScanProgress":
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, unit: "WorkUnit", result: "UnitResult") -> None:
        self.records += result.result.stats.records
        self._left[unit.file.path] -= 1
        if self._left[unit.file.path] == 0:
            self.files_done += 1
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, advance=_unit_bytes(unit), files_done=self.files_done,
                        rate=f"{self.records / elapsed:,.0f}")


def _units_per_file(units: list["WorkUnit"]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for u in units:
        counts[u.file.path] = counts.get(u.file.path, 0) + 1
    return counts


def _unit_bytes(unit: "WorkUnit") -> int:
    if unit.nbytes:
        return unit.nbytes
    if unit.end is not None and unit.by == "bytes":
        return unit.end - unit.start
    return unit.file.stored_size()


@contextmanager
def scan_progress(units: list["WorkUnit"], enabled: bool,
                  console: "Console | None" = None) -> Iterator["Progress | None"]:
    """The callback to hand to `run_units` / `run_units_ray` (None when the
    bar is not shown), drawing for the duration of the block."""
    if not enabled or not units:
        yield None
        return
    with ScanProgress(units, console) as progress:
        yield progress
