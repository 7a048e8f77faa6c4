"""Evasion, beyond what test_normalize.py covers: Greek and
one-letter Cyrillic homoglyphs, words written wholly in look-alikes, many
disguises combined, JSON `\\u` escapes (in the file and left in the text)
through the whole command line with and without the prefilter, and linear
time on a megabyte of adversarial text against the built-in packs.

The cases live in `tests/hostile_cases.py` (EVASIONS) and generate the
evasion table of docs/robustness.md.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile_cases import EVASION_PACK, EVASIONS, REPO, EvasionOutcome, Evasion, cli_env, evasion_rows, run_evasions
from tos_lint.engine import Engine, EngineOptions
from tos_lint.matcher import phrase_to_regex
from tos_lint.normalize import normalize, normalize_mapped, unit_end
from tos_lint.readers import InputFile

DOC = REPO / "docs" / "robustness.md"
BEGIN, END = "<!-- BEGIN evasions (tools/robustness_catalogue.py) -->", "<!-- END evasions -->"
PHRASES = {"test.chatgpt": "I am ChatGPT", "test.openai": "trained by OpenAI", "test.claude": "I'm Claude"}
# The match ends on an entity or escape: the highlight stops two characters
# into it (detect._original_span; see docs/robustness.md, "Known gaps").


@pytest.fixture(scope="module")
def evaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EvasionOutcome]:
    return run_evasions(tmp_path_factory.mktemp("evasions"))


def _params() -> list[Any]:
    out = []
    for e in EVASIONS:
        marks = [pytest.mark.xfail(strict=True, reason="known gap, documented in docs/robustness.md")] if e.gap else []
        out.append(pytest.param(e, id=e.id, marks=marks))
    return out


@pytest.mark.parametrize("evasion", _params())
def test_disguised_phrase_still_hits(evaded: dict[str, EvasionOutcome], evasion: Evasion) -> None:
    assert evaded[evasion.id].rules == [evasion.rule], evaded[evasion.id].normalized


@pytest.mark.parametrize("evasion", [
    pytest.param(e, id=e.id) for e in EVASIONS if not e.gap
])
def test_highlight_is_the_original_disguised_text(evaded: dict[str, EvasionOutcome], evasion: Evasion) -> None:
    """The snippet shows the text as written; its highlight, normalised, is
    one whole match of the phrase (a split word, a look-alike digit)."""
    got = evaded[evasion.id].highlighted
    assert got and got in evasion.text
    assert re.fullmatch(phrase_to_regex(PHRASES[evasion.rule]), normalize(got), re.IGNORECASE), got


def test_evasion_catalogue_in_docs_is_current(evaded: dict[str, EvasionOutcome]) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip().splitlines()
    assert current == evasion_rows(evaded), "run: python tools/robustness_catalogue.py"


# --- JSON escapes through the whole command line -------------------------------------------

def _cli_findings(path: Path, pack: Path, *args: str) -> list[tuple[Any, ...]]:
    import sys

    command = [sys.executable, "-m", "tos_lint", "scan", str(path), "--isolated", "--no-default-rules",
               "--rules", str(pack), "--format", "json", *args]
    proc = subprocess.run(command, cwd=path.parent, capture_output=True, timeout=300, env=cli_env())
    assert proc.returncode == 1, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    return sorted((f["rule_id"], f["location"]["line"], f["location"]["pointer"], f["fingerprint"], f["snippet"],
                   tuple(f["highlight"])) for f in doc["findings"])


def test_json_escaped_text_through_the_cli_with_and_without_prefilter(tmp_path: Path) -> None:
    """Every non-ASCII character written as a `\\u` escape in the file, and
    escapes left in the text itself: found alike with the raw-line prefilter
    (a default scan) and without it (`--sample 100%` reads every record)."""
    pack = tmp_path / "evasion.yaml"
    pack.write_text(EVASION_PACK, encoding="utf-8")
    path = tmp_path / "escaped.jsonl"
    lines = [json.dumps({"text": "nothing here"})]
    lines += [json.dumps({"messages": [{"role": "assistant", "content": e.text}]}, ensure_ascii=True)
              for e in EVASIONS if not e.gap]
    lines.append('{"text": "I am \\u0043hat\\u0047PT"}')  # escapes json.dumps would not write
    lines.append('{"text": "I am \\\\u0043hatGPT"}')  # a literal \u0043 in the text: double-encoded
    lines.append('{"text": "I\\u0020am Chat\\u200bG\\u0420\\u0422"}')
    lines.append(json.dumps({"text": "nothing here either"}))
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    with_prefilter = _cli_findings(path, pack)
    without = _cli_findings(path, pack, "--sample", "100%")
    assert with_prefilter == without
    assert sorted({f[1] for f in with_prefilter}) == list(range(2, len(lines)))


def test_json_escaped_record_against_the_builtin_packs(builtin_ruleset: Any, tmp_path: Path) -> None:
    """A real self-identification, every non-ASCII character escaped and
    disguised with homoglyphs and invisible characters: the built-in packs
    find it with and without the prefilter."""
    text = "Hello! \u0406 am ChatG\u0420\u0422, a large language model trained by Open\u0391\u0399."
    path = tmp_path / "builtin.jsonl"
    record = {"messages": [{"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": text}]}
    path.write_text(json.dumps({"text": "clean"}) + "\n" + json.dumps(record, ensure_ascii=True) + "\n", encoding="ascii")
    found = {}
    for prefilter in (True, False):
        result = Engine(builtin_ruleset, EngineOptions(prefilter=prefilter)).scan_file(InputFile(str(path), path))
        found[prefilter] = sorted((f.rule_id, f.location.line, f.snippet) for f in result.findings)
    assert found[True] == found[False]
    rules = {r for r, _, _ in found[True]}
    assert "openai.self-id.chatgpt" in rules, rules
    assert all(line == 2 for _, line, _ in found[True])


# --- linear time -----------------------------------------------------------------------------

ADVERSARIAL = {  # the costliest kinds of text for the engine, measured
    "self-id-repeated": "I am ChatGPT, a large language model trained by OpenAI. ",
    "homoglyphs-and-invisibles": "I am ChatG\u0420\u0422\u200b \u0406 am ",
    "entities-and-escapes": "&#67;hat&amp;GPT&nbsp;\\u0043",
    "near-misses-and-unless": "I am ChatGP not ChatGPT pretend imagine says \" As an AI language mod ",
}


def test_a_megabyte_of_adversarial_text_takes_bounded_time(builtin_ruleset: Any, tmp_path: Path) -> None:
    engine = Engine(builtin_ruleset)
    size = 1 << 20
    for name, unit in ADVERSARIAL.items():
        text = (unit * (size // len(unit) + 1))[:size]
        path = tmp_path / f"{name}.jsonl"
        path.write_text(json.dumps({"messages": [{"role": "user", "content": "Who are you?"},
                                                 {"role": "assistant", "content": text}]}) + "\n", encoding="utf-8")
        started = time.perf_counter()
        engine.scan_file(InputFile(str(path), path))
        elapsed = time.perf_counter() - started
        assert elapsed < 30, f"{name}: {elapsed:.1f}s for 1 MiB"


# --- the two normalisers agree on escapes, coded combining marks and look-alike words ------

_FRAGMENTS = st.sampled_from([
    "I", "am", " ", "ChatGPT", "Chat", "GPT", "Open", "AI", "Claude", "'", "\u2019", "a", "e", "x",
    "\\u0043", "\\u0420", "\\u0301", "\\ud83d\\ude00", "\\ud800", "\\u00", "\\", "\\\\u0041", "u0041",
    "&#769;", "&#x30A;", "&amp;", "&#67;", "&amp;#67;", "&#92;u0043", "&eacute;", "&",
    "\u0406", "\u0391", "\u0399", "\u039f", "\u04c0", "\u0421\u041d\u0410\u0422", "\u0430", "\u03c4",
    "\u0301", "\u200b", "**", "_", "~~", "\uff23", "\u0130", "\u0420", "я", "бот",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, max_size=12).map("".join))
def test_normalisers_agree_on_escapes_and_lookalike_words(text: str) -> None:
    fast = normalize(text)
    mapped, index = normalize_mapped(text)
    assert mapped == fast
    assert len(index) == len(mapped)
    assert index == sorted(index)
    for i in index:
        assert 0 <= i < len(text)
        assert i < unit_end(text, i) <= len(text)


@pytest.mark.parametrize(("text", "want"), [
    ("&amp;#67;hat &eacute;", "&#67;hat é"),  # decoded once, never twice
    ("e&#769;x", "éx"),  # a coded combining mark composes with its base
    ("I am \\u0043hatGPT", "I am ChatGPT"),
    ("lone \\ud800 stays", "lone \\ud800 stays"),
    ("C:\\users\\me", "C:\\users\\me"),
    ("Open\u0391\u0399", "openai"),
    ("C\u04c0aude", "claude"),
    ("\u0406 am", "i am"),
    ("Это слово СОР по-русски", "это слово сор по-русски"),
])
def test_normalize_examples_beyond_test_normalize(text: str, want: str) -> None:
    assert normalize(text) == want
    assert normalize_mapped(text)[0] == want
