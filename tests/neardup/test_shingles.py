"""Normalisation and shingling: reformatting must not change a text's shingles."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tos_lint.neardup.shingles import (
    ShingleSpec, normalize, shingle_batch, shingle_hash_reference, shingle_hashes, shingle_set,
    shingle_strings, span_hashes,
)

WORD3 = ShingleSpec("word", 3)
CHAR5 = ShingleSpec("char", 5)


@pytest.mark.parametrize("text, expected", [
    ("Hello,   World!", "hello world"),
    ("**Bold** and _italic_ and `code`", "bold and italic and code"),
    ("# Title\n\n- item one\n- item two", "title item one item two"),
    ("“Smart” quotes’s", "smart quotes s"),
    ("ＦＵＬＬ width Ünïcode", "full width ünïcode"),
    ("  \t\n ", ""),
    ("snake_case words", "snake case words"),
])
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_reformatting_keeps_the_shingle_set() -> None:
    plain = "The quick brown fox jumps over the lazy dog. It was not amused by this at all."
    styled = "# The **quick** brown fox\n\n- jumps over the _lazy_ dog.\n- It was   not amused by `this` at all!\n"
    for spec in (WORD3, CHAR5):
        assert np.array_equal(shingle_set(plain, spec), shingle_set(styled, spec))


@pytest.mark.parametrize("spec", [WORD3, CHAR5, ShingleSpec("word", 1), ShingleSpec("char", 2)])
def test_vectorised_hash_matches_the_reference_definition(spec: ShingleSpec) -> None:
    text = "Near-duplicate matching, naïve café: 東京タワーは高い。 Σίσυφος and plain words."
    expected = [shingle_hash_reference(s) for s in shingle_strings(text, spec)]
    assert shingle_hashes(text, spec).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=6), st.sampled_from([WORD3, CHAR5, ShingleSpec("word", 1)]))
def test_a_batch_is_its_texts_one_by_one(texts: list[str], spec: ShingleSpec) -> None:
    batch = shingle_batch(texts, spec)
    assert len(batch.offsets) == len(texts) + 1
    for i, text in enumerate(texts):
        assert batch.of(i).tolist() == [shingle_hash_reference(s) for s in shingle_strings(text, spec)]


def test_texts_shorter_than_a_shingle_have_none() -> None:
    assert len(shingle_hashes("two words", WORD3)) == 0
    assert len(shingle_hashes("abcd", CHAR5)) == 0
    assert len(shingle_hashes("", WORD3)) == 0


def test_char_ngrams_work_for_text_without_spaces() -> None:
    text = "東京タワーは東京都港区にある電波塔である"
    assert len(shingle_set(text, ShingleSpec("word", 3))) == 0  # one long "word": useless
    assert len(shingle_set(text, ShingleSpec("char", 3))) == len(text) - 2


def test_numpy_and_compiled_hashes_agree() -> None:
    cps = np.frombuffer("hello wide wörld of text".encode("utf-32-le"), dtype=np.uint32)
    starts, ends = np.array([0, 6, 11, 2]), np.array([5, 16, 24, 9])
    assert np.array_equal(span_hashes(cps, starts, ends), span_hashes(cps, starts, ends, use_jit=False))
