"""Policy: turns findings plus configuration into what fails.

Detection and output know nothing of this. Each finding gets one status:

    fail        at or above --fail-on, provider stance `forbid`: fails the run
    pass        below --fail-on: reported, does not fail
    review      provider stance `review`: reported for a human, never fails
    allowed     provider stance `allow`: counted, not reported
    baseline    in the baseline file: known and accepted, not reported
    suppressed  by a `_tos_lint` field in the record or an allowlist entry
    ignored     rule not selected, or ignored, by configuration

Stances default from the provider registry's classification.
"""
from __future__ import annotations

import dataclasses
import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Generic, Iterable, Iterator, Mapping, Sequence, TypeVar

from tos_lint.model import Finding, Severity, finding_from_row, finding_row
from tos_lint.spool import RowCodec, Spool

T = TypeVar("T")

FAIL_ON_CHOICES = ("info", "low", "medium", "high", "critical", "never")
STANCES = ("forbid", "review", "allow")
STATUSES = ("fail", "pass", "review", "allowed", "baseline", "suppressed", "ignored")
REPORTED = frozenset({"fail", "pass", "review"})
_ALL_STATUSES = frozenset(STATUSES)
DEFAULT_STANCE = {
    "forbids-competing": "forbid",
    "conditional": "review",
    "permissive": "review",
    "unverified": "review",
}


@dataclass(frozen=True)
class Suppression:
    """An allowlist entry or waiver: a finding fingerprint, or a rule id (or
    prefix) with optional path globs. Waivers carry a reviewer and expiry."""

    reason: str
    fingerprint: str | None = None
    rule: str | None = None
    paths: tuple[str, ...] = ()
    reviewer: str | None = None
    expires: date | datetime | None = None  # a date: through that day; a time (timezone-aware): until then
    source: str = ""  # file and entry, for messages

    def expired(self, today: date, now: datetime | None = None) -> bool:
        if self.expires is None:
            return False
        if isinstance(self.expires, datetime):
            return self.expires <= (now or datetime.now(timezone.utc))
        return self.expires < today

    def covers(self, finding: Finding) -> bool:
        if self.fingerprint is not None:
            return finding.fingerprint == self.fingerprint
        if self.rule is not None and not rule_matches(finding.rule_id, self.rule):
            return False
        return not self.paths or any(fnmatch.fnmatch(finding.location.path, g) for g in self.paths)


@dataclass(frozen=True)
class Policy:
    fail_on: str = "high"
    select: tuple[str, ...] = ()  # rule ids or prefixes; empty: all
    ignore: tuple[str, ...] = ()
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)
    stances: Mapping[str, str] = field(default_factory=dict)  # provider -> stance
    suppressions: tuple[Suppression, ...] = ()
    baseline: frozenset[str] = frozenset()
    today: date = field(default_factory=date.today)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))  # for expiries given with a time


@dataclass(frozen=True, slots=True)  # one per finding: no dict each
class Outcome:
    finding: Finding
    status: str
    reason: str = ""


def _outcome_row(outcome: Outcome) -> tuple[Any, ...]:
    return (finding_row(outcome.finding), outcome.status, outcome.reason)


def _outcome_from_row(row: tuple[Any, ...]) -> Outcome:
    return Outcome(finding_from_row(row[0]), row[1], row[2])


OUTCOME_CODEC: RowCodec[Outcome] = RowCodec(_outcome_row, _outcome_from_row)


class Selection(Generic[T]):
    """Some of a verdict's outcomes, by status: iterated as often as asked
    (each time a pass over the outcomes, which may be read from disk),
    counted without one."""

    def __init__(self, outcomes: Iterable[Outcome], statuses: frozenset[str], count: int,
                 pick: Callable[[Outcome], T]):
        self._outcomes, self._statuses, self._count, self._pick = outcomes, statuses, count, pick

    def __iter__(self) -> Iterator[T]:
        statuses, pick = self._statuses, self._pick
        return (pick(o) for o in self._outcomes if o.status in statuses)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0


