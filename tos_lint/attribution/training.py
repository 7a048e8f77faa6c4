"""Training the style model (used by tools/train_attribution.py and
tools/eval_attribution.py; never imported at scan time).

Multinomial logistic regression with an L2 penalty, fitted by L-BFGS from
zero weights: no randomness, so the same corpus gives the same model.
Every provider weighs the same in the loss, and within a provider every
source model weighs the same, so five OpenAI models do not drown two
Anthropic ones. Next to it, each class's style centroid (for the dataset
level): the mean of its answers' features, standardised across the classes.
Needs scipy (installed with tos-lint's dependencies; listed in the `train`
extra as well).
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tos_lint.attribution.features import Features, FeatureSpec, extract, normalize_text, token_hashes
from tos_lint.attribution.model import PROVIDERS, Calibration, ClassTables, StyleModel, quantize_rows

# AlpacaEval generator (file stem) -> provider label. Providers with a
# single model in the corpus other than alibaba are pooled as "other".
MODEL_PROVIDER = {
    "gpt4_0314": "openai", "gpt4": "openai", "gpt-3.5-turbo-0613": "openai",
    "gpt-4o-2024-05-13": "openai", "text_davinci_003": "openai",
    "claude-2": "anthropic", "claude-3-sonnet-20240229": "anthropic",
    "gemini-pro": "google", "gemma-7b-it": "google",
    "Meta-Llama-3-70B-Instruct": "meta", "llama-2-70b-chat-hf": "meta",
    "mistral-large-2402": "mistral", "Mixtral-8x7B-Instruct-v0.1": "mistral",
    "Qwen1.5-72B-Chat": "alibaba",
    "cohere": "other", "deepseek-llm-67b-chat": "other",
    "vicuna-13b-v1.5": "other", "falcon-40b-instruct": "other",
}
# Open models fine-tuned on OpenAI output: labelled "other", watched in the evaluation.
DISTILLED_FROM_OPENAI = ("vicuna-13b-v1.5", "falcon-40b-instruct")

# The shipped model's settings; the evaluation trains with the same ones.
TRAIN_SETTINGS = {"l2": 1e-4, "style_gain": 0.3, "max_iter": 60, "per_model": 400, "seed": 0, "level": "model",
                  "within_shrink": 1.0}


@dataclass
class Corpus:
    """Normalised answers with their source model and provider index."""

    texts: list[str]
    models: np.ndarray  # str, per text
    y: np.ndarray  # int, index into PROVIDERS
    features: Features | None = None
    frequent: np.ndarray | None = None

    def select(self, mask: np.ndarray, features: bool = True) -> "Corpus":
        """The rows in `mask`; without their features if `features` is false."""
        idx = np.flatnonzero(mask)
        keep = features and self.features is not None
        return Corpus([self.texts[i] for i in idx], self.models[idx], self.y[idx],
                      subset_features(self.features, idx) if keep else None, self.frequent if keep else None)


def load_alpaca_eval(directory: Path, spec: FeatureSpec, features: bool = True) -> Corpus:
    """Every AlpacaEval output file whose model has a label; empty answers
    dropped. With their features unless `features` is false."""
    texts: list[str] = []
    models: list[str] = []
    for path in sorted(directory.glob("*.json")):
        model = path.stem
        if model not in MODEL_PROVIDER:
            continue
        for rec in json.loads(path.read_text(encoding="utf-8")):
            out = rec.get("output") if isinstance(rec, dict) else None
            if isinstance(out, str) and out.strip():
                texts.append(normalize_text(out, spec))
                models.append(model)
    if not texts:
        raise FileNotFoundError(f"no labelled AlpacaEval outputs under {directory}")
    y = np.array([PROVIDERS.index(MODEL_PROVIDER[m]) for m in models])
    corpus = Corpus(texts, np.array(models), y)
    return featurize(corpus, spec) if features else corpus


def featurize(corpus: Corpus, spec: FeatureSpec, frequent: np.ndarray | None = None) -> Corpus:
    """The corpus with features; the distorted view keeps `frequent` words,
    by default the ones frequent in this very corpus (so a held-out model's
    answers never choose the words its classifier keeps)."""
    if frequent is None:
        frequent = frequent_words(corpus.texts, corpus.models, spec.n_frequent)
    return Corpus(corpus.texts, corpus.models, corpus.y, extract_batched(corpus.texts, spec, frequent), frequent)


def frequent_words(texts: Sequence[str], models: np.ndarray, k: int) -> np.ndarray:
    """The `k` words found in the most answers, each source model weighing
    the same (so the list is English function words, not one model's habits)."""
    score: Counter[int] = Counter()
    for m in sorted(set(models.tolist())):
        idx = np.flatnonzero(models == m)
        h, doc = token_hashes([texts[i] for i in idx])
        pairs = np.unique(np.stack([doc.astype(np.uint64), h]), axis=1)
        uniq, counts = np.unique(pairs[1], return_counts=True)
        for token, c in zip(uniq.tolist(), counts.tolist()):
            score[token] += c / len(idx)
    top = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return np.sort(np.array([t for t, _ in top], dtype=np.uint64))


def extract_batched(texts: Sequence[str], spec: FeatureSpec, frequent: np.ndarray | None,
                    batch: int = 2000) -> Features:
    parts = [extract(texts[i:i + batch], spec, normalized=True, frequent=frequent)
             for i in range(0, len(texts), batch)]
    return concat_features(parts)


def concat_features(parts: Sequence[Features]) -> Features:
    offset = 0
    rows = []
    for p in parts:
        rows.append(p.rows + offset)
        offset += p.n
    return Features(
        offset, np.concatenate(rows).astype(np.int32), np.concatenate([p.cols for p in parts]),
        np.concatenate([p.values for p in parts]), np.concatenate([p.style for p in parts]),
        np.concatenate([p.lengths for p in parts]),
    )


def subset_features(f: Features, idx: np.ndarray) -> Features:
    """Rows `idx` of a feature batch (rows are sorted, so slice by bounds)."""
    bounds = np.searchsorted(f.rows, np.arange(f.n + 1))
    pieces = [np.arange(bounds[i], bounds[i + 1]) for i in idx]
    take = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    counts = np.array([len(p) for p in pieces], dtype=np.int64)
    rows = np.repeat(np.arange(len(idx), dtype=np.int32), counts)
    return Features(len(idx), rows, f.cols[take], f.values[take], f.style[idx], f.lengths[idx])


def _matrix(f: Features, spec: FeatureSpec, mean: np.ndarray, scale: np.ndarray, gain: float):  # type: ignore[no-untyped-def]
    import scipy.sparse as sp

    hashed = sp.csr_matrix((f.values.astype(np.float32), (f.rows, f.cols)), shape=(f.n, spec.dim))
    hashed.sum_duplicates()
    style = sp.csr_matrix((gain * (f.style - mean) / scale).astype(np.float32))
    return sp.hstack([hashed, style], format="csr")


def sample_weights(y: np.ndarray, models: np.ndarray) -> np.ndarray:
    """Each provider present weighs the same; within it, each model the same."""
    per_model = Counter(models.tolist())
    models_in = {c: len({m for m, yy in zip(models.tolist(), y.tolist()) if yy == c}) for c in set(y.tolist())}
    w = np.array([1.0 / (models_in[c] * per_model[m]) for c, m in zip(y.tolist(), models.tolist())])
    return w / w.sum()


def train_subset(corpus: Corpus, per_model: int | None = None, seed: int = 0) -> Corpus:
    """At most `per_model` answers of each model, chosen by a seeded shuffle
    (keeps training to a minute or so on two cores)."""
    if per_model is None:
        return corpus
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(corpus.models), dtype=bool)
    for m in sorted(set(corpus.models.tolist())):
        idx = np.flatnonzero(corpus.models == m)
        keep[np.sort(rng.permutation(idx)[:per_model])] = True
    return corpus.select(keep)


