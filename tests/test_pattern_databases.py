"""A long pattern list compiled as two databases side by side, scanned as
one: the same matches, ids and order as a single database would give."""
from __future__ import annotations

import hyperscan as hs
import pytest

from tos_lint import matcher
from tos_lint.matcher import PatternDatabases, collect_match, compile_database

PATTERNS = [r"chatgpt", r"openai", r"i'?m chatgpt", r"large language model", r"trained by \w+",
            r"model", r"gpt-?4o?", r"as an ai"]
TEXT = b"i'm chatgpt, a large language model trained by openai. gpt-4o as an ai model"


@pytest.fixture
def split_small(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(matcher, "SPLIT_COMPILE_MIN_PATTERNS", 2)
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))


def single_database_matches(patterns: list[str], text: bytes) -> list[tuple[int, int, int]]:
    found: list[tuple[int, int, int]] = []
    compile_database(patterns).scan(text, match_event_handler=collect_match, context=found)
    return sorted(found, key=lambda m: (m[2], m[0]))


def test_two_halves_find_what_one_database_finds(split_small: None) -> None:
    split = PatternDatabases(PATTERNS)
    assert len(split.parts) == 2
    found = split.scan(TEXT)
    assert found == single_database_matches(PATTERNS, TEXT)
    assert {pid for pid, _, _ in found} == set(range(len(PATTERNS)))  # ids of both halves, shifted right


def test_the_second_time_both_halves_come_from_the_cache(split_small: None) -> None:
    first = PatternDatabases(PATTERNS).scan(TEXT)
    assert matcher.database_cached(PATTERNS[len(PATTERNS) // 2:], matcher.TEXT_FLAGS)
    assert PatternDatabases(PATTERNS).scan(TEXT) == first


def test_a_short_list_is_one_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher, "SPLIT_COMPILE_MIN_PATTERNS", len(PATTERNS) + 1)
    assert len(PatternDatabases(PATTERNS).parts) == 1


def test_matches_come_by_end_then_pattern_id() -> None:
    found = PatternDatabases(PATTERNS).scan(TEXT)
    assert found == sorted(found, key=lambda m: (m[2], m[0])) and len(found) > 5


@pytest.mark.parametrize("bad_at", [0, -1], ids=["first half", "second half (child process)"])
def test_a_refused_pattern_in_either_half_raises_the_engine_error(split_small: None, bad_at: int) -> None:
    patterns = list(PATTERNS)
    patterns[bad_at] = r"(chatgpt)\1"  # back-references are refused
    with pytest.raises(hs.error):  # type: ignore[attr-defined]
        PatternDatabases(patterns)


@pytest.mark.parametrize(("count", "stable", "spans"), [
    (10, 0, [(0, 5), (5, 10)]),
    (10, 7, [(0, 3), (3, 7), (7, 10)]),
    (10, 6, [(0, 3), (3, 6), (6, 8), (8, 10)]),
    (10, 10, [(0, 5), (5, 10)]),
    (5, 2, [(0, 2), (2, 5)]),
    (3, 0, [(0, 3)]),
])
def test_stable_patterns_and_the_others_are_compiled_apart(monkeypatch: pytest.MonkeyPatch, count: int, stable: int,
                                                         spans: list[tuple[int, int]]) -> None:
    monkeypatch.setattr(matcher, "SPLIT_COMPILE_MIN_PATTERNS", 4)
    assert matcher._compile_spans(count, stable) == spans


def test_an_edit_after_the_stable_patterns_leaves_their_databases_in_the_cache(
        split_small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher, "SPLIT_COMPILE_MIN_PATTERNS", 3)  # the stable six in halves, the other two whole
    stable = 6
    before = PatternDatabases(PATTERNS, stable=stable)
    assert [offset for _, offset in before.parts] == [0, 3, 6]
    edited = PATTERNS[:stable] + ["model", "as an a\\.?i\\.?"]
    assert matcher.database_cached(edited[:3], matcher.TEXT_FLAGS) and matcher.database_cached(edited[3:6], matcher.TEXT_FLAGS)
    assert not matcher.database_cached(edited[6:], matcher.TEXT_FLAGS)  # only this part compiles
    assert PatternDatabases(edited, stable=stable).scan(TEXT) == single_database_matches(edited, TEXT)


def test_the_built_in_packs_regexes_are_the_stable_part_of_a_rule_set(builtin_ruleset, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tos_lint.detect import RuleSet
    from tests.helpers import builtin_packs, rule, write_pack
    from tos_lint.packs import CONDITION_ROLES, load_packs

    mine = write_pack(tmp_path / "mine.yaml", [rule("mine.codename", [{"regex": r"project bluebird"}])])
    with_mine = RuleSet(builtin_packs() + load_packs([mine], {"openai", "unknown"}))
    assert builtin_ruleset.database is not None and with_mine.database is not None
    builtin_offsets = [offset for _, offset in builtin_ruleset.database.parts]
    distinct_builtin = len(dict.fromkeys(p.regex for p in builtin_ruleset.patterns if p.role not in CONDITION_ROLES))
    assert [offset for _, offset in with_mine.database.parts] == builtin_offsets + [distinct_builtin]


def test_parts_in_the_cache_are_read_at_their_first_scan(split_small: None) -> None:
    PatternDatabases(PATTERNS)  # compiles both halves into the cache
    warm = PatternDatabases(PATTERNS)
    deferred = [db for db, _ in warm.parts]
    assert all(isinstance(db, matcher.CachedDatabase) and not db.loaded for db in deferred)
    assert warm.scan(TEXT) == single_database_matches(PATTERNS, TEXT)
    assert all(db.loaded for db in deferred)


def test_a_part_gone_from_the_cache_before_its_first_scan_is_compiled_afresh(split_small: None, tmp_path) -> None:  # type: ignore[no-untyped-def]
    PatternDatabases(PATTERNS)
    warm = PatternDatabases(PATTERNS)
    for entry in (tmp_path / "cache").glob("*.hsdb"):
        entry.write_bytes(entry.read_bytes()[:100])  # damaged: Hyperscan refuses it
    assert warm.scan(TEXT) == single_database_matches(PATTERNS, TEXT)


def test_load_reads_every_deferred_part(split_small: None) -> None:
    PatternDatabases(PATTERNS)
    warm = PatternDatabases(PATTERNS)
    warm.load()
    assert all(db.loaded for db, _ in warm.parts if isinstance(db, matcher.CachedDatabase))
