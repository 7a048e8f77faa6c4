"""Feature extraction: normalisation, determinism, batch independence."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from tos_lint.attribution.features import STYLE_NAMES, FeatureSpec, extract, normalize_text
from tests.attribution.conftest import CHATTY, TERSE

SPEC = FeatureSpec(bits=12)


def test_normalisation() -> None:
    assert normalize_text("  It\u2019s 2024!\r\n\r\n\r\n\r\nOK  \n") == "It's 0000!\n\nOK"
    assert normalize_text("\uff21\uff22") == "AB"  # fullwidth letters (NFKC)
    assert normalize_text("bad \ud800 surrogate") == "bad ? surrogate"


def test_long_text_keeps_head_and_tail() -> None:
    spec = FeatureSpec(head_chars=10, tail_chars=5)
    text = "a" * 10 + "b" * 100 + "c" * 5
    assert normalize_text(text, spec) == "a" * 10 + "\n" + "c" * 5


def rows_of(features, i: int) -> dict[int, float]:  # type: ignore[no-untyped-def]
    mask = features.rows == i
    return dict(zip(features.cols[mask].tolist(), features.values[mask].tolist()))


def test_features_of_a_text_do_not_depend_on_its_batch() -> None:
    frequent = np.array([1, 2, 3], dtype=np.uint64)
    alone = extract([CHATTY[1]], SPEC, frequent=frequent)
    batch = extract(TERSE + [CHATTY[1]], SPEC, frequent=frequent)
    a, b = rows_of(alone, 0), rows_of(batch, len(TERSE))
    assert a.keys() == b.keys()
    assert all(abs(a[k] - b[k]) < 1e-6 for k in a)
    assert np.allclose(alone.style[0], batch.style[-1])


def test_each_kind_has_unit_length() -> None:
    spec = FeatureSpec(bits=12, word_orders=(), distort_orders=())
    f = extract(TERSE, spec)
    for i in range(len(TERSE)):
        values = np.array(list(rows_of(f, i).values()))
        assert np.sum(values ** 2) == np.float32(1.0) or abs(np.sum(values ** 2) - 1.0) < 1e-4


def test_shapes_and_ranges() -> None:
    f = extract(TERSE + CHATTY + [""], SPEC, frequent=np.zeros(0, dtype=np.uint64))
    assert f.n == len(TERSE) + len(CHATTY) + 1
    assert f.style.shape == (f.n, len(STYLE_NAMES))
    assert f.cols.min() >= 0 and f.cols.max() < SPEC.dim
    assert (np.diff(f.rows) >= 0).all()
    assert np.isfinite(f.style).all()


def test_non_ascii_text() -> None:
    f = extract(["Voilà une réponse — «très» bien 🙂", "这是一个简单的例子。"], SPEC)
    assert f.n == 2 and len(f.cols) > 0


def test_spec_round_trips_through_its_dict() -> None:
    assert FeatureSpec.from_dict(SPEC.to_dict()) == SPEC


# --- the fast paths against a straightforward definition ------------------------------
#
# One n-gram at a time in plain Python, from the definitions: a polynomial hash
# of (code point + 1) in powers of 0x100000001B3, MurmurHash3's 64-bit
# finaliser, the top `bits` bits; `1 + log(count)` scaled to unit length per
# kind. Neither fast path's code is used here.

_MASK = (1 << 64) - 1
_PRIME = 0x100000001B3
_WORD_SHAPE, _CAPITAL_SHAPE = 0x9E3779B97F4A7C15, 0xD6E8FEB86659FD93
_BOS, _EOS = 2, 3

VARIED = [
    "Sure! Here's a **quick** overview:\n\n- Plan your budget.\n- Track it.\n\nLet me know if you have any questions.",
    "这是一个简单的例子。\n\n第二段：包括标点，和数字 42。",
    "Emoji 🙂🚀 and accents: Voilà, «très» bien — naïve CAFÉ ﬁle.",
    "",
    "x",
    "A NUL\x00inside, and tabs\tand\r\nCRLF line ends   \n\n\n\nafter blank lines.",
    "    - indented bullets\n   - three spaces\n* star\n\u2022 dot\n0. zero\n# Heading\n| a | b |\n``` code ```",
    "- Overlaps: ****, `````` and - - - dashes.\n\nDone? Yes! (Really): \n",
]
# Lower-casing "İ" gives two characters: no capitals are marked in that text
# (and only in it: the features of a text never depend on its batch).
LONGER_WHEN_LOWERED = "İstanbul Is Big"


def _mix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK
    return h ^ (h >> 33)


def _poly(codes: list[int]) -> int:
    return sum((c + 1) * pow(_PRIME, i, 1 << 64) for i, c in enumerate(codes)) & _MASK


def _bucket64(h: int, salt: int, bits: int) -> int:
    return _mix64((h + salt) & _MASK) >> (64 - bits)


def _is_word(c: int) -> bool:
    return c >= 128 or chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789"


def _tokens(codes: list[int]) -> list[tuple[int, int]]:
    """Runs of word characters, and every other non-space character alone."""
    out, i = [], 0
    while i < len(codes):
        j = i + 1
        if _is_word(codes[i]):
            while j < len(codes) and _is_word(codes[j]):
                j += 1
            out.append((i, j))
        elif chr(codes[i]) not in " \t\r\x0b\x0c":
            out.append((i, j))
        i = j
    return out


def _token_gram_counts(hashes: list[int], orders: tuple[int, ...], salt: int, bits: int) -> Counter[int]:
    counts: Counter[int] = Counter()
    for order in orders:
        for j in range(len(hashes) - order + 1):
            h = hashes[j]
            for m in range(1, order):
                h = _mix64(h) ^ hashes[j + m]
            counts[_bucket64(h, salt + order, bits)] += 1
    return counts


def _unit(counts: Counter[int], weight: float) -> list[tuple[int, float]]:
    values = {col: 1.0 + math.log(n) for col, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values()))
    return [(col, weight * v / norm) for col, v in values.items()]


def reference_features(text: str, spec: FeatureSpec, frequent: set[int] | None, capitals: bool) -> list[tuple[int, float]]:
    """The (column, value) pairs of one text; `capitals`: whether its batch
    marks capitalised words in the distorted view."""
    norm = normalize_text(text, spec).replace("\x00", "\ufffd")
    lowered = norm.lower()
    codes = [_BOS] + [ord(c) for c in lowered] + [_EOS]
    chars: Counter[int] = Counter()
    for order in spec.char_orders:
        for i in range(len(codes) - order + 1):
            chars[_bucket64(_poly(codes[i:i + order]), spec.salt * 131 + order, spec.bits)] += 1
    spans = _tokens(codes)
    hashes = [_poly(codes[a:b]) for a, b in spans]
    pairs = _unit(chars, spec.char_weight)
    pairs += _unit(_token_gram_counts(hashes, spec.word_orders, spec.salt * 977, spec.bits), spec.word_weight)
    if frequent is not None:
        upper = [False] + [a != b for a, b in zip(norm, lowered)] + [False] if capitals else [False] * len(codes)
        shapes = [h if not _is_word(codes[a]) or h in frequent else (_CAPITAL_SHAPE if upper[a] else _WORD_SHAPE)
                  for h, (a, _) in zip(hashes, spans)]
        pairs += _unit(_token_gram_counts(shapes, spec.distort_orders, spec.salt * 7919, spec.bits), spec.distort_weight)
    return sorted(pairs)


def reference_style(text: str) -> list[float]:
    """The style numbers, one str.count at a time."""
    text = normalize_text(text).replace("\x00", "\ufffd")
    n = max(len(text), 1)
    lines = text.count("\n") + 1
    words = max(text.count(" ") + lines, 1)
    sentences = max(text.count(". ") + text.count(".\n") + text.count("? ") + text.count("! ") + 1, 1)
    nl = "\n" + text
    bullets = sum(nl.count(p) for p in ("\n- ", "\n* ", "\n\u2022 ", "\n  - ", "\n   - "))
    first = text.find("\n")
    return [
        math.log1p(n), math.log1p(lines), text.count("\n\n") / lines, bullets / lines, nl.count("\n0. ") / lines,
        nl.count("\n#") / lines, 100.0 * text.count("**") / n, float(text.count("```") > 0),
        nl.count("\n|") / lines, text.count(":\n") / lines, 100.0 * text.count("!") / n,
        100.0 * text.count("?") / n, math.log1p(words / sentences), 100.0 * text.count(",") / n,
        100.0 * text.count("(") / n, 100.0 * (text.count(" - ") + text.count("\u2014")) / n,
        100.0 * (len(text.encode("utf-8")) - len(text)) / n, (first if first >= 0 else n) / n,
    ]


def pairs_of(features, row: int) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    mask = features.rows == row
    return sorted(zip(features.cols[mask].tolist(), features.values[mask].tolist()))


def assert_same_pairs(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [c for c, _ in got] == [c for c, _ in want]
    assert np.allclose([v for _, v in got], [v for _, v in want], rtol=1e-5, atol=1e-7)


FREQUENT_WORDS = ("the", "and", "a", "you", "if", "is")


@pytest.mark.parametrize("use_jit", [True, False])
@pytest.mark.parametrize("with_frequent", [True, False])
def test_features_match_the_reference(use_jit: bool, with_frequent: bool) -> None:
    spec = FeatureSpec(bits=12, char_orders=(1, 2, 3, 4), word_orders=(1, 2), distort_orders=(1, 2, 3))
    frequent = {_poly([ord(c) for c in w]) for w in FREQUENT_WORDS} if with_frequent else None
    as_array = np.array(sorted(frequent), dtype=np.uint64) if frequent is not None else None
    batch = extract(VARIED, spec, frequent=as_array, use_jit=use_jit)
    assert batch.n == len(VARIED)
    for i, text in enumerate(VARIED):
        want = reference_features(text, spec, frequent, capitals=True)
        assert_same_pairs(pairs_of(batch, i), want)
        assert np.allclose(batch.style[i], reference_style(text), rtol=1e-6, atol=1e-7)
    odd = extract([LONGER_WHEN_LOWERED, VARIED[0]], spec, frequent=as_array, use_jit=use_jit)
    assert_same_pairs(pairs_of(odd, 0), reference_features(LONGER_WHEN_LOWERED, spec, frequent, capitals=False))
    assert_same_pairs(pairs_of(odd, 1), reference_features(VARIED[0], spec, frequent, capitals=True))  # not its neighbour's


def test_compiled_and_numpy_features_are_the_same_numbers() -> None:
    spec = FeatureSpec()
    frequent = np.array(sorted(_poly([ord(c) for c in w]) for w in FREQUENT_WORDS), dtype=np.uint64)
    for texts in (VARIED + TERSE + CHATTY + ["word " * 2000], [LONGER_WHEN_LOWERED] + CHATTY):
        fast = extract(texts, spec, frequent=frequent)
        slow = extract(texts, spec, frequent=frequent, use_jit=False)
        assert np.array_equal(fast.rows, slow.rows)  # row by row, both
        for i in range(len(texts)):
            assert pairs_of(fast, i) == pairs_of(slow, i)  # bit for bit, in any order
        assert np.array_equal(fast.style, slow.style)
        assert np.array_equal(fast.lengths, slow.lengths)


def test_a_nul_inside_a_text_stays_in_its_row() -> None:
    f = extract(["before\x00after", "next"], SPEC)
    assert set(f.rows.tolist()) == {0, 1}
    assert rows_of(f, 1) == rows_of(extract(["next"], SPEC), 0)


def test_kept_powers_grow_to_the_powers_built_afresh() -> None:
    from tos_lint.attribution.features import _P, _P_INV, _kept_powers, _powers

    for base in (_P, _P_INV):
        for n in (0, 3, 5000, 100, 20000, 150000):  # longer, shorter, longer again
            kept = _kept_powers(base, n)
            assert np.array_equal(kept, _powers(base, n))
            assert not kept.flags.writeable


def test_among_follows_a_vocabulary_changed_in_place() -> None:
    from tos_lint.attribution.features import _among

    members = np.array([5, 7, 11], dtype=np.uint64)
    values = np.array([5, 6, 7, 13], dtype=np.uint64)
    assert _among(values, members).tolist() == [True, False, True, False]
    members[2] = 13
    assert _among(values, members).tolist() == [True, False, True, True]
    assert _among(values, np.array([6], dtype=np.uint64)).tolist() == [False, True, False, False]
