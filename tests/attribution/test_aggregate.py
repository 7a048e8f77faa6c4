"""Dataset-level aggregation on synthetic per-record probabilities."""
from __future__ import annotations

import numpy as np
import pytest

from tos_lint.attribution.aggregate import LOG_FLOOR, _bootstrap, aggregate, dataset_probabilities, fit_calibration
from tos_lint.attribution.model import PROVIDERS, Calibration

CAL = Calibration(beta=2.0, n0=10.0)


def records(n: int, leaning: int, strength: float, seed: int = 0) -> np.ndarray:
    """n records whose probabilities lean toward provider `leaning`, with noise."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.0, (n, len(PROVIDERS)))
    logits[:, leaning] += strength
    logits -= logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def test_probabilities_sum_to_one_and_rank_the_leaning_provider_first() -> None:
    result = aggregate(records(300, 2, 1.0), PROVIDERS, CAL)
    assert result.n_records == 300
    assert result.top is not None and result.top.provider == PROVIDERS[2]
    assert sum(r.probability for r in result.ranked) == pytest.approx(1.0)
    assert [r.probability for r in result.ranked] == sorted((r.probability for r in result.ranked), reverse=True)


def test_more_records_give_a_sharper_answer() -> None:
    few = dataset_probabilities(records(5, 0, 1.0), CAL)
    many = dataset_probabilities(records(500, 0, 1.0), CAL)
    assert many[0] > few[0]


def test_confidence_saturates_instead_of_growing_without_bound() -> None:
    """Unlike a naive-Bayes product, a thousand weak records are not certainty."""
    lp = records(1000, 0, 0.3)
    calibrated = dataset_probabilities(lp, CAL)[0]
    naive = np.exp(lp.sum(axis=0) - np.logaddexp.reduce(lp.sum(axis=0)))[0]
    assert calibrated < 0.9 < naive


def test_interval_contains_the_estimate_and_narrows_with_more_records() -> None:
    small = aggregate(records(20, 1, 0.8), PROVIDERS, CAL)
    large = aggregate(records(800, 1, 0.8), PROVIDERS, CAL)
    for result in (small, large):
        for r in result.ranked:
            assert r.low - 1e-9 <= r.probability <= r.high + 1e-9
    width = lambda res: res.ranked[0].high - res.ranked[0].low  # noqa: E731
    assert width(large) < width(small)
    assert large.top_agreement >= small.top_agreement


def test_one_extreme_record_cannot_veto_a_provider() -> None:
    lp = records(200, 3, 1.5)
    lp[0, 3] = -1000.0
    assert aggregate(lp, PROVIDERS, CAL).top.provider == PROVIDERS[3]  # type: ignore[union-attr]


def test_no_records_gives_no_ranking() -> None:
    result = aggregate(np.zeros((0, len(PROVIDERS))), PROVIDERS, CAL)
    assert result.n_records == 0 and result.ranked == () and result.top is None


def test_bootstrap_is_deterministic() -> None:
    lp = records(100, 4, 0.5)
    assert aggregate(lp, PROVIDERS, CAL, seed=1) == aggregate(lp, PROVIDERS, CAL, seed=1)


def test_calibration_fit_prefers_sharper_answers_when_they_are_right() -> None:
    right = [(records(200, i % 3, 2.0, seed=i), i % 3) for i in range(6)]
    cal_right, _ = fit_calibration(right, sizes=(5, 50, 200), draws=5)
    noisy = [(records(200, i % 3, 2.0, seed=i), (i + 1) % 3 if i % 2 else i % 3) for i in range(6)]
    cal_noisy, _ = fit_calibration(noisy, sizes=(5, 50, 200), draws=5)
    assert cal_right.beta > cal_noisy.beta


def test_bootstrap_rounds_are_resamples_drawn_one_at_a_time() -> None:
    """Rounds are drawn in blocks; each is still the resample the generator
    gives when asked one round at a time."""
    lp = records(3000, 1, 0.5)
    rng = np.random.default_rng(7)
    floored = np.maximum(lp, LOG_FLOOR)
    gain = CAL.beta * len(lp) / (len(lp) + CAL.n0)
    want = []
    for _ in range(120):
        z = gain * floored[rng.integers(0, len(lp), len(lp))].mean(axis=0)
        want.append(np.exp(z - z.max()) / np.exp(z - z.max()).sum())
    assert np.allclose(_bootstrap(lp, CAL, 120, 7), want, rtol=0, atol=1e-12)
