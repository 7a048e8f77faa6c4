"""The engine: readers -> records -> detectors -> hits -> stamped findings.

It alone turns a detector's hit into a `Finding`: it stamps the rule's id,
provider, severity and confidence, the location, a snippet and a
fingerprint. It knows nothing of what fails (policy) or of output formats.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Container, Iterable, Iterator, Sequence

from tos_lint.adapters import DIRECTIVE_KEY, adapt, mapped_pointer, own_id, resolve_pointer, top_level_field
from tos_lint.detect import RuleSet
from tos_lint.model import (
    NO_DETAIL, Finding, Hit, Location, Record, Severity, Source, finding_fingerprint, finding_spool,
)
from tos_lint.policy import INPUT_RULE_PREFIX
from tos_lint.prefilter import LinePrefilter
from tos_lint.readers import DecompressLimits, FileStats, InputFile, InputIssue, RawRecord, ReadOptions, read_input
from tos_lint.registry import INPUT_PROVIDER, Registry
from tos_lint.sampling import SampleSpec, sample
from tos_lint.spool import Spool
from tos_lint.tabular import columns_for_field_map

SNIPPET_CONTEXT = 60
SNIPPET_MAX_MATCH = 120


@dataclass
class EngineOptions:
    force_format: str | None = None
    field_map: dict[str, list[str]] | None = None
    max_record_bytes: int = 64 << 20
    limits: DecompressLimits | None = None  # decompression caps (None: the defaults)
    prefilter: bool = True
    sample: SampleSpec | None = None
    indexes: tuple[str, ...] = ()  # near-duplicate reference indexes (paths or redis:// locations)


def input_order(finding: Finding) -> tuple[int, int]:
    """Where a finding's record sits in its file: the order findings are reported in."""
    return (finding.location.line or 0, finding.location.index or 0)


def _file_findings() -> Spool[Finding]:
    return finding_spool(order=input_order)


@dataclass
class FileResult:
    path: str
    stats: FileStats
    # The file's findings, in input order. `tos_lint.scan` moves them into
    # the scan's own as each file is done (`ScanResult.findings`).
    findings: Spool[Finding] = field(default_factory=_file_findings)
    flagged_records: int = 0
    sampled: int | None = None  # records scanned, when sampling
    mapped_records: int = 0  # with a field map: records that hold one of its keys


class FieldMapWatch:
    """Whether a file's records hold any key of the field map. Until one
    does, every line is read whole (the raw-line prefilter would skip
    records unseen): a file whose records hold none of the keys is read in
    full, to say so, rather than scanned for nothing in silence."""

    def __init__(self, field_map: dict[str, list[str]], prefilter: LinePrefilter | None):
        self.pointers = [mapped_pointer(k) for keys in field_map.values() for k in keys]
        self.prefilter = prefilter
        self.seen = False

    def holds_a_key(self, data: Any) -> bool:
        found = isinstance(data, dict) and any(resolve_pointer(data, p) is not None for p in self.pointers)
        self.seen = self.seen or found
        return found

    def may_match(self, line: bytes) -> bool:
        return not self.seen or self.prefilter is None or self.prefilter.may_match(line)

    def candidate_lines(self, block: bytes, lines: Sequence[bytes]) -> Container[int] | None:
        return self.prefilter.candidate_lines(block, lines) if self.seen and self.prefilter is not None else None


