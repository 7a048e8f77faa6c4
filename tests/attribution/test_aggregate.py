"""Dataset-level aggregation on synthetic per-record centroid scores."""
from __future__ import annotations

import numpy as np
import pytest

from tos_lint.attribution.aggregate import (
    INTERVAL, _bootstrap, _percentiles, aggregate, dataset_probabilities, fit_calibration, provider_scores,
)
from tos_lint.attribution.model import PROVIDERS, Calibration

CAL = Calibration(beta=2.0, n0=10.0)
K = len(PROVIDERS)
# Two classes for each of the first three providers, one for each of the others.
CLASS_PROVIDER = np.array([0, 0, 1, 1, 2, 2, 3, 4, 5, 6])


def records(n: int, leaning: int, strength: float, seed: int = 0) -> np.ndarray:
    """n records whose centroid scores lean toward class `leaning`, with noise."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0.0, 1.0, (n, len(CLASS_PROVIDER)))
    scores[:, leaning] += strength
    return scores


def agg(scores: np.ndarray, **kwargs):  # type: ignore[no-untyped-def]
    return aggregate(scores, CLASS_PROVIDER, PROVIDERS, CAL, **kwargs)


def test_probabilities_sum_to_one_and_rank_the_leaning_provider_first() -> None:
    result = agg(records(300, 4, 1.0))
    assert result.n_records == 300
    assert result.top is not None and result.top.provider == PROVIDERS[2]
    assert sum(r.probability for r in result.ranked) == pytest.approx(1.0)
    assert [r.probability for r in result.ranked] == sorted((r.probability for r in result.ranked), reverse=True)


def test_a_provider_scores_as_its_closest_class() -> None:
    """One of a provider's classes close to the data is enough: the other,
    far off, does not pull it down (no averaging over a provider's models)."""
    mean = np.zeros(len(CLASS_PROVIDER))
    mean[0], mean[1], mean[2], mean[3] = 3.0, -3.0, 1.0, 1.0
    scores = provider_scores(mean, CLASS_PROVIDER, K)
    assert scores.argmax() == 0
    assert scores[0] == pytest.approx(((mean - mean.mean()) / mean.std())[0])


def test_scores_do_not_depend_on_the_scale_or_shift_of_the_class_scores() -> None:
    """The mean scores are standardised across classes: a dataset whose
    standardised mean is longer (fewer records, more noise) or shifted
    ranks and scores the same."""
    mean = records(1, 3, 2.0, seed=3)[0]
    assert np.allclose(provider_scores(mean, CLASS_PROVIDER, K), provider_scores(5.0 * mean + 2.0, CLASS_PROVIDER, K))


def test_a_provider_without_classes_gets_nothing() -> None:
    known = CLASS_PROVIDER != 5
    probs = dataset_probabilities(records(50, 0, 1.0)[:, known], CLASS_PROVIDER[known], K, CAL)
    assert probs[5] == 0.0 and probs.sum() == pytest.approx(1.0)


def test_more_records_give_a_sharper_answer() -> None:
    few = dataset_probabilities(records(5, 0, 1.0), CLASS_PROVIDER, K, CAL)
    many = dataset_probabilities(records(500, 0, 1.0), CLASS_PROVIDER, K, CAL)
    assert many[0] > few[0]


def test_confidence_saturates_instead_of_growing_without_bound() -> None:
    """Past a few hundred records more records change little: the answer is
    as sharp as beta makes it, not a product over records."""
    p1000 = dataset_probabilities(records(1000, 0, 0.3), CLASS_PROVIDER, K, CAL)[0]
    p100000 = dataset_probabilities(records(100000, 0, 0.3), CLASS_PROVIDER, K, CAL)[0]
    flatter = dataset_probabilities(records(100000, 0, 0.3), CLASS_PROVIDER, K, Calibration(beta=0.5, n0=10.0))[0]
    assert p100000 == pytest.approx(p1000, abs=0.02)
    assert flatter < 0.5 < p100000


def test_interval_contains_the_estimate_and_narrows_with_more_records() -> None:
    small = agg(records(20, 2, 0.8))
    large = agg(records(800, 2, 0.8))
    for result in (small, large):
        for r in result.ranked:
            assert r.low - 1e-9 <= r.probability <= r.high + 1e-9
    width = lambda res: res.ranked[0].high - res.ranked[0].low  # noqa: E731
    assert width(large) < width(small)
    assert large.top_agreement >= small.top_agreement


def test_no_records_gives_no_ranking() -> None:
    result = agg(np.zeros((0, len(CLASS_PROVIDER))))
    assert result.n_records == 0 and result.ranked == () and result.top is None


def test_bootstrap_is_deterministic() -> None:
    scores = records(100, 7, 0.5)
    assert agg(scores, seed=1) == agg(scores, seed=1)


def test_calibration_fit_prefers_sharper_answers_when_they_are_right() -> None:
    right = [(records(200, 2 * (i % 3), 2.0, seed=i), CLASS_PROVIDER, i % 3) for i in range(6)]
    cal_right, _ = fit_calibration(right, K, sizes=(5, 50, 200), draws=5)
    noisy = [(records(200, 2 * (i % 3), 2.0, seed=i), CLASS_PROVIDER, (i + 1) % 3 if i % 2 else i % 3)
             for i in range(6)]
    cal_noisy, _ = fit_calibration(noisy, K, sizes=(5, 50, 200), draws=5)
    assert cal_right.beta > cal_noisy.beta


def test_bootstrap_rounds_are_resamples_drawn_one_at_a_time() -> None:
    """Rounds are drawn in blocks; each is still the resample the generator
    gives when asked one round at a time."""
    scores = records(3000, 1, 0.5)
    rng = np.random.default_rng(7)
    gain = CAL.beta * len(scores) / (len(scores) + CAL.n0)
    want = []
    for _ in range(120):
        z = gain * provider_scores(scores[rng.integers(0, len(scores), len(scores))].mean(axis=0), CLASS_PROVIDER, K)
        want.append(np.exp(z - z.max()) / np.exp(z - z.max()).sum())
    assert np.allclose(_bootstrap(scores, CLASS_PROVIDER, K, CAL, 120, 7), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rounds", [1, 2, 3, 200, 201])
def test_interval_percentiles_are_numpys(rounds: int) -> None:
    """The interval's percentiles are np.percentile's (linear), bit for bit,
    computed without it (its first call imports numpy.ma)."""
    rng = np.random.default_rng(rounds)
    for _ in range(50):
        samples = rng.random((rounds, K)) ** rng.integers(1, 5)
        samples[rng.random(samples.shape) < 0.1] = 0.0
        assert np.array_equal(_percentiles(samples, INTERVAL), np.percentile(samples, INTERVAL, axis=0))
