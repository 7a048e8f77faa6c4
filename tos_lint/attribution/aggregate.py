"""From per-record scores to one answer per dataset, with its uncertainty.

Records of one dataset are not independent draws (one generator, one prompt
set), and the classifier has never seen the very model that wrote a new
dataset, so multiplying per-record probabilities (naive Bayes) would give
0.99999 after fifty records and be wrong for a model unlike the training
ones. The dataset-level answer therefore asks a different question: which
known model's style centroid is the dataset's average style closest to?

    s_c = mean_i centroid score of record i for class c
    z_c = (s_c - mean over classes) / (standard deviation over classes)
    score(provider) = max over the provider's classes of z_c
    P(provider | dataset) = softmax(beta * n / (n + n0) * score)

s_c is the projection of the dataset's standardised mean feature vector on
class c's centroid direction (model.py), so z ranks the classes as their
cosines with the dataset do, whatever the length of that mean vector. A
provider scores as its closest known model: an unseen model of a known
provider tends to sit nearer one of that provider's models than to any other
model, even where a classifier trained to tell the known models apart would
not say so. `beta` and `n0` are fitted on held-out predictions (by
tools/train_attribution.py: models split in groups, each group scored by a
model trained without it), so the confidence grows with the number of
records only as far as it did for models that were not seen in training.

The interval is a bootstrap over records (resampling the records used, the
same formula each time): it says how much the answer depends on which
records happened to be in the sample, not how right the model is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from tos_lint.attribution.model import Calibration

DEFAULT_BOOTSTRAP = 200
INTERVAL = (5.0, 95.0)


@dataclass(frozen=True)
class ProviderProbability:
    provider: str
    probability: float
    low: float  # bootstrap interval (5th..95th percentile)
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "probability": round(self.probability, 4),
                "interval": [round(self.low, 4), round(self.high, 4)]}


@dataclass(frozen=True)
class DatasetAttribution:
    n_records: int
    ranked: tuple[ProviderProbability, ...]  # most probable first; empty when no records
    top_agreement: float  # share of bootstrap samples whose top provider is ranked[0]

    @property
    def top(self) -> ProviderProbability | None:
        return self.ranked[0] if self.ranked else None

    def to_dict(self) -> dict[str, Any]:
        return {"n_records": self.n_records, "ranked": [r.to_dict() for r in self.ranked],
                "top_agreement": round(self.top_agreement, 4)}


def provider_scores(mean_scores: np.ndarray, class_provider: np.ndarray, k: int) -> np.ndarray:
    """Each provider's best standardised class score (-inf for a provider
    without a class), for one row of mean centroid scores or a stack of them."""
    centred = mean_scores - mean_scores.mean(axis=-1, keepdims=True)
    spread = centred.std(axis=-1, keepdims=True)
    z = centred / np.where(spread > 0, spread, 1.0)
    out = np.full(z.shape[:-1] + (k,), -np.inf)
    for p in sorted(set(class_provider.tolist())):  # np.unique would import numpy.ma (see _percentiles)
        out[..., p] = z[..., class_provider == p].max(axis=-1)
    return out


def dataset_probabilities(scores: np.ndarray, class_provider: np.ndarray, k: int,
                          calibration: Calibration) -> np.ndarray:
    """Calibrated provider probabilities of a set of records (rows of
    centroid scores, one column per class; `class_provider` the provider
    index of each class, `k` the number of providers)."""
    n = scores.shape[0]
    if n == 0:
        return np.full(k, 1.0 / k)
    gain = calibration.beta * n / (n + calibration.n0)
    return _softmax(gain * provider_scores(scores.mean(axis=0), class_provider, k))


def aggregate(scores: np.ndarray, class_provider: np.ndarray, labels: Sequence[str], calibration: Calibration,
              bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> DatasetAttribution:
    n, k = scores.shape[0], len(labels)
    if n == 0:
        return DatasetAttribution(0, (), 0.0)
    probs = dataset_probabilities(scores, class_provider, k, calibration)
    samples = (_bootstrap(scores, class_provider, k, calibration, bootstrap, seed) if bootstrap > 0
               else probs[None, :])
    low, high = _percentiles(samples, INTERVAL)
    order = np.argsort(-probs, kind="stable")
    ranked = tuple(ProviderProbability(labels[i], float(probs[i]), float(low[i]), float(high[i])) for i in order)
    agreement = float((samples.argmax(axis=1) == order[0]).mean())
    return DatasetAttribution(n, ranked, agreement)


def _bootstrap(scores: np.ndarray, class_provider: np.ndarray, k: int, calibration: Calibration, rounds: int,
               seed: int) -> np.ndarray:
    """One calibrated answer per resample of the records. Resamples are drawn
    a block of rounds at a time (the generator gives the same numbers as one
    round at a time), each block's gather kept to about a million values."""
    n, c = scores.shape
    rng = np.random.default_rng(seed)
    gain = calibration.beta * n / (n + calibration.n0)
    out = np.empty((rounds, k))
    block = max(1, (1 << 20) // (n * c))
    for first in range(0, rounds, block):
        m = min(block, rounds - first)
        means = scores[rng.integers(0, n, (m, n))].mean(axis=1)
        out[first:first + m] = _softmax(gain * provider_scores(means, class_provider, k))
    return out


def _percentiles(samples: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """`np.percentile(samples, q, axis=0)`, its default linear interpolation
    step for step: np.percentile's first call imports numpy.ma, a fifth of
    numpy's own import time, in every process that attributes."""
    ordered = np.sort(samples, axis=0)
    at = np.asarray(q, dtype=np.float64) / 100 * (len(ordered) - 1)
    below = np.floor(at).astype(np.intp)
    above = np.minimum(below + 1, len(ordered) - 1)
    t = (at - below)[:, None]
    lo, hi = ordered[below], ordered[above]
    diff = hi - lo
    return np.where(t >= 0.5, hi - diff * (1 - t), lo + diff * t)  # numpy's lerp, exact at both ends


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# One held-out model: its records' centroid scores, the provider index of
# each class of the model that scored them, and its true provider's index.
HeldOut = tuple[np.ndarray, np.ndarray, int]


def fit_calibration(held_out: Sequence[HeldOut], k: int, sizes: Sequence[int] = (1, 5, 20, 50, 200, 800),
                    draws: int = 20, seed: int = 0) -> tuple[Calibration, float]:
    """Choose beta and n0 that minimise the log-loss of the true provider over
    random subsets of each held-out model's records (scored by a model
    trained without it). Every (model, size) pair weighs the same. Returns
    the calibration and its loss."""
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    ns: list[int] = []
    truth: list[int] = []
    weight: list[float] = []
    for scores, class_provider, true_index in held_out:
        for size in sorted({min(s, len(scores)) for s in sizes}):
            repeats = draws if size < len(scores) else 1
            for _ in range(repeats):
                subset = scores[rng.choice(len(scores), size, replace=False)]
                rows.append(provider_scores(subset.mean(axis=0), class_provider, k))
                ns.append(size)
                truth.append(true_index)
                weight.append(1.0 / repeats)
    M, n_arr, t_arr, w_arr = np.array(rows), np.array(ns, dtype=float), np.array(truth), np.array(weight)
    best = (Calibration(), float("inf"))
    for beta in np.round(np.geomspace(0.25, 16.0, 25), 4):
        for n0 in (1.0, 3.0, 10.0, 30.0, 100.0):
            logp = np.log(np.maximum(_softmax((beta * n_arr / (n_arr + n0))[:, None] * M), 1e-300))
            loss = float(-(w_arr * logp[np.arange(len(t_arr)), t_arr]).sum() / w_arr.sum())
            if loss < best[1]:
                best = (Calibration(float(beta), float(n0)), loss)
    return best