def fit(corpus: Corpus, spec: FeatureSpec, l2: float = float(TRAIN_SETTINGS["l2"]),
        style_gain: float = float(TRAIN_SETTINGS["style_gain"]), max_iter: int = int(TRAIN_SETTINGS["max_iter"]),
        level: str = str(TRAIN_SETTINGS["level"]), per_model: int | None = int(TRAIN_SETTINGS["per_model"]),
        seed: int = int(TRAIN_SETTINGS["seed"]), within_shrink: float | None = float(TRAIN_SETTINGS["within_shrink"]),
        info: dict | None = None) -> StyleModel:
    """Train on `corpus` (the classifier on at most `per_model` answers per
    model, the centroids on all). `level="model"`: one class per source model
    (a provider's probability is the mean of its models'); `"provider"`: one
    class per provider. `within_shrink`: the centroids are compared after
    whitening by the spread between models of one provider (style_centroids);
    None compares them as standardised."""
    assert corpus.features is not None
    names = _class_names(corpus, level)
    classes = sorted(set(names), key=lambda c: (PROVIDERS.index(_provider_of(c)), c))
    index = {c: i for i, c in enumerate(classes)}
    centroids, centroid_bias = style_centroids(
        corpus.features, np.array([index[c] for c in names]), len(classes), spec.dim,
        groups=provider_groups(classes), within_shrink=within_shrink)
    corpus = train_subset(corpus, per_model, seed)
    f = corpus.features
    assert f is not None
    mean = f.style.mean(axis=0)
    scale = f.style.std(axis=0) + 1e-6
    X = _matrix(f, spec, mean, scale, style_gain)
    yk = np.array([index[c] for c in _class_names(corpus, level)])
    k, d = len(classes), X.shape[1]
    Y = np.zeros((f.n, k), dtype=np.float32)
    Y[np.arange(f.n), yk] = 1.0
    sw = sample_weights(corpus.y, corpus.models)[:, None].astype(np.float32)
    if level == "model":
        per_class = np.bincount(yk, minlength=k).astype(np.float32)
        sw = (1.0 / (k * per_class[yk]))[:, None].astype(np.float32)
    Xt = X.T.tocsr()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[: d * k].reshape(d, k).astype(np.float32)
        b = theta[d * k:].astype(np.float32)
        Z = X @ W + b
        Z -= Z.max(axis=1, keepdims=True)
        logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        value = -float((sw * Y * logp).sum(dtype=np.float64)) + 0.5 * l2 * float(theta[: d * k] @ theta[: d * k])
        G = sw * (np.exp(logp) - Y)
        gW = (Xt @ G).astype(np.float64).ravel() + l2 * theta[: d * k]
        return value, np.concatenate([gW, G.sum(axis=0, dtype=np.float64)])

    theta, iterations, converged = lbfgs(loss, np.zeros(d * k + k), max_iter)
    W = theta[: d * k].reshape(d, k).T
    b = theta[d * k:]
    hashed, style = W[:, : spec.dim], W[:, spec.dim:] * style_gain
    return StyleModel(
        spec=spec, labels=PROVIDERS, classes=tuple(classes),
        class_provider=tuple(_provider_of(c) for c in classes),
        bias=b, style_weights=style.astype(np.float32), style_mean=mean.astype(np.float32),
        style_scale=scale.astype(np.float32), frequent=corpus.frequent,
        centroid_bias=centroid_bias, tables=ClassTables.of(hashed, centroids), calibration=Calibration(),
        info=dict(info or {}, iterations=iterations, converged=converged),
    )


