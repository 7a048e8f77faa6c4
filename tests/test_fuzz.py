"""Property-based and fuzz tests.

* Records in every supported format (OpenAI messages, ShareGPT, Alpaca, DPO,
  prompt/completion, question/answer, text, HH transcripts, FastChat, OpenAI,
  Anthropic, Gemini and Cohere API envelopes, any other shape), written as
  JSONL, JSON arrays, gzip or zstd: nothing crashes, the format is detected,
  every record written is counted, and the prefilter changes nothing.
* Rule packs and configurations, valid or broken: they load (and valid ones
  keep their values) or fail with `PackErrors` / `UsageError`, nothing else.
* A bounded fuzz of the readers on random and mutated bytes (every container
  and compression): no exception escapes, every record counted is yielded;
  byte ranges of a file read alike wherever the cuts fall.

Every test is bounded by `max_examples` and the readers' fuzz by a wall-clock
budget too, so that the file stays well under a minute.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
import zstandard
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tests.helpers import rule
from tos_lint.adapters import adapt
from tos_lint.config import Config, load_config
from tos_lint.detect import RuleSet
from tos_lint.engine import Engine, EngineOptions
from tos_lint.errors import PackErrors, UsageError
from tos_lint.packs import load_packs
from tos_lint import readers
from tos_lint.readers import (
    FileStats, InputFile, InputIssue, RawRecord, ReadOptions, read_jsonl_blocks, read_jsonl_range,
    read_records,
)

PROVIDERS = {"openai", "anthropic", "google", "unknown"}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                      HealthCheck.function_scoped_fixture])
CODES = {"malformed-json", "not-an-object", "invalid-utf8", "oversized-record", "truncated-stream", "binary-file",
         "unsupported-format", "unreadable", "decompression-bomb", "nonstandard-json", "not-utf8", "trailing-data",
         "changed-during-scan"}


# --- records in every format --------------------------------------------------------------

_FRAGMENT = st.sampled_from([
    "I am ChatGPT", "I am Chat GPT", "ChatGPT", "gpt-4o-mini", "Claude", "Hello", " ", "\n", "\t", "é", "я",
    "\u200b", "\u0420", "**", "_", "`", "&#67;", "&amp;", "\\u0043", "\\", '"', "'", "\u2019", "我是", "\U0001f600",
    "Human:", "Assistant:", "\n\nHuman: hi", "\n\nAssistant: I am ChatGPT", "x" * 40,
])
TEXT = st.lists(_FRAGMENT, max_size=6).map("".join)
ROLE = st.sampled_from(["system", "user", "assistant", "tool", "developer", "model"])


def _message(role: str, text: str, parts: bool) -> dict[str, Any]:
    content: Any = [{"type": "text", "text": text}] if parts else text
    return {"role": role, "content": content}


FORMATS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "openai-messages": st.builds(
        lambda turns, tool: {"messages": [_message(r, t, p) for r, t, p in turns]
                             + ([{"role": "assistant", "content": None,
                                  "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": tool}}]}]
                                if tool is not None else [])},
        st.lists(st.tuples(ROLE, TEXT, st.booleans()), min_size=1, max_size=4), st.none() | TEXT),
    "sharegpt": st.builds(lambda turns: {"conversations": [{"from": f, "value": v} for f, v in turns]},
                          st.lists(st.tuples(st.sampled_from(["human", "gpt", "system"]), TEXT), min_size=1, max_size=4)),
    "alpaca": st.builds(lambda i, x, o: {"instruction": i, "input": x, "output": o}, TEXT, TEXT, TEXT),
    "dpo": st.builds(lambda p, c, r, msgs: {"prompt": p, "chosen": [_message("assistant", c, False)] if msgs else c,
                                            "rejected": r}, TEXT, TEXT, TEXT, st.booleans()),
    "prompt-completion": st.builds(lambda p, c: {"prompt": p, "completion": c}, TEXT, TEXT),
    "question-answer": st.builds(lambda q, a: {"question": q, "answer": a}, TEXT, TEXT),
    "text": st.builds(lambda t: {"text": t}, TEXT),
    "hh-transcript": st.builds(lambda h, a: {"chosen": f"\n\nHuman: {h}\n\nAssistant: {a}",
                                             "rejected": f"\n\nHuman: {h}\n\nAssistant: no"}, TEXT, TEXT),
    "fastchat": st.builds(lambda q, a: {"question_id": 1, "turns": [q], "choices": [{"index": 0, "turns": [a]}]}, TEXT, TEXT),
    "openai-response": st.builds(lambda t: {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
                                            "choices": [{"index": 0, "message": {"role": "assistant", "content": t}}]}, TEXT),
    "anthropic-response": st.builds(lambda t: {"id": "msg_1", "type": "message", "role": "assistant",
                                               "content": [{"type": "text", "text": t}]}, TEXT),
    "gemini-response": st.builds(lambda t: {"candidates": [{"content": {"parts": [{"text": t}], "role": "model"}}]}, TEXT),
    "cohere-response": st.builds(lambda t: {"generation_id": "g-1", "text": t}, TEXT),
    "unknown": st.recursive(
        st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c d", "é"]), inner, max_size=3),
        max_leaves=8,
    ).map(lambda v: {"payload": v}),
}
EXPECTED_FORMAT = {"hh-transcript": "dpo"}  # HH pairs are read by the DPO adapter, transcripts split by role
RECORD = st.sampled_from(sorted(FORMATS)).flatmap(lambda name: FORMATS[name].map(lambda rec: (name, rec)))


def _gz(b: bytes) -> bytes:
    return gzip.compress(b, 1)


def _zst(b: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=1).compress(b)


def serialise(records: list[dict[str, Any]], container: str, ascii_only: bool, crlf: bool) -> tuple[str, bytes]:
    dump: Callable[[Any], str] = lambda r: json.dumps(r, ensure_ascii=ascii_only)  # noqa: E731
    if container.startswith("json-array"):
        body = ("[" + ",\n".join(dump(r) for r in records) + "]\n").encode()
        name = "data.json"
    else:
        end = "\r\n" if crlf else "\n"
        body = "".join(dump(r) + end for r in records).encode()
        name = "data.jsonl"
    if container.endswith("gz"):
        return name + ".gz", _gz(body)
    if container.endswith("zst"):
        return name + ".zst", _zst(body)
    return name, body


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Engine]:
    from tests.helpers import write_pack

    pack = write_pack(tmp_path_factory.mktemp("fuzz-pack") / "fuzz.yaml", [
        rule("fz.phrase", [{"phrase": "I am ChatGPT"}]),
        rule("fz.regex", [{"regex": r"\bgpt-4o?-mini\b"}], examples={"match": ["gpt-4o-mini"], "no_match": ["x"]}),
        rule("fz.claude", [{"phrase": "Claude"}], provider="anthropic", roles=["assistant"],
             examples={"match": ["Claude"], "no_match": ["x"]}),
        rule("fz.field", [{"field": {"key": "model", "prefix": "gpt-"}}],
             examples={"match": [{"text": "x", "model": "gpt-4"}], "no_match": [{"text": "x"}]}),
    ])
    ruleset = RuleSet(load_packs([pack], PROVIDERS))
    return Engine(ruleset, EngineOptions(prefilter=True)), Engine(ruleset, EngineOptions(prefilter=False))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=150, **SETTINGS)
@given(st.lists(RECORD, min_size=1, max_size=6),
       st.sampled_from(["jsonl", "json-array", "jsonl.gz", "json-array.gz", "jsonl.zst"]), st.booleans(), st.booleans())
def test_records_in_every_format_are_counted_and_prefilter_changes_nothing(
    engines: tuple[Engine, Engine], scratch: Path, records: list[tuple[str, dict[str, Any]]],
    container: str, ascii_only: bool, crlf: bool,
) -> None:
    for name, rec in records:
        assert adapt(rec)[0] == EXPECTED_FORMAT.get(name, name), rec
    name, blob = serialise([r for _, r in records], container, ascii_only, crlf)
    path = scratch / name
    path.write_bytes(blob)
    seen = []
    for engine in engines:
        result = engine.scan_file(InputFile(str(path), path))
        assert result.stats.records == len(records)
        assert result.stats.malformed == 0
        assert [f.rule_id for f in result.findings if f.rule_id.startswith("tos-lint.input.")] == []
        seen.append(sorted((f.rule_id, f.location.line, f.location.index, f.location.pointer, f.fingerprint, f.snippet)
                           for f in result.findings))
    assert seen[0] == seen[1]


# --- the readers on random and mutated bytes ----------------------------------------------

_SEEDS = [
    b'{"text": "I am ChatGPT"}\n{"messages": [{"role": "assistant", "content": "hi"}]}\n[1]\n{"n": 1e400}\n',
    b'[{"text": "a"}, {"text": "I am ChatGPT", "n": 1.5}, 3, {"x": [1, {"y": null}]}]',
    b'{\n  "text": "pretty",\n  "nested": {"a": [1, 2, 3]}\n}\n',
    b'\xef\xbb\xbf{"text": "bom"}\r\n{"text": "crlf"}\r\n',
    b'{"text": "I am \\u0043hatGPT \\ud800"}\n{"t": NaN}\n',
    b"[" * 40 + b"]" * 40 + b"\n" + b'{"a":' * 30 + b"1" + b"}" * 30 + b"\n",
]
_COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "": lambda b: b, ".gz": _gz, ".zst": _zst, ".bz2": bz2.compress, ".xz": lambda b: lzma.compress(b, preset=0),
}
_BUDGET = {"reader": 20.0}  # seconds of wall clock for the readers' fuzz
_STARTED: dict[str, float] = {}


def _within_budget(name: str) -> bool:
    start = _STARTED.setdefault(name, time.monotonic())
    return time.monotonic() - start < _BUDGET[name]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    ext = draw(st.sampled_from(sorted(_COMPRESS)))
    name = draw(st.sampled_from(["d.jsonl", "d.json", "d.ndjson"])) + ext
    if draw(st.integers(0, 9)) == 9:
        return name, draw(st.binary(max_size=2048))  # pure noise
    blob = bytearray(_COMPRESS[ext](draw(st.sampled_from(_SEEDS))))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        if not blob:
            break
        at = draw(st.integers(0, len(blob) - 1))
        if op == "flip":
            blob[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            blob[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del blob[at: at + draw(st.integers(1, 32))]
        elif op == "truncate":
            del blob[at:]
        else:
            blob[at:at] = blob[at: at + draw(st.integers(1, 64))]
    return name, bytes(blob)


def _consume(path: Path, **options: Any) -> tuple[list[RawRecord], list[InputIssue], FileStats]:
    stats = FileStats()
    records, issues = [], []
    for item in read_records(InputFile(str(path), path), stats, ReadOptions(**options)):
        if isinstance(item, RawRecord):
            assert isinstance(item.data, dict)
            records.append(item)
        else:
            assert isinstance(item, InputIssue) and item.code in CODES, item
            assert item.message
            issues.append(item)
    return records, issues, stats


@settings(max_examples=2000, **SETTINGS)
@given(mutated(), st.sampled_from([64, 1024, 1 << 20]))
def test_readers_survive_random_and_mutated_bytes(scratch: Path, sample: tuple[str, bytes], limit: int) -> None:
    if not _within_budget("reader"):
        return  # the time budget is spent: the remaining examples pass unread
    name, blob = sample
    path = scratch / name
    path.write_bytes(blob)
    records, issues, stats = _consume(path, max_record_bytes=limit)
    event("records read" if records else "nothing read")
    assert stats.records == len(records)  # every record counted is handed on
    assert stats.size == len(blob)  # and the whole file was hashed


# --- byte ranges read alike wherever the cuts fall ------------------------------------------

_LINE = st.sampled_from([
    b'{"text": "I am ChatGPT"}', b'{"t": "' + b"y" * 100 + b'"}', b"", b"   ", b"[1]", b"{broken", b'{"n": NaN}',
    b'{"t": "\xff"}', b'{"a": {"b": [1, 2]}}', b"\r",
])


@settings(max_examples=400, **SETTINGS)
@given(st.lists(_LINE, min_size=1, max_size=20), st.lists(st.floats(0, 1), max_size=4), st.booleans())
def test_byte_ranges_read_like_the_whole_file(scratch: Path, lines: list[bytes], cuts: list[float], final_newline: bool) -> None:
    """What `--jobs` does to a large plain `.jsonl` file: ranges cut at any
    byte give what reading the whole file gives (a file that is not JSONL
    after all, such as one JSON array, is read whole by the first range)."""
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    assume(data.strip())
    path = scratch / "ranges.jsonl"
    path.write_bytes(data)
    options = ReadOptions(max_record_bytes=64)
    whole = [(i.line, i.index, type(i).__name__, getattr(i, "code", None))
             for i in read_records(InputFile(str(path), path), FileStats(), options)]
    bounds = sorted({0, len(data), *(int(c * len(data)) for c in cuts)})
    got = []
    for start, end in zip(bounds, bounds[1:]):
        offset = data[:start].count(b"\n") + (1 if start and data[start - 1:start] != b"\n" else 0)
        stats = FileStats()
        got += [(None if i.line is None else i.line + offset, i.index, type(i).__name__, getattr(i, "code", None))
                for i in read_jsonl_range(path, start, end, stats, options)]
        if readers.is_plain_jsonl(path):  # read as JSONL: the range counts its own newlines
            assert stats.range_newlines == data[start:end].count(b"\n")
    assert got == whole


@settings(max_examples=60, **SETTINGS)
@given(st.lists(_LINE, min_size=1, max_size=30), st.integers(1, 7))
def test_block_boundaries_do_not_matter(lines: list[bytes], block: int) -> None:
    """The same JSONL cut into blocks of any size reads the same."""
    data = b"\n".join(lines) + b"\n"
    options = ReadOptions(max_record_bytes=64)
    whole = [(i.line, type(i).__name__) for i in read_jsonl_blocks(iter([data]), FileStats(), options)]
    pieces = iter([data[i: i + block] for i in range(0, len(data), block)])
    assert [(i.line, type(i).__name__) for i in read_jsonl_blocks(pieces, FileStats(), options)] == whole


_CHARS = st.sampled_from(list('aé我😀 "\\{}[]:,\n\t') + ["\u2028", "NaN", "1e5", "x" * 30])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 30, 10 ** 30) | st.floats() | st.lists(_CHARS, max_size=5).map("".join),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.lists(_CHARS, max_size=3).map("".join), inner, max_size=4),
    max_leaves=12)
_OBJECT = st.dictionaries(st.sampled_from(["text", "a", "é"]), _JSON, max_size=4)


def _written(value: Any, indent: int | None, ascii_only: bool) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ascii_only)


@settings(max_examples=300, **SETTINGS)
@given(st.lists(st.tuples(_OBJECT | _JSON, st.sampled_from([None, 0, 2]), st.booleans(),
                          st.sampled_from(["", " ", "\n", "\n\n", "\r\n"])), min_size=1, max_size=8),
       st.sampled_from(["", "\ngarbage", "}", '{"a": ', "[1, 2", '"abc', "-", "tru", "1e", "{\"a\": 1}}"]),
       st.integers(1, 64), st.integers(64, 2048))
def test_concatenated_json_read_in_blocks_reads_as_the_whole_text(values: list[tuple[Any, int | None, bool, str]],
                                                                   tail: str, block: int, limit: int) -> None:
    """JSON values one after another, read a block of any size at a time (as
    a file over the record size limit is): the same records, findings and
    lines as the whole text; and with a limit, the same values over it
    wherever the blocks end."""
    text = '{\n  "first": 1\n}' + "".join(_written(v, indent, a) + sep for v, indent, a, sep in values) + tail
    data = text.encode()

    def items(reading: Any) -> list[tuple[Any, ...]]:
        return [(i.code, i.line, i.message) if isinstance(i, InputIssue) else (i.line, json.dumps(i.data), i.readings is not None)
                for i in reading]

    def streamed(size: int, max_bytes: int) -> list[tuple[Any, ...]]:
        blocks = iter([data[i: i + size] for i in range(0, len(data), size)])
        return items(readers._streamed_values(blocks, 1, FileStats(), ReadOptions(max_record_bytes=max_bytes)))

    whole = items(readers._read_single(data, io.BytesIO(b""), FileStats(), ReadOptions(max_record_bytes=1 << 30), 1))
    if any(i[0] == "nonstandard-json" and "one after another" in i[2] for i in whole):
        event("concatenated")
        assert streamed(block, 1 << 30) == whole
    assert streamed(block, limit) == streamed(len(data), limit)


# --- rule packs, valid or broken ------------------------------------------------------------

_REGEX_PIECE = st.sampled_from(["a", "b", "chat", "gpt", r"\b", r"\w+", r"\s", ".", "[a-z]", "[^x]", "(", ")", "(?:", "|",
                                "+", "*", "?", "{2,3}", "{1000000}", "^", "$", r"\1", "(?=", "(?<!", "[", "]", "\\", "é", "我"])
REGEX = st.sampled_from([r"\bgpt-4o?\b", r"chat\s*gpt", r"(a+)+$", r"[a-z]{2,5}", r"我是.{0,3}助手", r"^hello\b", r"open ?ai"]) \
    | st.lists(_REGEX_PIECE, min_size=1, max_size=6).map("".join)
PHRASE = st.lists(st.sampled_from(["I", "am", "ChatGPT", "Open", "AI", "é", "我是", "  ", "-", "'"]), min_size=1, max_size=4).map(" ".join)
ANY_VALUE = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2, allow_nan=False) | st.text(max_size=8) \
    | st.lists(st.text(max_size=4), max_size=2) | st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)
ITEM = st.one_of(
    PHRASE.map(lambda p: {"phrase": p}), REGEX.map(lambda r: {"regex": r}),
    st.builds(lambda t, r: {"fuzzy": {"text": t, "min_ratio": r}}, PHRASE, st.integers(50, 100)),
    st.builds(lambda k, v: {"field": {"key": k, "equals": v}}, st.sampled_from(["model", "/meta/model", "é"]), st.text(max_size=6)),
)
VALID_RULE = st.builds(
    lambda i, provider, severity, confidence, roles, items, tags, unless: {
        "id": f"fz.r{i}", "provider": provider, "severity": severity, "confidence": confidence,
        "message": "generated", "roles": roles, "match": {"any": items}, "tags": tags,
        **({"unless": unless} if unless and not any("field" in it for it in items) else {}),
        "examples": {"match": ["I am ChatGPT"], "no_match": ["hello"]},
    },
    st.integers(0, 3), st.sampled_from(sorted(PROVIDERS)), st.sampled_from(["info", "low", "medium", "high", "critical"]),
    st.floats(0, 1), st.lists(st.sampled_from(["system", "user", "assistant", "tool", "unknown"]), unique=True, max_size=3),
    st.lists(ITEM, min_size=1, max_size=3).filter(lambda its: len({"field" in it for it in its}) == 1),
    st.lists(st.text(alphabet="abc-", min_size=1, max_size=5), max_size=2),
    st.lists(st.builds(lambda p, w: {"phrase": p, "where": w}, PHRASE, st.sampled_from(["window", "segment", "prompt"])), max_size=2),
)


@st.composite
def pack_doc(draw: st.DrawFn) -> dict[str, Any]:
    rules = draw(st.lists(VALID_RULE, min_size=1, max_size=3))
    for r in rules:  # break some of them
        if draw(st.integers(0, 3)) == 3:  # (hypothesis favours small numbers: test the large one)
            key = draw(st.sampled_from(sorted(r) + ["colour", "unless", "examples"]))
            r[key] = draw(ANY_VALUE)
        if draw(st.integers(0, 7)) == 7:
            r.pop(draw(st.sampled_from(sorted(r))), None)
    doc: dict[str, Any] = {"pack": draw(st.sampled_from(["fz"] * 8 + ["", "other"])),
                           "version": draw(st.sampled_from([1] * 8 + [2, "1"])),
                           "rules": rules}
    if draw(st.integers(0, 6)) == 6:
        doc[draw(st.sampled_from(["description", "rulez"]))] = draw(ANY_VALUE)
    return doc


@settings(max_examples=150, **SETTINGS)
@given(pack_doc())
def test_generated_packs_load_or_fail_cleanly(scratch: Path, doc: dict[str, Any]) -> None:
    path = scratch / "gen-pack.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        [pack] = load_packs([path], PROVIDERS)
    except PackErrors as exc:
        event("pack refused")
        assert exc.errors and all(e.path == str(path) for e in exc.errors)
        assert all(str(path) in str(e) for e in exc.errors)
        return
    event("pack loaded")
    ruleset = RuleSet([pack])  # what passes validation compiles
    by_id = {r["id"]: r for r in doc["rules"]}
    for r in pack.rules:  # valid values come back as written
        want = by_id[r.id]
        assert (r.provider, r.severity.label, r.confidence, r.message) == (want["provider"], want["severity"], want["confidence"], want["message"])
        assert r.roles == tuple(want.get("roles") or ())
        assert [it.value or it.key for it in r.items] == [
            next(iter(it.values())) if not isinstance(next(iter(it.values())), dict)
            else next(iter(it.values())).get("text", next(iter(it.values())).get("key")) for it in want["match"]["any"]]
    from tos_lint.selftest import run_pack_examples

    list(run_pack_examples(pack))  # the rule's own tests run without crashing
    assert ruleset.rules


@settings(max_examples=60, **SETTINGS)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_yaml_as_a_pack_fails_cleanly(scratch: Path, text: str | bytes) -> None:
    path = scratch / "noise.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        load_packs([path], PROVIDERS)
    except PackErrors:
        pass


# --- configurations, valid or broken -----------------------------------------------------------

CONFIG_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "fail-on": st.sampled_from(["info", "low", "medium", "high", "critical", "never"]),
    "select": st.lists(st.sampled_from(["openai", "generic.boilerplate", "x.y"]), max_size=2),
    "ignore": st.lists(st.sampled_from(["anthropic", "templates"]), max_size=2),
    "severity": st.dictionaries(st.sampled_from(["openai", "templates"]), st.sampled_from(["info", "low", "high"]), max_size=2),
    "providers": st.dictionaries(st.sampled_from(["openai", "deepseek", "meta"]), st.sampled_from(["forbid", "review", "allow"]), max_size=2),
    "include": st.lists(st.sampled_from(["*.jsonl", "data/*"]), max_size=2),
    "exclude": st.lists(st.sampled_from(["tmp/*"]), max_size=1),
    "default-rules": st.booleans(),
    "input-format": st.sampled_from(["openai-messages", "sharegpt", "text"]),
    "field-map": st.dictionaries(st.sampled_from(["user", "assistant"]), st.lists(st.sampled_from(["q", "/a/b"]), min_size=1, max_size=2), max_size=2),
    "max-record-bytes": st.integers(1024, 1 << 30),
    "max-expansion": st.one_of(st.integers(1, 10**6), st.floats(1, 1e9)),
    "max-decompressed-bytes": st.integers(1024, 1 << 50),
}


@st.composite
def config_doc(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    """A configuration and the key given an arbitrary value (None: all valid)."""
    keys = draw(st.lists(st.sampled_from(sorted(CONFIG_VALUES)), unique=True, max_size=5))
    doc = {k: draw(CONFIG_VALUES[k]) for k in keys}
    broken = None
    if draw(st.integers(0, 2)) == 2:
        broken = draw(st.sampled_from(sorted(CONFIG_VALUES) + ["colour"]))
        doc[broken] = draw(ANY_VALUE)
    return doc, broken


@settings(max_examples=300, **SETTINGS)
@given(config_doc())
def test_generated_configs_load_or_fail_cleanly(scratch: Path, generated: tuple[dict[str, Any], str | None]) -> None:
    doc, broken = generated
    path = scratch / "tos-lint.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    try:
        config = load_config(path)
    except UsageError as exc:
        event("config refused")
        assert broken is not None, f"a valid configuration was refused: {exc}"
        assert str(path) in str(exc)
        return
    event("config loaded")
    assert isinstance(config, Config)
    for key, value in doc.items():
        if key == broken:
            continue  # an arbitrary value that happened to be acceptable (a string for a list, ...)
        got = getattr(config, key.replace("-", "_"))
        if key == "severity":
            got = {k: v.label for k, v in got.items()}
        if key in ("select", "ignore", "include", "exclude", "fail-on", "providers", "default-rules", "input-format",
                   "field-map", "max-record-bytes", "max-expansion", "max-decompressed-bytes", "severity"):
            assert got == value, key


@settings(max_examples=60, **SETTINGS)
@given(st.text(max_size=300))
def test_arbitrary_yaml_as_a_config_fails_cleanly(scratch: Path, text: str) -> None:
    path = scratch / "noise-config.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_config(path)
    except UsageError:
        pass
