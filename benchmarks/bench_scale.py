#!/usr/bin/env python
"""Scale: speedup on 2 cores, Ray overhead, peak memory on 1 GB and 10 GB.

    .venv/bin/python benchmarks/bench_scale.py [--size-mb 200] [--runs 3]
        [--sizes-gb 1,10] [--rss-jobs 2] [--skip-speedup] [--skip-ray]
        [--skip-rss] [--workdir DIR] [--markdown docs/scale.md]

1. Speedup: `tos_lint.scan(jobs=1)` against `scan(jobs=2)` on one generated
   chat JSONL file of `--size-mb` (default 200 MB), median wall time of
   `--runs`. Goal: >= 1.8x. CPU time (this process and its workers) is
   printed too: on a machine shared with other work, wall-time speedup
   falls when the second core is busy, CPU time shows whether the work
   itself was split evenly.
2. Ray: the same units of work on a local Ray cluster of 2 CPUs
   (`ray_backend.run_units_ray`) against the local backend with 2 jobs
   (`parallel.run_units`) on the same units: cluster start, first scan
   (workers build their engines) and the median of the warm scans.
   Timed runs alternate between the two sides being compared.
3. Peak memory: for each of `--sizes-gb`, a corpus of that size (1 GB
   JSONL files made by copying a generated 100 MB block) is scanned by a
   fresh `python -c "tos_lint.scan(...)"` subprocess with `--rss-jobs`
   jobs; its peak RSS, and its workers', come from `getrusage` (the
   subprocess's RUSAGE_SELF and RUSAGE_CHILDREN, and this process's
   RUSAGE_CHILDREN as a check). Goal: flat, <= 500 MB per process. The
   findings the result holds are counted: they are the part of memory that
   does grow with the corpus.

All data is generated under `--workdir` (default: the system temp dir),
after checking free disk space with `shutil.disk_usage`, and deleted after
each step. The compile cache is used as in normal runs.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tos_lint  # noqa: E402
from bench_scan import generate_corpus, machine_info, warm_prefilter  # noqa: E402
from tos_lint import parallel  # noqa: E402
from tos_lint.api import load_ruleset  # noqa: E402
from tos_lint.detect import RuleSet  # noqa: E402
from tos_lint.engine import Engine, EngineOptions  # noqa: E402
from tos_lint.readers import discover  # noqa: E402

MB = 1_000_000
GB = 1_000_000_000
BLOCK_BYTES = 100 * MB  # generated once, copied to make the large corpora (--block-mb)
FILE_BYTES = 1 * GB  # the large corpora are files of this size
DISK_MARGIN = 2 * GB
SPEEDUP_GOAL = 1.8
RSS_GOAL_MB = 500


@dataclass
class Run:
    wall: float
    cpu: float  # this process and its workers
    findings: int
    own_cpu: float = 0.0  # this process alone: the part that does not run in parallel


@dataclass
class Report:
    machine: str
    load_before: tuple[float, float, float]
    step: str = ""
    markdown: dict[str, list[str]] = field(default_factory=dict)  # step -> lines

    def add(self, text: str, md: str | None = None) -> None:
        print(text, flush=True)
        self.markdown.setdefault(self.step, []).append(text if md is None else md)


# --- measuring -------------------------------------------------------------------

def cpu_seconds() -> tuple[float, float]:
    """User + system time of this process, and of it and its reaped children."""
    t = os.times()
    own = t.user + t.system
    return own, own + t.children_user + t.children_system


def timed(fn: Callable[[], int]) -> Run:
    (own0, cpu0), t0 = cpu_seconds(), time.perf_counter()
    findings = fn()
    wall = time.perf_counter() - t0
    own1, cpu1 = cpu_seconds()
    return Run(wall, cpu1 - cpu0, findings, own1 - own0)


def median_runs(fns: Sequence[Callable[[], int]], runs: int) -> list[tuple[Run, list[Run]]]:
    """Median wall and CPU time of each of `fns`, run in turn (a, b, a, b, ...)
    so that a change in the machine's load over time hits them alike."""
    results: list[list[Run]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, results):
            out.append(timed(fn))
    return [(Run(statistics.median(r.wall for r in rs), statistics.median(r.cpu for r in rs), rs[0].findings,
                 statistics.median(r.own_cpu for r in rs)), rs) for rs in results]


