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

import re
from collections import Counter
from typing import TYPE_CHECKING, TextIO

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
    reported = verdict.reported
    findings = [o.finding for o in reported if o.finding.provider != INPUT_PROVIDER]
    out = ["## tos-lint report", "", _verdict_line(verdict), "", _scope_line(result, verdict), ""]
    out += _provider_table(findings, result)
    out += _severity_table(reported)
    out += _rule_table(findings)
    out += _examples(reported)
    out += _terms(findings, result.registry)
    out += _suppression_notes(verdict)
    out += [f"_{escape(result.registry.disclaimer)}_"]
    return out


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
    inputs = sum(1 for o in verdict.reported if o.finding.provider == INPUT_PROVIDER)
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


def _record_key(f: Finding) -> tuple[str, int | None, int | None, str]:
    loc = f.location
    return (loc.path, loc.line, loc.index, loc.record_id)


def _provider_table(findings: list[Finding], result: "ScanResult") -> list[str]:
    if not findings:
        return ["No provider findings.", ""]
    counts = Counter(f.provider for f in findings)
    records: dict[str, set[tuple[str, int | None, int | None, str]]] = {}
    for f in findings:
        records.setdefault(f.provider, set()).add(_record_key(f))
    rows = []
    for pid, n in counts.most_common():
        entry = result.registry.get(pid)
        name = entry.name if entry else pid
        rows.append([escape(name), escape(entry.classification if entry else "unverified"), str(n),
                     str(len(records[pid])), _share(len(records[pid]), result.stats.records)])
    return ["### By provider", ""] + _table(
        ["Provider", "Terms classification", "Findings", "Records", "Share of records"], rows)


def _severity_table(reported: list[Outcome]) -> list[str]:
    counts = Counter(o.finding.severity for o in reported)
    rows = [[sev.label, str(counts[sev])] for sev in sorted(Severity, reverse=True) if counts[sev]]
    return (["### By severity", ""] + _table(["Severity", "Findings"], rows)) if rows else []


def _rule_table(findings: list[Finding]) -> list[str]:
    counts = Counter(f.rule_id for f in findings)
    first = {f.rule_id: f for f in reversed(findings)}  # any finding of the rule, for its message
    rows = [[escape(rid), escape(first[rid].provider), first[rid].severity.label, str(n), escape(first[rid].message)]
            for rid, n in counts.most_common(TOP_RULES)]
    return (["### Top rules", ""] + _table(["Rule", "Provider", "Severity", "Findings", "What it means"], rows)) if rows else []


# --- examples -----------------------------------------------------------------------

def _examples(reported: list[Outcome]) -> list[str]:
    # Strongest first: failing before the rest, then severity, then confidence.
    ranked = sorted(reported, key=lambda o: (o.status != "fail", -o.finding.severity, -o.finding.confidence))
    rows = [[escape(o.finding.location.display()), escape(o.finding.rule_id), o.finding.severity.label,
             o.status, snippet(o.finding)] for o in ranked[:MAX_EXAMPLES]]
    if not rows:
        return []
    title = f"### Examples ({len(rows)} of {len(reported)})"
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

def _terms(findings: list[Finding], registry: "Registry") -> list[str]:
    out: list[str] = []
    for pid in sorted({f.provider for f in findings}):
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
