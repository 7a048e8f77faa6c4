"""The raw-line prefilter on a machine whose compile cache lacks its
databases: a small scan goes without it (compiling them would cost more
than they save), a large one compiles them, and the findings are the same."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tos_lint import api, cache, parallel
from tos_lint.detect import RuleSet
from tos_lint.packs import load_packs
from tos_lint.prefilter import MIN_BLOCK_BYTES, LinePrefilter
from tos_lint.readers import InputFile, discover
from tests.helpers import rule, write_pack

RULES = [
    rule("cold.phrase", [{"phrase": "I am ChatGPT"}]),
    rule("cold.regex", [{"regex": r"knowledge cutoff: \d{4}"}], severity="medium"),
]
LINES = [{"text": "plain line"}, {"text": "Hello, I am ChatGPT."}, {"text": "knowledge cutoff: 2021"}]


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "cold.yaml", RULES)


def fresh_ruleset(pack: Path) -> RuleSet:
    """A new rule set: its prefilter has compiled nothing in this process."""
    return RuleSet(load_packs([pack], {"openai", "unknown"}))


def data_file(tmp_path: Path, copies: int = 1) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for _ in range(copies) for r in LINES), encoding="utf-8")
    return path


def units_of(path: Path, changed: dict[Path, frozenset[int] | None] | None = None) -> list[parallel.WorkUnit]:
    files, _ = discover([str(path)])
    return parallel.plan(files, changed, split=False)


def test_a_small_scan_on_an_empty_cache_goes_without_the_prefilter(empty_cache: Path, pack: Path, tmp_path: Path) -> None:
    ruleset = fresh_ruleset(pack)
    assert not api.ready_prefilter(ruleset, units_of(data_file(tmp_path)))
    prefilter = LinePrefilter.build(ruleset)
    assert prefilter is not None and not prefilter.compiled()


def test_once_compiled_the_prefilter_is_used_for_any_size(empty_cache: Path, pack: Path, tmp_path: Path) -> None:
    ruleset = fresh_ruleset(pack)
    prefilter = LinePrefilter.build(ruleset)
    assert prefilter is not None
    prefilter.db, prefilter.block_db  # compiled here, and stored in the cache
    assert api.ready_prefilter(ruleset, units_of(data_file(tmp_path)))
    # another process finds them in the cache
    assert api.ready_prefilter(fresh_ruleset(pack), units_of(data_file(tmp_path)))


def test_a_large_scan_compiles_the_prefilter(empty_cache: Path, pack: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_file(tmp_path, copies=1000)  # above MIN_BLOCK_BYTES: judged a block at a time
    assert path.stat().st_size > MIN_BLOCK_BYTES
    monkeypatch.setattr(api, "PREFILTER_COMPILE_MIN_BYTES", path.stat().st_size)
    ruleset = fresh_ruleset(pack)
    assert api.ready_prefilter(ruleset, units_of(path))
    result = api.scan([path], rules=[pack], use_default_rules=False, ruleset=ruleset, jobs=1)
    assert result.stats.records == 3000
    assert sum(r.stats.prefiltered for r in result.files) == 1000  # the plain lines, never adapted
    assert LinePrefilter.build(fresh_ruleset(pack)).compiled()  # type: ignore[union-attr]


def test_lines_of_a_changed_only_scan_do_not_count_as_a_large_scan(empty_cache: Path, pack: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_file(tmp_path, copies=50)
    monkeypatch.setattr(api, "PREFILTER_COMPILE_MIN_BYTES", path.stat().st_size)
    units = units_of(path, {path.resolve(): frozenset({2})})
    assert not api.ready_prefilter(fresh_ruleset(pack), units)


def test_a_stream_of_unknown_size_counts_as_large(empty_cache: Path, pack: Path) -> None:
    units = [parallel.WorkUnit(InputFile("<stdin>", None))]
    assert api.ready_prefilter(fresh_ruleset(pack), units)


def test_small_scans_find_the_same_with_and_without_the_cached_prefilter(empty_cache: Path, pack: Path,
                                                                         tmp_path: Path) -> None:
    path = data_file(tmp_path, copies=3)

    def rows(ruleset: RuleSet) -> list[tuple[object, ...]]:
        result = api.scan([path], rules=[pack], use_default_rules=False, ruleset=ruleset, jobs=1)
        return sorted((f.location.line, f.rule_id, f.fingerprint, f.snippet) for f in result.findings)

    cold = fresh_ruleset(pack)
    without = rows(cold)
    assert not LinePrefilter.build(cold).compiled()  # type: ignore[union-attr]  # nothing compiled for it
    warm = fresh_ruleset(pack)
    LinePrefilter.build(warm).db  # type: ignore[union-attr]
    LinePrefilter.build(warm).block_db  # type: ignore[union-attr]
    assert rows(warm) == without
    assert len(without) == 6


def test_cache_has_sees_only_stored_entries(empty_cache: Path) -> None:
    key = cache.cache_key("test", "entry")
    assert not cache.has(key)
    cache.store(key, b"blob")
    assert cache.has(key)
