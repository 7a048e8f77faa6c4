#!/usr/bin/env python
"""Changed-only scans: one changed line in a large JSONL tracked by git.

    .venv/bin/python benchmarks/bench_changed.py [--size-mb 1024] [--runs 3]
        [--full-runs 1] [--seed 0] [--compare-git] [--markdown PATH] [--keep]

Generates a synthetic chat JSONL of about --size-mb MB (1 MB = 10^6 bytes)
in a temporary git repository, stages it and lets tos-lint see it as the
pre-commit hook would at that commit (which keeps the file's line map, see
tos_lint/linemap.py), commits it, replaces one record in the middle with a
provider-fingerprinted one, stages it, and times

- `tos-lint scan --staged FILE` (the pre-commit hook's command), median of
  --runs, after one untimed run that fills the compiled-rules cache;
- the same without the line map of the committed version (a repository
  where the hook did not run at the previous commit, or a fresh CI cache):
  the old version is then inflated from git;
- `tos_lint.gitdiff.changed_lines` alone, in process (the git part);
- the fixed cost of the command: `tos-lint scan` of a one-line file;
- `tos-lint scan FILE`, the full-file scan, for comparison;
- with --compare-git, `git diff --cached -U0 --text` on the same change.

Each staged scan must report exactly the changed record, at its real line.
The target is under 1 s for 1 GB. Setup is dominated by `git add`
deflating the file twice (about a minute per GB each).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

MB = 1_000_000
TARGET_SECONDS = 1.0
TOS_LINT = Path(sys.executable).parent / "tos-lint"
FINGERPRINT = "I'm ChatGPT, a large language model trained by OpenAI."

WORDS = """the of and to in is it that for you was with on as have be at one this by from
had not but what all were when we there can an your which their said if do will each about
how up out them then she many some so these would other into has more her two like him see
time could no make than first been its who now people my made over did down only way find use
may water long little very after words called just where most know get through back much
process data function value system model method table query server request error file memory
design service network policy budget schedule project team customer report market research""".split()


def generate(path: Path, size_bytes: int, seed: int) -> int:
    """Write about `size_bytes` of OpenAI-style chat records; return the line count.
    A pool of answers keeps generation fast; the id makes every line unique."""
    rng = random.Random(seed)
    pool = [" ".join(rng.choices(WORDS, k=rng.randint(30, 250))).capitalize() + "." for _ in range(2000)]
    lines = 0
    written = 0
    with path.open("w", encoding="utf-8") as out:
        batch: list[str] = []
        while written < size_bytes:
            question = " ".join(rng.choices(WORDS, k=rng.randint(5, 15)))
            record = {"id": f"rec-{lines:09d}", "messages": [
                {"role": "user", "content": question.capitalize() + "?"},
                {"role": "assistant", "content": pool[rng.randrange(len(pool))]}]}
            line = json.dumps(record) + "\n"
            batch.append(line)
            written += len(line)
            lines += 1
            if len(batch) == 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    return lines


def replace_line(path: Path, number: int, text: str) -> None:
    """Rewrite `path` with line `number` (1-based) replaced, streaming."""
    tmp = path.with_suffix(".tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        for n, line in enumerate(src, 1):
            dst.write(text.encode() + b"\n" if n == number else line)
    os.replace(tmp, path)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def timed(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, proc


@dataclass
class Figures:
    size_bytes: int
    lines: int
    changed_line: int
    setup_seconds: float
    staged_first: float
    staged: list[float]
    staged_cold: float
    changed_lines: list[float]
    fixed: list[float]
    full: list[float]
    git_diff: float | None

    @property
    def staged_median(self) -> float:
        return statistics.median(self.staged)

    @property
    def full_median(self) -> float:
        return statistics.median(self.full)


def staged_scan(repo: Path, name: str, expected_line: int) -> float:
    seconds, proc = timed([str(TOS_LINT), "scan", "--staged", "--format", "json", name], repo)
    if proc.returncode != 1:
        raise SystemExit(f"tos-lint scan --staged: expected exit 1 (one finding), got {proc.returncode}\n{proc.stderr}")
    lines = {f["location"]["line"] for f in json.loads(proc.stdout)["findings"] if f["severity"] in ("high", "critical")}
    if lines != {expected_line}:
        raise SystemExit(f"tos-lint scan --staged: expected a finding at line {expected_line}, got {sorted(lines)}")
    return seconds


def run(args: argparse.Namespace, workdir: Path) -> Figures:
    """The whole measurement, with its own cache of compiled rules and line maps."""
    saved = os.environ.get("TOS_LINT_CACHE_DIR")
    os.environ["TOS_LINT_CACHE_DIR"] = str(workdir / "cache")  # inherited by every timed command
    try:
        return _measure(args, workdir)
    finally:
        if saved is None:
            os.environ.pop("TOS_LINT_CACHE_DIR", None)
        else:
            os.environ["TOS_LINT_CACHE_DIR"] = saved


def _measure(args: argparse.Namespace, workdir: Path) -> Figures:
    repo = workdir / "data-repo"
    repo.mkdir()
    started = time.perf_counter()
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "bench")
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    name = "chat.jsonl"
    data = repo / name
    print(f"generating {args.size_mb} MB ...", flush=True)
    lines = generate(data, args.size_mb * MB, args.seed)
    print("git add + commit ...", flush=True)
    git(repo, "add", name)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tos_lint.gitdiff import changed_lines

    cwd = os.getcwd()
    os.chdir(repo)
    try:
        changed_lines([name], staged=True)  # what the hook does with a new file, besides scanning it
    finally:
        os.chdir(cwd)
    git(repo, "commit", "-q", "-m", "data")
    changed = lines // 2
    record = {"id": f"rec-{changed - 1:09d}", "messages": [
        {"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": FINGERPRINT}]}
    print(f"changing line {changed} and staging ...", flush=True)
    replace_line(data, changed, json.dumps(record))
    git(repo, "add", name)
    setup = time.perf_counter() - started

    print("timing ...", flush=True)
    first = staged_scan(repo, name, changed)  # also fills the compiled-rules cache
    staged = [staged_scan(repo, name, changed) for _ in range(args.runs)]

    in_process: list[float] = []
    os.chdir(repo)
    try:
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = changed_lines([name], staged=True)
            in_process.append(time.perf_counter() - t0)
        assert result == {data.resolve(): frozenset({changed})}, result
    finally:
        os.chdir(cwd)

    shutil.rmtree(workdir / "cache" / "linemaps")
    cold = staged_scan(repo, name, changed)

    tiny = workdir / "tiny.jsonl"
    tiny.write_text(json.dumps(record) + "\n", encoding="utf-8")
    fixed = [timed([str(TOS_LINT), "scan", str(tiny)], workdir)[0] for _ in range(args.runs)]
    full = []
    for _ in range(args.full_runs):
        seconds, proc = timed([str(TOS_LINT), "scan", "--format", "json", "-o", str(workdir / "full.json"), name], repo)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"full scan failed: {proc.stderr}")
        full.append(seconds)
    git_seconds = None
    if args.compare_git:
        git_seconds, proc = timed(["git", "diff", "--cached", "-U0", "--text", "--no-color", "--no-ext-diff"], repo)
        if proc.returncode != 0:
            print(f"git diff --cached --text failed: {proc.stderr.strip()}", flush=True)
            git_seconds = None
    return Figures(data.stat().st_size, lines, changed, setup, first, staged, cold, in_process, fixed, full, git_seconds)


def rows(fig: Figures, runs: int) -> list[tuple[str, str]]:
    ratio = fig.full_median / fig.staged_median if fig.staged_median else float("inf")
    verdict = "meets" if fig.staged_median < TARGET_SECONDS else "misses"
    out = [
        ("file", f"{fig.size_bytes / MB:,.0f} MB, {fig.lines:,} lines; line {fig.changed_line:,} changed and staged"),
        (f"`tos-lint scan --staged` (median of {runs})", f"{fig.staged_median:.2f} s ({verdict} the {TARGET_SECONDS:.0f} s target)"),
        ("- first run (fills the rules cache)", f"{fig.staged_first:.2f} s"),
        ("- without the line map of the committed version (old version inflated from git)", f"{fig.staged_cold:.2f} s"),
        ("- `changed_lines()` alone (the git part)", f"{statistics.median(fig.changed_lines):.2f} s"),
        ("- fixed cost: `tos-lint scan` of a 1-line file", f"{statistics.median(fig.fixed):.2f} s"),
        (f"`tos-lint scan` whole file (median of {len(fig.full)})", f"{fig.full_median:.2f} s"),
        ("whole file / changed only", f"{ratio:.1f}x"),
    ]
    if fig.git_diff is not None:
        out.append(("`git diff --cached -U0 --text` alone", f"{fig.git_diff:.2f} s"))
    return out


def report(fig: Figures, runs: int) -> str:
    table = rows(fig, runs)
    width = max(len(k) for k, _ in table)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in table)


def markdown(fig: Figures, runs: int) -> str:
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {git(Path.cwd(), 'version').strip()}"
    lines = [f"## Changed-only scan: one changed line ({date.today().isoformat()})", "",
             f"Machine: {machine}.", "", "| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows(fig, runs)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MB (10^6 bytes); default 1024")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the staged scan (median)")
    parser.add_argument("--full-runs", type=int, default=1, help="timed runs of the whole-file scan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-git", action="store_true", help="also time `git diff --cached --text` (holds both versions in memory)")
    parser.add_argument("--markdown", type=Path, help="append the figures as a markdown section to this file")
    parser.add_argument("--tmpdir", type=Path, help="where to build the repository (default: the system's temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the repository")
    args = parser.parse_args()
    if shutil.which("git") is None:
        raise SystemExit("git is not installed")
    if not TOS_LINT.exists():
        raise SystemExit(f"{TOS_LINT} not found: run from the project's virtualenv")
    workdir = Path(tempfile.mkdtemp(prefix="tos-lint-bench-changed-", dir=args.tmpdir))
    free = shutil.disk_usage(workdir).free
    if free < 4 * args.size_mb * MB:
        raise SystemExit(f"{workdir}: {free / MB:,.0f} MB free; about {4 * args.size_mb:,} MB needed")
    try:
        fig = run(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report(fig, args.runs))
    print(f"(setup: {fig.setup_seconds:.0f} s)")
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as out:
            out.write(markdown(fig, args.runs))
        print(f"appended to {args.markdown}")


if __name__ == "__main__":
    main()
