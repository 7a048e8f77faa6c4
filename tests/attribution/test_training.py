"""Held-out predictions fit nothing on the held-out model (synthetic answers only)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.attribution.conftest import CHATTY, TERSE
from tos_lint.attribution import training
from tos_lint.attribution.features import FeatureSpec, token_hashes
from tos_lint.attribution.model import PROVIDERS

pytest.importorskip("scipy")

SPEC = FeatureSpec(bits=10, n_frequent=4)
# Three labelled models; only gpt4's answers use the word "zebra".
ANSWERS = {
    "gpt4": [f"Zebra zebra: {t}" for t in TERSE],
    "claude-2": CHATTY,
    "gemini-pro": [t.upper() for t in TERSE],
}


def _corpus() -> training.Corpus:
    texts = [t for m in ANSWERS for t in ANSWERS[m]]
    models = np.array([m for m in ANSWERS for _ in ANSWERS[m]])
    y = np.array([PROVIDERS.index(training.MODEL_PROVIDER[m]) for m in models])
    return training.featurize(training.Corpus(texts, models, y), SPEC)


def _zebra() -> int:
    return int(token_hashes(["zebra"])[0][0])


def test_frequent_words_come_from_the_corpus_given() -> None:
    corpus = _corpus()
    assert _zebra() in corpus.frequent.tolist()
    without = training.featurize(corpus.select(corpus.models != "gpt4", features=False), SPEC)
    assert _zebra() not in without.frequent.tolist()
    assert without.features is not None and without.features.n == len(without.texts)


def test_select_without_features_drops_them() -> None:
    part = _corpus().select(np.ones(len(_corpus().texts), dtype=bool), features=False)
    assert part.features is None and part.frequent is None


def test_held_out_model_does_not_choose_the_words_its_classifier_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[int]] = []
    real_fit = training.fit

    def spy(corpus, spec, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(corpus.frequent.tolist())
        return real_fit(corpus, spec, **kwargs)

    monkeypatch.setattr(training, "fit", spy)
    out = training.heldout_by_model(_corpus(), SPEC, [["gpt4"], ["claude-2"]], max_iter=3, per_model=None)
    assert _zebra() not in seen[0]  # gpt4 held out
    assert _zebra() in seen[1]  # gpt4 in training
    held = out["gpt4"]
    assert held.log_proba.shape == (len(TERSE), len(PROVIDERS)) and held.known is False
    assert np.allclose(np.exp(held.log_proba).sum(axis=1), 1.0)
    # Scored against the centroids of the two other models only.
    assert held.centroid.shape == (len(TERSE), 2)
    assert held.classes.tolist() == ["claude-2", "gemini-pro"]
    assert [PROVIDERS[i] for i in held.class_provider] == ["anthropic", "google"]
    # Neither held-out model's provider had another model: nothing to calibrate on.
    assert training.calibration_items(out) == []


def test_calibration_items_are_the_known_held_out_models_but_the_skipped_one() -> None:
    def held(known: bool) -> training.HeldOutScores:
        return training.HeldOutScores(np.zeros((2, 7)), np.zeros((2, 3)), np.array(["a", "b", "c"]),
                                      np.array([0, 1, 2]), known)

    out = {"gpt4": held(True), "claude-2": held(True), "cohere": held(False)}
    assert [item[2] for item in training.calibration_items(out)] == [PROVIDERS.index("anthropic"),
                                                                      PROVIDERS.index("openai")]
    assert [item[2] for item in training.calibration_items(out, skip="gpt4")] == [PROVIDERS.index("anthropic")]


def _standardised_means(f, yk: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Computed directly, densely: the records' features, the classes' mean
    centre and spread per feature, the features some class uses, and the
    classes' standardised means over those."""
    dense = np.zeros((f.n, SPEC.dim))
    np.add.at(dense, (f.rows, f.cols), f.values.astype(np.float64))
    means = np.stack([dense[yk == c].mean(axis=0) for c in range(k)])
    centre, spread = means.mean(axis=0), means.std(axis=0)
    seen = spread > 0
    return dense, centre, spread, seen, ((means - centre) / np.where(seen, spread, 1.0))[:, seen]


