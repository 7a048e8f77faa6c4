"""Detection: matches, embedded copies, prompt overlap, severity; recall and
precision on generated perturbed text."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tos_lint.adapters import adapt, own_id
from tos_lint.model import Record, Severity, Source
from tos_lint.neardup.detector import (
    RULE_CONTAINMENT, RULE_MATCH, DetectorOptions, NearDupDetector, finding_fields, severity_for,
)
from tos_lint.neardup.index import IndexBuilder, IndexData, IndexParams, write_index
from tos_lint.neardup.references import ProviderResolver, ReadStats, iter_references
from tos_lint.registry import load_registry

from .conftest import Words, write_jsonl


def record(data: dict, i: int = 0) -> Record:
    fmt, segments = adapt(data)
    return Record(Source("train.jsonl", i + 1, None), segments, data, fmt, own_id(data))


def build_index(tmp_path: Path, rows: list[dict], params: IndexParams | None = None, **resolver) -> IndexData:  # type: ignore[no-untyped-def]
    params = params or IndexParams.design()
    path = write_jsonl(tmp_path / "refs.jsonl", rows)
    resolver = resolver or {"provider": "openai"}
    builder = IndexBuilder(params)
    for ref in iter_references([str(path)], params, ProviderResolver(load_registry(), **resolver), ReadStats()):
        builder.add(ref)
    return builder.finish()


@pytest.fixture
def corpus(tmp_path: Path, words: Words):  # type: ignore[no-untyped-def]
    answers = [words.text(150) for _ in range(40)]
    rows = [{"id": f"r{i}", "instruction": f"question {i}", "output": a,
             "generator": "gpt-4" if i % 2 == 0 else "claude-2"} for i, a in enumerate(answers)]
    return answers, build_index(tmp_path, rows, provider=None, field_name="generator")


def test_a_light_edit_is_a_match_with_its_details(corpus, words: Words) -> None:  # type: ignore[no-untyped-def]
    answers, index = corpus
    detector = NearDupDetector([index], load_registry())
    hits = detector.detect(record({"instruction": "Tell me.", "output": words.edit(answers[4], 0.05)}))
    assert [h.rule_id for h in hits] == [RULE_MATCH]
    d = hits[0].detail
    assert (d["provider"], d["reference_id"], d["reference_label"], d["mode"]) == ("openai", "r4", "gpt-4", "match")
    assert d["reference_source"].endswith("refs.jsonl:5")
    assert 0.5 < d["verified_similarity"] <= 1 and 0 < d["estimated_similarity"] <= 1
    assert hits[0].pointer == "/output" and hits[0].matched == ""


def test_unrelated_text_is_not_a_match(corpus, words: Words) -> None:  # type: ignore[no-untyped-def]
    _, index = corpus
    detector = NearDupDetector([index])
    assert detector.detect(record({"instruction": "x", "output": words.text(150)})) == []


def test_an_embedded_copy_is_found_by_containment(corpus, words: Words) -> None:  # type: ignore[no-untyped-def]
    answers, index = corpus
    before, after = words.text(200), words.text(200)
    text = f"{before}\n\n{answers[7]}\n\n{after}"
    hits = NearDupDetector([index]).detect(record({"text": text}))
    assert [h.rule_id for h in hits] == [RULE_CONTAINMENT]
    assert hits[0].detail["provider"] == "anthropic" and hits[0].detail["verified_similarity"] > 0.95
    # The span covers the embedded answer, give or take a shingle at each end.
    start, end = hits[0].start, hits[0].end
    assert abs(start - len(before) - 2) <= 20 and abs(end - (len(before) + 2 + len(answers[7]))) <= 20
    without = NearDupDetector([index], options=DetectorOptions(containment=False))
    assert without.detect(record({"text": text})) == []


def test_only_answers_are_queried_and_prompt_overlap_is_ignored(tmp_path: Path, words: Words) -> None:
    shared = words.text(120)  # a passage that both prompt and answer quote
    ref_answer = f"Here it is, rewritten: {shared}"
    index = build_index(tmp_path, [{"instruction": f"Rewrite this: {shared}", "output": ref_answer}])
    detector = NearDupDetector([index])
    # Another answer to the same prompt quotes the passage too, adds its own words.
    other = f"{words.text(40)} {shared} {words.text(40)}"
    assert detector.detect(record({"instruction": f"Rewrite this: {shared}", "output": other})) == []
    # The reference text in a user turn is not an answer: no finding.
    assert detector.detect(record({"messages": [{"role": "user", "content": ref_answer}]})) == []


def test_short_texts_are_neither_indexed_nor_matched(tmp_path: Path) -> None:
    index = build_index(tmp_path, [{"instruction": "q", "output": "Paris is the capital of France."}])
    assert index.count == 0
    assert NearDupDetector([index]).detect(record({"instruction": "q", "output": "Paris is the capital of France."})) == []


def test_batches_give_the_same_hits_as_records_one_by_one(corpus, words: Words) -> None:  # type: ignore[no-untyped-def]
    answers, index = corpus
    recs = [record({"instruction": "q", "output": words.edit(answers[i], 0.05) if i % 3 else words.text(100)}, i)
            for i in range(12)]
    detector = NearDupDetector([index])
    assert detector.detect_batch(recs) == [detector.detect(r) for r in recs]


def test_several_indexes_and_files(tmp_path: Path, corpus, words: Words) -> None:  # type: ignore[no-untyped-def]
    answers, index = corpus
    path = tmp_path / "a.tlx"
    write_index(index, path)
    char = build_index(tmp_path, [{"output": answers[0]}], IndexParams.design(shingle_kind="char", shingle_n=5),
                       provider="google")
    hits = NearDupDetector([path, char]).detect(record({"output": answers[0]}))
    assert {h.detail["provider"] for h in hits} == {"openai", "google"}


def test_recall_and_precision_on_perturbed_text(tmp_path: Path, words: Words) -> None:
    """Generated references, queried with edited copies and with fresh text."""
    refs = [words.text(int(n)) for n in np.random.default_rng(2).integers(60, 300, 300)]
    index = build_index(tmp_path, [{"id": str(i), "output": t} for i, t in enumerate(refs)])
    detector = NearDupDetector([index])
    for rate, want in ((0.0, 1.0), (0.05, 0.98), (0.10, 0.9)):
        recs = [record({"output": words.edit(t, rate)}) for t in refs]
        found = sum(any(h.detail["reference_id"] == str(i) for h in hits)
                    for i, hits in enumerate(detector.detect_batch(recs)))
        assert found / len(refs) >= want, (rate, found)
    negatives = [record({"output": words.text(200)}) for _ in range(300)]
    assert sum(bool(h) for h in detector.detect_batch(negatives)) == 0


@pytest.mark.parametrize("classification, similarity, severity", [
    ("forbids-competing", 0.95, Severity.HIGH), ("forbids-competing", 0.5, Severity.MEDIUM),
    ("conditional", 0.9, Severity.MEDIUM), ("conditional", 0.45, Severity.LOW),
    ("permissive", 0.9, Severity.LOW), ("permissive", 0.45, Severity.INFO),
    ("unverified", 0.9, Severity.MEDIUM), ("unverified", 0.45, Severity.LOW),
])
def test_severity_follows_terms_and_similarity(classification: str, similarity: float, severity: Severity) -> None:
    assert severity_for(classification, similarity) is severity


def test_finding_fields_for_the_engine(corpus, words: Words) -> None:  # type: ignore[no-untyped-def]
    answers, index = corpus
    registry = load_registry()
    hit = NearDupDetector([index], registry).detect(record({"output": answers[0]}))[0]
    fields = finding_fields(hit, registry)
    assert fields["provider"] == "openai" and fields["severity"] is Severity.HIGH
    assert fields["evidence"] == "near-duplicate" and "r0" in fields["message"]
