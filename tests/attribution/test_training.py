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
    lp, known = out["gpt4"]
    assert lp.shape == (len(TERSE), len(PROVIDERS)) and known is False
    assert np.allclose(np.exp(lp).sum(axis=1), 1.0)
