"""The shipped style model: a multinomial logistic regression over hashed features.

On disk it is two files side by side, never a pickle:

* `<name>.json`: the header. Format name and version, provider labels, the
  feature settings, the dataset-level calibration, how it was trained, and
  the SHA-256 of the array file plus the dtype and shape of every array.
* `<name>.npz`: the arrays, read with `numpy.load(..., allow_pickle=False)`.

Besides the classifier's weights (what each record reads like) it holds each
class's style centroid, for the dataset-level answer: the mean feature
vector of the class's training answers, standardised feature by feature
across the classes, as a unit direction, divided by each feature's spread
(so that raw features project on it). A record's centroid score for a class
is its standardised features' projection on that direction; averaged over a
dataset's records, it ranks the classes as the cosine between the dataset's
standardised mean and each centroid does (aggregate.py). What is asked for
(weights, centroids or both) is scored in one pass over a record's
features, one table column per class and part.

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
from typing import Any, Callable, Sequence

import numpy as np

from tos_lint.attribution.features import STYLE_NAMES, Features, FeatureSpec, extract, hashed_scores
from tos_lint.errors import UsageError

FORMAT = "tos-lint-style-attribution"
FORMAT_VERSION = 2
DEFAULT_MODEL = "style-v1"
PROVIDERS = ("openai", "anthropic", "google", "meta", "mistral", "alibaba", "other")
PARTS = ("log_proba", "centroid")  # what StyleModel.scores computes
_TABLE_OF = {"log_proba": "weights", "centroid": "centroids"}  # the table each part is scored with
_SCALES_OF = {"weights": "scales", "centroids": "centroid_scales"}
_ARRAYS = ("weights", "scales", "bias", "style_weights", "style_mean", "style_scale", "frequent",
           "centroids", "centroid_scales", "centroid_bias")


class AttributionModelError(UsageError):
    """A model file that is missing, corrupted or of an unknown format."""


@dataclass
class Calibration:
    """Dataset-level temperature: probabilities are
    softmax(beta * n / (n + n0) * provider score) (aggregate.py), fitted on
    held-out models' predictions, so more records sharpen the answer but
    never past what unseen models support."""

    beta: float = 1.0
    n0: float = 10.0

    def to_dict(self) -> dict[str, float]:
        return {"beta": self.beta, "n0": self.n0}


class ClassTables:
    """A model's two (C, dim) tables, the classifier's `weights` and the
    style `centroids`, as the model file holds them: int8 (or float32) rows
    with one scale per row, the table being rows * scales bit for bit. A
    table is read when first used: the dataset-level answer needs only the
    centroids, and each table is half the file to decompress (and is kept
    decompressed in tos-lint's cache, see `_read_table`)."""

    def __init__(self, read: Callable[[str], tuple[np.ndarray, np.ndarray]]):
        self._read = read
        self._stored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._dense: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, weights: np.ndarray, centroids: np.ndarray) -> "ClassTables":
        """Tables as float32 arrays (a model just trained), scale 1."""
        dense = {"weights": weights.astype(np.float32), "centroids": centroids.astype(np.float32)}
        tables = cls(lambda name: (dense[name], np.ones(len(dense[name]), dtype=np.float32)))
        tables._dense.update(dense)
        return tables

    def stored(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scales) of the table `name` as stored."""
        if name not in self._stored:
            self._stored[name] = self._read(name)
        return self._stored[name]

    def dense(self, name: str) -> np.ndarray:
        if name not in self._dense:
            rows, scales = self.stored(name)
            self._dense[name] = rows.astype(np.float32) * scales[:, None]
        return self._dense[name]


@dataclass
class StyleModel:
    """Classes are source models (or providers); `labels` are the providers
    reported. A provider's probability is the mean of its classes'
    probabilities, renormalised: a provider with five known models is not
    five times as likely as one with one."""

    spec: FeatureSpec
    labels: tuple[str, ...]  # providers, in report order
    classes: tuple[str, ...]  # what the classifier tells apart
    class_provider: tuple[str, ...]  # provider of each class
    bias: np.ndarray  # (C,)
    style_weights: np.ndarray  # (C, S) on standardised style numbers
    style_mean: np.ndarray  # (S,)
    style_scale: np.ndarray  # (S,)
    frequent: np.ndarray  # sorted uint64 hashes of the words the distorted view keeps
    centroid_bias: np.ndarray  # (C,): the centre of the classes' means projected on each
    tables: ClassTables = field(repr=False, compare=False)  # `weights` and `centroids`
    calibration: Calibration = field(default_factory=Calibration)
    info: dict[str, Any] = field(default_factory=dict)
    _tables: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def weights(self) -> np.ndarray:
        """(C, dim) float32: hashed-feature weights per class."""
        return self.tables.dense("weights")

    @property
    def centroids(self) -> np.ndarray:
        """(C, dim) float32: each class's standardised centroid direction / feature spread."""
        return self.tables.dense("centroids")

    def features(self, texts: Sequence[str], compiled: bool = True) -> Features:
        return extract(texts, self.spec, frequent=self.frequent, use_jit=compiled)

    def text_scores(self, texts: Sequence[str], compiled: bool = True,
                    parts: Sequence[str] = PARTS) -> dict[str, np.ndarray]:
        """`scores(features(texts), parts)`, to float64 rounding; with numba
        (and `compiled`), features and products in one compiled pass that
        never holds the batch's features."""
        scored = hashed_scores(texts, self.spec, self.frequent, *self._scoring_table(parts)) if compiled else None
        if scored is None:
            return self.scores(self.features(texts, compiled), parts)
        style, hashed = scored
        return self._split(hashed, style, parts)

    def text_log_proba(self, texts: Sequence[str], compiled: bool = True) -> np.ndarray:
        return self.text_scores(texts, compiled, ("log_proba",))["log_proba"]

    def scores(self, feats: Features, parts: Sequence[str] = PARTS) -> dict[str, np.ndarray]:
        """One row per text of each part asked for: "log_proba", the
        per-provider log-probabilities (what each text reads like), and
        "centroid", the centroid scores (one column per class, for the
        dataset level). Only the parts asked for are computed. The features
        must be in row order, as `extract` gives them."""
        return self._split(gathered_scores(feats, *self._scoring_table(parts)), feats.style, parts)

    def log_proba(self, feats: Features) -> np.ndarray:
        """Per-provider log-probabilities, one row per text."""
        return self.scores(feats, ("log_proba",))["log_proba"]

    def _split(self, hashed: np.ndarray, style: np.ndarray, parts: Sequence[str]) -> dict[str, np.ndarray]:
        k = len(self.classes)
        out = {}
        for i, part in enumerate(parts):
            columns = hashed[:, i * k:(i + 1) * k]
            if part == "log_proba":
                out[part] = self._provider_log_proba(self._with_style(columns, style))
            else:
                out[part] = columns - self.centroid_bias
        return out

    def _with_style(self, hashed: np.ndarray, style: np.ndarray) -> np.ndarray:
        standard = (style - self.style_mean) / self.style_scale
        return hashed + standard.astype(np.float64) @ self.style_weights.T.astype(np.float64) + self.bias

    def _scoring_table(self, parts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(table, scales), table (dim, columns) with table[feature] * scales
        the feature's weights and centroids. The file's int8 arrays when it
        has them: scoring waits on fetching one random table row per
        feature, and an int8 row is a quarter of the bytes."""
        key = tuple(parts)
        if key not in self._tables:
            stored = [self.tables.stored(_TABLE_OF[p]) for p in parts]
            self._tables[key] = (np.ascontiguousarray(np.hstack([rows.T for rows, _ in stored])),
                                 np.concatenate([scales for _, scales in stored]).astype(np.float32))
        return self._tables[key]

    def class_providers(self) -> np.ndarray:
        """The index in `labels` of each class's provider."""
        return np.array([self.labels.index(p) for p in self.class_provider], dtype=np.int64)

    def _provider_log_proba(self, logits: np.ndarray) -> np.ndarray:
        p = np.exp(_log_softmax(logits)) @ self._membership()
        p /= p.sum(axis=1, keepdims=True)
        return np.log(np.maximum(p, 1e-13))

    def _membership(self) -> np.ndarray:
        m = np.zeros((len(self.classes), len(self.labels)))
        for i, provider in enumerate(self.class_provider):
            m[i, self.labels.index(provider)] = 1.0
        return m / np.maximum(m.sum(axis=0, keepdims=True), 1.0)

    # --- files -----------------------------------------------------------------------

    def save(self, directory: Path, name: str = DEFAULT_MODEL, quantize: bool = True) -> tuple[Path, Path]:
        """Write `<name>.npz` and `<name>.json`. Weights and centroids are
        stored as int8 with one scale per class (4x smaller, same ranking to
        3 decimals)."""
        arrays = self._arrays(quantize)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        blob = buf.getvalue()
        header = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "labels": list(self.labels),
            "classes": list(self.classes), "class_provider": list(self.class_provider),
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
        weights, scales = quantize_rows(self.weights, quantize)
        centroids, centroid_scales = quantize_rows(self.centroids, quantize)
        return {
            "weights": weights, "scales": scales, "bias": self.bias.astype(np.float32),
            "style_weights": self.style_weights.astype(np.float32),
            "style_mean": self.style_mean.astype(np.float32), "style_scale": self.style_scale.astype(np.float32),
            "frequent": np.sort(self.frequent.astype(np.uint64)), "centroids": centroids,
            "centroid_scales": centroid_scales, "centroid_bias": self.centroid_bias.astype(np.float32),
        }


def gathered_scores(feats: Features, table: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Per text, the sum over its hashed features of value * table[column],
    times `scales`, in float64 as the compiled pass computes it: a text's
    features are contiguous, so its table rows are gathered (int8 rows: a
    quarter of the bytes to fetch from a table larger than the cache) and
    multiplied by its values in one matrix-vector product."""
    out = np.zeros((feats.n, table.shape[1]), dtype=np.float64)
    bounds = np.searchsorted(feats.rows, np.arange(feats.n + 1)).tolist()
    values = feats.values.astype(np.float64)
    buffer = np.empty((max(b - a for a, b in zip(bounds, bounds[1:])) if feats.n else 0, table.shape[1]),
                      dtype=table.dtype)
    for row, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        if hi > lo:
            gathered = np.take(table, feats.cols[lo:hi], axis=0, out=buffer[: hi - lo])
            out[row] = values[lo:hi] @ gathered.astype(np.float64)
    out *= scales
    return out


def quantize_rows(rows: np.ndarray, quantize: bool) -> tuple[np.ndarray, np.ndarray]:
    """(stored, scales): int8 rows with one scale per row, or float32 rows and ones."""
    w = rows.astype(np.float32)
    if not quantize:
        return w, np.ones(len(w), dtype=np.float32)
    scales = (np.abs(w).max(axis=1) / 127.0).astype(np.float32)
    scales[scales == 0] = 1.0
    return np.round(w / scales[:, None]).astype(np.int8), scales


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


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
            arrays = {k: data[k] for k in _ARRAYS if k not in _SCALES_OF}
            described = {k: _described(data, k) for k in _SCALES_OF}  # read when first used
        tables = ClassTables(lambda name: _read_table(blob, header["sha256"], name, described[name], arrays, npz))
        model = _from_arrays(header, arrays, described, tables)
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise AttributionModelError(f"{npz}: invalid attribution model: {exc}") from None
    model.info.setdefault("name", Path(stem).name)
    return model


def _described(data: Any, name: str) -> tuple[str, list[int]]:
    """The dtype and shape of an array of an `.npz` from its header, without reading the array."""
    from numpy.lib import format as npy

    with data.zip.open(f"{name}.npy") as fp:
        version = npy.read_magic(fp)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(fp)
    return str(dtype), list(shape)


def _read_table(blob: bytes, digest: str, name: str, described: tuple[str, list[int]],
                arrays: dict[str, np.ndarray], npz: Path) -> tuple[np.ndarray, np.ndarray]:
    """A table's rows, and its scales. The rows are decompressed from the
    (verified) array file once, then kept in tos-lint's cache under the
    file's checksum: decompressing a table is most of what loading the model
    costs. A cache entry is checked by its own checksum when read."""
    from tos_lint import cache

    dtype, shape = described
    key = cache.cache_key("attribution-table", digest, name, dtype, repr(shape))
    kept = cache.load(key)
    if kept is not None and len(kept) == np.dtype(dtype).itemsize * int(np.prod(shape)):
        return np.frombuffer(kept, dtype=dtype).reshape(shape), arrays[_SCALES_OF[name]]
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            rows = data[name]
    except (KeyError, ValueError, OSError) as exc:
        raise AttributionModelError(f"{npz}: invalid attribution model: {exc}") from None
    cache.store(key, np.ascontiguousarray(rows).tobytes())
    return rows, arrays[_SCALES_OF[name]]


def _from_arrays(header: dict[str, Any], arrays: dict[str, np.ndarray], described: dict[str, tuple[str, list[int]]],
                 tables: ClassTables) -> StyleModel:
    """The model of a header and its arrays (`described`: dtype and shape
    of those that `tables` reads when first used)."""
    described = {**{k: (str(a.dtype), list(a.shape)) for k, a in arrays.items()}, **described}
    for name, meta in header["arrays"].items():
        dtype, shape = described[name]
        if dtype != meta["dtype"] or shape != meta["shape"]:
            raise ValueError(f"array {name!r} is {dtype}{shape}, header says {meta['dtype']}{meta['shape']}")
    spec = FeatureSpec.from_dict(header["features"])
    labels = tuple(header["labels"])
    classes = tuple(header["classes"])
    class_provider = tuple(header["class_provider"])
    if list(header.get("style_names", [])) != list(STYLE_NAMES):
        raise ValueError("style features differ from this version's")
    if len(class_provider) != len(classes) or not set(class_provider) <= set(labels):
        raise ValueError("every class needs a provider among the labels")
    k = len(classes)
    if (described["weights"][1] != [k, spec.dim] or arrays["style_weights"].shape != (k, len(STYLE_NAMES))
            or described["centroids"][1] != [k, spec.dim]):
        raise ValueError("weight shapes do not match the classes and feature settings")
    cal = header.get("calibration") or {}
    return StyleModel(
        spec=spec, labels=labels, classes=classes, class_provider=class_provider, bias=arrays["bias"].astype(np.float64),
        style_weights=arrays["style_weights"], style_mean=arrays["style_mean"],
        style_scale=arrays["style_scale"], frequent=arrays["frequent"],
        centroid_bias=arrays["centroid_bias"].astype(np.float64), tables=tables,
        calibration=Calibration(float(cal.get("beta", 1.0)), float(cal.get("n0", 10.0))),
        info={**dict(header.get("info") or {}), "sha256": header["sha256"],
              "format_version": header["format_version"]},
    )
