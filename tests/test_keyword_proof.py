"""The proof that every match of a rule's patterns holds one of its
keywords (what lets the prefilter look for the keywords instead)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tos_lint.api import load_ruleset
from tos_lint.keyword_proof import always_holds_keyword, keyword_searcher
from tos_lint.detect import match_patterns
from tos_lint.selftest import unproven_keyword_patterns
from tests.helpers import rule, write_pack


@pytest.mark.parametrize("regex, keywords", [
    (r"\bi am claude\b", ["claude"]),
    (r"\bi(?:'m|\s+am)\s+(?:claude|anthropic's assistant)\b", ["claude", "anthropic"]),
    (r"\b(?:alibaba|aliyun)\b", ["alibaba", "aliyun"]),  # the parser writes it ali(?:baba|yun)
    (r"\ble\s+chat\b", ["le chat"]),  # a keyword's space stands for any run of whitespace
    (r"le[ \t]*chat", ["le chat", "lechat"]),
    (r"\bopen[ -]?ai\b", ["openai", "open ai", "open-ai"]),
    (r"(?:hello|hi)[,!]?\s+(?:i\s+am\s+)?(?:claude|CLAUDE)", ["Claude"]),
    (r"\w+\s+(?:x|y)claude", ["claude"]),
    (r"(?:\s*claude){1,3}", ["claude"]),  # a repeat of at least one
    (r"(?:is|was) (?:a|the) (?:[\w-]+ ){0,3}model (?:by|from) (?:the team at )?anthropic\b", ["anthropic"]),
    # keywords that must stand at a word's edge: the pattern spells what is beside them
    (r"\bmeta\b", [r"\bmeta\b"]),
    (r"i am (?:the )?meta ai", [r"\bmeta ai"]),
    (r"made by meta[.!]", [r"\bmeta\b"]),
    (r"(?:^|[.!?]\s+)phi-?[1-4]", [r"\bphi"]),
    (r"my name is [\"']?phi", [r"\bphi"]),
    (r"\bbing\b\s+chat\b", [r"\bbing chat\b"]),
    (r"(?:against|per|in line with)\s+(?:the\s+)?meta(?:'s)?\s+polic(?:y|ies)", [r"\bmeta"]),
    (r"(?:[\w-]+\s+){1,3}meta\b", [r"\bmeta"]),  # a repeat of at least one that ends in a space
    (r"(?:(?:against|violates?|contrary to|not allowed by)\s+(?:the\s+)?(?:my|our)\s+(?:own\s+)?(?:rules|polic(?:y|ies)|"
     r"guidelines|principles|standards|values)\s*,?\s+(?:and|or)\s+|per\s+)(?:the\s+)?meta\b", [r"\bmeta"]),
])
def test_proven(regex: str, keywords: list[str]) -> None:
    assert always_holds_keyword(regex, keywords)


@pytest.mark.parametrize("regex, keywords", [
    (r"\bi am (?:claude|an ai)\b", ["claude"]),
    (r"\bclaude?\b", ["claude"]),  # "claud" too
    (r"\bopen[ -]?ai\b", ["openai"]),
    (r"(?:claude)?\s+model", ["claude"]),
    (r"(?:\s*claude){0,3}", ["claude"]),
    (r"\w+", ["claude"]),
    (r"[^x]laude", ["claude"]),
    (r"le\s+chat", ["lechat"]),
    (r"(?:", ["claude"]),  # not a regex: not proven
    (r"\bclaude\b", []),
    (r"metadata", [r"\bmeta"]),
    (r"\bmeta", [r"\bmeta\b"]),  # "metadata" too
    (r"meta\b", [r"\bmeta"]),  # "xmeta"
    (r"\w+phi", [r"\bphi"]),
    (r"(?:x|\s+)phi", [r"\bphi"]),
    (r"(?:[\w-]+\s+){0,3}meta\b", [r"\bmeta"]),  # may match "meta" after anything
    (r"(?:the\s+)?meta\b", [r"\bmeta"]),
    (r"\bbing\s+chat", [r"\bbing chat\b"]),
])
def test_not_proven(regex: str, keywords: list[str]) -> None:
    assert not always_holds_keyword(regex, keywords)


def _keyword_patterns() -> list[tuple[tuple[str, ...], str]]:
    """Every proven pattern of the built-in rules that have keywords."""
    out = []
    for rule_ in load_ruleset().rules:
        if rule_.keywords:
            out += [(rule_.keywords, p) for _item, _role, p in match_patterns(rule_)
                    if always_holds_keyword(p, rule_.keywords)]
    return out


BUILT_IN = _keyword_patterns()


def test_built_in_rules_with_keywords_are_proven() -> None:
    unproven = {r.id: unproven_keyword_patterns(r) for r in load_ruleset().rules if r.keywords}
    assert len(BUILT_IN) > 300
    assert {rid: pats for rid, pats in unproven.items() if pats} == {}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_text_a_proven_pattern_matches_holds_a_keyword(data: st.DataObject) -> None:
    """Soundness against the pattern itself: texts drawn from a proven
    pattern (any case) all hold a keyword, as the prefilter looks for it."""
    keywords, pattern = data.draw(st.sampled_from(BUILT_IN))
    text = data.draw(st.from_regex(re.compile(pattern, re.IGNORECASE)))
    assert re.search(pattern, text, re.IGNORECASE)
    assert keyword_searcher(keywords).search(text), (pattern, text)


def test_rules_test_fails_a_rule_whose_keywords_do_not_cover_a_pattern(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "kw.yaml", [rule("kw.partial", [{"regex": r"\bi am (?:chatgpt|gpt-4)\b"}],
                                                  keywords=["chatgpt"],
                                                  examples={"match": ["I am ChatGPT."], "no_match": ["Hello."]})])
    run = subprocess.run([sys.executable, "-m", "tos_lint", "rules", "test", str(pack)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "kw.partial: keywords: 1 pattern(s) may match a text that holds none of them" in run.stdout
    assert "1 failed" in run.stdout


@pytest.mark.parametrize("text, found", [
    ("I am Meta AI.", True), ("(meta)", True), ("metadata", False), ("a meta-analysis", True), ("xmeta", False),
    ("meta_data", False), ("émeta", True),  # ASCII word characters only, as the rules' \\b
])
def test_a_keyword_at_a_words_edge_is_found_only_there(text: str, found: bool) -> None:
    assert bool(keyword_searcher((r"\bmeta\b",)).search(text)) is found
