"""Dataset-level attribution: which provider(s) the findings of a file point to.

A single finding says "this record looks like provider X wrote it". A
reviewer of a whole dataset asks a different question: *whose output is in
this file, how much of it, and how sure are we?* This module answers it from
the findings alone (no text is re-read), per file and for the whole scan.

How the evidence is weighed
---------------------------

Each finding carries the `evidence` kind of its rule. Kinds fall in two tiers:

* **strong**: `self-id` (the assistant says who made it), `api-artifact`
  (API envelopes, response ids, model strings and provenance metadata) and
  `near-duplicate` (a verified near-copy of a known provider output);
* **weak**: everything else (`mention`, `template`, `boilerplate`, `style`):
  a provider's name in a reply, a chat template, a provider's habitual
  phrasing. Weak evidence alone never makes a confident attribution.

For each provider a record counts once, in the strongest tier it reached
("strong records", "weak records": records whose best evidence for that
provider is weak). A provider's *score* is the sum, over its records, of the
best rule confidence in the record, with weak records weighted by
`WEAK_WEIGHT`. Its *confidence* is

    support x share

where `support` is how much evidence there is and `share` is the provider's
part of all the named-provider score in the file (so evidence for competing
providers lowers it). For strong evidence, support is a noisy-OR of the
per-record confidences times a corroboration factor `1 - 2**-n` for `n`
strong records: one record is an anecdote (a model misstating its maker, a
quoted reply) and stays below `CONFIDENT`; two agreeing records already
make a pattern, and hundreds make it near-certain. Weak-only evidence gives
at most `WEAK_CAP`.

Findings of rules whose provider is `unknown` (generic boilerplate such as
"As an AI language model", generic chat templates) point at no provider:
they are counted as `unknown` and never credited to anyone. A file whose only
evidence is of that kind is reported as `unknown`, not guessed.

When more than one named provider has evidence, the attribution is
`conflicting` and every provider is listed with its tier and record count,
e.g. ``openai (strong: 40 records), anthropic (weak: 2 records) —
conflicting``. Models misstate their maker and prompts name other
providers, so a conflict is information for the reviewer, not noise to hide.

Findings about the input itself (`tos-lint.input.*`, provider `none`) are not
evidence and are ignored here.
"""
from __future__ import annotations

import math
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from tos_lint.model import Finding

STRONG_EVIDENCE = frozenset({"self-id", "api-artifact", "near-duplicate"})
UNKNOWN_PROVIDER = "unknown"
# Providers that are not providers: input problems.
NOT_EVIDENCE_PROVIDERS = frozenset({"none", ""})
NOT_EVIDENCE_KINDS = frozenset({"input"})
# A weak record counts this much of a strong one in a provider's score.
WEAK_WEIGHT = 0.2
# Weak evidence alone never gives more than this confidence (below CONFIDENT).
WEAK_CAP = 0.4
TOP_RULES = 3
# An attribution at or above this confidence is "confident"; weak evidence
# alone stays below it (WEAK_CAP).
CONFIDENT = 0.5

# Attribution statuses.
ATTRIBUTED = "attributed"  # one named provider has evidence
CONFLICTING = "conflicting"  # more than one named provider has evidence
UNKNOWN = "unknown"  # only generic (provider `unknown`) evidence
NONE = "none"  # no evidence at all


def is_strong(evidence: str) -> bool:
    return evidence in STRONG_EVIDENCE


def is_evidence(finding: Finding) -> bool:
    """Whether a finding is provider evidence (input problems are not)."""
    return finding.provider not in NOT_EVIDENCE_PROVIDERS and finding.evidence not in NOT_EVIDENCE_KINDS


def record_key(finding: Finding) -> tuple[Any, ...]:
    """The record a finding belongs to, unique within a scan."""
    loc = finding.location
    return (loc.path, loc.line, loc.index, loc.record_id)


@dataclass
class ProviderEvidence:
    """What one provider's evidence amounts to in a file (or a whole scan)."""

    provider: str
    strong_records: int = 0
    weak_records: int = 0  # records whose best evidence for this provider is weak
    findings: int = 0
    score: float = 0.0
    support: float = 0.0
    confidence: float = 0.0
    share_of_records: float = 0.0
    top_rules: list[tuple[str, int]] = field(default_factory=list)  # (rule id, records)

    @property
    def records(self) -> int:
        return self.strong_records + self.weak_records

    @property
    def strength(self) -> str:
        return "strong" if self.strong_records else "weak"

    def describe(self) -> str:
        """`openai (strong: 40 records)`; `openai (strong: 40 + weak: 3 records)`."""
        if self.provider == UNKNOWN_PROVIDER:
            return f"unknown (generic: {_n(self.records)})"
        if self.strong_records and self.weak_records:
            return f"{self.provider} (strong: {self.strong_records} + weak: {_n(self.weak_records)})"
        if self.strong_records:
            return f"{self.provider} (strong: {_n(self.strong_records)})"
        return f"{self.provider} (weak: {_n(self.weak_records)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "strength": self.strength if self.provider != UNKNOWN_PROVIDER else "generic",
            "strong_records": self.strong_records,
            "weak_records": self.weak_records,
            "records": self.records,
            "share_of_records": round(self.share_of_records, 6),
            "findings": self.findings,
            "confidence": round(self.confidence, 3),
            "top_rules": [{"rule_id": r, "records": n} for r, n in self.top_rules],
        }