class Engine:
    def __init__(self, ruleset: RuleSet, options: EngineOptions | None = None, registry: Registry | None = None):
        self.ruleset = ruleset
        self.options = options or EngineOptions()
        self.prefilter = LinePrefilter.build(ruleset) if self.options.prefilter else None
        # The prefilter's patterns judge a normalised segment too (whatever
        # read it: lines, tables, documents), before the match database does.
        self.segment_filter = self.prefilter.may_match_text if self.prefilter is not None else None
        self.neardup = _neardup_detector(self.options.indexes, registry)
        # tabular inputs: what must be read besides the columns that can hold text
        self.columns = columns_for_field_map(self.options.field_map)
        self.field_names = frozenset(top_level_field(item.key) for i in ruleset.field_rules for item in ruleset.rules[i].items)

    def scan_file(self, inp: InputFile, only_lines: frozenset[int] | None = None) -> FileResult:
        """Scan one file; `only_lines` restricts a line-oriented file to
        those 1-based lines (changed-only scans)."""
        stats = FileStats()
        watch = self.field_map_watch()
        return self.scan_items(inp, read_input(inp, stats, self.read_options(only_lines, watch)), stats, watch)

    def field_map_watch(self) -> FieldMapWatch | None:
        """A watch for one file (or range) read with a field map, else None:
        give it to `read_options` and `scan_items` alike."""
        if not self.options.field_map:
            return None
        return FieldMapWatch(self.options.field_map, self.prefilter if self._prefiltered() else None)

    def read_options(self, only_lines: frozenset[int] | None, watch: FieldMapWatch | None = None) -> ReadOptions:
        # with a field map, its watch stands between the prefilter and the reader
        lines = (watch or self.prefilter) if self._prefiltered() else None
        return ReadOptions(
            max_record_bytes=self.options.max_record_bytes,
            limits=self.options.limits,
            line_filter=lines.may_match if lines is not None else None,
            block_filter=lines.candidate_lines if lines is not None else None,
            only_lines=only_lines,
            columns=self.columns,
            field_names=self.field_names,
        )

    def _prefiltered(self) -> bool:
        # a sample is drawn from every record, and near-duplicate matching
        # needs every record: then none may be filtered out unseen
        return self.prefilter is not None and self.options.sample is None and self.neardup is None

    def scan_items(self, inp: InputFile, items: Iterable[RawRecord | InputIssue], stats: FileStats,
                   watch: FieldMapWatch | None = None) -> FileResult:
        """Scan what a reader yields: records, and input problems as findings.
        `watch`: the one `read_options` was given, with a field map."""
        result = FileResult(inp.path, stats)
        records = self._records(items, inp.path, result)
        if watch is not None:
            records = self._mapped(records, watch, result)
        if self.options.sample is not None:
            result.sampled = 0
            records = self._counted(sample(records, self.options.sample, inp.path), result)
        for record, neardup_hits in self._with_neardup(self.make_record(inp.path, item) for item in records):
            found = list(self.scan_record(record)) + [self.stamp_neardup(h, record) for h in neardup_hits]
            found = _with_directive(found, record, result)
            if found:
                result.flagged_records += 1
                result.findings.extend(found)
        # near-duplicate matching works in batches: keep findings in input
        # order (free when they came in it, the usual case)
        result.findings.sort(key=input_order)
        return result

    def _with_neardup(self, records: Iterator[Record]) -> Iterator[tuple[Record, list[Hit]]]:
        if self.neardup is None:
            return ((r, []) for r in records)
        return self.neardup.detect_stream(records)  # type: ignore[no-any-return]

    def stamp_neardup(self, hit: Hit, record: Record) -> Finding:
        """A near-duplicate hit as a finding: severity from the matched
        provider's terms classification and the verified similarity."""
        assert self.neardup is not None
        fields = self.neardup.finding_fields(hit)
        snippet, highlight = _snippet(record, hit)
        reference = str((hit.detail or {}).get("reference_id", ""))
        return Finding(
            rule_id=hit.rule_id, **fields, location=_location(record, hit),
            snippet=snippet, highlight=highlight,
            fingerprint=finding_fingerprint(hit.rule_id, record.key, hit.pointer, reference),
            detail=dict(hit.detail or {}),
        )

    @staticmethod
    def _records(items: Iterable[RawRecord | InputIssue], path: str, result: FileResult) -> Iterator[RawRecord]:
        """The records; input problems go straight into the result."""
        for item in items:
            if isinstance(item, InputIssue):
                result.findings.append(input_finding(path, item))
            else:
                yield item

    @staticmethod
    def _mapped(records: Iterable[RawRecord], watch: FieldMapWatch, result: FileResult) -> Iterator[RawRecord]:
        for record in records:
            result.mapped_records += watch.holds_a_key(record.data)
            yield record

    @staticmethod
    def _counted(records: Iterable[RawRecord], result: FileResult) -> Iterator[RawRecord]:
        for record in records:
            result.sampled = (result.sampled or 0) + 1
            yield record

    def make_record(self, path: str, raw: RawRecord) -> Record:
        fmt, segments = adapt(raw.data, self.options.force_format, self.options.field_map)
        return Record(Source(path, raw.line, raw.index), segments, raw.data, fmt, own_id(raw.data), readings=raw.readings)

    def scan_record(self, record: Record) -> Iterator[Finding]:
        found = [self.stamp(hit, record) for hit in self.ruleset.detect(record, self.segment_filter)]
        yield from found
        if record.readings is not None:
            yield from self._hidden_findings(record, {f.fingerprint for f in found})

    def _hidden_findings(self, record: Record, seen: set[str]) -> Iterator[Finding]:
        """Findings in the values a repeated key hides (`tos_lint.dupkeys`):
        each other reading of the record is scanned as the same record (same
        fingerprint key), and what it adds is reported with a `duplicate-key`
        input finding that says why the text is not where a parser looks.
        `seen`: the fingerprints the record's own reading already gave."""
        readings = record.readings
        assert readings is not None
        added: list[Finding] = []
        for data in readings.variants:
            fmt, segments = adapt(data, self.options.force_format, self.options.field_map)
            other = Record(record.source, segments, data, fmt, record.own_id, record.content_hash)
            for hit in self.ruleset.detect(other, self.segment_filter):
                finding = self.stamp(hit, other)
                if finding.fingerprint not in seen:
                    seen.add(finding.fingerprint)
                    added.append(finding)
        if added or readings.unread:
            src = record.source
            what = "an earlier value holds the findings that follow" if added else "no earlier value scanned holds a finding"
            message = f"{readings.describe()}; JSON parsers keep only the last value: {what}"
            yield input_finding(src.path, InputIssue("duplicate-key", message, src.line, src.index))
        yield from added

    def stamp(self, hit: Hit, record: Record) -> Finding:
        rule = self.ruleset.by_id[hit.rule_id]
        snippet, highlight = _snippet(record, hit)
        return Finding(
            rule_id=rule.id, provider=rule.provider, severity=rule.severity,
            confidence=rule.confidence, evidence=rule.evidence, message=rule.message,
            location=_location(record, hit), snippet=snippet, highlight=highlight,
            fingerprint=finding_fingerprint(rule.id, record.key, hit.pointer, hit.matched),
            detail=dict(hit.detail) if hit.detail else NO_DETAIL,
        )


