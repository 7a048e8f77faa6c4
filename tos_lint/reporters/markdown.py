"""`--format markdown`: a short summary to paste into a PR comment or a ticket.

Readable by someone who does not run the tool: the verdict in plain words,
how much of the data each provider accounts for, severities, the rules that
fired most, a few examples with where they are, the terms each provider's
findings may touch, and the disclaimer. Counts are of *reported* findings
(status fail, pass or review), the same ones the console shows.

Everything taken from the data (paths, snippets, messages) is escaped: a
snippet must not break the table (`|`), open a code span or HTML tag,
@-mention someone on the PR, or carry a control character (shown `\\xNN`).
"""
from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, TextIO

from tos_lint.attribution_evidence import record_key
from tos_lint.model import Finding, Severity
from tos_lint.policy import Outcome
from tos_lint.registry import INPUT_PROVIDER
from tos_lint.reporters import printable

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict
    from tos_lint.registry import Registry

MAX_EXAMPLES = 10
TOP_RULES = 5
SNIPPET_CHARS = 100
_MD_SPECIAL = set("\\`*_[]<>|~#&!")
_WHITESPACE = re.compile(r"\s+")
_NOT_REPORTED = ("baseline", "suppressed", "allowed", "ignored")


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    stream.write("\n".join(lines(result, verdict)).rstrip() + "\n")


def lines(result: "ScanResult", verdict: "Verdict") -> list[str]:
    seen = _Seen.of(verdict.reported)
    providers = Counter({p: n for p, n in verdict.reported_by_provider().items() if p != INPUT_PROVIDER})
    out = ["## tos-lint report", "", _verdict_line(verdict), "", _scope_line(result, verdict), ""]
    out += _provider_table(providers, seen.records, result)
    out += _severity_table(verdict.reported_by_severity())
    out += _rule_table(seen)
    out += _examples(seen.strongest, len(verdict.reported))
    out += _terms(sorted(providers), result.registry)
    out += _suppression_notes(verdict)
    out += [f"_{escape(result.registry.disclaimer)}_"]
    return out


def _strength(o: Outcome) -> tuple[bool, int, float]:
    """Strongest first: failing before the rest, then severity, then confidence."""
    return (o.status != "fail", -o.finding.severity, -o.finding.confidence)


@dataclass
class _Seen:
    """What the tables need from the reported findings, taken in one pass
    (they may be read back from disk), holding none but the examples."""

    records: Counter[str] = field(default_factory=Counter)  # flagged records per provider
    rules: Counter[str] = field(default_factory=Counter)
    first: dict[str, Finding] = field(default_factory=dict)  # each rule's first finding, for its message
    strongest: list[Outcome] = field(default_factory=list)

    @classmethod
    def of(cls, reported: Iterable[Outcome]) -> "_Seen":
        seen = cls()
        # nsmallest: as a stable sort would rank them, holding only those shown
        seen.strongest = heapq.nsmallest(MAX_EXAMPLES, seen._taking(reported), key=_strength)
        return seen

    def _taking(self, reported: Iterable[Outcome]) -> Iterator[Outcome]:
        last: dict[str, tuple[Any, ...]] = {}  # each provider's last record
        for o in reported:
            f = o.finding
            if f.provider != INPUT_PROVIDER:
                self.rules[f.rule_id] += 1
                self.first.setdefault(f.rule_id, f)
                # a record's findings come together (findings are in input
                # order): a record is counted at its first finding
                key = record_key(f)
                if last.get(f.provider) != key:
                    last[f.provider] = key
                    self.records[f.provider] += 1
            yield o


# --- headline ---------------------------------------------------------------------

def _verdict_line(verdict: "Verdict") -> str:
    failing = len(verdict.failing)
    if failing:
        return (f"**Result: fails.** {failing} finding(s) are at or above the *{verdict.fail_on}* "
                f"severity threshold, so this check fails.")
    if verdict.fail_on == "never":
        return "**Result: passes** (this check is set never to fail; the findings below are for information)."
    return f"**Result: passes.** No finding is at or above the *{verdict.fail_on}* severity threshold."


def _scope_line(result: "ScanResult", verdict: "Verdict") -> str:
    s = result.stats
    text = (f"Scanned {s.records:,} record(s) in {s.files:,} file(s); {s.records_flagged:,} record(s) "
            f"({_share(s.records_flagged, s.records)}) flagged, {len(verdict.reported):,} finding(s) reported.")
    inputs = verdict.reported_by_provider()[INPUT_PROVIDER]
    if inputs:
        text += f" **{inputs:,} input problem(s)** (unreadable lines or files): those records were not checked."
    if s.hidden_skipped:
        text += f" {s.hidden_skipped:,} hidden file(s) or folder(s) (names starting with '.') were not scanned."
    if s.unknown_type_skipped:
        text += (f" {s.unknown_type_skipped:,} other file(s) were not scanned: no reader knows their names "
                 "(the manifest lists them).")
    quiet = [f"{verdict.count(st):,} {st}" for st in _NOT_REPORTED if verdict.count(st)]
    if quiet:
        text += f" Not reported: {', '.join(quiet)}."
    return text


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f} %" if whole else "n/a"