def test_centroid_scores_rank_classes_as_the_cosine_of_standardised_means() -> None:
    corpus = _corpus()
    f = corpus.features
    assert f is not None
    names = ["gpt4", "claude-2", "gemini-pro"]
    yk = np.array([names.index(m) for m in corpus.models])
    centroids, bias = training.style_centroids(f, yk, 3, SPEC.dim, rounded=False)
    dense, centre, spread, seen, zc = _standardised_means(f, yk, 3)
    for rows in (yk == 0, yk == 1, yk == 2, np.arange(f.n) % 2 == 0):
        scores = dense[rows] @ centroids.T.astype(np.float64) - bias
        z = ((dense[rows].mean(axis=0) - centre) / np.where(seen, spread, 1.0))[seen]
        cosine = zc @ z / (np.linalg.norm(zc, axis=1) * np.linalg.norm(z))
        assert np.allclose(scores.mean(axis=0) / np.linalg.norm(z), cosine, rtol=1e-4, atol=1e-6)
    assert np.all(centroids[:, ~seen] == 0)


def test_each_model_is_closest_to_its_own_centroid() -> None:
    corpus = _corpus()
    assert corpus.features is not None
    model = training.fit(corpus, SPEC, max_iter=3, per_model=None)
    for c, name in enumerate(model.classes):
        feats = training.subset_features(corpus.features, np.flatnonzero(corpus.models == name))
        assert model.scores(feats, ("centroid",))["centroid"].mean(axis=0).argmax() == c


def test_centroids_give_every_class_the_same_weight() -> None:
    """A class with many answers does not set the centre the others are measured from."""
    corpus = _corpus()
    assert corpus.features is not None
    yk = np.array([["gpt4", "claude-2", "gemini-pro"].index(m) for m in corpus.models])
    once = training.style_centroids(corpus.features, yk, 3, SPEC.dim, rounded=False)
    doubled_idx = np.concatenate([np.arange(len(yk)), np.flatnonzero(yk == 1)])
    doubled = training.style_centroids(training.subset_features(corpus.features, doubled_idx), yk[doubled_idx], 3,
                                       SPEC.dim, rounded=False)
    for a, b in zip(once, doubled):
        assert np.allclose(a, b, atol=1e-6)


def test_within_provider_whitening() -> None:
    """Classes of one provider are compared after whitening by their spread;
    without a provider of two classes the centroids are the plain ones."""
    corpus = _corpus()
    f = corpus.features
    assert f is not None
    yk = np.array([["gpt4", "claude-2", "gemini-pro"].index(m) for m in corpus.models])
    plain = training.style_centroids(f, yk, 3, SPEC.dim, rounded=False)
    alone = training.style_centroids(f, yk, 3, SPEC.dim, rounded=False, groups=np.array([-1, -1, 2]),
                                     within_shrink=1.0)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(plain, alone))
    groups = np.array([0, 0, -1])  # as if gpt4 and claude-2 were one provider's
    centroids, bias = training.style_centroids(f, yk, 3, SPEC.dim, rounded=False, groups=groups, within_shrink=0.5)
    dense, centre, spread, seen, z = _standardised_means(f, yk, 3)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    vt = vt[s > 1e-9 * s[0]]
    a = z @ vt.T
    d = a[:2] - a[:2].mean(axis=0)
    within = d.T @ d
    w = within + 0.5 * np.trace(within) / len(a[0]) * np.eye(len(a[0]))
    values, vectors = np.linalg.eigh(w)
    root = vectors @ np.diag(values ** -0.5) @ vectors.T
    aw = a @ root
    for rows in (yk == 0, yk == 2, np.arange(f.n) % 2 == 0):
        t = ((dense[rows].mean(axis=0) - centre) / np.where(seen, spread, 1.0))[seen]
        expected = aw @ (vt @ t @ root) / np.linalg.norm(aw, axis=1)
        scores = dense[rows] @ centroids.T.astype(np.float64) - bias
        assert np.allclose(scores.mean(axis=0), expected, rtol=1e-4, atol=1e-6)
    assert np.all(centroids[:, ~seen] == 0)
