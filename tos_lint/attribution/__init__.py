"""Provider attribution by style: which providers' models a dataset's
answers read like, with a probability per provider and its uncertainty.

Probabilistic evidence of style, never proof of origin. See
docs/attribution.md for how the shipped model was trained and evaluated.
"""
from __future__ import annotations

from tos_lint.attribution.aggregate import DatasetAttribution, ProviderProbability
from tos_lint.attribution.attribute import (
    DISCLAIMER, AttributionReport, Attributor, FileAttribution, RecordScore, attribute_paths,
)
from tos_lint.attribution.findings import RULE_ID, attribution_findings
from tos_lint.attribution.model import PROVIDERS, AttributionModelError, StyleModel, load_model

__all__ = [
    "DISCLAIMER", "PROVIDERS", "RULE_ID", "AttributionModelError", "AttributionReport", "Attributor",
    "DatasetAttribution", "FileAttribution", "ProviderProbability", "RecordScore", "StyleModel",
    "attribute_paths", "attribution_findings", "load_model",
]