@dataclass
class Verdict:
    # one per finding, in the findings' order: from `decide`, a spool
    # (`tos_lint.spool`) that keeps a bounded number in memory
    outcomes: Sequence[Outcome]
    fail_on: str
    unused_suppressions: list[Suppression] = field(default_factory=list)
    expired_suppressions: list[Suppression] = field(default_factory=list)
    active_waivers: list[Suppression] = field(default_factory=list)
    # how many outcomes of each (status, provider, severity): what the
    # reports count, without a pass over the outcomes; counted here when not given
    breakdown: Counter[tuple[str, str, Severity]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not self.breakdown:
            self.breakdown = Counter((o.status, o.finding.provider, o.finding.severity) for o in self.outcomes)

    @property
    def counts(self) -> Counter[str]:
        """Outcomes by status."""
        return self._tally(0, _ALL_STATUSES)

    def reported_by_provider(self) -> Counter[str]:
        """Reported outcomes by provider, in the order each provider was first reported."""
        return self._tally(1, REPORTED)

    def reported_by_severity(self) -> Counter[Severity]:
        return self._tally(2, REPORTED)

    def _tally(self, part: int, statuses: frozenset[str]) -> Counter[Any]:
        out: Counter[Any] = Counter()
        for key, n in self.breakdown.items():  # in the order the keys were first seen
            if key[0] in statuses:
                out[key[part]] += n
        return out

    @property
    def failing(self) -> Selection[Finding]:
        return Selection(self.outcomes, frozenset({"fail"}), self.count("fail"), _finding_of)

    @property
    def reported(self) -> Selection[Outcome]:
        counts = self.counts
        return Selection(self.outcomes, REPORTED, sum(counts[s] for s in REPORTED), _itself)

    def count(self, status: str) -> int:
        return self.counts[status]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def _finding_of(outcome: Outcome) -> Finding:
    return outcome.finding


def _itself(outcome: Outcome) -> Outcome:
    return outcome


def parse_expiry(value: object) -> date | datetime:
    """A waiver's `expires`: a date (YAML `2027-03-31`), or a date and time
    (`2027-03-31T18:00:00Z`; without a timezone, UTC as YAML says), as
    parsed YAML or as ISO text. ValueError for anything else."""
    if isinstance(value, (date, str)):
        when = value if isinstance(value, date) else _iso(value)
        if isinstance(when, datetime) and when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when
    raise ValueError(f"not a date: {value!r}")


def _iso(text: str) -> date | datetime:
    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)


def rule_matches(rule_id: str, selector: str) -> bool:
    """`openai` selects `openai.self-id.chatgpt`; a selector matches whole
    dotted parts only (`open` does not select `openai.x`)."""
    return rule_id == selector or rule_id.startswith(selector.rstrip(".") + ".")


def stance_for(provider: str, classification: str, policy: Policy) -> str:
    if provider in policy.stances:
        return policy.stances[provider]
    if provider == "none":  # the input itself could not be read
        return "forbid"
    return DEFAULT_STANCE.get(classification, "review")


def decide(findings: Iterable[Finding], policy: Policy, classifications: Mapping[str, str] | None = None) -> Verdict:
    classifications = classifications or {}
    live = [s for s in policy.suppressions if not s.expired(policy.today, policy.now)]
    used: set[int] = set()
    outcomes: Spool[Outcome] = Spool(codec=OUTCOME_CODEC)
    breakdown: Counter[tuple[str, str, Severity]] = Counter()
    for f in findings:
        outcome = _outcome(f, policy, classifications, live, used)
        outcomes.append(outcome)
        breakdown[outcome.status, outcome.finding.provider, outcome.finding.severity] += 1
    return Verdict(
        outcomes=outcomes,
        fail_on=policy.fail_on,
        breakdown=breakdown,
        unused_suppressions=[s for i, s in enumerate(live) if i not in used],
        expired_suppressions=[s for s in policy.suppressions if s.expired(policy.today, policy.now)],
        active_waivers=[s for i, s in enumerate(live) if i in used and s.reviewer],
    )


def _outcome(finding: Finding, policy: Policy, classifications: Mapping[str, str],
             live: list[Suppression], used: set[int]) -> Outcome:
    finding = _override_severity(finding, policy)
    if not _selected(finding.rule_id, policy):
        return Outcome(finding, "ignored", "rule not selected")
    inline = finding.detail.get("inline_ignore") or ()
    if any(rule_matches(finding.rule_id, sel) for sel in inline):
        return Outcome(finding, "suppressed", f"record: {finding.detail.get('inline_reason', '')}".strip())
    for i, sup in enumerate(live):
        if sup.covers(finding):
            used.add(i)
            return Outcome(finding, "suppressed", sup.reason)
    if finding.fingerprint in policy.baseline:
        return Outcome(finding, "baseline")
    stance = stance_for(finding.provider, classifications.get(finding.provider, "unverified"), policy)
    if stance == "allow":
        return Outcome(finding, "allowed")
    if stance == "review":
        return Outcome(finding, "review")
    return Outcome(finding, "fail" if _at_threshold(finding.severity, policy.fail_on) else "pass")


def _override_severity(finding: Finding, policy: Policy) -> Finding:
    """The most specific matching override wins (`openai.self-id` over `openai`)."""
    matching = [s for s in policy.severity_overrides if rule_matches(finding.rule_id, s)]
    if not matching:
        return finding
    best = max(matching, key=lambda s: s.rstrip(".").count("."))
    return dataclasses.replace(finding, severity=policy.severity_overrides[best])


# The tool's own findings (input problems, near-duplicates, style): always
# selected, and a selector may name them.
TOOL_RULE_PREFIX = "tos-lint"
INPUT_RULE_PREFIX = f"{TOOL_RULE_PREFIX}.input."  # findings about the input itself


def _selected(rule_id: str, policy: Policy) -> bool:
    if rule_id.startswith(TOOL_RULE_PREFIX + "."):
        selected = True  # the tool's own findings (unreadable input) are always on
    else:
        selected = not policy.select or any(rule_matches(rule_id, s) for s in policy.select)
    return selected and not any(rule_matches(rule_id, s) for s in policy.ignore)


def _at_threshold(severity: Severity, fail_on: str) -> bool:
    return fail_on != "never" and severity >= Severity.parse(fail_on)
