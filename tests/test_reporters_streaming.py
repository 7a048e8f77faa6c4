"""Reports of many findings are written as they are made: the JSON and SARIF
documents stream their findings list, the console prints a file's findings
a few hundred at a time, JUnit writes a test case at a time. The output must
be the one the whole document (or one print per file, or the whole XML
tree) gives, byte for byte."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from tests.helpers import CHATGPT_RULE_ID, chatgpt_pack, write_jsonl
from tos_lint import api
from tos_lint.policy import Policy, decide
from tos_lint.reporters import console, json_format, junit, sarif, write_json
import tos_lint.reporters as reporters


def whole(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"


def streamed(doc: dict[str, Any], slot: list[Any], items: list[Any]) -> str:
    out = io.StringIO()
    write_json(out, doc, iter(items), slot)
    return out.getvalue()


ITEMS: list[Any] = [
    {"a": 1, "nested": {"empty": {}, "list": [], "deep": [{"x": [1, 2]}]}},
    {"text": "line\nbreak \"quoted\" \\ \x00 \x1b é 中文 😀", "n": None},
    [],
    {},
    "a string with ] and [ and },",
    3.5,
]


@pytest.mark.parametrize("count", [0, 1, 2, 7])
def test_streamed_list_is_written_as_the_whole_document(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporters, "_ITEMS_PER_WRITE", 3)  # several writes for the longer lists
    items = (ITEMS * 2)[:count]
    slot: list[Any] = []
    doc = {"before": {"k": [1, {}]}, "runs": [{"results": slot, "after": "]"}], "tail": []}
    got = streamed(doc, slot, items)
    assert got == whole({"before": {"k": [1, {}]}, "runs": [{"results": items, "after": "]"}], "tail": []})
    assert slot == []  # the document is left as it was given


def test_streamed_list_at_the_top_level_and_alone() -> None:
    slot: list[Any] = []
    assert streamed({"findings": slot}, slot, ITEMS) == whole({"findings": ITEMS})


def test_streamed_items_that_look_like_the_marker_stay_data() -> None:
    slot: list[Any] = []
    tricky = ["\x00", "\x00" + "0" * 32, '"\\u0000"']
    doc = {"first": tricky, "findings": slot, "last": tricky}
    assert streamed(doc, slot, tricky) == whole({"first": tricky, "findings": tricky, "last": tricky})


def test_a_slot_missing_from_the_document_is_an_error() -> None:
    with pytest.raises(ValueError):
        write_json(io.StringIO(), {"findings": []}, iter(ITEMS), [])


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Any, Any]:
    """Two files with findings (one of them many, with text that needs
    escaping) and a clean one."""
    pack = chatgpt_pack(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "many.jsonl", [{"id": f"r{i}", "text": f"I am ChatGPT \"{i}\" é\n中文 \x1b"} for i in range(25)])
    write_jsonl(data / "one.jsonl", [{"text": "clean"}, {"text": "Yes, I am ChatGPT."}])
    write_jsonl(data / "clean.jsonl", [{"text": "nothing here"}])
    result = api.scan([data], rules=[pack], use_default_rules=False, jobs=1)
    verdict = decide(result.findings, Policy(), {})
    assert len(verdict.reported) == 26
    return result, verdict


@pytest.mark.parametrize("reporter", [json_format, sarif], ids=["json", "sarif"])
def test_reports_stream_what_the_whole_document_holds(reporter: Any, scanned: tuple[Any, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    result, verdict = scanned
    monkeypatch.setattr(reporters, "_ITEMS_PER_WRITE", 4)
    out = io.StringIO()
    reporter.render(result, verdict, out)
    assert out.getvalue() == whole(reporter.document(result, verdict))


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_console_prints_in_parts_what_it_printed_at_once(colour: bool, scanned: tuple[Any, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    result, verdict = scanned
    if colour:
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert Console(file=io.StringIO()).color_system is not None

    def render(per_print: int) -> str:
        monkeypatch.setattr(console, "_FINDINGS_PER_PRINT", per_print)
        out = io.StringIO()
        console.render(result, verdict, out)
        return out.getvalue()

    at_once = render(10_000)
    listed = re.sub(r"\x1b\[[0-9;]*m", "", at_once).split("Summary")[0]  # colour codes off
    assert "many.jsonl" in listed and listed.count(f"{CHATGPT_RULE_ID}  [openai]") == 26
    for per_print in (1, 5, 25):  # 25: a part ends with the file's last finding
        assert render(per_print) == at_once


def test_junit_written_a_case_at_a_time_is_laid_out_as_the_whole_tree(scanned: tuple[Any, Any], tmp_path: Path) -> None:
    """The cases are written one by one; re-indenting the parsed report as
    `ET.indent` lays out a whole tree must give back the same text."""
    result, verdict = scanned
    out = io.StringIO()
    junit.render(result, verdict, out)
    declaration, body = out.getvalue().split("\n", 1)
    assert declaration == '<?xml version="1.0" encoding="UTF-8"?>'
    root = ET.fromstring(body)
    assert [s.get("tests") for s in root.findall("testsuite")] == ["1", "25", "1"]  # clean, many, one
    ET.indent(root)
    assert ET.tostring(root, encoding="unicode") + "\n" == body
