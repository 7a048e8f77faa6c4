"""The shipped style model: a multinomial logistic regression over hashed features.

On disk it is two files side by side, never a pickle:

* `<name>.json`: the header. Format name and version, provider labels, the
  feature settings, the dataset-level calibration, how it was trained, and
  the SHA-256 of the array file plus the dtype and shape of every array.
* `<name>.npz`: the arrays, read with `numpy.load(..., allow_pickle=False)`.

A model whose array file does not match the header's checksum, whose arrays
have the wrong shape, or whose format version this code does not know is
refused with `AttributionModelError` (exit code 2 on the command line).
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tos_lint.attribution.features import STYLE_NAMES, Features, FeatureSpec, extract
from tos_lint.errors import UsageError

FORMAT = "tos-lint-style-attribution"
FORMAT_VERSION = 1
DEFAULT_MODEL = "style-v1"
PROVIDERS = ("openai", "anthropic", "google", "meta", "mistral", "alibaba", "other")
_ARRAYS = ("weights", "scales", "bias", "style_weights", "style_mean", "style_scale", "frequent")


class AttributionModelError(UsageError):
    """A model file that is missing, corrupted or of an unknown format."""


@dataclass
class Calibration:
    """Dataset-level temperature: probabilities are
    softmax(beta * n / (n + n0) * mean log-probability), fitted on
    leave-one-model-out predictions, so more records sharpen the answer but
    never past what unseen models support."""

    beta: float = 1.0
    n0: float = 10.0

    def to_dict(self) -> dict[str, float]:
        return {"beta": self.beta, "n0": self.n0}


@dataclass
class StyleModel:
    spec: FeatureSpec
    labels: tuple[str, ...]
    weights: np.ndarray  # (K, dim) float32: hashed-feature weights per provider
    bias: np.ndarray  # (K,)
    style_weights: np.ndarray  # (K, S) on standardised style numbers
    style_mean: np.ndarray  # (S,)
    style_scale: np.ndarray  # (S,)
    frequent: np.ndarray  # sorted uint64 hashes of the words the distorted view keeps
    calibration: Calibration = field(default_factory=Calibration)
    info: dict[str, Any] = field(default_factory=dict)

    def features(self, texts: Sequence[str]) -> Features:
        return extract(texts, self.spec, frequent=self.frequent)

    def logits(self, feats: Features) -> np.ndarray:
        n, k = feats.n, len(self.labels)
        out = np.empty((n, k), dtype=np.float64)
        for j in range(k):
            contrib = self.weights[j][feats.cols] * feats.values
            out[:, j] = np.bincount(feats.rows, weights=contrib, minlength=n)
        style = (feats.style - self.style_mean) / self.style_scale
        return out + style.astype(np.float64) @ self.style_weights.T.astype(np.float64) + self.bias

    def log_proba(self, feats: Features) -> np.ndarray:
        z = self.logits(feats)
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    # --- files -----------------------------------------------------------------------

    def save(self, directory: Path, name: str = DEFAULT_MODEL, quantize: bool = True) -> tuple[Path, Path]:
        """Write `<name>.npz` and `<name>.json`. Weights are stored as int8
        with one scale per provider (4x smaller, same ranking to 3 decimals)."""
        arrays = self._arrays(quantize)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        blob = buf.getvalue()
        header = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "labels": list(self.labels),
            "features": self.spec.to_dict(), "style_names": list(STYLE_NAMES),
            "calibration": self.calibration.to_dict(),
            "arrays": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in arrays.items()},
            "sha256": hashlib.sha256(blob).hexdigest(), "info": self.info,
        }
        directory.mkdir(parents=True, exist_ok=True)
        npz, js = directory / f"{name}.npz", directory / f"{name}.json"
        npz.write_bytes(blob)
        js.write_text(json.dumps(header, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return npz, js

    def _arrays(self, quantize: bool) -> dict[str, np.ndarray]:
        w = self.weights.astype(np.float32)
        if quantize:
            scales = (np.abs(w).max(axis=1) / 127.0).astype(np.float32)
            scales[scales == 0] = 1.0
            weights = np.round(w / scales[:, None]).astype(np.int8)
        else:
            scales, weights = np.ones(len(w), dtype=np.float32), w
        return {
            "weights": weights, "scales": scales, "bias": self.bias.astype(np.float32),
            "style_weights": self.style_weights.astype(np.float32),
            "style_mean": self.style_mean.astype(np.float32), "style_scale": self.style_scale.astype(np.float32),
            "frequent": np.sort(self.frequent.astype(np.uint64)),
        }


def builtin_model_dir() -> Path:
    return Path(str(resources.files("tos_lint.attribution").joinpath("model")))


def load_model(path: str | Path | None = None) -> StyleModel:
    """Load and verify a model: `path` is the header (`.json`), the array
    file (`.npz`) or their common stem; default: the shipped model."""
    stem = Path(path) if path is not None else builtin_model_dir() / DEFAULT_MODEL
    if stem.suffix in (".json", ".npz"):
        stem = stem.with_suffix("")
    return _load(str(stem))


@lru_cache(maxsize=4)
def _load(stem: str) -> StyleModel:
    js, npz = Path(stem + ".json"), Path(stem + ".npz")
    try:
        header = json.loads(js.read_text(encoding="utf-8"))
        blob = npz.read_bytes()
    except (OSError, ValueError) as exc:
        raise AttributionModelError(f"{stem}: cannot read the attribution model: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise AttributionModelError(f"{js}: not a tos-lint attribution model header")
    if header.get("format_version") != FORMAT_VERSION:
        raise AttributionModelError(
            f"{js}: model format version {header.get('format_version')!r}; this tos-lint reads version {FORMAT_VERSION}")
    if hashlib.sha256(blob).hexdigest() != header.get("sha256"):
        raise AttributionModelError(f"{npz}: checksum does not match {js.name}; the model file is corrupted or was changed")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {k: data[k] for k in _ARRAYS}
        model = _from_arrays(header, arrays)
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise AttributionModelError(f"{npz}: invalid attribution model: {exc}") from None
    model.info.setdefault("name", Path(stem).name)
    return model


def _from_arrays(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> StyleModel:
    for name, meta in header["arrays"].items():
        a = arrays[name]
        if str(a.dtype) != meta["dtype"] or list(a.shape) != meta["shape"]:
            raise ValueError(f"array {name!r} is {a.dtype}{list(a.shape)}, header says {meta['dtype']}{meta['shape']}")
    spec = FeatureSpec.from_dict(header["features"])
    labels = tuple(header["labels"])
    if list(header.get("style_names", [])) != list(STYLE_NAMES):
        raise ValueError("style features differ from this version's")
    k = len(labels)
    if arrays["weights"].shape != (k, spec.dim) or arrays["style_weights"].shape != (k, len(STYLE_NAMES)):
        raise ValueError("weight shapes do not match the labels and feature settings")
    weights = arrays["weights"].astype(np.float32) * arrays["scales"][:, None]
    cal = header.get("calibration") or {}
    return StyleModel(
        spec=spec, labels=labels, weights=weights, bias=arrays["bias"].astype(np.float64),
        style_weights=arrays["style_weights"], style_mean=arrays["style_mean"],
        style_scale=arrays["style_scale"], frequent=arrays["frequent"], calibration=Calibration(float(cal.get("beta", 1.0)), float(cal.get("n0", 10.0))),
        info={**dict(header.get("info") or {}), "sha256": header["sha256"],
              "format_version": header["format_version"]},
    )
