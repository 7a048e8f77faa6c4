"""The Python API. The command line is a thin layer over `scan()`.

    >>> import tos_lint
    >>> result = tos_lint.scan(["data/"])
    >>> result.findings[0].rule_id
"""
from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from tos_lint import __version__, parallel
from tos_lint.attribution_evidence import EvidenceTally
from tos_lint.attribution_scan import style_attribution
from tos_lint.background import Background, Standby
from tos_lint.config import Config
from tos_lint.detect import RuleSet
from tos_lint.errors import UsageError
from tos_lint.engine import Engine, EngineOptions, FileResult, field_map_finding
from tos_lint.model import Finding, Severity, finding_spool
from tos_lint.packs import Pack, load_packs, pack_paths
from tos_lint.pathnames import shown
from tos_lint.policy import INPUT_RULE_PREFIX, TOOL_RULE_PREFIX, Policy, Verdict, decide, rule_matches
from tos_lint.prefilter import LinePrefilter
from tos_lint.readers import DecompressLimits, discover
from tos_lint.registry import Registry, load_registry
from tos_lint.sampling import SampleSpec, prevalence

@dataclass
class ScanStats:
    files: int = 0
    records: int = 0
    records_flagged: int = 0
    malformed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    by_provider: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    hidden_skipped: int = 0  # hidden files and folders passed over inside the folders scanned
    unknown_type_skipped: int = 0  # files inside the folders scanned that no reader knows by name

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files, "records": self.records, "records_flagged": self.records_flagged,
            "hidden_skipped": self.hidden_skipped, "unknown_type_skipped": self.unknown_type_skipped,
            "malformed": self.malformed, "bytes": self.bytes, "seconds": round(self.seconds, 3),
            "by_provider": dict(sorted(self.by_provider.items())),
            "by_severity": {s.label: self.by_severity.get(s.label, 0) for s in Severity},
            "by_rule": dict(sorted(self.by_rule.items())),
        }


@dataclass
class ScanResult:
    # in input order; a list-like spool that keeps a bounded number in
    # memory and the rest on disk (`tos_lint.spool`), for scans that find millions
    findings: Sequence[Finding]
    stats: ScanStats
    files: list[FileResult]
    packs: list[Pack]
    registry: Registry
    version: str = __version__
    manifest: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] | None = None  # prevalence estimates, when sampling
    attribution: Any = None  # ScanAttribution: which providers the evidence points to
    style_attribution: dict[str, Any] | None = None  # when asked: which providers' style the text reads like
    warnings: list[str] = field(default_factory=list)  # about the configuration, for the command line to print


def load_ruleset(rule_paths: Sequence[str | Path] = (), use_default_rules: bool = True,
                 registry: Registry | None = None) -> RuleSet:
    """Load, validate and compile packs. Regexes are checked by the one
    compile of all of them that the scan needs anyway (and caches); only if
    it fails are they compiled one by one, so that the error names the rule
    and key. Checking each first would double a cold start."""
    import hyperscan

    registry = registry or load_registry()
    paths = pack_paths(rule_paths, use_default_rules)
    providers = set(registry.providers) | {"unknown"}
    packs = load_packs(paths, providers, check_regexes=False)
    try:
        return RuleSet(packs)
    except hyperscan.error:
        # Name each refused regex, compiling them one by one: the given packs
        # first, since the built-in ones are tested (all of theirs take 30 s).
        load_packs(rule_paths, providers, check_regexes=True)
        load_packs(paths, providers, check_regexes=True)
        raise


