"""From per-record probabilities to one answer per dataset, with its uncertainty.

Records of one dataset are not independent draws (one generator, one prompt
set), and the classifier has never seen the very model that wrote a new
dataset, so multiplying per-record probabilities (naive Bayes) would give
0.99999 after fifty records and be wrong for a model unlike the training
ones. Instead:

    P(provider | dataset) = softmax(beta * n / (n + n0) * mean_i log p_i(provider))

with each record's log-probability floored, so one odd record cannot veto a
provider. `beta` and `n0` are fitted on held-out predictions (by
tools/train_attribution.py: models split in groups, each group scored by a
classifier trained without it), so the confidence grows with the number of
records only as far as it did for models the classifier had not seen.

The interval is a bootstrap over records (resampling the records used, the
same formula each time): it says how much the answer depends on which
records happened to be in the sample, not how right the model is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from tos_lint.attribution.model import Calibration

LOG_FLOOR = float(np.log(1e-3))
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


def dataset_probabilities(log_proba: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Calibrated provider probabilities of a set of records (rows)."""
    n = log_proba.shape[0]
    if n == 0:
        return np.full(log_proba.shape[1], 1.0 / log_proba.shape[1])
    mean = np.maximum(log_proba, LOG_FLOOR).mean(axis=0)
    return _softmax(calibration.beta * n / (n + calibration.n0) * mean)


def aggregate(log_proba: np.ndarray, labels: Sequence[str], calibration: Calibration,
              bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> DatasetAttribution:
    n, k = log_proba.shape
    if n == 0:
        return DatasetAttribution(0, (), 0.0)
    probs = dataset_probabilities(log_proba, calibration)
    samples = _bootstrap(log_proba, calibration, bootstrap, seed) if bootstrap > 0 else probs[None, :]
    low, high = np.percentile(samples, INTERVAL, axis=0)
    order = np.argsort(-probs, kind="stable")
    ranked = tuple(ProviderProbability(labels[i], float(probs[i]), float(low[i]), float(high[i])) for i in order)
    agreement = float((samples.argmax(axis=1) == order[0]).mean())
    return DatasetAttribution(n, ranked, agreement)


def _bootstrap(log_proba: np.ndarray, calibration: Calibration, rounds: int, seed: int) -> np.ndarray:
    """One calibrated answer per resample of the records. Resamples are drawn
    a block of rounds at a time (the generator gives the same numbers as one
    round at a time), each block's gather kept to about a million values."""
    floored = np.maximum(log_proba, LOG_FLOOR)
    n, k = floored.shape
    rng = np.random.default_rng(seed)
    gain = calibration.beta * n / (n + calibration.n0)
    out = np.empty((rounds, k))
    block = max(1, (1 << 20) // (n * k))
    for first in range(0, rounds, block):
        m = min(block, rounds - first)
        out[first:first + m] = _softmax(gain * floored[rng.integers(0, n, (m, n))].mean(axis=1))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_calibration(held_out: Sequence[tuple[np.ndarray, int]], sizes: Sequence[int] = (1, 5, 20, 50, 200, 800),
                    draws: int = 20, seed: int = 0) -> tuple[Calibration, float]:
    """Choose beta and n0 that minimise the log-loss of the true provider over
    random subsets of each held-out model's records (leave-one-model-out
    log-probabilities, one entry per model: (log_proba, true index)). Every
    (model, size) pair weighs the same. Returns the calibration and its loss."""
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    ns: list[int] = []
    truth: list[int] = []
    weight: list[float] = []
    for lp, true_index in held_out:
        floored = np.maximum(lp, LOG_FLOOR)
        for size in sorted({min(s, len(floored)) for s in sizes}):
            repeats = draws if size < len(floored) else 1
            for _ in range(repeats):
                rows.append(floored[rng.choice(len(floored), size, replace=False)].mean(axis=0))
                ns.append(size)
                truth.append(true_index)
                weight.append(1.0 / repeats)
    M, n_arr, t_arr, w_arr = np.array(rows), np.array(ns, dtype=float), np.array(truth), np.array(weight)
    best = (Calibration(), float("inf"))
    for beta in np.round(np.geomspace(0.25, 16.0, 25), 4):
        for n0 in (1.0, 3.0, 10.0, 30.0, 100.0):
            z = (beta * n_arr / (n_arr + n0))[:, None] * M
            z -= z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            loss = float(-(w_arr * logp[np.arange(len(t_arr)), t_arr]).sum() / w_arr.sum())
            if loss < best[1]:
                best = (Calibration(float(beta), float(n0)), loss)
    return best
