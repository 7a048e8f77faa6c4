"""Look-alike folding: the fast check in front of the word walk changes no
result. `_fold_homoglyphs` runs `_fold_homoglyph_words` only where
`_may_fold` says the walk changes something; `_may_fold` must say so exactly
where it does, or a disguised word would go unfolded."""
from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tos_lint.normalize import (
    _LETTER,
    _fold_homoglyph_words,
    _fold_homoglyphs,
    _may_fold,
    confusable_table,
)

ENGLISH = (
    "Thanks for the question. Here is how to loop over a list in Python and handle each item, "
    "with a short note on errors and a second one on performance. "
) * 12
RUSSIAN = "Это простой пример обработки данных в цикле."

_TABLE_CHARS = sorted(map(chr, confusable_table()))
LOOK_ALIKES = [ch for ch in _TABLE_CHARS if _LETTER.fullmatch(ch)]
SYMBOLS = [ch for ch in _TABLE_CHARS if not _LETTER.fullmatch(ch)]  # in the table, but in no word
# Letters that imitate nothing: Cyrillic, Greek, CJK, accented Latin, and
# characters that `_WORD_SPLIT` counts as letters though they are not (`²`, `Ⅻ`).
OTHER_LETTERS = list("бвджзийклмнптфцчшщъыэюяБГДЖЗИЛПФЦЧШЩЭЮЯλπψΩΣ一中文字éñüçÉ²Ⅻ")
SEPARATORS = list(" \t\n.,;:!?'\"()-_*`~<>&\\/0123456789٣\u00a0\u0301\u200b") + ["🙂"]
ASCII_LETTERS = list(string.ascii_letters)
ALPHABET = ASCII_LETTERS + LOOK_ALIKES + SYMBOLS + OTHER_LETTERS + SEPARATORS


def _word(letters: list[str]) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.sampled_from(letters), min_size=1, max_size=5)


# Any mix of the characters that matter, and text built of whole words of one
# kind each (Latin, look-alikes only, other letters, mixed) between separators,
# where the neighbour rule has most to do.
_ANY_MIX = st.text(alphabet=st.sampled_from(ALPHABET), max_size=40)
_WORDS = st.lists(
    st.one_of(
        _word(ASCII_LETTERS),
        _word(LOOK_ALIKES),
        _word(OTHER_LETTERS),
        _word(ASCII_LETTERS + LOOK_ALIKES + OTHER_LETTERS),
        st.text(alphabet=st.sampled_from(SEPARATORS + SYMBOLS), min_size=1, max_size=3),
    ),
    max_size=12,
).map("".join)


def _check(text: str) -> None:
    walked = _fold_homoglyph_words(text)
    assert _fold_homoglyphs(text) == walked
    assert _may_fold(text) == (walked != text)


@settings(max_examples=6000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_ANY_MIX, _WORDS))
def test_fast_fold_equals_the_word_walk(text: str) -> None:
    """On any mix of characters, and on words of each kind side by side."""
    _check(text)


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_every_look_alike_is_found_in_each_place_it_folds(look_alike: str) -> None:
    """Each character of the table's class, escaped into the pattern, is found
    inside a Latin word (before and after the Latin letter), as a word of its
    own next to a Latin word (before and after it), and nowhere else."""
    for text in (f"ab{look_alike}", f"{look_alike}ab", f"x, {look_alike}{look_alike}", f"{look_alike} 1 x",
                 f"б {look_alike}", f"{look_alike}б x", f"x б{look_alike}"):
        _check(text)
    assert _fold_homoglyphs(f"Chat{look_alike}") != f"Chat{look_alike}"
    assert _fold_homoglyphs(f"{look_alike} am") != f"{look_alike} am"


@pytest.mark.parametrize(("text", "folded"), [
    ("I am \u0421\u041d\u0410\u0422 GPT", "I am CHAT GPT"),  # Cyrillic СНАТ beside Latin words
    ("I am ChatG\u0420\u0422", "I am ChatGPT"),  # Cyrillic РТ inside a Latin word
    ("OpenΑΙ", "OpenAI"),  # Greek Alpha and Iota: a stroke read as I
    ("код с Python", "код c Python"),  # a word of look-alikes beside a Latin word is folded, Russian or not
    ("Python, 42 — с", "Python, 42 — c"),  # the next word, across digits and punctuation
    ("x² с", "x² c"),  # `²` is a letter to the word split: `x²` is the Latin word beside `с`
    ("café с", "café c"),  # an accented Latin word is a Latin word; no look-alike in it, so it stays
])
def test_disguised_words_fold(text: str, folded: str) -> None:
    assert _fold_homoglyphs(text) == folded == _fold_homoglyph_words(text)


@pytest.mark.parametrize("text", [
    pytest.param(ENGLISH + RUSSIAN + " " + ENGLISH, id="english-with-a-russian-sentence"),
    pytest.param(RUSSIAN + " Мы говорим с ним, а он о своём, и я о нём не знаю." * 20, id="russian-only"),
    pytest.param(ENGLISH + "这是一个简单的例子。" + ENGLISH, id="english-with-chinese"),
    pytest.param("Мы пишем код на Python для анализа данных и тестов. " * 30, id="russian-with-english-words"),
    pytest.param("Python 42 сон", id="neighbour-not-all-look-alikes"),
    pytest.param("x \U0001d213 y", id="look-alike-symbol-in-no-word"),
    pytest.param("café naïve", id="accents-only"),
])
def test_real_text_of_other_scripts_is_left_alone(text: str) -> None:
    assert not _may_fold(text)
    assert _fold_homoglyphs(text) is text
    assert _fold_homoglyph_words(text) == text


def test_long_runs_of_one_kind_are_checked_whole() -> None:
    """A site is found however long the word or the gap: no search window cuts it."""
    for text in ("а" * 5000 + " " * 3000 + "x", "x" + "." * 5000 + "а" * 5000, "x" * 5000 + "б" * 5000 + "а"):
        _check(text)
        _check(text[::-1])
    assert _may_fold("а" * 5000 + " x")
    assert not _may_fold("а" * 5000 + "б x")
