"""The Python API: findings, statistics, fingerprints, and the compiled-pattern cache."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import tos_lint
from tos_lint.errors import PackErrors, UsageError
from tests.helpers import CHATGPT_RULE_ID, assert_no_traceback, chatgpt_pack, rule, run_cli, write_jsonl, write_pack

HIT_RECORD = {"messages": [
    {"role": "user", "content": "Who are you?"},
    {"role": "assistant", "content": "Hello! I am ChatGPT, how can I help?"},
]}
CLEAN = {"text": "Boil the pasta for nine minutes."}


def scan(pack: Path, *paths: Path) -> tos_lint.ScanResult:
    return tos_lint.scan([str(p) for p in paths], rules=[pack], use_default_rules=False)


def only(result: tos_lint.ScanResult, rule_id: str = CHATGPT_RULE_ID) -> Any:
    found = [f for f in result.findings if f.rule_id == rule_id]
    assert len(found) == 1, result.findings
    return found[0]


def test_scan_returns_findings_and_stats(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    data = write_jsonl(tmp_path / "d.jsonl", [CLEAN, HIT_RECORD, CLEAN, {"text": "I am ChatGPT."}])
    result = scan(pack, data)
    assert isinstance(result, tos_lint.ScanResult)
    assert sorted(f.location.line for f in result.findings) == [2, 4]
    f = only(scan(pack, write_jsonl(tmp_path / "one.jsonl", [HIT_RECORD])))
    assert f.provider == "openai"
    assert f.severity.label == "high"
    assert f.confidence == pytest.approx(0.9)
    assert f.location.pointer == "/messages/1/content"
    assert "I am ChatGPT" in f.snippet
    s = result.stats
    assert s.files == 1
    assert s.records == 4
    assert s.records_flagged == 2
    assert s.malformed == 0
    assert s.bytes == data.stat().st_size
    assert s.by_rule == Counter({CHATGPT_RULE_ID: 2})
    assert s.by_provider == Counter({"openai": 2})


def test_stats_count_bad_lines_and_files(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    a = write_jsonl(tmp_path / "a.jsonl", [CLEAN, HIT_RECORD])
    b = tmp_path / "b.jsonl"
    b.write_bytes(b'{"text": "ok"}\n{broken\n[1]\n')
    result = scan(pack, a, b)
    assert result.stats.files == 2
    assert result.stats.records == 3
    assert result.stats.malformed == 2
    assert sum(result.stats.by_rule.values()) == len(result.findings)


def test_scan_raises_usage_errors(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    with pytest.raises(UsageError):
        scan(pack, tmp_path / "missing.jsonl")
    bad = write_pack(tmp_path / "bad.yaml", [rule("x.bad", [{"regex": r"(?<=a)b"}])])
    with pytest.raises(PackErrors):
        scan(bad, write_jsonl(tmp_path / "d.jsonl", [CLEAN]))


def test_findings_are_immutable(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    f = only(scan(pack, write_jsonl(tmp_path / "d.jsonl", [HIT_RECORD])))
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.severity = f.severity  # type: ignore[misc]


def test_finding_to_dict_round_trips_through_json(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    f = only(scan(pack, write_jsonl(tmp_path / "d.jsonl", [HIT_RECORD])))
    doc = json.loads(json.dumps(f.to_dict()))
    assert doc["rule_id"] == CHATGPT_RULE_ID
    assert doc["location"]["line"] == 1
    assert doc["fingerprint"] == f.fingerprint


# --- fingerprints ---------------------------------------------------------------------

def test_fingerprint_survives_move_to_another_line(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    first = only(scan(pack, write_jsonl(tmp_path / "a.jsonl", [HIT_RECORD])))
    moved = only(scan(pack, write_jsonl(tmp_path / "b.jsonl", [CLEAN, CLEAN, CLEAN, HIT_RECORD])))
    assert moved.location.line == 4
    assert moved.fingerprint == first.fingerprint


def test_fingerprint_survives_move_to_another_file_and_folder(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    first = only(scan(pack, write_jsonl(tmp_path / "a.jsonl", [HIT_RECORD])))
    (tmp_path / "shard-0007").mkdir()
    other = only(scan(pack, write_jsonl(tmp_path / "shard-0007" / "part.jsonl", [CLEAN, HIT_RECORD])))
    assert other.location.path != first.location.path
    assert other.fingerprint == first.fingerprint


def test_fingerprint_survives_reindenting_and_key_order(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    compact = tmp_path / "compact.jsonl"
    compact.write_text(json.dumps(HIT_RECORD, separators=(",", ":")) + "\n")
    spaced = tmp_path / "spaced.jsonl"
    reordered = {"messages": [{"content": m["content"], "role": m["role"]} for m in HIT_RECORD["messages"]]}
    spaced.write_text(json.dumps(reordered, indent=None, separators=(" , ", " : ")) + "\n")
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps([CLEAN, HIT_RECORD], indent=4))
    single = tmp_path / "single.json"
    single.write_text(json.dumps(HIT_RECORD, indent=2))
    prints = {only(scan(pack, p)).fingerprint for p in (compact, spaced, pretty, single)}
    assert len(prints) == 1


def test_fingerprint_survives_compression(tmp_path: Path) -> None:
    import gzip

    pack = chatgpt_pack(tmp_path)
    plain = write_jsonl(tmp_path / "a.jsonl", [HIT_RECORD])
    packed = tmp_path / "a.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert only(scan(pack, plain)).fingerprint == only(scan(pack, packed)).fingerprint


def test_fingerprint_does_not_contain_the_matched_text(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    f = only(scan(pack, write_jsonl(tmp_path / "d.jsonl", [HIT_RECORD])))
    assert f.fingerprint
    for needle in ("ChatGPT", "chatgpt", "I am", "Hello"):
        assert needle.lower() not in f.fingerprint.lower()
    assert all(c in "0123456789abcdef" for c in f.fingerprint)


def test_fingerprint_tells_records_and_rules_apart(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "two.yaml", [
        rule("t.chatgpt", [{"phrase": "I am ChatGPT"}]),
        rule("t.hello", [{"phrase": "Hello"}], examples={"match": ["Hello!"], "no_match": ["Bye."]}),
    ])
    other = {"messages": [
        {"role": "user", "content": "Name?"},
        {"role": "assistant", "content": "Hello! I am ChatGPT, how can I help?"},
    ]}
    result = scan(pack, write_jsonl(tmp_path / "d.jsonl", [HIT_RECORD, other]))
    by_key = {(f.rule_id, f.location.line): f.fingerprint for f in result.findings}
    assert set(by_key) == {("t.chatgpt", 1), ("t.chatgpt", 2), ("t.hello", 1), ("t.hello", 2)}
    # same matched text in two different records: two findings
    assert by_key[("t.chatgpt", 1)] != by_key[("t.chatgpt", 2)]
    # two rules on one record: two findings
    assert by_key[("t.chatgpt", 1)] != by_key[("t.hello", 1)]


def test_fingerprint_of_record_with_own_id_survives_edits_elsewhere(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    a = {"id": "conv-42", **HIT_RECORD}
    b = {"id": "conv-42", "messages": [
        {"role": "user", "content": "Who are you, exactly?"},
        HIT_RECORD["messages"][1],
    ]}
    fa = only(scan(pack, write_jsonl(tmp_path / "a.jsonl", [a])))
    fb = only(scan(pack, write_jsonl(tmp_path / "b.jsonl", [b])))
    assert fa.location.record_id == "conv-42"
    assert fa.fingerprint == fb.fingerprint


def test_json_report_does_not_leak_text_into_fingerprints(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    data = write_jsonl(tmp_path / "d.jsonl", [HIT_RECORD])
    proc = run_cli(["scan", str(data), "--no-default-rules", "--rules", str(pack), "--format", "jsonl"], cwd=tmp_path)
    [row] = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert "chatgpt" not in row["fingerprint"].lower()
    assert row["fingerprint"] == only(scan(pack, data)).fingerprint


# --- compiled-pattern cache -------------------------------------------------------------

def test_warm_cache_gives_the_same_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))
    pack = chatgpt_pack(tmp_path)
    data = write_jsonl(tmp_path / "d.jsonl", [CLEAN, HIT_RECORD, {"text": "I am ChatGPT"}])
    cold = scan(pack, data)
    warm = scan(pack, data)
    key = lambda r: sorted((f.rule_id, f.location.line, f.fingerprint) for f in r.findings)  # noqa: E731
    assert [line for _, line, _ in key(cold)] == [2, 3]
    assert key(warm) == key(cold)


def test_warm_cache_via_cli(tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.helpers import TOS_LINT

    pack = chatgpt_pack(tmp_path)
    data = write_jsonl(tmp_path / "d.jsonl", [CLEAN, HIT_RECORD])
    env = dict(os.environ, TOS_LINT_CACHE_DIR=str(tmp_path / "cache"))
    runs = [
        subprocess.run([str(TOS_LINT), "scan", str(data), "--no-default-rules", "--rules", str(pack), "--format", "json"],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
        for _ in range(2)
    ]
    for proc in runs:
        assert_no_traceback(proc)  # type: ignore[arg-type]
        assert proc.returncode == 1, proc.stderr
    first, second = (json.loads(p.stdout)["findings"] for p in runs)
    assert [f["fingerprint"] for f in first] == [f["fingerprint"] for f in second]
    assert len(first) == 1


def test_cache_keeps_the_most_recently_used_databases_within_its_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from tos_lint import cache

    folder = tmp_path / "cache"
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(folder))
    monkeypatch.setenv("TOS_LINT_CACHE_MAX_MB", str(2.5 * 1000 / (1 << 20)))  # room for two 1 kB entries
    for age, key in enumerate(["old", "middle", "new"]):
        cache.store(key, bytes(1000))
        os.utime(folder / f"{key}.hsdb", (1000 + age, 1000 + age))
    assert sorted(p.stem for p in folder.glob("*.hsdb")) == ["middle", "new"]
    assert cache.load("middle") == bytes(1000)  # loading marks it used
    cache.store("newest", bytes(1000))
    assert sorted(p.stem for p in folder.glob("*.hsdb")) == ["middle", "newest"]


@pytest.mark.parametrize("damage", ["flip-a-byte", "cut-short"])
def test_a_damaged_cached_database_is_compiled_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    """Databases are loaded without the cache's own digest check (Hyperscan
    checks a CRC and the length): damage must still mean a recompile, never
    a wrong database or an error."""
    from tos_lint import matcher

    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))
    patterns = [r"i\s+am\s+chatgpt", r"hello\s+world"]
    matcher.compile_database(patterns)
    [entry] = (tmp_path / "cache").glob("*.hsdb")
    raw = bytearray(entry.read_bytes())
    if damage == "flip-a-byte":
        raw[len(raw) // 2] ^= 0xFF
    else:
        del raw[len(raw) // 2:]
    entry.write_bytes(bytes(raw))
    found: list[tuple[int, int, int]] = []
    matcher.compile_database(patterns).scan(b"so I am ChatGPT", match_event_handler=matcher.collect_match, context=found)
    assert [pid for pid, _, _ in found] == [0]
    assert entry.read_bytes() != bytes(raw)  # stored again, whole


@pytest.mark.parametrize("value, expected", [("", 256 << 20), ("junk", 256 << 20), ("1", 1 << 20), ("-5", 0)])
def test_cache_limit_from_the_environment(value: str, expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from tos_lint import cache

    monkeypatch.setenv("TOS_LINT_CACHE_MAX_MB", value)
    assert cache.max_bytes() == expected


def test_changed_pack_is_not_served_from_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))
    pack = chatgpt_pack(tmp_path)
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "I am ChatGPT"}, {"text": "I am Gemini"}])
    assert [f.location.line for f in scan(pack, data).findings] == [1]
    write_pack(pack, [rule(CHATGPT_RULE_ID, [{"phrase": "I am Gemini"}],
                           examples={"match": ["I am Gemini"], "no_match": ["x"]})], name="test-chatgpt")
    assert [f.location.line for f in scan(pack, data).findings] == [2]


def test_a_refused_regex_is_looked_for_in_the_given_packs_before_the_built_in_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tos_lint import api, packs

    builtin = write_pack(tmp_path / "builtin.yaml", [rule("builtin.ok", [{"regex": r"i am chatgpt"}])])
    bad = write_pack(tmp_path / "mine.yaml", [rule("mine.backref", [{"regex": r"(chatgpt)\1"}])])
    monkeypatch.setattr(packs, "builtin_pack_paths", lambda: [builtin])
    checked: list[list[str]] = []
    real_load_packs = api.load_packs

    def recording_load_packs(paths, providers=None, check_regexes=True):  # type: ignore[no-untyped-def]
        if check_regexes:
            checked.append([Path(p).name for p in paths])
        return real_load_packs(paths, providers, check_regexes)

    monkeypatch.setattr(api, "load_packs", recording_load_packs)
    with pytest.raises(PackErrors) as caught:
        api.load_ruleset([bad])
    assert checked == [["mine.yaml"]]  # the built-in pack was never compiled regex by regex
    assert "mine.backref" in str(caught.value) and "linear-time" in str(caught.value)
