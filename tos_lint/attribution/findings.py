"""Dataset-level attribution as findings, for `scan --attribution`.

A file whose answers read like a provider whose terms forbid training
competing models, with a style probability at or above the threshold,
gets one file-level finding. Its confidence is that probability; its detail
carries every provider's probability and the number of records used, so a
reviewer sees how sure the style model was and on how much data.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tos_lint.model import Finding, Location, Severity, finding_fingerprint

if TYPE_CHECKING:  # pragma: no cover
    from tos_lint.attribution.attribute import AttributionReport
    from tos_lint.registry import Registry

RULE_ID = "tos-lint.attribution.style"
FLAGGED_CLASSIFICATIONS = ("forbids-competing",)


def attribution_findings(report: "AttributionReport", registry: "Registry", threshold: float = 0.6,
                         severity: str | Severity = "medium") -> list[Finding]:
    """One finding per (file, provider) whose style probability is at least
    `threshold` and whose registry classification is `forbids-competing`."""
    if not 0.0 < threshold <= 1.0:
        from tos_lint.errors import UsageError

        raise UsageError(f"attribution threshold must be in (0, 1], got {threshold}")
    level = severity if isinstance(severity, Severity) else _severity(severity)
    out: list[Finding] = []
    for f in report.files:
        probabilities = {r.provider: round(r.probability, 4) for r in f.result.ranked}
        for r in f.result.ranked:
            if r.probability < threshold or registry.classification(r.provider) not in FLAGGED_CLASSIFICATIONS:
                continue
            provider = registry.get(r.provider)
            name = provider.name if provider else r.provider
            message = (f"answers read like {name} models: style probability {r.probability:.2f} "
                       f"(bootstrap {r.low:.2f}-{r.high:.2f}) over {f.n_records} records; "
                       "probabilistic evidence of style, not proof")
            out.append(Finding(
                rule_id=RULE_ID, provider=r.provider, severity=level, confidence=round(r.probability, 4),
                evidence="style", message=message, location=Location(f.path, None, None, "", ""),
                fingerprint=finding_fingerprint(RULE_ID, f.path, "", r.provider),
                detail={"probabilities": probabilities, "records": f.n_records,
                        "interval": [round(r.low, 4), round(r.high, 4)], "sampled": f.sampled},
            ))
    return out


def _severity(value: str) -> Severity:
    from tos_lint.errors import UsageError

    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(f"attribution severity: {exc}") from None
