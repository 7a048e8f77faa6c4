"""A configured `field-map` reads records from its keys only: a file whose
records hold none of them would be scanned for nothing, so it is a finding,
whether the raw-line prefilter is on or off and however the file is split."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import chatgpt_pack, force_split, invoke, write_jsonl
from tos_lint import api
from tos_lint.detect import RuleSet
from tos_lint.engine import Engine, EngineOptions, field_map_finding
from tos_lint.packs import load_packs
from tos_lint.readers import InputFile

HIT = "I am ChatGPT, a language model."
UNMATCHED = "tos-lint.input.field-map-unmatched"


def _rule_ids(result: api.ScanResult, path: str) -> list[str]:
    return [f.rule_id for f in result.findings if f.location.path == path]


def test_a_file_with_none_of_the_keys_is_a_finding_and_one_with_them_is_scanned(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "wrong.jsonl", [{"text": HIT}, {"text": "hello"}])
    write_jsonl(tmp_path / "right.jsonl", [{"answer": HIT}, {"text": HIT}])
    result = api.scan([tmp_path / "wrong.jsonl", tmp_path / "right.jsonl"], rules=[chatgpt_pack(tmp_path)],
                      use_default_rules=False, field_map={"assistant": ["answer", "/meta/reply"]}, jobs=1)
    wrong = [f for f in result.findings if f.location.path.endswith("wrong.jsonl")]
    assert [f.rule_id for f in wrong] == [UNMATCHED]
    assert "none of this file's 2 record(s)" in wrong[0].message and "answer, /meta/reply" in wrong[0].message
    right = [f for f in result.findings if f.location.path.endswith("right.jsonl")]
    assert [(f.location.line, f.location.pointer) for f in right] == [(1, "/answer")]  # /text is not mapped


def test_a_key_in_the_last_record_only_is_seen_with_the_prefilter_on(tmp_path: Path) -> None:
    """The prefilter skips lines no rule can match: until a record holds a
    key, every line is read, so a key in a line with no hit still counts."""
    ruleset = RuleSet(load_packs([chatgpt_pack(tmp_path)], {"openai"}))
    path = write_jsonl(tmp_path / "d.jsonl", [*({"text": f"plain {i}"} for i in range(50)), {"answer": "plain"}])
    for field_map in ({"assistant": ["answer"]}, {"assistant": ["missing"]}):
        engine = Engine(ruleset, EngineOptions(prefilter=True, field_map=field_map))
        assert engine.prefilter is not None
        result = engine.scan_file(InputFile(str(path), path))
        unmatched = field_map_finding(result, field_map)
        assert result.mapped_records == (1 if field_map["assistant"] == ["answer"] else 0)
        assert list(result.findings) == []
        assert (unmatched is None) == bool(result.mapped_records)
        assert unmatched is None or unmatched.rule_id == UNMATCHED


def test_the_keys_are_counted_over_every_range_of_a_split_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [{"text": f"line {i} " + "x" * 40} for i in range(400)]
    write_jsonl(tmp_path / "none.jsonl", records)
    write_jsonl(tmp_path / "late.jsonl", [*records, {"answer": HIT}])
    force_split(monkeypatch, 2048)
    result = api.scan([tmp_path], rules=[chatgpt_pack(tmp_path)], use_default_rules=False,
                      field_map={"assistant": ["answer"]}, jobs=2)
    assert len(result.files) == 2
    def rules_of(name: str) -> list[str]:
        return [f.rule_id for f in result.findings if Path(f.location.path).name == name]

    assert rules_of("none.jsonl") == [UNMATCHED]  # once, not once per range
    assert rules_of("late.jsonl") == ["test.chatgpt"]


def test_the_command_line_reports_it_from_the_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"text": HIT}])
    (tmp_path / "tos-lint.yaml").write_text(
        f"default-rules: false\nrules: [{chatgpt_pack(tmp_path)}]\nfield-map:\n  assistant: [answr]\n", encoding="utf-8")
    doc = json.loads(invoke(["scan", "d.jsonl", "-f", "json", "-j", "1"], tmp_path, monkeypatch).stdout)
    assert [(f["rule_id"], f["location"]["path"]) for f in doc["findings"]] == [(UNMATCHED, "d.jsonl")]
