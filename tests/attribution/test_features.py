"""Feature extraction: normalisation, determinism, batch independence."""
from __future__ import annotations

import numpy as np

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
    f = extract(TERSE + CHATTY + [""], SPEC, frequent=np.zeros(0, dtype=np.uint64), sort_rows=True)
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
