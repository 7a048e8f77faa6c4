"""Repeated keys (every value scanned) and NaN / Infinity inside JSON array
files (read again leniently, nothing after them lost)."""
from __future__ import annotations

import gzip
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chatgpt_pack
from tos_lint import dupkeys
from tos_lint.detect import RuleSet
from tos_lint.engine import Engine, EngineOptions
from tos_lint.packs import load_packs
from tos_lint.readers import BLOCK_SIZE, FileStats, InputFile, InputIssue, RawRecord, ReadOptions, _Lenient, _Replayed, read_records


@pytest.mark.parametrize("line", [
    b'{"text": "plain"}',
    b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}',
    b'{"text": "code: {\\"a\\": 1, \\"a\\": 2}"}',  # repeated keys inside a string are text
    b'{"a" : {"b" :1}, "c":[{"d": 2}, {"d": 3}]}',
    b'{"": 1, "x": {"": 2}}',
])
def test_no_repeats_no_readings(line: bytes) -> None:
    assert dupkeys.other_readings(line, json.loads(line)) is None


def test_repeats_found_at_every_depth_in_file_order() -> None:
    line = b'{"t": "a", "m": [{"c": "x", "c": "y", "c": "z"}], "t": "b", "o": {"k": {"q": 1, "q": 2}, "k": 3}}'
    found = dupkeys.other_readings(line, json.loads(line))
    assert found is not None
    got = {r.pointer: r.earlier for r in found.repeats}
    assert got == {"/t": ("a",), "/m/0/c": ("x", "y"), "/o/k": ({"q": 2},), "/o/k/q": (1,)}
    texts = sorted(str(v["m"][0]["c"]) + str(v["t"]) for v in found.variants)
    assert texts == ["xa", "yb"]  # reading k takes the k-th earlier value of each key
    # the dropped object is read as parsed first, then with its own earlier value
    assert [v["o"]["k"] for v in found.variants] == [{"q": 2}, {"q": 1}]


def test_readings_are_capped_and_the_rest_reported() -> None:
    n = dupkeys.MAX_READINGS + 5
    line = ("{" + ", ".join(f'"t": "v{i}"' for i in range(n)) + "}").encode()
    found = dupkeys.other_readings(line, json.loads(line))
    assert found is not None
    assert len(found.variants) == dupkeys.MAX_READINGS and found.unread == 4
    assert "4 earlier value(s)" in found.describe()


def test_pointer_escapes_slash_and_tilde() -> None:
    assert dupkeys.Repeat(("a/b", 0, "c~d"), ()).pointer == "/a~1b/0/c~0d"


# --- through the engine ----------------------------------------------------------------

@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    pack = chatgpt_pack(tmp_path_factory.mktemp("pack"))
    return RuleSet(load_packs([pack], {"openai", "unknown"}))


def _scan(ruleset: RuleSet, path: Path, prefilter: bool = True) -> list[tuple[Any, ...]]:
    result = Engine(ruleset, EngineOptions(prefilter=prefilter)).scan_file(InputFile(str(path), path))
    return sorted((f.rule_id, f.location.line, f.location.index, f.location.pointer, f.snippet, f.fingerprint)
                  for f in result.findings)


LINES = [
    '{"text": "I am ChatGPT, hidden.", "text": "clean"}',
    '{"text": "clean", "text": "I am ChatGPT, shown."}',
    '{"messages": [{"role": "assistant", "content": "I am ChatGPT.", "content": "Hello"}]}',
    '{"text": "I am ChatGPT.", "text": "I am ChatGPT."}',  # the same text twice: one finding
    '{"id": 1, "id": 2, "text": "nothing here"}',  # repeated, but no value holds a finding
    '{"text": "I am ChatGPT", "n": NaN, "text": "x"}',  # the lenient path too
]


