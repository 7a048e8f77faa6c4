"""Records nested up to the documented limit (1024 levels, as orjson reads a
line) are scanned by every command; deeper ones are reported.

Python's recursion limit is 1000 frames: any walker over a record's values
that recursed (counting keys, rewriting a path, hashing, writing the record
back) failed below the limit with an internal error (RecursionError). These
records nest 1021 to 1024 levels, through every shape a reader and an
adapter meet: objects, arrays, both mixed, chat messages, content parts,
NaN (read by Python's own parser), repeated keys, a record id, a directive.
"""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from tests.helpers import assert_no_traceback, invoke, run_cli
from tos_lint import deepjson, dupkeys, readers

DEPTH = readers.MAX_DEPTH
SAID = '"I am ChatGPT, a large language model trained by OpenAI."'


def objects(n: int, inner: str) -> str:
    return '{"a":' * n + inner + "}" * n


def arrays(n: int, inner: str) -> str:
    return "[" * n + inner + "]" * n


def mixed(n: int, inner: str) -> str:
    for i in range(n):
        inner = ('{"k":%s}' if i % 2 else "[%s]") % inner
    return inner


NESTS: dict[str, Callable[[int, str], str]] = {"objects": objects, "arrays": arrays, "mixed": mixed}


def deep_records() -> list[str]:
    """JSONL lines, each nested exactly `DEPTH` levels at its deepest, each with the phrase."""
    lines = []
    for nest in NESTS.values():
        lines += [
            '{"x":' + nest(DEPTH - 1, SAID) + "}",
            '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":' + nest(DEPTH - 4, SAID) + "}]}",
            '{"messages":[{"role":"assistant","content":[{"type":"text","text":' + SAID + "}," + nest(DEPTH - 5, SAID) + "]}]}",
            '{"conversations":[{"from":"gpt","value":' + nest(DEPTH - 4, SAID) + "}]}",
            '{"instruction":"q","output":' + nest(DEPTH - 2, SAID) + "}",
            '{"choices":[{"message":{"role":"assistant","content":' + nest(DEPTH - 5, SAID) + '}}],"object":"chat.completion"}',
            '{"text":' + SAID + ',"meta":' + nest(DEPTH - 1, '"clean"') + ',"text":"clean"}',  # the phrase in a repeated key
            '{"text":' + SAID + ',"n":NaN,"meta":' + nest(DEPTH - 1, "1") + "}",
            '{"id":' + nest(DEPTH - 1, '"x"') + ',"text":' + SAID + "}",
            '{"_tos_lint":' + nest(DEPTH - 1, "1") + ',"text":' + SAID + "}",
        ]
    return lines


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deep")
    lines = deep_records()
    (folder / "json").mkdir()
    (folder / "json" / "deep.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # an array adds a level: its elements nest one level less
    (folder / "json" / "deep.json").write_text("[" + ",\n".join(['{"x":' + mixed(DEPTH - 2, SAID) + "}"] * 3) + "]\n", encoding="utf-8")
    (folder / "json" / "one.json").write_text('{\n"messages": [{"role": "assistant", "content": ' + mixed(DEPTH - 4, SAID)
                                               + "}],\n" + '"text": "clean"\n}\n', encoding="utf-8")
    with (folder / "deep.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "messages", "text"])
        writer.writerow(["1", '[{"role": "assistant", "content": ' + mixed(DEPTH - 3, SAID) + "}]", "x"])
        writer.writerow(["2", "[]", objects(DEPTH, SAID)])
    return folder


def test_scan_reads_every_deep_record(inputs: Path) -> None:
    proc = run_cli(["scan", ".", "--isolated", "--format", "json"], cwd=inputs, timeout=300)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["summary"]["records"] == len(deep_records()) + 3 + 1 + 2
    flagged = {(f["location"]["path"], f["location"]["line"], f["location"]["index"])
               for f in doc["findings"] if not f["rule_id"].startswith("tos-lint.input.")}
    lines = len(deep_records())
    expected = {("json/deep.jsonl", n, None) for n in range(1, lines + 1)} | {("json/deep.json", None, i) for i in range(3)}
    assert expected <= flagged
    assert ("json/one.json", 1, None) in flagged
    inputs_found = {(f["rule_id"].rsplit(".", 1)[1], f["location"]["line"]) for f in doc["findings"]
                    if f["rule_id"].startswith("tos-lint.input.") and f["location"]["path"] == "json/deep.jsonl"}
    assert {code for code, _ in inputs_found} == {"duplicate-key", "nonstandard-json", "bad-directive"}


@pytest.mark.parametrize("command", [
    ["scan", "json", "--isolated", "-j", "2", "--format", "sarif"],
    ["filter", "json", "--isolated", "--clean-dir", "out/clean", "--quarantine-dir", "out/q"],
    ["baseline", "create", ".", "--isolated", "-o", "baseline.json"],
    ["attribute", "json", "-f", "json"],
    ["index", "build", "json", "--provider", "openai", "--out", "refs.tlidx"],
], ids=lambda c: " ".join(c[:2]))
def test_every_command_reads_deep_records(inputs: Path, command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(command, inputs, monkeypatch)
    assert res.exit_code in (0, 1), res.output
    assert "internal error" not in res.output.lower()
    if command[0] == "filter":
        records = len(deep_records()) + 3 + 1  # the folder's JSONL, array and one object
        assert f"total: in {records} = kept 0 + quarantined {records} + unreadable 0" in res.output
        for copy in (inputs / "out" / "q" / "deep.jsonl").read_bytes().splitlines():
            assert isinstance(orjson.loads(copy), dict)  # written back whole, the findings beside it


def test_one_level_deeper_is_reported_not_read() -> None:
    data = ('{"a":' + arrays(DEPTH, "1") + "}\n" + '{"n":NaN,"a":' + arrays(DEPTH, "1") + "}\n").encode()
    out = list(readers.read_jsonl_blocks(iter([data]), readers.FileStats(), readers.ReadOptions()))
    assert [(o.code, o.line) for o in out] == [("malformed-json", 1), ("malformed-json", 2)]
    assert f"nested more than {DEPTH} levels deep" in out[1].message


def test_walkers_over_record_values_do_not_recurse() -> None:
    record = orjson.loads('{"t":' + mixed(DEPTH - 2, '{"b":1,"b":2}') + "}")
    assert dupkeys.count_keys(record) == 1 + (DEPTH - 2) // 2 + 1
    path = ("t",) + tuple("k" if j % 2 == 0 else 0 for j in range(DEPTH - 2))
    replaced = dupkeys._replaced(record, path, "new")
    # compared as JSON text: `==` on values this deep recurses too
    assert deepjson.dumps(replaced) == deepjson.dumps(record).replace(b'{"b":2}', b'"new"')
    assert deepjson.dumps(dupkeys._replaced(replaced, path, {"b": 2})) == deepjson.dumps(record)
    text = '{"t":' + objects(DEPTH - 2, '{"b":1,"b":2}') + "}"
    (repeat,) = dupkeys.find_repeats(text)
    assert len(repeat.path) == DEPTH and repeat.earlier == (1,)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 5 or roll < 0.3:
        return rng.choice([1, -2, 2.5, "x\u00e9\"\n", None, True, False, float("nan"), 1e300, ""])
    if roll < 0.65:
        return {rng.choice("bacd\u00e9"): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def test_deep_json_writes_what_orjson_writes() -> None:
    rng = random.Random(5)
    for _ in range(500):
        value = _random_value(rng)
        for sort_keys in (False, True):
            assert deepjson._dumps_by_loop(value, sort_keys) == orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    deep = orjson.loads('{"z":1,"a":' + mixed(DEPTH - 3, '{"y":2,"b":[3]}') + "}")
    assert deepjson.dumps(deep) == ('{"z":1,"a":' + mixed(DEPTH - 3, '{"y":2,"b":[3]}') + "}").encode()
    assert deepjson.dumps(deep, sort_keys=True) == ('{"a":' + mixed(DEPTH - 3, '{"b":[3],"y":2}') + ',"z":1}').encode()