def scan(
    paths: Iterable[str | Path],
    *,
    rules: Sequence[str | Path] = (),
    use_default_rules: bool = True,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    hidden: bool = False,
    force_format: str | None = None,
    field_map: dict[str, list[str]] | None = None,
    max_record_bytes: int = 64 << 20,
    limits: DecompressLimits | None = None,
    ruleset: RuleSet | None = None,
    registry: Registry | None = None,
    changed: Mapping[Path, frozenset[int] | None] | None = None,
    options: Mapping[str, Any] | None = None,
    sample: SampleSpec | None = None,
    jobs: int | None = None,
    indexes: Sequence[str | Path] = (),
    backend: str = "local",
    address: str | None = None,
    progress: bool = False,
) -> ScanResult:
    """Scan files or directories and return every finding with statistics.

    Raises `tos_lint.errors.UsageError` (or `PackErrors`) for bad paths and
    rule packs; problems inside the data are findings, never exceptions.
    `changed` restricts the scan to those files (resolved paths), and each
    to the given 1-based lines where it names them (changed-only scans).
    `options` are recorded as given in the audit manifest. `jobs` is the
    number of processes (default: all cores); results do not depend on it.
    `hidden`: also scan files and folders inside folders whose names start
    with '.'; without it they are counted (`stats.hidden_skipped`) and
    listed in the manifest.
    """
    started = time.perf_counter()
    started_at = _utc_now()
    registry = registry or load_registry()
    ruleset = ruleset or load_ruleset(rules, use_default_rules, registry)
    files, passed_over = discover([str(p) for p in paths], include, exclude, hidden)
    if changed is not None:
        # a path found unfit to open is reported in any scan of its folder
        files = [f for f in files if f.fs_path is not None and (f.problem is not None or f.fs_path.resolve() in changed)]
        # realpath, not resolve(): a symlink loop is passed over too
        passed_over.unknown_type = [p for p in passed_over.unknown_type if Path(os.path.realpath(p)) in changed]
    # Large files are split into ranges for several processes, and for a
    # progress bar that moves; one process without one reads them whole,
    # which spares a line count and a second read to hash each split file.
    split = sample is None and (backend == "ray" or progress or (jobs or parallel.default_jobs()) > 1)
    units = parallel.plan(files, dict(changed) if changed is not None else None, split=split, jobs=jobs)
    # a sample, and near-duplicate matching, need every record: no prefilter
    use_prefilter = sample is None and not indexes and ready_prefilter(ruleset, units)
    engine_options = EngineOptions(force_format=force_format, field_map=field_map,
                                   max_record_bytes=max_record_bytes, limits=limits, sample=sample,
                                   indexes=tuple(str(i) for i in indexes), prefilter=use_prefilter)
    engine = Engine(ruleset, engine_options, registry)
    collected = _Collector(field_map)
    results = _run_units(engine, units, jobs, backend, address, progress, collected)
    findings = collected.findings
    stats = _stats(results)
    evidence = EvidenceTally()
    for f in findings:  # one pass for both: the findings may be read back from disk
        _count(stats, f)
        evidence.add(f)
    stats.seconds = time.perf_counter() - started
    stats.hidden_skipped = len(passed_over.hidden)
    stats.unknown_type_skipped = len(passed_over.unknown_type)
    result = ScanResult(findings, stats, results, ruleset.packs, registry)
    result.attribution = evidence.attribution({r.path: r.stats.records for r in results})
    if sample is not None:
        sampled = sum(r.sampled or 0 for r in results)
        evidence = (((f.location.path, f.location.line, f.location.index), f.provider)
                    for f in findings if not f.rule_id.startswith(INPUT_RULE_PREFIX))
        result.sample = prevalence(evidence, sampled, sample)
    result.manifest = build_manifest(result, dict(options or {}) | {"_indexes": _index_digests(indexes)}, started_at, _utc_now(),
                                     {f.path: f.fs_path for f in files})
    result.manifest["hidden_skipped"] = [shown(str(p)) for p in passed_over.hidden]
    result.manifest["unknown_type_skipped"] = [shown(str(p)) for p in passed_over.unknown_type]
    return result


# Without its databases in the cache, the raw-line prefilter costs a small
# scan more than it saves: compiling them takes the built-in packs some 15 s
# on two cores, and skipping the records no rule can match saves about
# 0.02 s per MB. Below this size a scan on an empty cache matches every
# record (at most some 0.6 s more); from it on, the databases are compiled
# and cached, and every later scan uses them whatever its size.
PREFILTER_COMPILE_MIN_BYTES = 32 << 20


def ready_prefilter(ruleset: RuleSet, units: Sequence[parallel.WorkUnit]) -> bool:
    """Whether the scan of `units` should use the raw-line prefilter (the
    findings are the same either way). When it should and its databases are
    not in the cache, they are compiled here, before the workers start
    (each would compile its own)."""
    prefilter = LinePrefilter.build(ruleset)
    if prefilter is None or prefilter.compiled():
        return True
    if _bytes_to_scan(units) < PREFILTER_COMPILE_MIN_BYTES:
        return False
    prefilter.compile()
    return True


def _bytes_to_scan(units: Sequence[parallel.WorkUnit]) -> float:
    """Bytes as stored of the units read whole (a changed-lines unit reads a
    few lines); a stream's size is unknown: infinite."""
    if any(u.file.fs_path is None for u in units):
        return math.inf
    return sum(u.nbytes for u in units if u.only_lines is None)


class _Collector:
    """The scan's findings: each file's moved in as soon as the file is
    done, so that findings held in memory stay bounded however many files
    there are (each file's own spool is emptied)."""

    def __init__(self, field_map: dict[str, list[str]] | None):
        self.field_map = field_map
        self.findings = finding_spool()

    def __call__(self, result: FileResult) -> None:
        unmatched = field_map_finding(result, self.field_map)
        if unmatched is not None:
            self.findings.append(unmatched)
        self.findings.extend(result.findings)
        result.findings.close()


