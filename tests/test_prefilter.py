"""The raw-line prefilter is only an optimisation: a scan with it must find
exactly what a scan without it finds, whatever the JSON encoding of a line
(`\\uXXXX` escapes, `\\n` between words, escaped quotes, non-ASCII, markup)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tos_lint.detect import RuleSet
from tos_lint.engine import Engine, EngineOptions
from tos_lint import prefilter
from tos_lint.packs import load_packs
from tos_lint.prefilter import LinePrefilter, byte_form
from tos_lint.normalize import normalize
from tos_lint.readers import InputFile
from tests.helpers import rule, write_pack

PACK_RULES = [
    rule("pf.phrase", [{"phrase": "I am ChatGPT"}]),
    rule("pf.regex", [{"regex": r"\bgpt-4o?-mini\b"}, {"regex": r"knowledge cutoff: \d{4}"}],
         severity="medium", examples={"match": ["use gpt-4o-mini"], "no_match": ["hello"]}),
    rule("pf.quoted-name", [{"regex": r"you are .?chatgpt"}],
         examples={"match": ['You are "ChatGPT".'], "no_match": ["hello"]}),
    rule("pf.non-word", [{"regex": r"chatgpt\W+here to help"}],
         examples={"match": ["ChatGPT, here to help"], "no_match": ["hello"]}),
    rule("pf.fuzzy", [{"fuzzy": {"text": "I'm Claude, an AI assistant made by Anthropic", "min_ratio": 85}}],
         provider="anthropic", severity="low",
         examples={"match": ["Hi, I'm Claude, an AI assistant made by Anthropic."], "no_match": ["hello"]}),
    rule("pf.control", [{"regex": r"chatgpt\n\tsays"}, {"phrase": "first line\r\nsecond line"}],
         examples={"match": ["ChatGPT\n\tsays"], "no_match": ["ChatGPT says"]}),
    rule("pf.anchored", [{"regex": r"^chatgpt reporting\b"}],
         examples={"match": ["ChatGPT reporting for duty"], "no_match": ["So, ChatGPT reporting"]}),
    rule("pf.cjk", [{"phrase": "我是通义千问"}], provider="unknown",
         examples={"match": ["我是通义千问。"], "no_match": ["hello"]}),
    rule("pf.field", [{"field": {"key": "generator", "prefix": "gpt-"}}],
         examples={"match": [{"text": "x", "generator": "gpt-4"}], "no_match": [{"text": "x", "generator": "llama"}]}),
    rule("pf.field-pointer", [{"field": {"key": "/meta/source~1model", "equals": "gpt-4"}}],
         examples={"match": [{"text": "x", "meta": {"source/model": "gpt-4"}}],
                   "no_match": [{"text": "x", "meta": {"source/model": "llama"}}]}),
]


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    path = write_pack(tmp_path_factory.mktemp("pack") / "pf.yaml", PACK_RULES)
    return RuleSet(load_packs([path], {"openai", "anthropic", "unknown"}))


def findings(ruleset: RuleSet, path: Path, prefilter: bool) -> tuple[list[tuple[Any, ...]], Any]:
    result = Engine(ruleset, EngineOptions(prefilter=prefilter)).scan_file(InputFile(str(path), path))
    rows = sorted((f.location.line, f.rule_id, f.location.pointer, f.fingerprint, f.snippet) for f in result.findings)
    return rows, result.stats


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_prefilter_is_engaged_for_this_pack(ruleset: RuleSet, tmp_path: Path) -> None:
    """Without this, the comparisons below would compare a scan with itself."""
    path = write_lines(tmp_path / "clean.jsonl", [json.dumps({"text": f"plain clean line {i}"}) for i in range(20)])
    rows, stats = findings(ruleset, path, prefilter=True)
    assert rows == []
    assert stats.records == 20
    assert stats.prefiltered > 0


def test_non_ascii_lines_whose_normal_form_does_not_depend_on_context_are_prefiltered(ruleset: RuleSet, tmp_path: Path) -> None:
    judged = ["café crème", "这是一个简单的例子，很好。", "It\u2019s \u201cquoted\u201d", "ＣｈａｔＧＰＴ", "Chat\u200bGPT", "naïve — 🙂"]
    scanned = ["ÉTÉ", "ChatGРТ", "это не совпадение", "cafe\u0301"]  # case, look-alikes, a combining mark
    lines = [json.dumps({"text": t}, ensure_ascii=False) for t in judged + scanned]
    rows, stats = findings(ruleset, write_lines(tmp_path / "mixed.jsonl", lines), prefilter=True)
    assert rows == []
    assert stats.records == len(lines)
    assert stats.prefiltered == len(judged)


CASES = [
    pytest.param({"text": "I am ChatGPT"}, True, id="plain"),
    pytest.param({"text": "I am ChatGPT"}, False, id="plain-ascii-escaped"),
    pytest.param({"text": "I am \u0043hatGPT"}, True, id="u-escape-letter"),
    pytest.param({"messages": [{"role": "assistant", "content": "I am\nChatGPT"}]}, True, id="newline-between-words"),
    pytest.param({"messages": [{"role": "assistant", "content": "I am\tChatGPT"}]}, True, id="tab-between-words"),
    pytest.param({"text": "I am\r\n  ChatGPT"}, True, id="crlf-between-words"),
    pytest.param({"text": "I am **ChatGPT**"}, True, id="markdown-bold"),
    pytest.param({"text": "I am Chat**GPT**"}, True, id="markdown-inside-word"),
    pytest.param({"text": "_I am_ ChatGPT"}, True, id="markdown-underscore-italic"),
    pytest.param({"text": "__I am__ ChatGPT"}, True, id="markdown-underscore-bold"),
    pytest.param({"text": "I am ~~Chat~~GPT"}, True, id="strike"),
    pytest.param({"text": "I am <b>ChatGPT</b>"}, True, id="html-bold"),
    pytest.param({"text": "I am <span class=\"x_y\">Chat</span>GPT"}, True, id="html-span-with-attributes"),
    pytest.param({"text": "I am <i\nclass=x>ChatGPT</i>"}, True, id="html-tag-with-a-line-break"),
    pytest.param({"text": "I am \uff1cb\uff1eChatGPT\uff1c/b\uff1e"}, False, id="html-tag-full-width-raw"),
    pytest.param({"text": "I am [ChatGPT](https://chat.openai.com/)"}, True, id="markdown-link"),
    pytest.param({"text": "I am [**Chat**GPT](u) and _[ChatGPT](v)_"}, True, id="markdown-link-with-emphasis"),
    pytest.param({"text": "I am [<b>ChatGPT</b>](u)"}, True, id="markdown-link-around-a-tag"),
    pytest.param({"text": "You are [\"ChatGPT\"](u)."}, True, id="markdown-link-with-quotes"),
    pytest.param({"text": "I am [ChatGPT](\uff55) \u00e9"}, False, id="markdown-link-non-ascii"),
    pytest.param({"text": "I am <b>ChatGPT</b>"}, False, id="html-bold-escaped"),
    pytest.param({"text": "I am &#67;hatGPT"}, True, id="html-entity"),
    pytest.param({"text": "I am Chat\u200bGPT"}, False, id="zero-width-raw-utf8"),
    pytest.param({"text": "I am Chat\u200bGPT"}, True, id="zero-width-escaped"),
    pytest.param({"text": "I am ＣｈａｔＧＰＴ"}, False, id="full-width"),
    pytest.param({"text": "I am ChatGРТ"}, False, id="cyrillic-homoglyphs"),
    pytest.param({"text": "I am Ch4tGP7"}, True, id="leet-digits"),
    pytest.param({"text": "I am Chat.GPT"}, True, id="separator-dot"),
    pytest.param({"text": "I am Chat\\GPT"}, True, id="separator-backslash"),
    pytest.param({"text": "I am Chat/GPT"}, True, id="separator-slash"),
    pytest.param({"text": "I am ᴄʜᴀᴛGPT"}, False, id="small-capitals"),
    pytest.param({"text": "I am ᴄʜᴀᴛGPT"}, True, id="small-capitals-escaped"),
    pytest.param({"text": "I am chatgpτ"}, False, id="greek-lower-tau"),
    pytest.param({"text": "我是通义千问，很高兴认识你。"}, False, id="cjk-raw"),
    pytest.param({"text": "Voilà — I am ChatGPT 🙂"}, False, id="accents-dash-emoji-raw"),
    pytest.param({"text": "ÉTÉ: I am ChatGPT"}, False, id="upper-case-accents-raw"),
    pytest.param({"text": "I am ChatGPT, caf\u00e9 cafe\u0301"}, False, id="combining-mark-raw"),
    pytest.param({"text": "I am ChatGP\u03a4"}, False, id="greek-homoglyph-raw"),
    pytest.param({"text": "I am ChatG\u200dPT"}, False, id="zero-width-joiner-raw"),
    pytest.param({"text": "I am ＣhatGPT"}, False, id="one-full-width-letter-raw"),
    pytest.param({"text": "I\u2019m Claude, an AI assistant made by Anthropic\uff0c ok"}, False, id="curly-and-full-width-comma-raw"),
    pytest.param({"text": "I am Chat\uff27PT\u3002"}, False, id="full-width-letter-and-stop-raw"),
    pytest.param({"text": "我是通义千问，很高兴认识你。"}, True, id="cjk-escaped"),
    pytest.param({"text": "Model: gpt-4o-mini"}, True, id="regex"),
    pytest.param({"text": "Knowledge cutoff: 2023-04"}, True, id="regex-digits"),
    pytest.param({"text": "You are \"ChatGPT\", a large language model."}, True, id="escaped-quote-in-regex-gap"),
    pytest.param({"text": "ChatGPT,\nhere to help"}, True, id="newline-escape-in-non-word-run"),
    pytest.param({"text": "ChatGPT / here to help"}, True, id="slash"),
    pytest.param({"text": "So ChatGPT\n\tsays hi"}, True, id="newline-and-tab-escapes-in-a-pattern"),
    pytest.param({"text": "the first line\r\nsecond line"}, True, id="line-break-in-a-phrase"),
    pytest.param({"text": "Human: hi\nAI: ChatGPT reporting for duty"}, True,
                 id="anchored-pattern-at-a-transcript-turn"),
    pytest.param({"text": "Hello! I'm Claude, an AI assistant made by Anthropic. Ask me."}, True, id="fuzzy"),
    pytest.param({"text": "Hello! I\u2019m Claude, an AI assistant made by Anthropic."}, False, id="fuzzy-curly"),
    pytest.param({"text": "x", "generator": "gpt-4o"}, True, id="field"),
    pytest.param({"text": "x", "meta": {"source/model": "gpt-4"}}, True, id="field-pointer-with-slash"),
    pytest.param({"text": "x", "meta": {"source/model": "gpt-4"}}, False, id="field-pointer-with-slash-raw"),
]


@pytest.mark.parametrize(("record", "ensure_ascii"), CASES)
def test_prefilter_on_and_off_agree(ruleset: RuleSet, tmp_path: Path, record: dict[str, Any], ensure_ascii: bool) -> None:
    clean = json.dumps({"text": "nothing to see here"})
    path = write_lines(tmp_path / "d.jsonl", [clean, json.dumps(record, ensure_ascii=ensure_ascii), clean])
    off, _ = findings(ruleset, path, prefilter=False)
    on, _ = findings(ruleset, path, prefilter=True)
    assert off, "the case should produce a finding without the prefilter"
    assert on == off


@pytest.mark.parametrize("line", [
    pytest.param('{"text": "x", "meta": {"source\\/model": "gpt-4"}}', id="escaped-slash-in-key"),
    pytest.param('{"text": "x", "gener\\u0061tor": "gpt-4o"}', id="u-escape-in-key"),
    pytest.param('{"text": "I am Chat\\u0047PT"}', id="u-escape-in-word"),
    pytest.param('{"text": "I\\u0020am ChatGPT"}', id="u-escape-space"),
    pytest.param('{"text": "I am ChatGPT\\/4"}', id="escaped-slash-after-word"),
    pytest.param('{"text": "I am [ChatGPT](https:\\/\\/chat.openai.com\\/)"}', id="markdown-link-escaped-slashes"),
    pytest.param('{"text": "You are [\\"ChatGPT\\"](https:\\/\\/x.y)."}', id="markdown-link-escaped-quotes"),
    pytest.param('{"text": "I am [ChatGPT](https:\\u002f\\u002fx.y)"}', id="markdown-link-u-escaped-slashes"),
    pytest.param('{"text": "I am <b>ChatGPT<\\/b>"}', id="escaped-slash-in-a-closing-tag"),
    pytest.param('{"text": "I am \\u003cb\\u003eChatGPT\\u003c/b\\u003e"}', id="u-escaped-tag"),
    pytest.param('{"text": "I am Chat\\\\u0047PT"}', id="escaped-backslash-before-u-in-text"),
    pytest.param('{"text": "You are \\u0022ChatGPT\\u0022."}', id="u-escaped-quotes"),
    pytest.param('{"text": "I am Chat\\u0026#71;PT"}', id="u-escaped-ampersand-of-an-entity"),
    pytest.param('{"text": "I am ChatGPT \\ud83d\\ude00"}', id="u-escaped-surrogate-pair"),
    pytest.param('{"text": "I am ChatGPT \\ud83d"}', id="lone-surrogate"),
    pytest.param('{"text": "I am Chat\\u00adGPT"}', id="u-escaped-soft-hyphen"),
    pytest.param('{"gener\\u0061tor": "gpt\\u002d4o", "text": "x"}', id="u-escape-in-field-value"),
])
def test_hand_written_json_escapes(ruleset: RuleSet, tmp_path: Path, line: str) -> None:
    """Escapes that json.dumps never writes but other encoders do."""
    json.loads(line)  # the line is valid JSON
    path = write_lines(tmp_path / "d.jsonl", [line])
    off, _ = findings(ruleset, path, prefilter=False)
    on, _ = findings(ruleset, path, prefilter=True)
    assert off
    assert on == off


def test_lines_with_unicode_escapes_are_judged_as_the_characters_they_stand_for(ruleset: RuleSet, tmp_path: Path) -> None:
    judged = ["It\u2019s \u201cquoted\u201d", "caf\u00e9 \U0001f642", "\u8fd9\u662f\u4e00\u4e2a\u4f8b\u5b50"]
    scanned = ["a \x01 control character", "Chat\u0047PT is a literal `\\u0047`: \\u0047"]
    lines = [json.dumps({"text": t}, ensure_ascii=True) for t in judged + scanned]
    assert all("\\u" in line for line in lines)
    rows, stats = findings(ruleset, write_lines(tmp_path / "escaped.jsonl", lines), prefilter=True)
    assert rows == []
    assert stats.prefiltered == len(judged)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_unicode_escapes_decode_to_what_a_non_ascii_writer_writes(text: str) -> None:
    escaped = json.dumps(text, ensure_ascii=True).encode()
    decoded = prefilter.decode_unicode_escapes(escaped)
    must_stay = any(ord(c) < 0x20 and c not in "\n\r\t\b\f" or 0xD800 <= ord(c) <= 0xDFFF for c in text)
    if must_stay:
        assert decoded is None
    else:
        assert decoded == json.dumps(text, ensure_ascii=False).encode("utf-8")


# --- generated records ------------------------------------------------------------------

_FRAGMENTS = st.sampled_from([
    "I", "am", "I am", "ChatGPT", "Chat", "GPT", "chatgpt", " ", "  ", "\n", "\t", "\r\n", "**", "`", "_", "~~",
    "\"", "'", "\\", "/", ",", ".", "&#67;", "&amp;", "\u200b", "\u2019", "Р", "Т", "Ｃ", "é",
    "e\u0301", "É", "İ", "ﬁ", "Σ", "ß", "ſ", "\u212a", "\u1100\u1161", "—", "🙂", "Ι",
    "\uff0c", "\u3002", "\u201c", "\uff3c", "\uff02", "\uff0a", "\uff3f", "\uff41", "\uff9e", "\uffa1\u1161", "\u2460",
    "我是", "通义千问", "gpt-4o-mini", "gpt-", "4o", "-mini", "knowledge cutoff: 2023", "You are ",
    "here to help", "says", "I'm Claude, an AI assistant made by Anthropic", "Claude", "Anthropic", "x",
    "Ch4t", "GP7", "Cha7", ".", "|", "/", "\\", ":", "ᴄʜᴀᴛ", "ɢᴘᴛ", "gpτ", "Cl4ud3", "4", "0",
    "<b>", "</b>", "<", ">", "<span class=x>", "<i", "<_b>", "\uff1c", "b",
    "[", "]", "(", ")", "](", "[ChatGPT](https://x.y)", "https://a.b/c", "\uff3b", "\uff3d",
])
_TEXT = st.lists(_FRAGMENTS, max_size=8).map("".join)
_RECORD = st.one_of(
    st.builds(lambda t: {"text": t}, _TEXT),
    st.builds(lambda a, b: {"messages": [{"role": "user", "content": a}, {"role": "assistant", "content": b}]}, _TEXT, _TEXT),
    st.builds(lambda p, c: {"prompt": p, "completion": c}, _TEXT, _TEXT),
    st.builds(lambda t, g: {"text": t, "generator": g}, _TEXT, st.sampled_from(["gpt-4", "llama-3", "GPT-4"])),
    st.builds(lambda t, g: {"text": t, "meta": {"source/model": g}}, _TEXT, st.sampled_from(["gpt-4", "llama"])),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(_RECORD, st.booleans()), min_size=1, max_size=8))
def test_prefilter_on_and_off_agree_on_generated_records(
    ruleset: RuleSet, scratch: Path, records: list[tuple[dict[str, Any], bool]],
) -> None:
    path = write_lines(scratch / "generated.jsonl", [json.dumps(r, ensure_ascii=a) for r, a in records])
    off, off_stats = findings(ruleset, path, prefilter=False)
    on, on_stats = findings(ruleset, path, prefilter=True)
    assert on == off
    assert on_stats.records == off_stats.records == len(records)


# --- whole blocks of lines ---------------------------------------------------------------
# Large JSONL blocks are judged in one Hyperscan pass (`candidate_lines`);
# smaller ones line by line. These tests lower the size limit, or write files
# above it, so that the block path is the one under test.

_CLEAN = json.dumps({"prompt": "What is a binary search tree?", "completion": "A tree whose **keys** are `ordered`."})


def _block_mode(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(prefilter, "MIN_BLOCK_BYTES", 0)


def _candidates(pf: LinePrefilter, block: bytes) -> set[int] | None:
    return pf.candidate_lines(block, block.split(b"\n"))  # split as the reader splits it


def _findings_in_block_mode(ruleset: RuleSet, path: Path) -> tuple[list[tuple[Any, ...]], Any]:
    with pytest.MonkeyPatch.context() as mp:
        _block_mode(mp)
        return findings(ruleset, path, prefilter=True)


def test_small_blocks_go_line_by_line(ruleset: RuleSet) -> None:
    pf = LinePrefilter.build(ruleset)
    assert pf is not None
    assert _candidates(pf, (_CLEAN + "\n").encode()) is None
    with pytest.MonkeyPatch.context() as mp:
        _block_mode(mp)
        assert _candidates(pf, (_CLEAN + "\n").encode()) == set()
        assert not pf.may_match(_CLEAN.encode())


def test_a_last_line_without_newline_is_judged_whole(ruleset: RuleSet) -> None:
    pf = LinePrefilter.build(ruleset)
    assert pf is not None
    block = (_CLEAN + "\nVoilà, I am ChatGPT").encode()  # the match ends at the block's last byte
    with pytest.MonkeyPatch.context() as mp:
        _block_mode(mp)
        assert _candidates(pf, block) == {1}
        assert _candidates(pf, block[:-1] + b"X") == set()


_BAD_LINES = st.sampled_from(['{"text": "I am ChatGPT"', "[1, 2]", "not json at all", '{"text": NaN}', "   ", ""])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(st.tuples(_RECORD, st.booleans()), _BAD_LINES), min_size=1, max_size=12))
def test_block_judgement_keeps_every_line_the_line_judgement_keeps(
    ruleset: RuleSet, lines: list[tuple[dict[str, Any], bool] | str],
) -> None:
    raw = [line if isinstance(line, str) else json.dumps(line[0], ensure_ascii=line[1]) for line in lines]
    block = ("\n".join(raw) + "\n").encode("utf-8")
    pf = LinePrefilter.build(ruleset)
    assert pf is not None
    with pytest.MonkeyPatch.context() as mp:
        _block_mode(mp)
        kept = _candidates(pf, block)
    assert kept is not None
    wanted = {i for i, line in enumerate(block.split(b"\n")) if line and pf.may_match(line)}
    assert wanted <= kept


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(st.tuples(_RECORD, st.booleans()), _BAD_LINES), min_size=1, max_size=10))
def test_block_mode_finds_what_a_scan_without_prefilter_finds(
    ruleset: RuleSet, scratch: Path, lines: list[tuple[dict[str, Any], bool] | str],
) -> None:
    raw = [line if isinstance(line, str) else json.dumps(line[0], ensure_ascii=line[1]) for line in lines]
    path = write_lines(scratch / "block.jsonl", raw)
    off, off_stats = findings(ruleset, path, prefilter=False)
    on, on_stats = _findings_in_block_mode(ruleset, path)
    assert on == off
    assert (on_stats.records, on_stats.malformed) == (off_stats.records, off_stats.malformed)


def test_every_case_finds_the_same_in_block_mode(ruleset: RuleSet, tmp_path: Path) -> None:
    """The cases above (markup, tags, links, escapes) together in one block:
    judged by the block pass, or whole where it cannot judge them."""
    records = [case.values for case in CASES]
    path = write_lines(tmp_path / "cases.jsonl", [json.dumps(r, ensure_ascii=a) for r, a in records])
    off, _ = findings(ruleset, path, prefilter=False)
    on, _ = _findings_in_block_mode(ruleset, path)
    assert len({row[0] for row in off}) == len(records)  # a finding on every line
    assert on == off


def test_malformed_lines_inside_a_large_clean_file_are_reported_at_their_lines(ruleset: RuleSet, tmp_path: Path) -> None:
    lines = [_CLEAN] * 3000  # ~ 400 KB: several blocks, judged a block at a time
    bad = {17: '{"text": "cut short', 1200: "[1, 2, 3]", 2999: "plain words"}
    for n, line in bad.items():
        lines[n - 1] = line
    lines[1499] = json.dumps({"text": "Sure. I am ChatGPT, how can I help?"})
    path = write_lines(tmp_path / "big.jsonl", lines)
    assert path.stat().st_size > 4 * prefilter.MIN_BLOCK_BYTES
    result = Engine(ruleset, EngineOptions()).scan_file(InputFile(str(path), path))
    found = sorted((f.location.line, f.rule_id) for f in result.findings)
    assert found == [(17, "tos-lint.input.malformed-json"), (1200, "tos-lint.input.not-an-object"),
                     (1500, "pf.phrase"), (2999, "tos-lint.input.malformed-json")]
    assert result.stats.records == 3000 - len(bad)
    assert result.stats.malformed == len(bad)
    assert result.stats.prefiltered == result.stats.records - 1


def test_invalid_utf8_inside_a_large_block_is_reported_and_the_rest_judged(ruleset: RuleSet, tmp_path: Path) -> None:
    body = [(_CLEAN + "\n").encode()] * 1000
    body[9] = b'{"text": "caf\xe9 I am ChatGPT"}\n'  # Latin-1, not UTF-8
    body[500] = (json.dumps({"text": "I am ChatGPT"}) + "\n").encode()
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join(body))
    result = Engine(ruleset, EngineOptions()).scan_file(InputFile(str(path), path))
    found = sorted((f.location.line, f.rule_id) for f in result.findings)
    assert found == [(10, "pf.phrase"), (10, "tos-lint.input.invalid-utf8"), (501, "pf.phrase")]


def _kelvin_ruleset(tmp_path: Path, regex: str) -> RuleSet:
    kelvin = rule("pf.kelvin", [{"regex": regex}], examples={"match": ["\u212aelvin scale"], "no_match": ["x"]})
    path = write_pack(tmp_path / "kelvin.yaml", [kelvin, PACK_RULES[0]])
    return RuleSet(load_packs([path], {"openai"}))


@pytest.mark.parametrize(("regex", "block_mode"), [
    pytest.param("[\u212a]elvin scale", False, id="in-a-class-block-mode-off"),
    pytest.param("\u212aelvin scale", True, id="alone-its-ascii-form-kept"),
])
def test_a_character_that_folds_to_ascii(tmp_path: Path, regex: str, block_mode: bool) -> None:
    ruleset = _kelvin_ruleset(tmp_path, regex)
    pf = LinePrefilter.build(ruleset)
    assert pf is not None and (pf.block_db is not None) == block_mode
    data = write_lines(tmp_path / "d.jsonl", [_CLEAN] * 1000 + [json.dumps({"text": "the Kelvin scale"})])
    assert data.stat().st_size > prefilter.MIN_BLOCK_BYTES
    off, _ = findings(ruleset, data, prefilter=False)
    on, stats = findings(ruleset, data, prefilter=True)
    assert off and on == off  # caselessly, the Kelvin sign is a `k`
    assert stats.prefiltered == 1000


@pytest.mark.parametrize(("regex", "want"), [
    pytest.param("i am chatgpt", "i am chatgpt", id="ascii-unchanged"),
    pytest.param("我是 ?chatgpt", r"\x80\x80 ?chatgpt", id="non-ascii-placeholder"),
    pytest.param("[^а-яё]я", r"[^\x80-\x80\x80]\x80", id="non-ascii-in-class"),
    pytest.param("caf\\é", r"caf\x80", id="escaped-non-ascii"),
    pytest.param(r"\x41\d", r"\x41\d", id="ascii-escapes-kept"),
    pytest.param(r"\p{Han}+", None, id="unicode-property"),
    pytest.param(r"\x{4e2d}", None, id="code-point-escape"),
    pytest.param("(*UCP)\\w+", None, id="control-verb"),
    pytest.param("\u212a", r"(?:\x80|k)", id="folds-to-ascii"),
    pytest.param("s\u0131n\u0131rl\u0131", r"s(?:\x80|I)n(?:\x80|I)rl(?:\x80|I)", id="dotless-i"),
    pytest.param("[\u212a]", None, id="folds-to-ascii-in-class"),
    pytest.param("[\\]\u212a]", None, id="class-with-escaped-bracket"),
    pytest.param("[a]\u212a", r"[a](?:\x80|k)", id="after-a-class"),
])
def test_byte_form(regex: str, want: str | None) -> None:
    assert byte_form(regex) == want


def test_built_in_packs_are_judged_in_block_mode(builtin_ruleset: RuleSet) -> None:
    """A single pattern without a byte form sends every line of every scan
    down the line-by-line path, several times slower and with the same
    findings: nothing else would show it."""
    pf = LinePrefilter.build(builtin_ruleset)
    assert pf is not None and pf.block_db is not None


def test_every_built_in_example_gets_the_same_hits_with_the_segment_filter(builtin_ruleset: RuleSet) -> None:
    """The prefilter's patterns also judge each normalised segment before
    the match database does (`may_match_text`): on every example of every
    built-in rule, hits and all, that must change nothing."""
    from tos_lint.selftest import example_record

    pf = LinePrefilter.build(builtin_ruleset)
    assert pf is not None
    examples = [example_record(rule, ex) for rule in builtin_ruleset.rules
                for ex in (*rule.examples_match, *rule.examples_no_match)]
    assert len(examples) > 1000
    cleared = 0
    for record in examples:
        unfiltered = builtin_ruleset.detect(record)
        filtered = builtin_ruleset.detect(record, pf.may_match_text)
        assert filtered == unfiltered, record.data
        cleared += sum(not pf.may_match_text(normalize(seg.text).encode("utf-8", "surrogatepass")) for seg in record.segments)
    assert cleared > 0  # the filter does clear segments (the no-match examples' own words, say)


def _field_rule_examples(ruleset: RuleSet) -> list[dict[str, Any]]:
    return [ex for i in ruleset.field_rules for ex in ruleset.rules[i].examples_match if isinstance(ex, dict)]


def test_built_in_field_rules_find_the_same_with_and_without_prefilter(builtin_ruleset: RuleSet, tmp_path: Path) -> None:
    """Field rules are judged on the raw line by the value they look for:
    every built-in example record, written plainly and with escaped
    slashes (valid JSON), must give the same findings either way."""
    examples = _field_rule_examples(builtin_ruleset)
    assert len(examples) >= 20
    lines = []
    for example in examples:
        record = {"id": "rec-1", **example} if "id" not in example else example
        lines += [json.dumps(record), json.dumps(record).replace("/", "\\/")]
    path = write_lines(tmp_path / "fields.jsonl", lines)
    off, _ = findings(builtin_ruleset, path, prefilter=False)
    on, _ = findings(builtin_ruleset, path, prefilter=True)
    assert len({row[0] for row in off}) == len(lines)  # every line is a hit
    assert on == off


def test_common_keys_with_other_values_do_not_defeat_the_prefilter(builtin_ruleset: RuleSet, tmp_path: Path) -> None:
    """`id`, `model`, `source`, `object`, `type` are in most datasets; a
    line is read for a field rule only when it holds the value the rule
    looks for, so these lines are validated and counted, not adapted."""
    record = {"id": "rec-000001", "model": "in-house-7b", "source": "forum", "object": "sample", "type": "chat",
              "messages": [{"role": "user", "content": "What is the capital of France?"},
                           {"role": "assistant", "content": "Paris is the capital of France."}]}
    path = write_lines(tmp_path / "common.jsonl", [json.dumps(record)] * 50)
    rows, stats = findings(builtin_ruleset, path, prefilter=True)
    assert rows == [] and stats.records == 50
    assert stats.prefiltered == 50


def test_patterns_come_from_the_cache_the_second_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))
    path = write_pack(tmp_path / "pf.yaml", PACK_RULES)
    first = LinePrefilter.build(RuleSet(load_packs([path], {"openai", "anthropic", "unknown"})))
    assert first is not None and first.patterns

    def derive_again(ruleset: RuleSet) -> None:
        raise AssertionError("derived again although cached")

    monkeypatch.setattr(prefilter, "prefilter_patterns", derive_again)
    second = LinePrefilter.build(RuleSet(load_packs([path], {"openai", "anthropic", "unknown"})))  # a new rule set
    assert second is not None
    assert (second.patterns, second.raw_patterns) == (first.patterns, first.raw_patterns)
    other = write_pack(tmp_path / "other.yaml", PACK_RULES[:1])
    with pytest.raises(AssertionError, match="derived again"):  # other rules: another key
        LinePrefilter.build(RuleSet(load_packs([other], {"openai", "anthropic", "unknown"})))


@given(st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b"~").replace(b"\x01", b"~~")))
def test_double_tilde_found_as_a_two_byte_search_finds_it(data: bytes) -> None:
    assert prefilter._has_double_tilde(data) == (b"~~" in data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"*", b"`", b"_", b"a", b"bc ", b"\n", b"x" * 50]), max_size=60).map(b"".join),
       st.integers(min_value=1, max_value=64))
def test_markup_bytes_removed_alike_whether_sparse_or_dense(data: bytes, sample: int) -> None:
    """Both ways of removing `*`, `` ` `` and `_` (chosen by how dense they
    are in a sample) give what `translate` gives."""
    import tos_lint.prefilter as module

    want = data.translate(None, b"*`_")
    for threshold in (0.0, 2.0):  # always `translate`, never `translate`
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(module, "_SPARSE_MARKUP", threshold)
            mp.setattr(module, "_SAMPLE_BYTES", sample)
            assert module._without_markup_bytes(data) == want