def check_disk(folder: Path, needed: int) -> str | None:
    free = shutil.disk_usage(folder).free
    if free < needed + DISK_MARGIN:
        return f"needs {needed / GB:.1f} GB + {DISK_MARGIN / GB:.0f} GB margin, {free / GB:.1f} GB free in {folder}"
    return None


# --- 1. speedup ------------------------------------------------------------------

def _busy(n: int) -> float:
    """A fixed amount of pure-Python work: the calibration unit."""
    t0, x = time.perf_counter(), 0
    for i in range(n):
        x = (x * 31 + i) % 1_000_003
    return time.perf_counter() - t0


def parallel_capacity(n: int = 8_000_000) -> float:
    """How much faster 2 processes get 2 units of work done than 1 process
    gets 1 unit done, right now: 2.0 on an idle 2-core machine, less when
    other work holds the cores. The ceiling for any 2-job speedup."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        list(pool.map(_busy, [n // 10] * 2))  # start both workers
        t0 = time.perf_counter()
        pool.submit(_busy, n).result()
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(_busy, [n, n]))
        two = time.perf_counter() - t0
    return 2 * one / two


def bench_speedup(args: argparse.Namespace, ruleset: RuleSet, work: Path, report: Report) -> None:
    size = args.size_mb * MB
    if (why := check_disk(work, size)) is not None:
        report.add(f"speedup: skipped ({why})")
        return
    path = work / "speedup.jsonl"
    corpus = generate_corpus(path, size, args.seed)
    try:
        scan = lambda jobs: len(tos_lint.scan([str(path)], ruleset=ruleset, jobs=jobs).findings)  # noqa: E731
        scan(1)  # warm the page cache and the compile cache
        capacity = [statistics.median(parallel_capacity() for _ in range(3))]
        (one, ones), (two, twos) = median_runs([lambda: scan(1), lambda: scan(2)], args.runs)
        capacity.append(statistics.median(parallel_capacity() for _ in range(3)))
    finally:
        path.unlink(missing_ok=True)
    assert one.findings == two.findings, "jobs=2 must find what jobs=1 finds"
    speedup = one.wall / two.wall
    verdict = "meets" if speedup >= SPEEDUP_GOAL else "misses"
    report.add(f"speedup: {corpus.size / MB:.0f} MB, {corpus.records} records, {one.findings} findings; "
               f"median of {args.runs}")
    rows = [["jobs=1", f"{one.wall:.2f}", f"{corpus.size / MB / one.wall:.1f}", f"{one.cpu:.2f}", ", ".join(f"{r.wall:.2f}" for r in ones)],
            ["jobs=2", f"{two.wall:.2f}", f"{corpus.size / MB / two.wall:.1f}", f"{two.cpu:.2f}", ", ".join(f"{r.wall:.2f}" for r in twos)]]
    table(report, ["run", "wall s", "MB/s", "CPU s", "all runs (wall s)"], rows)
    # On an idle machine jobs=2 takes about its serial part (this process)
    # plus half of the workers' CPU time: the speedup the CPU times predict.
    model = one.cpu / (two.own_cpu + (two.cpu - two.own_cpu) / 2)
    busy = one.cpu / one.wall
    report.add(f"speedup jobs=2 vs jobs=1, wall time: {speedup:.2f}x (goal >= {SPEEDUP_GOAL}x: {verdict})")
    report.add(f"CPU time jobs=2 / jobs=1: {two.cpu / one.cpu:.2f} (1.00 = no parallel overhead); serial part "
               f"of jobs=2: {two.own_cpu:.2f} s; speedup the CPU times predict on an idle machine: {model:.2f}x")
    report.add(f"share of a core jobs=1 got: {busy:.0%} (100% on an idle machine; below, other work held the cores "
               f"and wall-time speedup is not meaningful)")
    ceiling = statistics.mean(capacity)
    report.add(f"parallel capacity of the machine meanwhile (2 busy loops vs 1, median of 3, before / after): "
               f"{capacity[0]:.2f}x / {capacity[1]:.2f}x; scan speedup relative to it: {speedup / ceiling:.0%}")


# --- 2. Ray ----------------------------------------------------------------------

def bench_ray(args: argparse.Namespace, ruleset: RuleSet, work: Path, report: Report) -> None:
    try:
        import ray
    except ImportError as exc:
        report.add(f"ray: skipped (ray cannot be imported: {exc}; pip install 'tos-lint[ray]')")
        return
    from tos_lint.ray_backend import EngineSpec, connect, run_units_ray

    size = args.ray_size_mb * MB
    if (why := check_disk(work, size)) is not None:
        report.add(f"ray: skipped ({why})")
        return
    path = work / "ray.jsonl"
    corpus = generate_corpus(path, size, args.seed + 1)
    options = EngineOptions()
    engine = Engine(ruleset, options)
    files, _ = discover([str(path)])
    units = parallel.plan(files, None, split=True, jobs=2)
    spec = EngineSpec.from_ruleset(ruleset, options)
    count = lambda results: sum(len(r.findings) for r in results)  # noqa: E731
    try:
        count(parallel.run_units(engine, units, 2))  # warm the page cache
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        t0 = time.perf_counter()
        connect(ray, None, num_cpus=2)
        start = time.perf_counter() - t0
        try:
            first = timed(lambda: count(run_units_ray(spec, units)))
            (local, _), (warm, _) = median_runs([lambda: count(parallel.run_units(engine, units, 2)),
                                                 lambda: count(run_units_ray(spec, units))], args.runs)
        finally:
            ray.shutdown()
    finally:
        path.unlink(missing_ok=True)
    assert first.findings == warm.findings == local.findings, "Ray must find what the local backend finds"
    report.add(f"ray: {corpus.size / MB:.0f} MB in {len(units)} units, {local.findings} findings (equal on both backends)")
    table(report, ["backend", "wall s", "MB/s"], [
        ["local, 2 jobs (median)", f"{local.wall:.2f}", f"{corpus.size / MB / local.wall:.1f}"],
        ["Ray local cluster start (ray.init, 2 CPUs)", f"{start:.2f}", ""],
        ["Ray, first scan (workers build engines)", f"{first.wall:.2f}", f"{corpus.size / MB / first.wall:.1f}"],
        ["Ray, warm scans (median)", f"{warm.wall:.2f}", f"{corpus.size / MB / warm.wall:.1f}"],
    ])
    report.add(f"ray overhead, warm: {warm.wall - local.wall:+.2f} s ({(warm.wall / local.wall - 1) * 100:+.0f}%); "
               f"first scan with cluster start: {start + first.wall - local.wall:+.2f} s")


# --- 3. peak memory --------------------------------------------------------------------

PROBE = """
import json, resource, sys, time
import tos_lint
t0 = time.perf_counter()
result = tos_lint.scan([sys.argv[1]], jobs=int(sys.argv[2]))
wall = time.perf_counter() - t0
print(json.dumps({
    "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "workers_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "findings": len(result.findings), "records": result.stats.records,
    "bytes": result.stats.bytes, "wall": wall,
}))
"""


def make_corpus(folder: Path, size: int, block: Path) -> int:
    """About `size` bytes of JSONL (whole copies of `block`) in files of
    about FILE_BYTES."""
    folder.mkdir(parents=True, exist_ok=True)
    block_size = block.stat().st_size
    written, n = 0, 0
    while written < size:
        target = min(FILE_BYTES, size - written)
        with (folder / f"part-{n:04d}.jsonl").open("wb") as out:
            done = 0
            while done < target:  # whole blocks: every line stays whole
                with block.open("rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
                done += block_size
        written += done
        n += 1
    return written


def rss_probes(sizes_gb: Sequence[float], work: Path, jobs: int, seed: int) -> Iterator[tuple[float, int, dict[str, Any] | str]]:
    """For each size: (size, bytes written, the probe's figures), or (size,
    0, why it was skipped). The corpora are copies of one generated block,
    each deleted after its scan."""
    block = work / "block.jsonl"
    if (why := check_disk(work, BLOCK_BYTES)) is not None:
        yield from ((gb, 0, why) for gb in sizes_gb)
        return
    generate_corpus(block, BLOCK_BYTES, seed + 2)
    try:
        for gb in sizes_gb:
            size = int(gb * GB)
            if (why := check_disk(work, size)) is not None:
                yield gb, 0, why
                continue
            folder = work / f"rss-{gb:g}gb"
            try:
                written = make_corpus(folder, size, block)
                probe = run_probe(folder, jobs)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            yield gb, written, probe
    finally:
        block.unlink(missing_ok=True)


def bench_rss(args: argparse.Namespace, work: Path, report: Report) -> None:
    sizes = [float(s) for s in args.sizes_gb.split(",") if s.strip()]
    rows = []
    for gb, written, probe in rss_probes(sizes, work, args.rss_jobs, args.seed):
        if isinstance(probe, str):
            report.add(f"rss {gb:g} GB: skipped ({probe})")
            continue
        peak = max(probe["self_kb"], probe["workers_kb"]) / 1024
        rows.append([f"{written / GB:.1f} GB", f"{probe['records']:,}", f"{probe['findings']:,}",
                     f"{probe['self_kb'] / 1024:.0f}", f"{probe['workers_kb'] / 1024:.0f}",
                     f"{probe['parent_children_kb'] / 1024:.0f}", f"{probe['wall']:.0f}",
                     f"{written / MB / probe['wall']:.1f}", "yes" if peak <= RSS_GOAL_MB else "no"])
    if rows:
        report.add(f"peak RSS (MB) scanning generated JSONL with jobs={args.rss_jobs}; goal <= {RSS_GOAL_MB} MB per process, flat")
        table(report, ["corpus", "records", "findings", "scanning process", "largest worker",
                       "RUSAGE_CHILDREN here", "wall s", "MB/s", f"<= {RSS_GOAL_MB} MB"], rows)


def run_probe(folder: Path, jobs: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(folder), str(jobs)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"scan subprocess failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    # This process's RUSAGE_CHILDREN: the largest of every process it (and its
    # children) reaped so far, the probe included: a check on the figures above.
    out["parent_children_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out


# --- report --------------------------------------------------------------------

def table(report: Report, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header, *rows])
    md = "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                   + ["| " + " | ".join(r) + " |" for r in rows])
    report.add(text, md)


STEP_TITLES = {"speedup": "Speedup on 2 cores", "ray": "Ray local cluster against the local backend",
               "rss": "Peak memory"}


def write_markdown(path: Path, report: Report, args: argparse.Namespace) -> None:
    """Each step measured in this run replaces its own block in `path`
    (between `<!-- bench_scale:STEP:start/end -->`), so steps run at
    different times keep their figures."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Scale\n"
    for step, lines in report.markdown.items():
        body = "\n".join([
            f"Measured {date.today().isoformat()}: `benchmarks/bench_scale.py {' '.join(sys.argv[1:])}`.",
            f"Machine: {report.machine}. Load average before: {fmt_load(report.load_before)}, "
            f"after: {fmt_load(os.getloadavg())} (a shared machine: wall times depend on the other work on it).",
            "", "\n\n".join(lines),
        ])
        start, end = f"<!-- bench_scale:{step}:start -->", f"<!-- bench_scale:{step}:end -->"
        block = f"{start}\n### {STEP_TITLES[step]}\n\n{body.rstrip()}\n{end}"
        if start in text and end in text:
            before, rest = text.split(start, 1)
            text = before + block + rest.split(end, 1)[1]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def fmt_load(load: Sequence[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mb", type=int, default=200, help="speedup corpus size (MB)")
    p.add_argument("--ray-size-mb", type=int, default=100, help="Ray comparison corpus size (MB)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes-gb", default="1,10", help="peak-RSS corpus sizes, comma-separated (GB)")
    p.add_argument("--rss-jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    p.add_argument("--skip-speedup", action="store_true")
    p.add_argument("--skip-ray", action="store_true")
    p.add_argument("--skip-rss", action="store_true")
    p.add_argument("--markdown", type=Path, help="write the figures into this file, between markers")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = Report(machine_info(), os.getloadavg())
    print(f"machine: {report.machine}; load average {fmt_load(report.load_before)}", flush=True)
    ruleset = load_ruleset()
    warm_prefilter(ruleset)
    with tempfile.TemporaryDirectory(prefix="tos-lint-scale-", dir=args.workdir) as tmp:
        work = Path(tmp)
        if not args.skip_speedup:
            report.step = "speedup"
            bench_speedup(args, ruleset, work, report)
        if not args.skip_ray:
            report.step = "ray"
            bench_ray(args, ruleset, work, report)
        if not args.skip_rss:
            report.step = "rss"
            bench_rss(args, work, report)
    if args.markdown:
        write_markdown(args.markdown, report, args)
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