def _n(count: int) -> str:
    return f"{count} record" + ("" if count == 1 else "s")


@dataclass
class FileAttribution:
    """Which providers the evidence in one file (or the whole scan) points to."""

    path: str
    records: int
    providers: list[ProviderEvidence] = field(default_factory=list)  # named, best first
    unknown: ProviderEvidence | None = None  # generic evidence, provider not determined
    status: str = NONE

    @property
    def primary(self) -> str | None:
        """The best-supported named provider, or None. Never `unknown`."""
        return self.providers[0].provider if self.providers else None

    @property
    def confidence(self) -> float:
        return self.providers[0].confidence if self.providers else 0.0

    @property
    def confident(self) -> bool:
        return self.confidence >= CONFIDENT

    @property
    def conflicting(self) -> bool:
        return self.status == CONFLICTING

    def summary(self) -> str:
        """One line for a report, e.g.
        ``openai (strong: 40 records), anthropic (weak: 2 records) — conflicting``."""
        if self.status == NONE:
            return "no provider evidence"
        parts = [p.describe() for p in self.providers]
        if self.unknown is not None:
            parts.append(self.unknown.describe())
        text = ", ".join(parts)
        if self.status == CONFLICTING:
            text += " — conflicting"
        elif self.status == UNKNOWN:
            text += " — provider not determined"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "records": self.records,
            "status": self.status,
            "primary": self.primary,
            "confidence": round(self.confidence, 3),
            "confident": self.confident,
            "summary": self.summary(),
            "providers": [p.to_dict() for p in self.providers],
            "unknown": self.unknown.to_dict() if self.unknown is not None else None,
        }


@dataclass
class ScanAttribution:
    files: list[FileAttribution]
    overall: FileAttribution

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "overall": self.overall.to_dict()}


# Records whose evidence is held open at once (per file, and for the scan).
# A scan's findings come in input order, a record's together: a record is
# complete once findings of later records follow, and is folded into its
# provider's sums when this many others came after it. Memory then stays
# bounded however many records are flagged.
OPEN_RECORDS = 4_096


class _Side:
    """A provider's strong (or weak) records folded in so far, as sums."""

    __slots__ = ("records", "total", "log_miss", "certain")

    def __init__(self) -> None:
        self.records = 0
        self.total = 0.0  # sum of the records' confidences
        self.log_miss = 0.0  # sum of log(1 - chance): the noisy-or, in log space
        self.certain = False  # a chance of 1: the noisy-or is 1

    def add(self, confidence: float, chance: float) -> None:
        self.records += 1
        self.total += confidence
        chance = min(max(chance, 0.0), 1.0)
        if chance >= 1.0:
            self.certain = True
        elif not self.certain:
            self.log_miss += math.log1p(-chance)

    @property
    def chance(self) -> float:
        """1 - prod(1 - c): the chance that at least one piece of evidence is
        right, if each were independent. Summed in log space so that
        thousands of records do not underflow."""
        return 1.0 if self.certain else 1.0 - math.exp(self.log_miss)


class _Sums:
    """One provider's evidence so far: the records folded in."""

    def __init__(self) -> None:
        self.strong = _Side()
        self.weak = _Side()  # its chances are the confidences times WEAK_WEIGHT
        self.rules: Counter[str] = Counter()  # records per rule

    def fold(self, slot: list[Any]) -> None:
        strong, weak_best, strong_best, rules = slot
        if strong:
            self.strong.add(strong_best, strong_best)
        else:
            self.weak.add(weak_best, weak_best * WEAK_WEIGHT)
        self.rules.update(rules)


