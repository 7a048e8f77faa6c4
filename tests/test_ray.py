"""The Ray backend on a real local cluster: the same findings as a local scan.

The cluster is started once for the module, on the loopback interface, with
2 CPUs and no dashboard, by the backend's own `connect` (what `--backend
ray` without `--address` does). Skipped only when Ray cannot be imported
(it is in the `test` extra, so CI runs it).
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest

import tos_lint
from tests.helpers import rule, write_jsonl, write_pack
from tos_lint import parallel
from tos_lint.detect import RuleSet
from tos_lint.engine import Engine, EngineOptions, FileResult
from tos_lint.errors import UsageError
from tos_lint.model import Finding
from tos_lint.packs import load_packs
from tos_lint.readers import discover

try:
    import ray
except ImportError as exc:  # pragma: no cover - ray is in the test extra
    ray = None
    RAY_MISSING = f"ray cannot be imported ({exc}); install it with pip install 'tos-lint[ray]'"
else:
    RAY_MISSING = ""

needs_ray = pytest.mark.skipif(ray is None, reason=RAY_MISSING or "ray is installed")

HIT = "Sure! I am ChatGPT, a language model developed by OpenAI."
CLEAN = "Bread rises because yeast makes carbon dioxide."


def test_missing_ray_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tos_lint import ray_backend

    monkeypatch.setitem(sys.modules, "ray", None)  # what an uninstalled module looks like to import
    with pytest.raises(UsageError, match=r"tos-lint\[ray\]"):
        ray_backend.import_ray()


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("packs")
    write_pack(folder / "small.yaml", [
        rule("test.chatgpt", [{"phrase": "I am ChatGPT"}]),
        rule("test.openai", [{"regex": r"\bdeveloped by OpenAI\b"}], severity="medium",
             examples={"match": ["a model developed by OpenAI"], "no_match": ["developed by others"]}),
    ])
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if ray is None:
        pytest.skip(RAY_MISSING)
    from tos_lint import ray_backend

    with pytest.MonkeyPatch.context() as mp:
        # Workers inherit the environment of the cluster this process starts:
        # they load the databases the driver compiled into this cache.
        mp.setenv("TOS_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("hsdb")))
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        assert ray_backend.connect(ray, None, num_cpus=2) is True
        try:
            assert ray.cluster_resources().get("CPU") == 2
            yield ray
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def engine(cluster: Any, pack_dir: Path) -> Engine:
    ruleset = RuleSet(load_packs([pack_dir / "small.yaml"], {"openai", "unknown"}))
    return Engine(ruleset, EngineOptions())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Several files and formats; one JSONL file large enough to be split."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("corpus")

    def chat(i: int) -> dict[str, Any]:
        answer = HIT if i % 7 == 3 else CLEAN + " " * (i % 5)
        return {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": answer}]}

    write_jsonl(root / "a_big.jsonl", [chat(i) for i in range(3000)])
    with (root / "a_big.jsonl").open("a") as f:
        f.write("{not json\n")
    (root / "b.jsonl.gz").write_bytes(gzip.compress("\n".join(json.dumps(chat(i)) for i in range(50)).encode()))
    pq.write_table(pa.Table.from_pylist([chat(i) for i in range(500)]), root / "c.parquet", row_group_size=50,
                   compression="none", use_dictionary=False)
    (root / "d.csv").write_text("prompt,completion\nhi," + HIT.replace(",", "") + "\nhey,fine\n")
    (root / "e.json").write_text(json.dumps([chat(i) for i in range(20)]))
    return root


def units_of(corpus: Path) -> list[parallel.WorkUnit]:
    files, _ = discover([str(corpus)])
    units = parallel.plan(files, None, split=True, split_bytes=32 * 1024)
    kinds = {u.by for u in units if u.is_range}
    assert kinds == {"bytes", "row_groups"}, "the corpus must exercise both kinds of split"
    return units


def rows(findings: Iterable[Finding]) -> list[tuple[Any, ...]]:
    return [(f.rule_id, f.location.path, f.location.line, f.location.index, f.location.pointer, f.fingerprint)
            for f in findings]


def flat(results: list[FileResult]) -> list[tuple[Any, ...]]:
    return rows(f for r in results for f in r.findings)


def file_stats(results: list[FileResult]) -> list[tuple[Any, ...]]:
    return [(r.path, r.stats.records, r.stats.malformed, r.flagged_records) for r in results]


@needs_ray
def test_ray_finds_what_a_local_scan_finds(engine: Engine, corpus: Path) -> None:
    from tos_lint.ray_backend import EngineSpec, run_units_ray

    units = units_of(corpus)
    assert len(units) > 8
    local = parallel.run_units(engine, units, jobs=1)
    done: list[parallel.WorkUnit] = []
    remote = run_units_ray(EngineSpec.from_ruleset(engine.ruleset, engine.options), units,
                           progress=lambda unit, _: done.append(unit))
    assert flat(remote) == flat(local)  # same findings, same order
    assert file_stats(remote) == file_stats(local)
    assert sorted(map(repr, done)) == sorted(map(repr, units))
    assert {f[0] for f in flat(local)} == {"test.chatgpt", "test.openai", "tos-lint.input.malformed-json"}
    assert ray.is_initialized()  # a cluster the caller started is left running


@needs_ray
def test_ray_results_do_not_depend_on_cwd(engine: Engine, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tos_lint.ray_backend import EngineSpec, run_units_ray

    monkeypatch.chdir(corpus.parent)
    files, _ = discover([corpus.name])  # relative paths, as a user types them
    units = parallel.plan(files, None, split=False)
    remote = run_units_ray(EngineSpec.from_ruleset(engine.ruleset, engine.options), units)
    local = parallel.run_units(engine, units, jobs=1)
    assert flat(remote) == flat(local)
    assert all(not Path(r.path).is_absolute() for r in remote)


@needs_ray
def test_each_worker_builds_its_engine_once(engine: Engine) -> None:
    from tos_lint.ray_backend import EngineSpec, worker_info

    spec = ray.put(EngineSpec.from_ruleset(engine.ruleset, engine.options))
    info = ray.get([ray.remote(worker_info).options(num_cpus=1).remote(spec) for _ in range(12)])
    engines_by_pid: dict[int, set[int]] = {}
    for pid, engine_id in info:
        engines_by_pid.setdefault(pid, set()).add(engine_id)
    assert all(len(ids) == 1 for ids in engines_by_pid.values())


@needs_ray
def test_pack_that_differs_on_a_worker_is_refused(engine: Engine, corpus: Path) -> None:
    from tos_lint.ray_backend import EngineSpec, run_units_ray

    spec = EngineSpec.from_ruleset(engine.ruleset, engine.options)
    tampered = EngineSpec(tuple((path, "0" * 64) for path, _ in spec.packs), spec.providers, spec.options)
    with pytest.raises(UsageError, match="differs from the driver"):
        run_units_ray(tampered, parallel.plan(discover([str(corpus / "d.csv")])[0], None, split=False))


@needs_ray
def test_stdin_is_refused(engine: Engine) -> None:
    from tos_lint.ray_backend import EngineSpec, run_units_ray
    from tos_lint.readers import InputFile

    with pytest.raises(UsageError, match="standard input"):
        run_units_ray(EngineSpec.from_ruleset(engine.ruleset, engine.options), [parallel.WorkUnit(InputFile("<stdin>", None))])


@needs_ray
def test_api_scan_equals_ray_scan(engine: Engine, corpus: Path, pack_dir: Path) -> None:
    """What `scan --backend ray` will run, against the API's local result."""
    from tos_lint.ray_backend import EngineSpec, run_units_ray

    result = tos_lint.scan([str(corpus)], rules=[pack_dir / "small.yaml"], use_default_rules=False, jobs=2)
    files, _ = discover([str(corpus)])
    units = parallel.plan(files, None, split=True)
    remote = run_units_ray(EngineSpec.from_ruleset(engine.ruleset, engine.options), units)
    assert flat(remote) == rows(result.findings)  # the API moves each file's findings into its own
