"""`--format json`: one document with findings, statistics and provenance.

Schema (stable; fields are only ever added):
    {"tool": {"name", "version"}, "disclaimer", "summary": {...},
     "verdict": {"fail_on", "failing", "exit_code", "statuses": {status: n},
                 "unused_suppressions": [...], "expired_suppressions": [...],
                 "active_waivers": [...]},
     "findings": [{"rule_id", "provider", "severity", "confidence", "evidence",
                   "message", "location": {"path", "line", "index", "pointer",
                   "record_id"}, "snippet", "highlight", "fingerprint",
                   "status"}],
     "files": [{"path", "records", "records_flagged", "malformed", "bytes"}],
     "providers": {id: registry entry for each provider with findings},
     "packs": [{"name", "path", "sha256", "rules"}],
     "attribution": {"files": [{"path", "records", "status", "primary",
                     "confidence", "summary", "providers": [...]}], "overall": {...}},
     "manifest": {"tool", "packs", "registry", "indexes", "inputs": [{"path",
                  "abspath", "size", "sha256", "records", "malformed"}],
                  "options", "started_at", "finished_at", "hidden_skipped": [path],
                  "unknown_type_skipped": [path]}}

Paths are shown as `tos_lint.pathnames.shown` writes them (a byte that is
not UTF-8 as `\\xNN`); `summary.hidden_skipped` counts the hidden files and
folders passed over inside the folders scanned (`manifest.hidden_skipped`
lists them), `summary.unknown_type_skipped` the files there that no reader
knows by name (`manifest.unknown_type_skipped`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, TextIO

from tos_lint.policy import STATUSES, Suppression
from tos_lint.reporters import write_json

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict


def suppression_dict(s: Suppression) -> dict[str, Any]:
    return {
        "source": s.source, "reason": s.reason, "fingerprint": s.fingerprint, "rule": s.rule,
        "paths": list(s.paths), "reviewer": s.reviewer,
        "expires": s.expires.isoformat() if s.expires else None,
    }


def verdict_dict(verdict: "Verdict") -> dict[str, Any]:
    return {
        "fail_on": verdict.fail_on, "failing": len(verdict.failing), "exit_code": verdict.exit_code,
        "statuses": {s: verdict.count(s) for s in STATUSES},
        "unused_suppressions": [suppression_dict(s) for s in verdict.unused_suppressions],
        "expired_suppressions": [suppression_dict(s) for s in verdict.expired_suppressions],
        "active_waivers": [suppression_dict(s) for s in verdict.active_waivers],
    }


def document(result: "ScanResult", verdict: "Verdict") -> dict[str, Any]:
    doc = _document(result, verdict)
    doc["findings"].extend(_findings(verdict))
    return doc


def _findings(verdict: "Verdict") -> Iterator[dict[str, Any]]:
    return (o.finding.to_dict() | {"status": o.status} for o in verdict.reported)


def _document(result: "ScanResult", verdict: "Verdict") -> dict[str, Any]:
    """The document with an empty findings list, filled by the caller."""
    cited = sorted(verdict.reported_by_provider())
    return {
        "tool": {"name": "tos-lint", "version": result.version},
        "disclaimer": result.registry.disclaimer,
        "summary": result.stats.to_dict(),
        "verdict": verdict_dict(verdict),
        "findings": [],
        "files": [
            {"path": r.path, "records": r.stats.records, "records_flagged": r.flagged_records,
             "malformed": r.stats.malformed, "bytes": r.stats.bytes}
            for r in result.files
        ],
        "providers": {p: result.registry.providers[p].to_dict() for p in cited if p in result.registry.providers},
        "packs": [{"name": p.name, "path": p.path, "sha256": p.sha256, "rules": len(p.rules)} for p in result.packs],
        "manifest": result.manifest,
        "sample": result.sample,
        "attribution": result.attribution.to_dict() if result.attribution is not None else None,
        "style_attribution": result.style_attribution,
    }


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    doc = _document(result, verdict)
    write_json(stream, doc, _findings(verdict), doc["findings"])
