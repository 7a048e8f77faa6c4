"""The shipped model: loads without pickle, verifies its checksum, refuses a bad file."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from tos_lint.attribution import PROVIDERS, AttributionModelError, Attributor, load_model
from tos_lint.attribution.features import extract, hashed_scores
from tos_lint.attribution.model import PARTS, _load, gathered_scores
from tests.attribution.conftest import CHATTY, TERSE


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    _load.cache_clear()
    yield
    _load.cache_clear()


def _spy_on_np_load(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The `allow_pickle` of every np.load call from now on."""
    seen: list[object] = []
    real_load = np.load

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs.get("allow_pickle", "default"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    return seen


def test_shipped_model_loads_without_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", "")  # every table read from the file
    seen = _spy_on_np_load(monkeypatch)
    model = load_model()
    assert seen == [False]  # the weights and centroids are read when first used
    assert model.labels == PROVIDERS
    assert set(model.class_provider) <= set(PROVIDERS)
    assert model.weights.shape == model.centroids.shape == (len(model.classes), model.spec.dim)
    assert seen == [False] * 3


def test_tables_are_decompressed_once_then_read_from_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path))
    want = load_model()._scoring_table(PARTS)
    _load.cache_clear()
    seen = _spy_on_np_load(monkeypatch)
    got = load_model()._scoring_table(PARTS)
    assert len(seen) == 1  # the small arrays: both tables came from the cache
    assert all(np.array_equal(a, b) for a, b in zip(want, got))
    for entry in tmp_path.glob("*.hsdb"):  # a damaged entry is not used
        raw = bytearray(entry.read_bytes())
        raw[-1] ^= 0xFF
        entry.write_bytes(bytes(raw))
    _load.cache_clear()
    again = load_model()._scoring_table(PARTS)
    assert len(seen) == 4 and all(np.array_equal(a, b) for a, b in zip(want, again))


def test_shipped_model_is_small_and_has_a_checksum() -> None:
    from tos_lint.attribution.model import DEFAULT_MODEL, builtin_model_dir

    header = json.loads((builtin_model_dir() / f"{DEFAULT_MODEL}.json").read_text())
    npz = builtin_model_dir() / f"{DEFAULT_MODEL}.npz"
    assert npz.stat().st_size < 5_000_000
    assert len(header["sha256"]) == 64
    assert header["format_version"] == 2


def test_probabilities_sum_to_one() -> None:
    probs = Attributor().score_texts(TERSE + CHATTY + ["", "x"])
    assert probs.shape == (len(TERSE) + len(CHATTY) + 2, len(PROVIDERS))
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs >= 0).all()


def test_scores_do_not_depend_on_the_batch() -> None:
    attributor = Attributor()
    alone = attributor.score_texts([CHATTY[0]])
    together = attributor.score_texts(TERSE + [CHATTY[0]])
    assert np.allclose(alone[0], together[-1], atol=1e-6)


def test_empty_input_gives_an_empty_matrix() -> None:
    assert Attributor().score_texts([]).shape == (0, len(PROVIDERS))


def test_corrupted_array_file_is_refused(model_copy: Path) -> None:
    npz = model_copy.with_suffix(".npz")
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(AttributionModelError, match="checksum"):
        load_model(model_copy)


def test_truncated_array_file_is_refused(model_copy: Path) -> None:
    npz = model_copy.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:1000])
    with pytest.raises(AttributionModelError):
        load_model(model_copy)


def test_unknown_format_version_is_refused(model_copy: Path) -> None:
    header = json.loads(model_copy.read_text())
    header["format_version"] = 99
    model_copy.write_text(json.dumps(header))
    with pytest.raises(AttributionModelError, match="version"):
        load_model(model_copy)


def test_missing_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AttributionModelError, match="cannot read"):
        load_model(tmp_path / "nothing.json")


def test_pickled_arrays_are_refused_even_with_a_matching_checksum(model_copy: Path) -> None:
    """An attacker who can rewrite both files still cannot make us unpickle."""
    import hashlib

    npz = model_copy.with_suffix(".npz")
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["bias"] = np.array([{"evil": 1}] * len(arrays["bias"]), dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    npz.write_bytes(buf.getvalue())
    header = json.loads(model_copy.read_text())
    header["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    header["arrays"]["bias"]["dtype"] = "object"
    model_copy.write_text(json.dumps(header))
    with pytest.raises(AttributionModelError, match="invalid"):
        load_model(model_copy)


def test_wrong_shape_in_header_is_refused(model_copy: Path) -> None:
    header = json.loads(model_copy.read_text())
    header["arrays"]["weights"]["shape"] = [1, 2]
    model_copy.write_text(json.dumps(header))
    with pytest.raises(AttributionModelError, match="weights"):
        load_model(model_copy)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = load_model()
    model.save(tmp_path, "copy")
    again = load_model(tmp_path / "copy.json")
    texts = TERSE + CHATTY
    assert np.allclose(Attributor(model).score_texts(texts), Attributor(again).score_texts(texts), atol=1e-3)


def test_both_scoring_paths_equal_a_dense_product() -> None:
    """Hashed-feature scores: the compiled pass (features and product at
    once) and the numpy gather, each against features times weights (and
    times centroids)."""
    model = load_model()
    texts = TERSE + CHATTY + ["", "x", "这是一个简单的例子。", "Emoji 🙂🚀 — «très» bien"]
    feats = extract(texts, model.spec, frequent=model.frequent, use_jit=False)
    dense = np.zeros((feats.n, model.spec.dim))
    np.add.at(dense, (feats.rows, feats.cols), feats.values.astype(np.float64))
    k = len(model.classes)
    want = np.hstack([dense @ model.weights.T.astype(np.float64), dense @ model.centroids.T.astype(np.float64)])
    scale = np.abs(want).max(axis=0)
    both = gathered_scores(feats, *model._scoring_table(PARTS))
    assert np.allclose(both, want, rtol=1e-5, atol=1e-5 * scale.max())
    scored = model.scores(feats)
    assert np.allclose(scored["centroid"], want[:, k:] - model.centroid_bias, rtol=1e-5, atol=1e-5 * scale.max())
    # Asking for one part gives that part as both do.
    alone = model.scores(feats, ("centroid",))
    assert list(alone) == ["centroid"] and np.allclose(alone["centroid"], scored["centroid"])
    assert np.allclose(model.log_proba(feats), scored["log_proba"])
    compiled = hashed_scores(texts, model.spec, model.frequent, *model._scoring_table(PARTS))
    if compiled is None:
        pytest.skip("numba is not available")
    style, hashed = compiled
    assert np.allclose(hashed, want, rtol=1e-6, atol=1e-6 * scale.max())
    assert np.array_equal(style, feats.style)
    for parts in (PARTS, ("centroid",), ("log_proba",)):
        from_texts = model.text_scores(texts, parts=parts)
        assert list(from_texts) == list(parts)
        for part in parts:
            assert np.allclose(from_texts[part], scored[part], rtol=1e-5, atol=1e-5 * np.abs(scored[part]).max())
