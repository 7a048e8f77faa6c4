"""The records, hits and findings that flow through the pipeline.

Data flows one way: readers make `Record`s, detectors turn a record into
`Hit`s, the engine stamps each hit into a `Finding`.
"""
from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from tos_lint.spool import RowCodec, Spool


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> "Severity":
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {value!r}; expected one of {', '.join(s.label for s in cls)}"
            ) from None


ROLES = ("system", "user", "assistant", "tool", "unknown")
PROMPT_ROLES = frozenset({"system", "user"})  # what is sent to a model, not what it wrote


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of text in a record, with who said it and where it sits."""

    role: str
    pointer: str  # RFC 6901 JSON pointer into the record
    text: str


@dataclass(frozen=True, slots=True)
class Source:
    path: str
    line: int | None = None  # 1-based line, for line-oriented files
    index: int | None = None  # 0-based position, for arrays and tables


@dataclass(slots=True)
class Record:
    source: Source
    segments: list[Segment]
    data: Any  # the parsed record as read (field rules and metadata look here)
    format: str
    own_id: str | None = None  # the record's own id field, where it has one
    _hash: str | None = None
    readings: Any = None  # other readings of a record that repeats a key (tos_lint.dupkeys.Readings)
    _id: str | None = None

    @property
    def content_hash(self) -> str:
        """Hash of the record's canonical JSON: stable under re-indenting and
        key order. Computed only for records that have findings."""
        if self._hash is None:
            from tos_lint import deepjson

            try:
                canonical = deepjson.dumps(self.data, sort_keys=True)
            except TypeError:
                canonical = repr(self.data).encode("utf-8", "surrogatepass")
            self._hash = sha256_hex(canonical)
        return self._hash

    @property
    def key(self) -> str:
        """What its findings' fingerprints are made from: its own id, or its content hash."""
        return self.own_id if self.own_id is not None else self.content_hash

    @property
    def id(self) -> str:
        # made once: each finding of the record holds it, one string for all
        if self._id is None:
            self._id = self.own_id if self.own_id is not None else "sha256:" + self.content_hash[:16]
        return self._id

    @property
    def metadata(self) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            return {}
        text_keys = {s.pointer.split("/")[1] for s in self.segments if s.pointer.count("/") >= 1}
        return {k: v for k, v in self.data.items() if k not in text_keys}


@dataclass(frozen=True, slots=True)
class Hit:
    """What a detector found: which rule, where in the record, what matched."""

    rule_id: str
    pointer: str
    start: int = 0  # offsets into the segment's original text
    end: int = 0
    matched: str = ""
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Location:
    path: str
    line: int | None
    index: int | None
    pointer: str
    record_id: str

    def display(self) -> str:
        where = f":{self.line}" if self.line is not None else (
            f"[{self.index}]" if self.index is not None else ""
        )
        return f"{self.path}{where}"


NO_DETAIL: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    provider: str
    severity: Severity
    confidence: float
    evidence: str
    message: str
    location: Location
    snippet: str = ""
    highlight: tuple[int, int] = (0, 0)  # span of the match inside `snippet`
    fingerprint: str = ""
    # Never changed in place (a finding is a value; `replace` makes another):
    # findings without detail share one empty dict, a saving per finding
    # that counts when a scan holds millions.
    detail: dict[str, Any] = field(default_factory=lambda: NO_DETAIL)

    def to_dict(self) -> dict[str, Any]:
        loc = self.location
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "provider": self.provider,
            "severity": self.severity.label,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "message": self.message,
            "location": {
                "path": loc.path,
                "line": loc.line,
                "index": loc.index,
                "pointer": loc.pointer,
                "record_id": loc.record_id,
            },
            "snippet": self.snippet,
            "highlight": list(self.highlight),
            "fingerprint": self.fingerprint,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


def finding_row(f: Finding) -> tuple[Any, ...]:
    """A finding as a tuple of plain values, for a spool to write to disk."""
    loc = f.location
    return (f.rule_id, f.provider, int(f.severity), f.confidence, f.evidence, f.message,
            loc.path, loc.line, loc.index, loc.pointer, loc.record_id,
            f.snippet, f.highlight, f.fingerprint, f.detail or None)


_SEVERITIES = tuple(Severity)


def finding_from_row(row: tuple[Any, ...]) -> Finding:
    (rule_id, provider, severity, confidence, evidence, message,
     path, line, index, pointer, record_id, snippet, highlight, fingerprint, detail) = row
    return Finding(rule_id, provider, _SEVERITIES[severity], confidence, evidence, message,
                   Location(path, line, index, pointer, record_id), snippet, highlight, fingerprint,
                   detail if detail is not None else NO_DETAIL)


FINDING_CODEC: RowCodec[Finding] = RowCodec(finding_row, finding_from_row)


def finding_spool(findings: Iterable[Finding] = (), order: Callable[[Finding], Any] | None = None) -> Spool[Finding]:
    """A list of findings that keeps a bounded number in memory (`tos_lint.spool`)."""
    return Spool(findings, codec=FINDING_CODEC, order=order)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def finding_fingerprint(rule_id: str, record_key: str, pointer: str, matched: str) -> str:
    """A finding's identity that survives re-ordering, re-indenting and moves.

    It leaves out path and line on purpose: a record moved to another line or
    to another shard of the same dataset is the same finding.
    """
    key = "\x1f".join((rule_id, record_key, pointer, matched.casefold()))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
