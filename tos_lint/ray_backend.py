"""Scanning on a Ray cluster (`--backend ray`).

The units of work are the local backend's (`parallel.plan`: files, byte
ranges of large JSONL files, runs of Parquet row groups); each runs
`parallel.scan_unit` as a Ray task, and the results are put back in input
order by `parallel.merge`. So the findings, their order and the statistics
are those of a local scan.

Workers rebuild the engine from an `EngineSpec`, which is small and
picklable: the pack files (path and SHA-256; a worker that reads different
bytes refuses to scan), the provider ids they were validated against, the
`EngineOptions` and the tool version. Compiled pattern databases come from
the compile cache (`TOS_LINT_CACHE_DIR`, see `tos_lint.cache`), so a warm
node does not recompile. Each worker process builds the engine once, on its
first task, and keeps it for every later task with the same spec: whatever
the engine loads (rules, and a reference index once near-duplicate
matching is part of the scan) is loaded once per worker.

Ray is an optional extra (`pip install 'tos-lint[ray]'`), imported only
here and only when this backend is used.

Against an existing cluster:

- every node needs tos-lint installed (the same version: it is checked) and
  must see the inputs and the pack files at the same paths as the driver
  (a shared filesystem or object-store mount); relative input paths are
  made absolute on the driver;
- start the head with `ray start --head` (and `ray start --address HEAD:6379`
  on each worker node), then scan with `--backend ray --address HEAD:6379`,
  or `--address auto` on a node of the cluster. A `ray://HOST:10001`
  address (Ray Client) needs `ray[client]`.

Without an address a local cluster is started on the loopback interface,
used for this scan and stopped. If Ray is already initialised in the
process (`ray.init(...)` by a caller of the Python API), that cluster is
used and left running.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from tos_lint import __version__, parallel
from tos_lint.engine import Engine, EngineOptions, FileResult
from tos_lint.errors import UsageError

if TYPE_CHECKING:
    from tos_lint.detect import RuleSet

INSTALL_HINT = "pip install 'tos-lint[ray]'"
LOCAL_OBJECT_STORE_BYTES = 256 << 20  # results are small: keep /dev/shm use modest


@dataclass(frozen=True)
class EngineSpec:
    """What a worker needs to build the same engine as the driver."""

    packs: tuple[tuple[str, str], ...]  # (path, sha256) of each pack file, in order
    providers: tuple[str, ...]  # provider ids the packs were validated against
    options: EngineOptions
    version: str = __version__

    @classmethod
    def from_ruleset(cls, ruleset: "RuleSet", options: EngineOptions) -> "EngineSpec":
        """The spec of an engine over `ruleset` (its packs as loaded from disk)."""
        packs = tuple((str(Path(p.path).absolute()), p.sha256) for p in ruleset.packs)
        providers = tuple(sorted({r.provider for r in ruleset.rules} | {"unknown"}))
        return cls(packs, providers, options)

    @property
    def key(self) -> str:
        return hashlib.sha256(pickle.dumps(self)).hexdigest()

    def build(self) -> Engine:
        """Load the packs (checked against their SHA-256) and compile them,
        through the compile cache. A near-duplicate reference index, when the
        engine takes one, is opened here: once per worker process."""
        from tos_lint.detect import RuleSet
        from tos_lint.packs import load_packs

        if self.version != __version__:
            raise UsageError(f"the Ray worker runs tos-lint {__version__}, the driver {self.version}; install the same version on every node")
        packs = load_packs([p for p, _ in self.packs], set(self.providers), check_regexes=False)
        for pack, (path, digest) in zip(packs, self.packs):
            if pack.sha256 != digest:
                raise UsageError(f"{path}: the pack file on this Ray node differs from the driver's")
        return Engine(RuleSet(packs), self.options)


_ENGINES: dict[str, Engine] = {}  # per worker process: spec key -> engine


def engine_for(spec: EngineSpec) -> Engine:
    key = spec.key
    if key not in _ENGINES:
        _ENGINES.clear()  # one scan at a time: do not keep an old scan's engine
        _ENGINES[key] = spec.build()
    return _ENGINES[key]


def scan_task(spec: EngineSpec, unit: parallel.WorkUnit) -> parallel.UnitResult:
    """The body of a Ray task (module level, so Ray ships it by reference)."""
    return parallel.scan_unit(engine_for(spec), unit)


def worker_info(spec: EngineSpec) -> tuple[int, int]:
    """(pid, id of the worker's engine): tests check the engine is reused."""
    return os.getpid(), id(engine_for(spec))


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UsageError(f"--backend ray needs Ray, which is not installed ({exc}); {INSTALL_HINT}") from None
    return ray


def run_units_ray(engine_spec: EngineSpec, units: list[parallel.WorkUnit], address: str | None = None,
                  progress: parallel.Progress | None = None, num_cpus: int | None = None,
                  on_file: parallel.FileDone | None = None) -> list[FileResult]:
    """Scan every unit as a Ray task and merge the results as a local scan
    does. `address`: an existing cluster (`HOST:PORT`, `auto`, `ray://...`);
    None starts a local cluster of `num_cpus` (default: all cores)."""
    ray = import_ray()
    units = [_absolute(u) for u in units]
    started = connect(ray, address, num_cpus)
    try:
        return parallel.merge(units, _run(ray, engine_spec, units, progress), on_file)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.as_instanceof_cause() if hasattr(exc, "as_instanceof_cause") else exc
        if isinstance(cause, UsageError):
            raise UsageError(str(cause).splitlines()[-1]) from None
        raise
    finally:
        if started:
            ray.shutdown()


def _run(ray: Any, spec: EngineSpec, units: list[parallel.WorkUnit],
         progress: parallel.Progress | None) -> Iterator[parallel.UnitResult]:
    """Each unit's result in input order, fetched one at a time (and let go
    of once merged), so that the driver never holds them all."""
    task = ray.remote(scan_task).options(num_cpus=1, max_retries=2)
    spec_ref = ray.put(spec)
    refs = [task.remote(spec_ref, u) for u in units]
    if progress is not None:
        where = {r: i for i, r in enumerate(refs)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                progress(units[where[ref]], ray.get(ref))
        del where, pending
    for i, ref in enumerate(refs):
        refs[i] = None  # the object store may free it once it is read
        yield ray.get(ref)


def _absolute(unit: parallel.WorkUnit) -> parallel.WorkUnit:
    """Workers do not share the driver's working directory: absolute paths
    to read, the paths as given to show (so findings equal a local scan's)."""
    if unit.file.fs_path is None:
        raise UsageError("standard input cannot be scanned with --backend ray; scan a file, or use the local backend")
    return replace(unit, file=replace(unit.file, fs_path=unit.file.fs_path.absolute()))


def connect(ray: Any, address: str | None, num_cpus: int | None = None) -> bool:
    """Connect to (or start) a cluster; True when this call did, so the
    caller shuts it down after."""
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            # No usage report leaves the machine; the cluster listens on loopback only.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(num_cpus=num_cpus or parallel.default_jobs(), include_dashboard=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, _node_ip_address="127.0.0.1", **quiet)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise UsageError(f"cannot connect to {where}: {exc}") from None
    return True
