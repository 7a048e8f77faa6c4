"""Policy: which findings fail the run. Apart from detection and output."""
from __future__ import annotations

from dataclasses import dataclass

from tos_lint.model import Finding, Severity

FAIL_ON_CHOICES = ("info", "low", "medium", "high", "critical", "never")


@dataclass(frozen=True)
class Verdict:
    failing: list[Finding]
    fail_on: str

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def decide(findings: list[Finding], fail_on: str = "high") -> Verdict:
    if fail_on == "never":
        return Verdict([], fail_on)
    threshold = Severity.parse(fail_on)
    return Verdict([f for f in findings if f.severity >= threshold], fail_on)