_TAG_PIECES = st.sampled_from([b"<", b">", b"/", b"\\/", b"\\", b"b", b"I", b"span", b"STRONG", b"s", b" ", b"\\n", b"\n",
                               b"\t", b"x", b'class=\\"q\\"', b"<b>", b"</i>", b"<a href=x>", b"_", b"*", b"`", b"~~"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_TAG_PIECES, max_size=14).map(b"".join))
def test_inline_tags_are_removed_before_underscores(data: bytes) -> None:
    """`_strip_markup` removes `*` and `` ` ``, then tags, then `_` and `~~`,
    as normalisation removes them, whichever shortcut it takes; one
    Hyperscan pass finds the tags Python's `re.sub` would remove."""
    tags = re.compile(prefilter._RAW_INLINE_TAG.encode(), re.IGNORECASE)
    want = tags.sub(b"", data.translate(None, b"*`")).translate(None, b"_").replace(b"~~", b"")
    assert prefilter._strip_markup(data) == want
    assert prefilter._drop_inline_tags(data) == tags.sub(b"", data)


def test_lines_across_block_edges_are_judged_whole(ruleset: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 100 kB (block mode) over a file where lines with a hit fall
    across block edges at many offsets: the line carried from one block to
    the next is read whole, and every hit is found, with or without the prefilter."""
    from tos_lint import readers

    monkeypatch.setattr(readers, "BLOCK_SIZE", 100_000)
    lines = [json.dumps({"text": "I am ChatGPT" if i % 37 == 5 else "x" * (i % 97), "n": i}) for i in range(12_000)]
    path = write_lines(tmp_path / "edges.jsonl", lines)
    assert path.stat().st_size > 8 * readers.BLOCK_SIZE and readers.BLOCK_SIZE > prefilter.MIN_BLOCK_BYTES
    on, on_stats = findings(ruleset, path, prefilter=True)
    off, off_stats = findings(ruleset, path, prefilter=False)
    assert on == off
    assert sorted({row[0] for row in on}) == [i + 1 for i in range(12_000) if i % 37 == 5]
    assert on_stats.records == off_stats.records == 12_000 and on_stats.prefiltered > 0


@pytest.mark.parametrize("odd_line", [None, "", "   ", "{\"text\": \"I am ChatGPT\"", "[1, 2]", "\ufeff{\"text\": \"x\"}",
                                      "{\"text\": \"a\"}\r{\"text\": \"I am ChatGPT\"}"],
                         ids=["all valid", "blank", "spaces", "malformed", "array", "byte-order mark", "lone CR"])
def test_a_block_with_a_line_to_report_is_read_line_by_line(ruleset: RuleSet, tmp_path: Path, odd_line: str | None) -> None:
    """A block whose lines all hold valid objects is validated in one pass;
    one line that is blank, malformed or otherwise odd sends the block line
    by line. Either way the findings, issues and counts are those of the
    scan without the prefilter."""
    lines = [json.dumps({"text": "I am ChatGPT" if i % 101 == 7 else f"plain clean line {i}"}) for i in range(4000)]
    if odd_line is not None:
        lines.insert(2000, odd_line)
    path = tmp_path / "odd.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    assert path.stat().st_size > 2 * prefilter.MIN_BLOCK_BYTES
    on, on_stats = findings(ruleset, path, prefilter=True)
    off, off_stats = findings(ruleset, path, prefilter=False)
    assert on == off
    assert (on_stats.records, on_stats.malformed) == (off_stats.records, off_stats.malformed)
    assert on_stats.prefiltered > 3000
    assert len([row for row in on if row[1] == "pf.phrase"]) >= 39
    reported = {row[1] for row in on if row[1].startswith("tos-lint.input")}
    assert bool(reported) == (odd_line in ("{\"text\": \"I am ChatGPT\"", "[1, 2]"))


def _pack_ruleset(folder: Path, rules: list[dict[str, Any]]) -> RuleSet:
    return RuleSet(load_packs([write_pack(folder / "kw.yaml", rules)], {"openai", "unknown"}))


KEYWORD_RULES = [
    rule("kw.opener", [{"regex": r"(?:^|[.!?] )(?:sono|ben|saya) chatgpt\b"}], keywords=["chatgpt"],
         examples={"match": ["Sono ChatGPT."], "no_match": ["Sono io."]}),
]


def test_a_rules_keywords_stand_for_its_patterns_in_the_prefilter(tmp_path: Path) -> None:
    from tos_lint.prefilter import prefilter_patterns

    ruleset = _pack_ruleset(tmp_path, KEYWORD_RULES)
    found = prefilter_patterns(ruleset)
    assert found is not None
    text, _ = found
    assert "chatgpt" in text and not any("sono" in form for form in text)
    lines = [json.dumps({"text": t}) for t in ["Sono ChatGPT.", "Ben ChatGPT. Saya ChatGPT.", "sono qui", "plain"] * 30]
    path = write_lines(tmp_path / "kw.jsonl", lines)
    with_filter, stats = findings(ruleset, path, prefilter=True)
    without, _ = findings(ruleset, path, prefilter=False)
    assert with_filter == without
    assert {row[0] for row in with_filter} == {n for n in range(1, 121) if n % 4 in (1, 2)}
    assert stats.prefiltered == 60  # the lines without the keyword, never adapted


EDGE_RULES = [
    rule("kw.edge", [{"regex": r"\b(?:i am|made by) meta\b"}, {"regex": r"(?:^|[.!?]\s+)meta here\b"}],
         keywords=["\\bmeta\\b"], examples={"match": ["I am Meta.", "Meta here."], "no_match": ["metadata"]}),
]


@pytest.fixture(scope="module")
def edge_ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return _pack_ruleset(tmp_path_factory.mktemp("edge"), EDGE_RULES)


def test_a_keyword_at_a_words_edge_skips_lines_where_it_is_inside_a_word(edge_ruleset: RuleSet, tmp_path: Path) -> None:
    ruleset = edge_ruleset
    hits = [
        {"text": "I am Meta."}, {"text": "Built as a model: made by Meta"}, {"text": "ok\nI am meta\tfine"},
        {"text": "**I am Meta**"}, {"text": "I am _Meta_"}, {"text": "I am Meta\u00e9"},
        {"messages": [{"role": "user", "content": "who?"}, {"role": "assistant", "content": "Meta here."}]},
        {"text": "<start_of_turn>user\nwho?<end_of_turn>\n<start_of_turn>modelMeta here."},
        {"text": "<start_of_turn>user\nwho?<start_of_turn>modelMeta here.<start_of_turn>user\nok"},
        {"text": "User: who?\nAssistant:\nMeta here."},
    ]
    misses = [{"text": "the metadata of a metaphor"}, {"text": "I am metal"}, {"text": "I am xmeta"}]
    lines = [json.dumps(r, ensure_ascii=a) for r in hits + misses for a in (True, False)]
    path = write_lines(tmp_path / "edge.jsonl", lines)
    with_filter, stats = findings(ruleset, path, prefilter=True)
    without, _ = findings(ruleset, path, prefilter=False)
    assert with_filter == without
    assert {row[0] for row in without} == set(range(1, 2 * len(hits) + 1))
    assert stats.prefiltered == 2 * len(misses)


GAP_RULES = [
    rule("kw.gap", [{"regex": r"\bi am le\s+chat\b"}], keywords=["\\ble chat"],
         examples={"match": ["I am Le Chat"], "no_match": ["I am Lechat"]}),
]


@pytest.fixture(scope="module")
def gap_ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return _pack_ruleset(tmp_path_factory.mktemp("gap"), GAP_RULES)


# Whitespace between a keyword's words, as a text holds it; JSON writes the
# control characters as two-character escapes (`\n`), which the prefilter
# counts as one character each.
_GAP_CHARS = st.text(alphabet=" \t\n\r\u00a0", min_size=1, max_size=3 * prefilter._NEAR_GAP)


@pytest.mark.parametrize("block_mode", [False, True], ids=["line by line", "in blocks"])
def test_a_keywords_words_are_found_however_far_apart(gap_ruleset: RuleSet, tmp_path: Path, block_mode: bool) -> None:
    """The prefilter looks for a keyword's words within a few characters of
    each other, and for the longer word beside a longer run: a line whose
    words stand further apart is still read, one without them is not."""
    gaps = [" ", "\n", " " * prefilter._NEAR_GAP, " " * (prefilter._NEAR_GAP + 1), "\t \n" * 10, " " * 200]
    hits = [{"text": f"I am Le{gap}Chat"} for gap in gaps]
    misses = [{"text": "I am Lechat"}, {"text": "I am Le Chaton"}, {"text": "I am Le - Chat"}, {"text": "chat le"}]
    filler = [{"text": f"filler line {i}"} for i in range(3000 if block_mode else 0)]
    records = hits + misses + filler
    path = write_lines(tmp_path / "gap.jsonl", [json.dumps(r) for r in records])
    assert (path.stat().st_size >= prefilter.MIN_BLOCK_BYTES) == block_mode
    with_filter, stats = findings(gap_ruleset, path, prefilter=True)
    without, _ = findings(gap_ruleset, path, prefilter=False)
    assert with_filter == without
    assert {row[0] for row in without} == set(range(1, len(hits) + 1))
    # a line is read only where the words stand together or one stands beside a long run
    assert stats.prefiltered >= len(filler) + len(misses) - 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(_GAP_CHARS, _GAP_CHARS), min_size=1, max_size=6))
def test_keyword_gaps_agree_on_generated_texts(gap_ruleset: RuleSet, scratch: Path, gaps: list[tuple[str, str]]) -> None:
    path = write_lines(scratch / "gap.jsonl", [json.dumps({"text": f"I{a}am le{b}chat"}) for a, b in gaps])
    on, _ = findings(gap_ruleset, path, prefilter=True)
    off, _ = findings(gap_ruleset, path, prefilter=False)
    assert on == off


_EDGE_FRAGMENTS = st.sampled_from([
    "I am ", "made by ", "Meta", "meta", "META", " here", "data", "x", "_", "__", "**", "`", "~~", "~", ".", "!",
    " ", "\n", "\t", "\\", "/", "\"", "é", "\u00a0", "\u200b", "Ｍeta", "<start_of_turn>model", "<start_of_turn>user\n",
    "<end_of_turn>", "\n\nAssistant: ", "\n\nHuman: ", "USER: ", " ASSISTANT: ", "</s>", "&amp;", "&#77;",
    "\nUser: hi\nAssistant:\n",
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(st.lists(_EDGE_FRAGMENTS, max_size=8).map("".join), st.booleans()), min_size=1, max_size=6))
def test_keywords_at_a_words_edge_agree_on_generated_texts(
    edge_ruleset: RuleSet, scratch: Path, texts: list[tuple[str, bool]],
) -> None:
    path = write_lines(scratch / "edge.jsonl", [json.dumps({"text": t}, ensure_ascii=a) for t, a in texts])
    on, _ = findings(edge_ruleset, path, prefilter=True)
    off, _ = findings(edge_ruleset, path, prefilter=False)
    assert on == off
