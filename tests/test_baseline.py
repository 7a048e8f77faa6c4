"""Baselines: hashes only, stable across re-ordering, re-formatting and moves."""
from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.helpers import builtin_findings, invoke, rule, write_jsonl, write_pack


# Rule ids that do not contain the matched words, so the file can be searched for them.
RULE_A = "test.self-id.a"
RULE_B = "test.self-id.b"

A_RECORDS: list[dict[str, Any]] = [
    {"id": "r1", "messages": [{"role": "user", "content": "Who?"},
                              {"role": "assistant", "content": "I am ChatGPT, nice to meet you."}]},
    {"text": "I am Claude, made by Anthropic."},
    {"text": "clean and simple"},
    {"text": "First I am ChatGPT. Then I am Claude.", "lang": "en"},
]
B_RECORDS: list[dict[str, Any]] = [
    {"instruction": "Who are you?", "output": "I am ChatGPT."},
    {"instruction": "Add 2 and 2.", "output": "4"},
]
EXPECTED_FINDINGS = 5  # r1, the Claude record, both in the 4th record, the array item


@pytest.fixture()
def proj(tmp_path: Path) -> Path:
    write_pack(tmp_path / "pack.yaml", [
        rule(RULE_A, [{"phrase": "I am ChatGPT"}]),
        rule(RULE_B, [{"phrase": "I am Claude"}], provider="anthropic",
             examples={"match": ["I am Claude."], "no_match": ["Hello."]}),
    ])
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\n", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "a.jsonl", A_RECORDS)
    write_array(data / "b.json", B_RECORDS)
    return tmp_path


