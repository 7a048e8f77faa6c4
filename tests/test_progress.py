"""The progress bar: shown only on a terminal and when not quiet, fed by
`run_units` once per unit of work, whatever the number of jobs."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tests.helpers import chatgpt_pack, write_jsonl
from tos_lint import parallel
from tos_lint.detect import RuleSet
from tos_lint.engine import Engine
from tos_lint.packs import load_packs
from tos_lint.progress import ScanProgress, scan_progress, show_progress
from tos_lint.readers import discover


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("quiet", "stream", "shown"), [
    (False, _Tty(), True),
    (True, _Tty(), False),
    (False, io.StringIO(), False),  # a pipe, a CI log, a file
])
def test_shown_only_on_a_terminal_and_not_quiet(quiet: bool, stream: io.StringIO, shown: bool) -> None:
    assert show_progress(quiet, stream) is shown


@pytest.fixture()
def units(tmp_path: Path) -> list[parallel.WorkUnit]:
    for name in ("a", "b", "c"):
        write_jsonl(tmp_path / f"{name}.jsonl", [{"text": f"record {i} of {name}"} for i in range(500)])
    files, _ = discover([str(tmp_path)])
    return parallel.plan(files, None, split=True, split_bytes=4096)


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    return Engine(RuleSet(load_packs([chatgpt_pack(tmp_path)], {"openai", "unknown"})))


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_units_reports_every_unit_once(units: list[parallel.WorkUnit], engine: Engine, jobs: int) -> None:
    seen: list[parallel.WorkUnit] = []
    results = parallel.run_units(engine, units, jobs, progress=lambda unit, _: seen.append(unit))
    assert sorted(map(repr, seen)) == sorted(map(repr, units))
    assert len(units) > 3 and sum(r.stats.records for r in results) == 1500


def test_bar_counts_files_records_and_bytes(units: list[parallel.WorkUnit], engine: Engine) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with scan_progress(units, enabled=True, console=console) as on_done:
        assert isinstance(on_done, ScanProgress)
        parallel.run_units(engine, units, 1, progress=on_done)
        assert on_done.files_done == on_done.files == 3 and on_done.records == 1500
    text = out.getvalue()
    assert "3/3 files" in text and "records/s" in text and "B/s" in text and "100%" in text


def test_disabled_bar_is_none_and_draws_nothing(units: list[parallel.WorkUnit]) -> None:
    with scan_progress(units, enabled=False) as on_done:
        assert on_done is None


def _scan_on_a_terminal(tmp_path: Path, cache: Path, *extra: str) -> str:
    """stderr of `tos-lint scan` written to a pseudo-terminal, as a user's
    first run sees it."""
    import os
    import subprocess
    import sys

    pack = chatgpt_pack(tmp_path)
    data = tmp_path / "data.jsonl"
    if not data.exists():
        write_jsonl(data, [{"text": "I am ChatGPT."}])
    leader, follower = os.openpty()
    env = dict(os.environ, TOS_LINT_CACHE_DIR=str(cache))
    try:
        proc = subprocess.run([sys.executable, "-m", "tos_lint", "scan", str(data), "--no-default-rules",
                               "--rules", str(pack), "--isolated", *extra],
                              stdout=subprocess.PIPE, stderr=follower, env=env, timeout=300)
        os.close(follower)
        follower = -1
        err = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all is read
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert proc.returncode == 1, err
    return err.decode("utf-8", "replace")


def test_a_first_run_on_a_terminal_says_it_is_compiling(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _scan_on_a_terminal(tmp_path, cache)
    assert "compiling the rule packs' patterns" in first and str(cache) in first
    assert "compiling" not in _scan_on_a_terminal(tmp_path, cache)  # the cache holds them now


def test_a_quiet_first_run_says_nothing(tmp_path: Path) -> None:
    assert "compiling" not in _scan_on_a_terminal(tmp_path, tmp_path / "cache", "--quiet")
