"""A shared index in a real redis-server on loopback."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tos_lint.cli_index import index_app
from tos_lint.errors import UsageError
from tos_lint.neardup.detector import NearDupDetector
from tos_lint.neardup.index import IndexBuilder, IndexParams, PendingRef
from tos_lint.neardup.redis_store import MAX_SEGMENTS, RedisIndex
from tos_lint.neardup.shingles import shingle_set
from tos_lint.neardup.store import open_indexes

from .conftest import Words, write_jsonl
from .test_detector import record


@pytest.fixture
def location(redis_server: str) -> str:
    return f"{redis_server}#test-{uuid.uuid4().hex[:8]}"


def segment(words: Words, n: int, provider: str = "openai", params: IndexParams | None = None):  # type: ignore[no-untyped-def]
    params = params or IndexParams.design()
    builder = IndexBuilder(params)
    texts = [words.text(100) for _ in range(n)]
    for i, t in enumerate(texts):
        builder.add(PendingRef(f"{provider}-{i}", provider, "", "refs.jsonl", i, None, shingle_set(t, params.shingles)))
    return texts, builder.finish()


def test_build_add_and_scan_through_the_cli(tmp_path: Path, location: str, words: Words) -> None:
    answers = [words.text(120) for _ in range(10)]
    refs = write_jsonl(tmp_path / "refs.jsonl", [{"id": f"r{i}", "output": a} for i, a in enumerate(answers)])
    runner = CliRunner()
    res = runner.invoke(index_app, ["build", str(refs), "--out", location, "--provider", "anthropic"])
    assert res.exit_code == 0, res.output
    more = write_jsonl(tmp_path / "more.jsonl", [{"id": "m0", "output": words.text(120)}])
    assert runner.invoke(index_app, ["add", location, str(more), "--provider", "openai"]).exit_code == 0
    res = runner.invoke(index_app, ["info", location])
    assert res.exit_code == 0 and "11" in res.output and "2 segment(s)" in res.output
    hits = NearDupDetector(open_indexes([location])).detect(record({"output": answers[3]}))
    assert [(h.detail["provider"], h.detail["reference_id"]) for h in hits] == [("anthropic", "r3")]


def test_segments_are_cached_by_digest(location: str, words: Words, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))
    _, data = segment(words, 5)
    store = RedisIndex.from_location(location)
    store.replace(data)
    assert store.load()[0].count == 5
    cached = list((tmp_path / "cache" / "neardup").glob("*.tlx"))
    assert len(cached) == 1
    store.client.flushdb()  # the cache alone cannot stand in for a missing index
    with pytest.raises(UsageError, match="no index here"):
        store.load()


def test_many_adds_are_compacted(location: str, words: Words) -> None:
    store = RedisIndex.from_location(location)
    for i in range(MAX_SEGMENTS + 1):
        store.append(segment(words, 3, provider="openai" if i % 2 else "google")[1])
    assert len(store.segments()) == 1
    assert sum(d.count for d in store.load()) == 3 * (MAX_SEGMENTS + 1)


def test_refuses_other_parameters_and_corruption(location: str, words: Words) -> None:
    store = RedisIndex.from_location(location)
    store.replace(segment(words, 3)[1])
    with pytest.raises(UsageError, match="other parameters"):
        store.append(segment(words, 3, params=IndexParams.design(shingle_n=4))[1])
    entry = store.segments()[0]
    digest = entry.split(":")[0]
    store.client.setrange(f"{store.prefix}:seg:{digest}:0", 200, b"\xff\xff")
    with pytest.raises(UsageError, match="corrupted"):
        store.load()


def test_unreachable_server_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        open_indexes(["redis://127.0.0.1:1/0#x"])