def _run_units(engine: Engine, units: list[parallel.WorkUnit], jobs: int | None, backend: str,
               address: str | None, progress: bool, on_file: parallel.FileDone) -> list[FileResult]:
    """Run the units on this machine's cores, or as Ray tasks on a cluster."""
    from tos_lint.progress import scan_progress

    if backend not in ("local", "ray"):
        raise UsageError(f"unknown backend {backend!r} (expected local or ray)")
    with scan_progress(units, enabled=progress) as on_done:
        if backend == "ray":
            from tos_lint.ray_backend import EngineSpec, run_units_ray

            spec = EngineSpec.from_ruleset(engine.ruleset, engine.options)
            results = run_units_ray(spec, units, address=address, progress=on_done, num_cpus=jobs, on_file=on_file)
            return parallel.with_digests(results, units)
        return parallel.run_units(engine, units, jobs or parallel.default_jobs(), progress=on_done, on_file=on_file)


def _index_digests(indexes: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Each reference index with its SHA-256 (a Redis location by name only)."""
    from tos_lint.verify import file_digest

    out: list[dict[str, Any]] = []
    for loc in indexes:
        path = Path(str(loc))
        if path.is_file():
            size, digest = file_digest(path)
            out.append({"location": str(loc), "size": size, "sha256": digest})
        else:
            out.append({"location": str(loc)})
    return out


def _utc_now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_manifest(result: ScanResult, options: dict[str, Any], started_at: str, finished_at: str,
                   fs_paths: Mapping[str, Path | None] | None = None) -> dict[str, Any]:
    """What a report describes, exactly: tool, packs, registry, inputs with
    their SHA-256, options and times. `tos-lint verify` re-checks the inputs.
    `fs_paths`: each input's path on disk by the path shown (see `pathnames`)."""
    fs_paths = fs_paths or {}
    return {
        "tool": {"name": "tos-lint", "version": result.version},
        "packs": [{"name": p.name, "path": p.path, "sha256": p.sha256, "rules": len(p.rules)} for p in result.packs],
        "registry": {"path": result.registry.path, "sha256": result.registry.sha256},
        "indexes": options.pop("_indexes", []),  # filled in by scan() from the index files
        "inputs": [
            {"path": r.path, "abspath": _abspath(r.path, fs_paths.get(r.path)),
             "size": r.stats.size, "sha256": r.stats.sha256 or None, "records": r.stats.records,
             "malformed": r.stats.malformed}
            for r in result.files
        ],
        "options": options,
        "started_at": started_at,
        "finished_at": finished_at,
    }


def _abspath(path: str, fs_path: Path | None) -> str | None:
    """Where an input is, resolved, as reports show paths; os.path.realpath
    also names a symlink loop (reported as unreadable) where Path.resolve raises."""
    if path == "<stdin>":
        return None
    return shown(os.path.realpath(fs_path if fs_path is not None else path))


def _stats(results: list[FileResult]) -> ScanStats:
    """The files' counts; the findings' are added by `_count`."""
    stats = ScanStats(files=len(results))
    for r in results:
        stats.records += r.stats.records
        stats.malformed += r.stats.malformed
        stats.bytes += r.stats.bytes
        stats.records_flagged += r.flagged_records
    return stats


def _count(stats: ScanStats, f: Finding) -> None:
    stats.by_provider[f.provider] += 1
    stats.by_severity[f.severity.label] += 1
    stats.by_rule[f.rule_id] += 1


def build_policy(config: Config, registry: Registry) -> Policy:
    """The policy a configuration describes (baseline and allowlists loaded)."""
    from tos_lint.baseline import load_baseline
    from tos_lint.suppressions import load_suppressions

    unknown = sorted(set(config.providers) - set(registry.providers) - {"unknown", "none"})
    if unknown:
        raise UsageError(f"{config.path}: key 'providers': unknown provider {unknown[0]!r} (see `tos-lint providers`)")
    suppressions = [s for path in config.allowlist for s in load_suppressions(path)]
    suppressions += [s for path in config.waivers for s in load_suppressions(path, require_waiver_fields=True)]
    return Policy(
        fail_on=config.fail_on, select=tuple(config.select), ignore=tuple(config.ignore),
        severity_overrides=dict(config.severity), stances=dict(config.providers),
        suppressions=tuple(suppressions),
        baseline=load_baseline(config.baseline) if config.baseline else frozenset(),
    )


def config_options(config: Config, changed_only: bool) -> dict[str, Any]:
    """The configuration as recorded in the manifest (JSON-safe)."""
    import dataclasses

    out = dataclasses.asdict(config)
    out["severity"] = {k: v.label for k, v in config.severity.items()}
    out["attribution_severity"] = config.attribution_severity.label
    out["changed_only"] = changed_only
    return out


def run(paths: Iterable[str | Path], config: Config | None = None,
        changed: Mapping[Path, frozenset[int] | None] | None = None,
        sample: SampleSpec | None = None, jobs: int | None = None,
        backend: str = "local", address: str | None = None,
        progress: bool = False, standby: Standby | None = None) -> tuple[ScanResult, Verdict]:
    """Scan as the command line does: configuration in, result and verdict out.
    `standby`: a child from `attribution_scan.standby()`, started before
    the configuration was read, that takes the style attribution if asked."""
    config = config or Config()
    registry = load_registry()
    policy = build_policy(config, registry)
    # style attribution samples the files itself: in a child process, so that
    # it overlaps this process's start-up (the rules loaded, or compiled) and the scan
    style = (Background(style_attribution, [str(p) for p in paths], config, registry, standby=standby)
             if config.attribution else None)
    if standby is not None:
        standby.cancel()  # one not handed the call (attribution off) is stopped
    try:
        ruleset = load_ruleset(config.rules, config.default_rules, registry)
        warnings = check_selection(config, [r.id for r in ruleset.rules])
        result = scan(
            paths, rules=config.rules, use_default_rules=config.default_rules,
            include=config.include or None, exclude=config.exclude or None, hidden=config.hidden,
            force_format=config.input_format, field_map=config.field_map or None,
            max_record_bytes=config.max_record_bytes, limits=decompress_limits(config),
            ruleset=ruleset, registry=registry, changed=changed,
            options=config_options(config, changed is not None) | {"sample": sample.describe() if sample else None},
            sample=sample, jobs=jobs, indexes=config.index,
            backend=backend, address=address, progress=progress,
        )
        result.warnings = warnings
        if style is not None:
            _add_style_attribution(result, *style.result())
    except BaseException:
        if style is not None:
            style.cancel()  # a refused configuration or a failed scan leaves no child running
        raise
    classifications = {pid: p.classification for pid, p in registry.providers.items()}
    return result, decide(result.findings, policy, classifications)


def check_selection(config: Config, rule_ids: Sequence[str]) -> list[str]:
    """Refuse a configuration under which a scan checks nothing the user
    asked for: no rule loaded at all (and no near-duplicate index or style
    attribution), or a `select` value that matches no rule (a typo would
    otherwise turn every rule off and pass the gate). An `ignore` value
    that matches no rule changes nothing: a warning, returned."""
    if not rule_ids and not config.index and not config.attribution:
        raise UsageError("no rules to run: the built-in packs are turned off (--no-default-rules or "
                         "'default-rules: false') and no pack is given (--rules); the scan would check nothing")
    for value in config.select:
        if not _selects(value, rule_ids):
            raise UsageError(f"--select / select: {value!r}{'' if value else ' (an empty value)'} matches no rule id"
                             f"{_did_you_mean(value, rule_ids)} "
                             "(a selector is a rule id or its leading dotted parts, e.g. 'openai' or "
                             "'openai.self-id'; see `tos-lint rules list`)")
    return [f"--ignore / ignore: {value!r} matches no rule id{_did_you_mean(value, rule_ids)}; it ignores nothing"
            for value in config.ignore if not _selects(value, rule_ids)]


def _selects(value: str, rule_ids: Sequence[str]) -> bool:
    return bool(value) and (rule_matches(value, TOOL_RULE_PREFIX) or any(rule_matches(rid, value) for rid in rule_ids))


def _did_you_mean(value: str, rule_ids: Sequence[str]) -> str:
    """A close selector, by the same number of dotted parts."""
    import difflib

    depth = value.rstrip(".").count(".") + 1
    prefixes = sorted({".".join(rid.split(".")[:depth]) for rid in rule_ids})
    close = difflib.get_close_matches(value.rstrip("."), prefixes, n=1)
    return f" (did you mean {close[0]!r}?)" if close and value else ""


def decompress_limits(config: Config) -> DecompressLimits:
    """The decompression caps a configuration sets."""
    return DecompressLimits(max_ratio=config.max_expansion, max_bytes=config.max_decompressed_bytes)


def _add_style_attribution(result: ScanResult, report: dict[str, Any], extra: list[Finding]) -> None:
    result.style_attribution = report
    result.findings.extend(extra)  # type: ignore[attr-defined]  # the scan's spool
    for f in extra:
        _count(result.stats, f)