def _class_names(corpus: Corpus, level: str) -> list[str]:
    return corpus.models.tolist() if level == "model" else [PROVIDERS[i] for i in corpus.y.tolist()]


def provider_groups(classes: Sequence[str]) -> np.ndarray:
    """Per class, the index of its provider, or -1 for a class of `other`
    (a pool of unrelated providers, not one family)."""
    return np.array([-1 if _provider_of(c) == "other" else PROVIDERS.index(_provider_of(c)) for c in classes])


def style_centroids(f: Features, yk: np.ndarray, k: int, dim: int, floor: float = 1e-9,
                    rounded: bool = True, groups: np.ndarray | None = None,
                    within_shrink: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, bias) of the classes `yk` of the rows of `f`.

    A class's mean feature vector is standardised feature by feature across
    the classes (each class weighs the same; divided by the standard
    deviation of the classes' means, a feature no class has left out) and
    kept as a unit direction d. A record x then scores
    (x - centre) / spread . d = x . centroid - bias with centroid = d / spread,
    and the mean of a dataset's scores ranks the classes as the cosine
    between its standardised mean and each direction does. The centroids are
    rounded (unless `rounded` is false) as the model file stores them (int8,
    one scale per class, which drops the smallest entries: mostly frequent
    features, whose spread is large), so what is evaluated is what ships.

    With `groups` (a provider index per class, -1 for none) and
    `within_shrink` (lambda), the standardised means are first whitened by
    the scatter between models of one provider: within the span of the
    classes' standardised means, coordinates a, W = S_w + lambda * trace(S_w)
    / rank * I with S_w the sum over providers of two or more classes of
    (a - provider mean)(a - provider mean)^T, and everything (the classes'
    means and the records scored) is multiplied by W^-1/2 before the cosine.
    Directions along which one provider's models differ from each other
    (a new generation's layout, length) then count less than those along
    which providers differ. A record's score stays linear in its features:
    x . centroid - bias, with centroid = V^T W^-1/2 d / spread, where d is
    the class's whitened unit direction and V the span's basis."""
    import scipy.sparse as sp

    hashed = sp.csr_matrix((f.values.astype(np.float64), (f.rows, f.cols)), shape=(f.n, dim))
    counts = np.bincount(yk, minlength=k).astype(np.float64)
    member = sp.csr_matrix((1.0 / counts[yk], (yk, np.arange(f.n))), shape=(k, f.n))
    means = np.asarray((member @ hashed).todense())
    centre = means.mean(axis=0)
    spread = means.std(axis=0)
    inverse = np.where(spread > 0, 1.0 / (spread + floor), 0.0)
    z = (means - centre) * inverse
    whiten = groups is not None and within_shrink is not None
    directions = _within_whitened(z, np.asarray(groups), within_shrink) if whiten else _unit_rows(z)  # type: ignore[arg-type]
    stored, scales = quantize_rows(directions * inverse, rounded)
    centroids = stored.astype(np.float32) * scales[:, None]
    return centroids, centroids.astype(np.float64) @ centre


def _within_whitened(z: np.ndarray, groups: np.ndarray, shrink: float) -> np.ndarray:
    """Rows of V^T W^-1/2 d (see style_centroids): what a standardised
    record is projected on, one row per class."""
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    vt = vt[s > 1e-9 * max(float(s[0]), 1e-300)]
    a = z @ vt.T
    r = a.shape[1]
    within = np.zeros((r, r))
    for g in np.unique(groups[groups >= 0]):
        members = a[groups == g]
        if len(members) >= 2:
            d = members - members.mean(axis=0)
            within += d.T @ d
    trace = float(np.trace(within))
    if r == 0 or trace <= 0:  # no provider with two classes: plain cosine
        return _unit_rows(z)
    values, vectors = np.linalg.eigh(within + shrink * trace / r * np.eye(r))
    root = (vectors / np.sqrt(values)) @ vectors.T  # W^-1/2
    return (_unit_rows(a @ root) @ root) @ vt


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)


def _provider_of(name: str) -> str:
    return name if name in PROVIDERS else MODEL_PROVIDER[name]


def lbfgs(fun, x: np.ndarray, max_iter: int, memory: int = 8, tol: float = 1e-6):  # type: ignore[no-untyped-def]
    """Plain L-BFGS (two-loop recursion, backtracking Armijo line search).

    scipy's L-BFGS-B spends most of its time on bound bookkeeping that an
    unbounded problem with a million weights does not need."""
    value, grad = fun(x)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    g0 = float(np.abs(grad).max()) or 1.0
    for it in range(1, max_iter + 1):
        direction = -_two_loop(grad, s_hist, y_hist)
        slope = float(grad @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            direction, slope = -grad, -float(grad @ grad)
        step = 1.0 if s_hist else 1.0 / max(float(np.abs(grad).max()), 1e-12)
        for _ in range(30):
            x_new = x + step * direction
            new_value, new_grad = fun(x_new)
            if new_value <= value + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            return x, it, False
        s, y = x_new - x, new_grad - grad
        if float(s @ y) > 1e-10:
            s_hist.append(s)
            y_hist.append(y)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        x, grad, improvement, value = x_new, new_grad, value - new_value, new_value
        if float(np.abs(grad).max()) < tol * g0 or improvement < 1e-9 * max(abs(value), 1.0):
            return x, it, True
    return x, max_iter, False


def _two_loop(grad: np.ndarray, s_hist: list[np.ndarray], y_hist: list[np.ndarray]) -> np.ndarray:
    q = grad.copy()
    alphas = []
    for s, y in zip(reversed(s_hist), reversed(y_hist)):
        rho = 1.0 / float(y @ s)
        a = rho * float(s @ q)
        q -= a * y
        alphas.append((rho, a))
    if s_hist:
        q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
    for (s, y), (rho, a) in zip(zip(s_hist, y_hist), reversed(alphas)):
        q += (a - rho * float(y @ q)) * s
    return q


# --- held-out predictions (calibration and evaluation) -----------------------------

def training_spec() -> FeatureSpec:
    """The feature settings of the shipped model."""
    return FeatureSpec()


def model_folds(models: Sequence[str], k: int) -> list[list[str]]:
    """Split models into `k` groups, a provider's models in different groups
    where possible (round-robin over models sorted by provider)."""
    ordered = sorted(models, key=lambda m: (PROVIDERS.index(MODEL_PROVIDER[m]), m))
    folds: list[list[str]] = [[] for _ in range(max(1, min(k, len(ordered))))]
    for i, m in enumerate(ordered):
        folds[i % len(folds)].append(m)
    return folds


@dataclass
class HeldOutScores:
    """A model's answers scored by a style model trained without it."""

    log_proba: np.ndarray  # (answers, providers): what each answer reads like
    centroid: np.ndarray  # (answers, classes of that style model): centroid scores
    classes: np.ndarray  # str: those classes
    class_provider: np.ndarray  # provider index of each of those classes
    known: bool  # whether the model's provider had a class

    def calibration_item(self, provider: str) -> tuple[np.ndarray, np.ndarray, int]:
        return self.centroid, self.class_provider, PROVIDERS.index(provider)


def heldout_by_model(corpus: Corpus, spec: FeatureSpec, folds: Sequence[Sequence[str]],
                     progress=None, **fit_args) -> dict[str, HeldOutScores]:  # type: ignore[no-untyped-def]
    """Per model: its answers' scores from a style model trained without its
    fold. Nothing is fitted on the fold: the frequent words of the distorted
    view are chosen again from the training models, features taken again,
    and the centroids standardised across the training classes only."""
    out: dict[str, HeldOutScores] = {}
    for fold in folds:
        started = time.perf_counter()
        held = np.isin(corpus.models, list(fold))
        train = featurize(corpus.select(~held, features=False), spec)
        model = fit(train, spec, **fit_args)
        for m in fold:
            test = featurize(corpus.select(corpus.models == m, features=False), spec, train.frequent)
            assert test.features is not None
            scored = model.scores(test.features)
            out[m] = HeldOutScores(scored["log_proba"], scored["centroid"], np.array(model.classes), model.class_providers(),
                                   MODEL_PROVIDER[m] in set(model.class_provider))
        if progress:
            progress(f"held out {', '.join(fold)}: {time.perf_counter() - started:.0f}s")
    return out


def calibration_items(by_model: dict[str, HeldOutScores],
                      skip: str | None = None) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """What the dataset-level calibration is fitted on: the held-out scores
    of every model whose provider the style model knew (but `skip`)."""
    return [h.calibration_item(MODEL_PROVIDER[m]) for m, h in sorted(by_model.items()) if h.known and m != skip]
