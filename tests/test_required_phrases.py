"""The benchmark's stand-in for ripgrep: each regex's required phrases.

What makes the comparison with `rg -F -f PHRASES` fair is that every line a
regex matches holds one of its phrases (ripgrep then finds at least those
lines) and that the phrases are as long as the regex allows."""

from __future__ import annotations

import re

import pytest

from tests.helpers import load_script

required_phrases = load_script("benchmarks/required_phrases.py").required_phrases


@pytest.mark.parametrize("regex, expected", [
    (r"\bas an ai language model\b", {"as an ai language model"}),
    (r"<\|(?:user|assistant|system)\|>", {"<|user|>", "<|assistant|>", "<|system|>"}),
    (r"\bknowledge\s+cut-?off\b", {"knowledge cutoff", "knowledge cut-off"}),
    (r"(?:Trained|built) by OpenAI", {"trained by openai", "built by openai"}),
    # a word from one branch is not required: the whole alternation is
    (r"\bI am an? (?:ai|model) named Claude\b", {"i am a ai named claude", "i am an ai named claude",
                                                "i am a model named claude", "i am an model named claude"}),
])
def test_phrases_are_the_required_literals(regex: str, expected: set[str]) -> None:
    assert set(required_phrases(regex, re.IGNORECASE)) == expected


@pytest.mark.parametrize("regex", [
    r"\b\w+ly\b",  # nothing literal
    r"(?:foo)?\d+",  # only an optional literal
    r"\bai\b",  # shorter than a useful phrase
    r"(?:chatgpt|x)\b",  # one branch has no phrase: the alternation requires none
])
def test_no_phrase_when_none_is_required(regex: str) -> None:
    assert required_phrases(regex) == frozenset()


def test_optional_parts_are_expanded_or_left_out() -> None:
    phrases = required_phrases(r"\bopen[ -]?ai(?:'s)? usage polic(?:y|ies)\b")
    assert phrases  # the regex requires something
    for text in ("OpenAI usage policy", "open-ai's usage policies", "Open AI usage policies"):
        assert re.search(r"\bopen[ -]?ai(?:'s)? usage polic(?:y|ies)\b", text, re.IGNORECASE)
        assert any(p in text.lower() for p in phrases), (text, phrases)


def test_every_builtin_regex_match_holds_one_of_its_phrases() -> None:
    """Over the packs' own match examples: a line a rule matches is a line
    ripgrep finds with that rule's phrases."""
    from tos_lint.packs import builtin_pack_paths, load_packs

    checked = 0
    for pack in load_packs(builtin_pack_paths(), check_regexes=False):  # compiled elsewhere
        for rule in pack.rules:
            texts = [e for e in rule.examples_match if isinstance(e, str)]
            for compiled, phrases in _compiled_with_phrases(rule):
                for found in filter(None, (compiled.search(text) for text in texts)):
                    checked += 1
                    flat = " ".join(found.group(0).lower().split())
                    assert any(p in flat for p in phrases), (rule.id, compiled.pattern, found.group(0))
    assert checked > 100


def _compiled_with_phrases(rule) -> list[tuple[re.Pattern, frozenset[str]]]:
    """The rule's regexes that `re` compiles and that require a phrase."""
    out = []
    for item in rule.items:
        if item.kind != "regex":
            continue
        try:
            compiled = re.compile(item.value, re.IGNORECASE | re.MULTILINE)
        except re.error:  # Hyperscan syntax
            continue
        phrases = required_phrases(item.value)
        if phrases:
            out.append((compiled, phrases))
    return out