def test_every_value_of_a_repeated_key_is_scanned(ruleset: RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    found = _scan(ruleset, path)
    by_line = {(rule, line): snippet for rule, line, _, _, snippet, _ in found}
    assert "I am ChatGPT, hidden." in by_line[("test.chatgpt", 1)]
    assert "I am ChatGPT, shown." in by_line[("test.chatgpt", 2)]
    assert by_line[("test.chatgpt", 3)] == "I am ChatGPT."
    dup_lines = sorted(line for rule, line, *_ in found if rule == "tos-lint.input.duplicate-key")
    assert dup_lines == [1, 3, 6]  # only where an earlier value adds a finding
    assert [r for r, line, *_ in found if line == 4] == ["test.chatgpt"]
    assert not [r for r, line, *_ in found if line == 5]
    assert found == _scan(ruleset, path, prefilter=False)


def test_repeated_keys_in_array_elements_and_single_objects(ruleset: RuleSet, tmp_path: Path) -> None:
    array = tmp_path / "dup.json"
    array.write_text('[{"text": "x"}, {"m": {"text": "I am ChatGPT", "text": "x"}, "m": {"text": "y"}}]', encoding="utf-8")
    found = _scan(ruleset, array)
    assert [(r, i, p) for r, _, i, p, *_ in found] == [("test.chatgpt", 1, "/m/text"), ("tos-lint.input.duplicate-key", 1, "")]
    single = tmp_path / "one.json"
    single.write_text('{\n  "text": "I am ChatGPT",\n  "text": "x"\n}\n', encoding="utf-8")
    assert [r for r, *_ in _scan(ruleset, single)] == ["test.chatgpt", "tos-lint.input.duplicate-key"]


# --- NaN and Infinity in JSON array files -------------------------------------------------

def _read(path: Path) -> tuple[list[RawRecord], list[InputIssue], FileStats]:
    stats = FileStats()
    items = list(read_records(InputFile(str(path), path), stats, ReadOptions()))
    return [i for i in items if isinstance(i, RawRecord)], [i for i in items if isinstance(i, InputIssue)], stats


ARRAY = (b'[{"i": 0},\n{"i": 1, "s": NaN},\n{"i": 2, "t": "say \\"NaN\\": Infinity, -Infinity"},\n'
         b'{"i": 3, "v": [Infinity, -Infinity, 1.5]},\n{"i": 4}]\n')


@pytest.mark.parametrize("compress", [False, True])
def test_nan_and_infinity_in_an_array_lose_nothing(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / ("a.json.gz" if compress else "a.json")
    path.write_bytes(gzip.compress(ARRAY) if compress else ARRAY)
    records, issues, stats = _read(path)
    assert [r.data["i"] for r in records] == [0, 1, 2, 3, 4]
    assert math.isnan(records[1].data["s"])
    assert records[2].data["t"] == 'say "NaN": Infinity, -Infinity'  # text inside strings untouched
    assert records[3].data["v"] == [math.inf, -math.inf, 1.5]
    assert [(i.code, i.index) for i in issues] == [("nonstandard-json", 1), ("nonstandard-json", 3)]
    assert stats.records == 5 and stats.malformed == 0
    assert stats.bytes == len(ARRAY) and stats.size == path.stat().st_size


def test_array_broken_after_nan_is_reported_where_it_breaks(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'[{"i": 0}, {"s": NaN}, {"i": 2}, {"i": 3,, }, {"i": 4}]')
    records, issues, _ = _read(path)
    assert [r.index for r in records] == [0, 1, 2]
    assert [(i.code, i.index, i.final) for i in issues] == [("nonstandard-json", 1, False), ("malformed-json", 3, True)]


@pytest.mark.parametrize("read_size", [1, 2, 3, 7, 64])
def test_lenient_stream_across_block_edges(read_size: int) -> None:
    """Words, strings and escapes cut at any point between two reads."""
    text = b'[{"a": NaN, "b": "x\\\\", "c": "\\"NaN\\"", "d": -Infinity, "e": Infinity}]'
    source = _Lenient(_Replayed(b"", io.BytesIO(text), FileStats()))
    out = b""
    while chunk := source.read(read_size):
        out += chunk
    data = json.loads(out.replace(b"1E-999999999", b"NaN"))
    assert data[0]["b"] == "x\\" and data[0]["c"] == '"NaN"'
    assert math.isnan(data[0]["a"]) and data[0]["d"] == -math.inf and data[0]["e"] == math.inf


def test_lenient_stream_of_a_long_string(tmp_path: Path) -> None:
    """A string longer than a block keeps its state across reads."""
    path = tmp_path / "a.json"
    long = "NaN " * (BLOCK_SIZE // 2)
    path.write_bytes(b'[{"s": NaN}, {"t": "' + long.encode() + b'"}, {"u": Infinity}]')
    records, issues, _ = _read(path)
    assert [r.index for r in records] == [0, 1, 2]
    assert records[1].data["t"] == long and records[2].data["u"] == math.inf