def _neardup_detector(indexes: tuple[str, ...], registry: Registry | None) -> Any:
    """The near-duplicate detector for these indexes, imported only when used."""
    if not indexes:
        return None
    from tos_lint.neardup import NearDupDetector, open_indexes
    from tos_lint.registry import load_registry

    return NearDupDetector(open_indexes(list(indexes)), registry or load_registry())


def _with_directive(found: list[Finding], record: Record, result: FileResult) -> list[Finding]:
    """Stamp the record's own suppressions (its `_tos_lint` field) on its
    findings; policy decides what they do. A malformed directive is reported."""
    directive = record.data.get(DIRECTIVE_KEY) if isinstance(record.data, dict) else None
    if directive is None:
        return found
    ignore = directive.get("ignore") if isinstance(directive, dict) else None
    if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
        src = record.source
        issue = InputIssue("bad-directive", f'"{DIRECTIVE_KEY}" must be {{"ignore": [rule ids], "reason": "..."}}; it was not applied', src.line, src.index)
        result.findings.append(input_finding(src.path, issue))
        return found
    reason = str(directive.get("reason", ""))
    return [replace(f, detail={**f.detail, "inline_ignore": tuple(ignore), "inline_reason": reason}) for f in found]


def field_map_finding(result: FileResult, field_map: dict[str, list[str]] | None) -> Finding | None:
    """For a file whose records hold none of the field map's keys, a
    finding that says so: nothing in it was scanned."""
    if not field_map or not result.stats.records or result.mapped_records:
        return None
    keys = ", ".join(k for ks in field_map.values() for k in ks)
    issue = InputIssue("field-map-unmatched", f"none of this file's {result.stats.records} record(s) holds a key of "
                       f"the field map ({keys}): nothing in it was scanned; check field-map in the configuration")
    return input_finding(result.path, issue)


def input_finding(path: str, issue: InputIssue) -> Finding:
    rule_id = INPUT_RULE_PREFIX + issue.code
    location = Location(path, issue.line, issue.index, "", "")
    where = f"{issue.line}" if issue.line is not None else f"[{issue.index}]"
    return Finding(
        rule_id=rule_id, provider=INPUT_PROVIDER, severity=Severity.MEDIUM, confidence=1.0,
        evidence="input", message=issue.message, location=location,
        fingerprint=finding_fingerprint(rule_id, path, where, issue.code),
    )


def _location(record: Record, hit: Hit) -> Location:
    src = record.source
    # interned: the same few pointers (`/messages/1/content`) recur in every record
    return Location(src.path, src.line, src.index, sys.intern(hit.pointer), record.id)


def _snippet(record: Record, hit: Hit) -> tuple[str, tuple[int, int]]:
    """A short window of original text around the match, with the match's span."""
    segment = next((s for s in record.segments if s.pointer == hit.pointer), None)
    if segment is None:
        text = f"{hit.pointer.rsplit('/', 1)[-1]}: {hit.matched}"
        return text, (len(text) - len(hit.matched), len(text))
    text = segment.text
    end = min(hit.end, hit.start + SNIPPET_MAX_MATCH)
    lo = max(0, hit.start - SNIPPET_CONTEXT)
    hi = min(len(text), end + SNIPPET_CONTEXT)
    prefix = "…" if lo > 0 else ""
    body = text[lo:hi]
    snippet = (prefix + body + ("…" if hi < len(text) else "")).replace("\n", " ").replace("\r", " ")
    start = len(prefix) + hit.start - lo
    return snippet, (start, start + end - hit.start)


def count_by(findings: list[Finding], key: str) -> Counter[str]:
    return Counter(getattr(f, key) if key != "severity" else f.severity.label for f in findings)
