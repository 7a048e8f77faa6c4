"""Attribution by style: the Python API.

    >>> from tos_lint.attribution import attribute_paths
    >>> report = attribute_paths(["data/"])
    >>> report.files[0].result.ranked[0].provider
    'openai'

This is probabilistic evidence of style, never proof of origin: answers are
compared with the habits of known providers' models, and an unseen model
(or one fine-tuned on another's output) can read like someone else.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from tos_lint.attribution.aggregate import DEFAULT_BOOTSTRAP, DatasetAttribution, aggregate
from tos_lint.attribution.model import PARTS, StyleModel, load_model
from tos_lint.attribution.sources import FileSample, SampledRecord, sample_file
from tos_lint.readers import discover

DISCLAIMER = (
    "Probabilistic evidence of style, not proof: the answers are compared with the writing habits of "
    "known providers' models. A model the classifier has not seen, or one fine-tuned on another "
    "provider's output, can read like that provider. Not legal advice."
)
DEFAULT_MAX_RECORDS = 500
# Records used in one run, across all files: cost is about a tenth of a
# millisecond per record (about three times that on numpy), so many small
# files must not add up to minutes.
DEFAULT_MAX_TOTAL = 5000
BATCH = 64  # texts scored at once: larger batches are no faster, and hold more memory
TOP_PER_RECORD = 3
# The compiled loops save about 0.2 ms a record, but loading numba and them
# costs half a second or more in a new process: worth it from a few thousand
# records at once, or whenever numba is loaded already (near-duplicate
# matching). A one-file run of the default sample stays on numpy.
COMPILE_FROM_TEXTS = 2500


def _worth_compiling(n_texts: int) -> bool:
    return n_texts >= COMPILE_FROM_TEXTS or "numba" in sys.modules


class Attributor:
    """Scores texts with a style model (the shipped one by default)."""

    def __init__(self, model: StyleModel | None = None, model_path: str | Path | None = None):
        self.model = model or load_model(model_path)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    def scores(self, texts: Sequence[str], parts: Sequence[str] = PARTS) -> dict[str, np.ndarray]:
        """Per text, the parts asked for: "log_proba" (one column per label)
        and "centroid" (centroid scores, one column per class of the model)."""
        widths = {"log_proba": len(self.model.labels), "centroid": len(self.model.classes)}
        if not texts:
            return {p: np.zeros((0, widths[p])) for p in parts}
        compiled = _worth_compiling(len(texts))
        batches = [self.model.text_scores(texts[i:i + BATCH], compiled, parts) for i in range(0, len(texts), BATCH)]
        return {p: np.vstack([b[p] for b in batches]) for p in parts}

    def log_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Log-probabilities, one row per text, one column per label."""
        return self.scores(texts, ("log_proba",))["log_proba"]

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (rows sum to 1), columns in the order of `labels`."""
        return np.exp(self.log_proba(texts))

    def attribute_texts(self, texts: Sequence[str], bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> DatasetAttribution:
        """One dataset-level answer for a set of texts."""
        return self.aggregate(self.scores(texts, ("centroid",))["centroid"], bootstrap, seed)

    def aggregate(self, centroid_scores: np.ndarray, bootstrap: int = DEFAULT_BOOTSTRAP,
                  seed: int = 0) -> DatasetAttribution:
        """The dataset-level answer for records with these centroid scores."""
        model = self.model
        return aggregate(centroid_scores, model.class_providers(), model.labels, model.calibration, bootstrap, seed)


@dataclass
class RecordScore:
    where: dict[str, Any]
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        ranked = sorted(self.probabilities.items(), key=lambda kv: -kv[1])
        return {**self.where, "ranked": [{"provider": p, "probability": round(v, 4)} for p, v in ranked[:TOP_PER_RECORD]]}


@dataclass
class FileAttribution:
    path: str
    result: DatasetAttribution
    records_read: int
    without_text: int
    unreadable: int
    sampled: bool
    estimated_records: int | None = None
    problem: str | None = None
    records: list[RecordScore] | None = None

    @property
    def n_records(self) -> int:
        return self.result.n_records

    def to_dict(self) -> dict[str, Any]:
        result = self.result.to_dict()
        out: dict[str, Any] = {
            "path": self.path, "n_records": self.n_records, "ranked": result["ranked"],
            "top_agreement": result["top_agreement"], "records_read": self.records_read,
            "records_without_text": self.without_text, "unreadable": self.unreadable, "sampled": self.sampled,
        }
        if self.estimated_records is not None:
            out["estimated_records"] = self.estimated_records
        if self.problem:
            out["problem"] = self.problem
        if self.records is not None:
            out["records"] = [r.to_dict() for r in self.records]
        return out


@dataclass
class AttributionReport:
    files: list[FileAttribution]
    overall: DatasetAttribution
    model: dict[str, Any]
    settings: dict[str, Any]
    seconds: float = 0.0
    disclaimer: str = DISCLAIMER
    labels: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        from tos_lint import __version__

        return {
            "tool": "tos-lint", "version": __version__, "kind": "style-attribution",
            "disclaimer": self.disclaimer, "model": self.model, "settings": self.settings,
            "files": [f.to_dict() for f in self.files], "overall": self.overall.to_dict(),
            "seconds": round(self.seconds, 3),
        }


def attribute_paths(
    paths: Iterable[str | Path],
    records: bool = False,
    *,
    max_records: int | None = DEFAULT_MAX_RECORDS,
    max_total_records: int | None = DEFAULT_MAX_TOTAL,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    hidden: bool = False,
    force_format: str | None = None,
    field_map: dict[str, list[str]] | None = None,
    roles: Sequence[str] = ("assistant",),
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    attributor: Attributor | None = None,
    model_path: str | Path | None = None,
) -> AttributionReport:
    """Which providers' style each file's answers (and all of them together)
    most resemble. `max_records` caps the records used per file (None: all);
    `max_total_records` caps them over all files, split evenly (None: no
    cap); `records=True` adds per-record scores. Raises `UsageError` for bad
    paths and `AttributionModelError` for a bad model file."""
    started = time.perf_counter()
    attributor = attributor or Attributor(model_path=model_path)
    if (max_records is not None and max_records < 1) or (max_total_records is not None and max_total_records < 1):
        from tos_lint.errors import UsageError

        raise UsageError("max_records and max_total_records must be at least 1")
    inputs, _ = discover([str(p) for p in paths], include, exclude, hidden)
    per_file = _per_file_cap(max_records, max_total_records, len(inputs))
    files: list[FileAttribution] = []
    pooled: list[np.ndarray] = []
    parts = PARTS if records else ("centroid",)  # per-record probabilities only when shown
    for inp in inputs:
        sample = sample_file(inp, per_file, roles, force_format, field_map, seed)
        scored = attributor.scores([r.text for r in sample.records], parts)
        pooled.append(scored["centroid"])
        files.append(_file_result(sample, scored, attributor, bootstrap, seed))
    model = attributor.model
    if len(files) == 1:  # the same records and seed: the file's answer is the overall one
        overall = files[0].result
    else:
        overall = attributor.aggregate(np.vstack(pooled) if pooled else np.zeros((0, len(model.classes))),
                                       bootstrap, seed)
    return AttributionReport(
        files=files, overall=overall, model=_model_summary(model), labels=model.labels,
        settings={"max_records": per_file, "max_total_records": max_total_records, "roles": list(roles),
                  "bootstrap": bootstrap, "seed": seed},
        seconds=time.perf_counter() - started,
    )


def _per_file_cap(max_records: int | None, max_total: int | None, n_files: int) -> int | None:
    if max_total is None or n_files == 0:
        return max_records
    share = max(1, max_total // n_files)
    return share if max_records is None else min(max_records, share)


def _file_result(sample: FileSample, scored: dict[str, np.ndarray], attributor: Attributor, bootstrap: int,
                 seed: int) -> FileAttribution:
    model = attributor.model
    result = attributor.aggregate(scored["centroid"], bootstrap, seed)
    scores = None
    if "log_proba" in scored:
        scores = [_record_score(r, row, model.labels) for r, row in zip(sample.records, np.exp(scored["log_proba"]))]
    return FileAttribution(
        path=sample.path, result=result, records_read=sample.records_read, without_text=sample.without_text,
        unreadable=sample.unreadable, sampled=sample.sampled, estimated_records=sample.estimated_records,
        problem=sample.problem, records=scores,
    )


def _record_score(rec: SampledRecord, probs: np.ndarray, labels: Sequence[str]) -> RecordScore:
    return RecordScore(rec.where(), {label: float(p) for label, p in zip(labels, probs)})


def _model_summary(model: StyleModel) -> dict[str, Any]:
    info = model.info
    return {
        "name": info.get("name"), "format_version": info.get("format_version"), "labels": list(model.labels),
        "sha256": info.get("sha256"), "trained_on": info.get("trained_on"),
        "calibration": model.calibration.to_dict(),
    }