def write_array(path: Path, records: list[Any], indent: int | None = 2) -> None:
    path.write_text(json.dumps(records, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def create(proj: Path, monkeypatch: pytest.MonkeyPatch, out: str = "base.json") -> Path:
    res = invoke(["baseline", "create", "data", "-o", out], proj, monkeypatch)
    assert res.exit_code == 0, res.output
    return proj / out


def scan(proj: Path, monkeypatch: pytest.MonkeyPatch, *extra: Any) -> tuple[int, dict[str, Any]]:
    res = invoke(["scan", "data", "--format", "json", "-j", "1", *extra], proj, monkeypatch)
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def test_create_then_scan_exits_0(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, doc = scan(proj, monkeypatch)
    assert code == 1
    assert len(doc["findings"]) == EXPECTED_FINDINGS
    base = create(proj, monkeypatch)
    code, doc = scan(proj, monkeypatch, "--baseline", base)
    assert code == 0
    assert doc["findings"] == []
    assert doc["verdict"]["statuses"]["baseline"] == EXPECTED_FINDINGS
    assert doc["verdict"]["statuses"]["fail"] == 0


# --- what survives ------------------------------------------------------------------

def _reverse(data: Path) -> None:
    write_jsonl(data / "a.jsonl", list(reversed(A_RECORDS)))
    write_array(data / "b.json", list(reversed(B_RECORDS)))


def _reindent(data: Path) -> None:
    (data / "a.jsonl").write_text(
        "".join(json.dumps(dict(reversed(list(r.items()))), separators=(",", ":"), ensure_ascii=True) + "\n"
                for r in A_RECORDS), encoding="utf-8")
    write_array(data / "b.json", [dict(reversed(list(r.items()))) for r in B_RECORDS], indent=None)


def _shift_lines(data: Path) -> None:
    write_jsonl(data / "a.jsonl", [{"text": "new clean one"}, {"text": "another clean one"}, *A_RECORDS])
    text = (data / "a.jsonl").read_text(encoding="utf-8")
    (data / "a.jsonl").write_text("\n\n" + text.replace("\n", "\n\n"), encoding="utf-8")


def _move_between_files(data: Path) -> None:
    # r1 goes into the array file, the Claude record into a new file in a sub-folder
    write_jsonl(data / "a.jsonl", [A_RECORDS[2], A_RECORDS[3]])
    write_array(data / "b.json", [B_RECORDS[1], A_RECORDS[0], B_RECORDS[0]])
    (data / "sub").mkdir()
    write_jsonl(data / "sub" / "c.jsonl", [{"text": "filler"}, A_RECORDS[1]])


def _rename_and_compress(data: Path) -> None:
    raw = (data / "a.jsonl").read_bytes()
    (data / "a.jsonl").unlink()
    (data / "shard-00001.jsonl.gz").write_bytes(gzip.compress(raw))
    shutil.move(str(data / "b.json"), str(data / "renamed.json"))


@pytest.mark.parametrize("change", [_reverse, _reindent, _shift_lines, _move_between_files, _rename_and_compress],
                         ids=["reorder", "reindent", "move-lines", "move-files", "rename-compress"])
def test_baseline_survives(proj: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[Path], None]) -> None:
    base = create(proj, monkeypatch)
    before = base.read_bytes()
    change(proj / "data")
    code, doc = scan(proj, monkeypatch, "--baseline", base)
    assert code == 0, doc["findings"]
    assert doc["verdict"]["statuses"]["baseline"] == EXPECTED_FINDINGS
    assert doc["findings"] == []
    # and a baseline created from the changed data is the same file, byte for byte
    assert create(proj, monkeypatch, "again.json").read_bytes() == before


def test_new_finding_fails(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = create(proj, monkeypatch)
    write_jsonl(proj / "data" / "a.jsonl", [*A_RECORDS, {"text": "I am ChatGPT, a brand new record."}])
    code, doc = scan(proj, monkeypatch, "--baseline", base)
    assert code == 1
    assert [(f["rule_id"], f["location"]["path"], f["location"]["line"], f["status"]) for f in doc["findings"]] == [
        (RULE_A, "data/a.jsonl", len(A_RECORDS) + 1, "fail")]
    assert doc["verdict"]["statuses"]["baseline"] == EXPECTED_FINDINGS
    fingerprints = {e["fingerprint"] for e in json.loads(base.read_text())["findings"]}
    assert doc["findings"][0]["fingerprint"] not in fingerprints


def test_same_text_in_a_different_record_is_new(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = create(proj, monkeypatch)
    changed = [*A_RECORDS]
    changed[1] = {**A_RECORDS[1], "source": "web crawl"}  # no id: its content is its identity
    write_jsonl(proj / "data" / "a.jsonl", changed)
    code, doc = scan(proj, monkeypatch, "--baseline", base)
    assert code == 1
    assert [(f["rule_id"], f["location"]["line"]) for f in doc["findings"]] == [(RULE_B, 2)]


def test_record_with_own_id_keeps_its_fingerprint_when_other_fields_change(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = create(proj, monkeypatch)
    changed = [*A_RECORDS]
    changed[0] = {**A_RECORDS[0], "source": "relabelled", "score": 0.5}
    write_jsonl(proj / "data" / "a.jsonl", changed)
    code, doc = scan(proj, monkeypatch, "--baseline", base)
    assert code == 0
    assert doc["verdict"]["statuses"]["baseline"] == EXPECTED_FINDINGS


# --- what the file holds ----------------------------------------------------------------

def test_baseline_file_holds_hashes_only(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = create(proj, monkeypatch)
    raw = base.read_text(encoding="utf-8")
    doc = json.loads(raw)
    assert set(doc) == {"tool", "version", "findings"}
    entries = doc["findings"]
    assert len(entries) == EXPECTED_FINDINGS
    assert all(set(e) == {"fingerprint", "rule_id"} for e in entries)
    assert all(re.fullmatch(r"[0-9a-f]{16,64}", e["fingerprint"]) for e in entries)
    assert sorted({e["rule_id"] for e in entries}) == [RULE_A, RULE_B]
    assert entries == sorted(entries, key=lambda e: (e["fingerprint"], e["rule_id"]))
    lowered = raw.lower()
    for text in ("chatgpt", "claude", "i am", "nice to meet", "anthropic", "a.jsonl", "b.json", "data/",
                 str(proj).lower(), "/messages", "r1"):
        assert text not in lowered, text
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}", raw), "looks like a timestamp"
    assert '"line"' not in raw and '"path"' not in raw


def test_recreated_baseline_is_byte_identical(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = create(proj, monkeypatch, "one.json").read_bytes()
    second = create(proj, monkeypatch, "one.json").read_bytes()
    third = create(proj, monkeypatch, "sub/two.json").read_bytes()
    assert first == second == third
    leftovers = [p.name for p in proj.rglob(".*.json.*")]
    assert leftovers == []  # the temporary files of the atomic write are gone


def test_create_ignores_the_configured_baseline(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = create(proj, monkeypatch)
    with (proj / "tos-lint.yaml").open("a", encoding="utf-8") as f:
        f.write("baseline: base.json\n")
    assert scan(proj, monkeypatch)[0] == 0  # the configured baseline applies to scans
    assert create(proj, monkeypatch, "new.json").read_bytes() == base.read_bytes()


def test_cli_baseline_overrides_configured_one(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = create(proj, monkeypatch)
    empty = proj / "empty.json"
    empty.write_text(json.dumps({"tool": "tos-lint", "version": 1, "findings": []}), encoding="utf-8")
    with (proj / "tos-lint.yaml").open("a", encoding="utf-8") as f:
        f.write(f"baseline: {base.name}\n")
    assert scan(proj, monkeypatch)[0] == 0
    code, doc = scan(proj, monkeypatch, "--baseline", empty)
    assert code == 1
    assert doc["verdict"]["statuses"]["baseline"] == 0


@pytest.mark.parametrize("content", [
    "not json at all",
    json.dumps({"findings": []}),
    json.dumps({"tool": "tos-lint", "version": 99, "findings": []}),
    json.dumps({"tool": "tos-lint", "version": 1, "findings": [{"rule_id": "x"}]}),
])
def test_bad_baseline_exits_2(proj: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    (proj / "bad.json").write_text(content, encoding="utf-8")
    res = invoke(["scan", "data", "--baseline", "bad.json", "-j", "1"], proj, monkeypatch)
    assert res.exit_code == 2
    assert "bad.json" in res.stderr


@pytest.mark.parametrize(("entries", "message"), [
    ([{"fingerprint": 123, "rule_id": "x"}], "findings[0]: key 'fingerprint': must be a non-empty string (got 123)"),
    ([{"fingerprint": "ab" * 16, "rule_id": "x"}, {"fingerprint": "cd" * 16, "rule_id": None}],
     "findings[1]: key 'rule_id': must be a non-empty string (got None)"),
    ([{"fingerprint": ""}], "findings[0]: key 'fingerprint': must be a non-empty string (got '')"),
    (["ab" * 16], "findings[0]: must be an object"),
])
def test_baseline_entry_of_the_wrong_type_exits_2_naming_entry_and_key(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      entries: list[Any], message: str) -> None:
    """Such a fingerprint would silently match nothing (or, made a string, something)."""
    (proj / "bad.json").write_text(json.dumps({"tool": "tos-lint", "version": 1, "findings": entries}), encoding="utf-8")
    res = invoke(["scan", "data", "--baseline", "bad.json", "-j", "1"], proj, monkeypatch)
    assert res.exit_code == 2
    assert f"tos-lint: error: --baseline bad.json: {message}" in res.stderr


def test_create_reports_what_it_could_not_read(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records that cannot be read get no fingerprint: said, as scan says
    it, and with the exit code scan would give (the default --fail-on high
    does not fail on an input problem, which is medium)."""
    with (proj / "data" / "a.jsonl").open("a", encoding="utf-8") as f:
        f.write("{broken\n")
    res = invoke(["baseline", "create", "data", "-o", "base.json"], proj, monkeypatch)
    assert res.exit_code == 0, res.output
    assert "wrote 5 fingerprint(s) to base.json" in res.stdout
    assert res.stderr.splitlines()[0].startswith("tos-lint: data/a.jsonl:5: malformed-json: not valid JSON")
    assert "1 input problem(s): what could not be read has no fingerprint in the baseline" in res.stderr
    with (proj / "tos-lint.yaml").open("a", encoding="utf-8") as f:
        f.write("fail-on: medium\n")
    res = invoke(["baseline", "create", "data", "-o", "base.json"], proj, monkeypatch)
    assert res.exit_code == 1 and (proj / "base.json").is_file()


def test_missing_baseline_exits_2(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(["scan", "data", "--baseline", "nope.json", "-j", "1"], proj, monkeypatch)
    assert res.exit_code == 2
    assert "nope.json" in res.stderr


# --- built-in packs, realistic records ----------------------------------------------------

def test_builtin_packs_baseline_survives_reformatting(tmp_path: Path, builtin_ruleset: Any) -> None:
    import tos_lint.api as api
    from tos_lint.baseline import load_baseline, write_baseline
    from tos_lint.config import Config
    from tos_lint.policy import decide
    from tos_lint.registry import load_registry

    records = [
        {"conversations": [{"from": "human", "value": "Who are you?"},
                           {"from": "gpt", "value": "I'm ChatGPT, a large language model trained by OpenAI."}]},
        {"instruction": "Introduce yourself.", "output": "As an AI language model developed by OpenAI, I cannot browse."},
        {"instruction": "Name a fruit.", "output": "A pear."},
    ]
    registry = load_registry()
    classes = {pid: p.classification for pid, p in registry.providers.items()}
    first = write_jsonl(tmp_path / "one.jsonl", records)
    findings = builtin_findings([first], builtin_ruleset)
    assert findings, "the built-in packs should flag these records"
    base = tmp_path / "base.json"
    write_baseline(base, findings)
    without_ids = re.sub(r'"rule_id": *"[^"]*"', "", base.read_text(encoding="utf-8")).lower()
    assert "chatgpt" not in without_ids and "language model" not in without_ids and "one.jsonl" not in without_ids

    first.unlink()
    moved = tmp_path / "moved"
    moved.mkdir()
    write_array(moved / "two.json", list(reversed(records)), indent=4)
    again = builtin_findings([moved], builtin_ruleset)
    assert len(again) == len(findings)
    policy = api.build_policy(Config(baseline=str(base)), registry)
    assert policy.baseline == load_baseline(base)
    verdict = decide(again, policy, classes)
    assert {o.status for o in verdict.outcomes} == {"baseline"}
    assert verdict.exit_code == 0