class _Tally:
    """Per-provider record evidence, before it is turned into a verdict."""

    def __init__(self) -> None:
        # record key -> provider -> [strong?, best confidence, best strong confidence, rules]
        # (an OrderedDict: the oldest is taken in constant time; a dict's
        # first key is found past every one removed before it)
        self.open: OrderedDict[tuple[Any, ...], dict[str, list[Any]]] = OrderedDict()
        self.sums: dict[str, _Sums] = {}  # in the order providers were first seen
        self.findings: Counter[str] = Counter()

    def add(self, f: Finding) -> None:
        key = record_key(f)
        strong = is_strong(f.evidence)
        if f.provider not in self.sums:
            self.sums[f.provider] = _Sums()
        by_provider = self.open.get(key)
        if by_provider is None:
            if len(self.open) >= OPEN_RECORDS:
                self._fold_oldest()
            by_provider = self.open[key] = {}
        slot = by_provider.get(f.provider)
        if slot is None:
            by_provider[f.provider] = [strong, f.confidence if not strong else 0.0, f.confidence if strong else 0.0,
                                       {f.rule_id}]
        else:
            slot[0] = slot[0] or strong
            if strong:
                slot[2] = max(slot[2], f.confidence)
            else:
                slot[1] = max(slot[1], f.confidence)
            slot[3].add(f.rule_id)
        self.findings[f.provider] += 1

    def _fold_oldest(self) -> None:
        _, by_provider = self.open.popitem(last=False)
        for provider, slot in by_provider.items():
            self.sums[provider].fold(slot)

    def _fold_all(self) -> None:
        while self.open:
            self._fold_oldest()

    def evidence(self, provider: str, total_records: int) -> ProviderEvidence:
        sums = self.sums[provider]
        strong, weak = sums.strong, sums.weak
        score = strong.total + WEAK_WEIGHT * weak.total
        support = strong.chance * (1.0 - 0.5 ** strong.records)
        weak_support = min(WEAK_CAP, weak.chance)
        support = max(support, weak_support) if not strong.records else 1 - (1 - support) * (1 - weak_support)
        return ProviderEvidence(
            provider=provider, strong_records=strong.records, weak_records=weak.records,
            findings=self.findings[provider], score=score, support=support,
            share_of_records=((strong.records + weak.records) / total_records) if total_records else 0.0,
            top_rules=sorted(sums.rules.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_RULES],
        )

    def attribution(self, path: str, total_records: int) -> FileAttribution:
        self._fold_all()
        named = [self.evidence(p, total_records) for p in self.sums if p != UNKNOWN_PROVIDER]
        total_score = sum(p.score for p in named)
        for p in named:
            share = p.score / total_score if total_score > 0 else 1.0 / len(named)
            p.confidence = p.support * share
        named.sort(key=lambda p: (-p.confidence, -p.strong_records, -p.score, p.provider))
        unknown = self.evidence(UNKNOWN_PROVIDER, total_records) if UNKNOWN_PROVIDER in self.sums else None
        if unknown is not None:
            unknown.confidence = 0.0  # generic evidence names nobody
        if len(named) > 1:
            status = CONFLICTING
        elif named:
            status = ATTRIBUTED
        elif unknown is not None:
            status = UNKNOWN
        else:
            status = NONE
        return FileAttribution(path, total_records, named, unknown, status)


def attribute_findings(findings: Iterable[Finding], records_per_file: Mapping[str, int]) -> list[FileAttribution]:
    """Per-file attribution, in the order of `records_per_file` (files with
    findings but missing from it are appended, with 0 records)."""
    return attribute_scan(findings, records_per_file).files


def _by_file(tallies: dict[str, _Tally], records_per_file: Mapping[str, int]) -> list[FileAttribution]:
    paths = list(records_per_file) + sorted(p for p in tallies if p not in records_per_file)
    return [
        tallies.get(path, _Tally()).attribution(path, records_per_file.get(path, 0))
        for path in paths
    ]


class EvidenceTally:
    """Attribution taken a finding at a time (a scan's, in input order: see
    OPEN_RECORDS), per file and for the whole scan, in one pass."""

    def __init__(self) -> None:
        self.files: dict[str, _Tally] = {}
        self.overall = _Tally()

    def add(self, f: Finding) -> None:
        if is_evidence(f):
            self.files.setdefault(f.location.path, _Tally()).add(f)
            self.overall.add(f)

    def attribution(self, records_per_file: Mapping[str, int], overall_label: str = "(all files)") -> ScanAttribution:
        return ScanAttribution(
            files=_by_file(self.files, records_per_file),
            overall=self.overall.attribution(overall_label, sum(records_per_file.values())),
        )


def attribute_scan(findings: Iterable[Finding], records_per_file: Mapping[str, int],
                   overall_label: str = "(all files)") -> ScanAttribution:
    """Per-file attribution and the same for the whole scan taken together."""
    tally = EvidenceTally()
    for f in findings:
        tally.add(f)
    return tally.attribution(records_per_file, overall_label)