# --- tables -----------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out + [""]


def _provider_table(counts: Counter[str], records: Counter[str], result: "ScanResult") -> list[str]:
    if not counts:
        return ["No provider findings.", ""]
    rows = []
    for pid, n in counts.most_common():
        entry = result.registry.get(pid)
        name = entry.name if entry else pid
        rows.append([escape(name), escape(entry.classification if entry else "unverified"), str(n),
                     str(records[pid]), _share(records[pid], result.stats.records)])
    return ["### By provider", ""] + _table(
        ["Provider", "Terms classification", "Findings", "Records", "Share of records"], rows)


def _severity_table(counts: Counter[Severity]) -> list[str]:
    rows = [[sev.label, str(counts[sev])] for sev in sorted(Severity, reverse=True) if counts[sev]]
    return (["### By severity", ""] + _table(["Severity", "Findings"], rows)) if rows else []


def _rule_table(seen: _Seen) -> list[str]:
    first = seen.first
    rows = [[escape(rid), escape(first[rid].provider), first[rid].severity.label, str(n), escape(first[rid].message)]
            for rid, n in seen.rules.most_common(TOP_RULES)]
    return (["### Top rules", ""] + _table(["Rule", "Provider", "Severity", "Findings", "What it means"], rows)) if rows else []


# --- examples -----------------------------------------------------------------------

def _examples(strongest: list[Outcome], reported: int) -> list[str]:
    rows = [[escape(o.finding.location.display()), escape(o.finding.rule_id), o.finding.severity.label,
             o.status, snippet(o.finding)] for o in strongest]
    if not rows:
        return []
    title = f"### Examples ({len(rows)} of {reported})"
    return [title, ""] + _table(["Where", "Rule", "Severity", "Status", "Evidence"], rows)


def snippet(f: Finding) -> str:
    """The snippet cut to about SNIPPET_CHARS around the match, the match in bold."""
    if not f.snippet:
        return escape(f.message)
    lo, hi = f.highlight
    if not 0 <= lo <= hi <= len(f.snippet):
        lo = hi = 0
    room = max(0, SNIPPET_CHARS - (hi - lo)) // 2
    start, end = max(0, lo - room), min(len(f.snippet), hi + room)
    core = f.snippet[lo:hi]
    # Spaces stay outside the `**`: "** x**" is not bold in CommonMark.
    lead, trail = core[: len(core) - len(core.lstrip())], core[len(core.rstrip()):]
    before = ("…" if start > 0 else "") + f.snippet[start:lo] + lead
    after = trail + f.snippet[hi:end] + ("…" if end < len(f.snippet) else "")
    match = f"**{escape(core.strip())}**" if core.strip() else ""
    return escape(before).lstrip() + match + escape(after).rstrip()


def escape(text: str) -> str:
    """Plain text safe inside a table cell: one line, control characters
    written `\\xNN`, Markdown and HTML characters backslash-escaped,
    @-mentions broken with a word joiner."""
    flat = printable(_WHITESPACE.sub(" ", text))  # keeps edge spaces: callers join pieces
    escaped = "".join("\\" + c if c in _MD_SPECIAL else c for c in flat)
    return escaped.replace("@", "@\u2060")


# --- terms and notes ----------------------------------------------------------------

def _terms(providers: list[str], registry: "Registry") -> list[str]:
    out: list[str] = []
    for pid in providers:
        entry = registry.get(pid)
        if entry is None:
            continue
        out.append(f"**{escape(entry.name)}** ({escape(entry.classification)}):")
        for t in entry.terms:
            out.append(f"- [{escape(t.document)}](<{t.url}>), effective {escape(t.effective_date)}, "
                       f"{escape(t.classification)}, reviewed {escape(t.reviewed_on)}: {escape(t.summary)}")
        out.append("")
    return (["### Terms cited", ""] + out) if out else []


def _suppression_notes(verdict: "Verdict") -> list[str]:
    notes = [f"- unused suppression: {escape(s.source)} ({escape(s.reason)})" for s in verdict.unused_suppressions]
    notes += [f"- expired waiver, no longer applied: {escape(s.source)} (expired {s.expires})"
              for s in verdict.expired_suppressions]
    return (["### Suppressions to review", ""] + notes + [""]) if notes else []
