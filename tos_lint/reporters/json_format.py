"""`--format json`: one document with findings, statistics and provenance.

Schema (stable; fields are only ever added):
    {"tool": {"name", "version"}, "disclaimer", "summary": {...},
     "verdict": {"fail_on", "failing", "exit_code"},
     "findings": [{"rule_id", "provider", "severity", "confidence", "evidence",
                   "message", "location": {"path", "line", "index", "pointer",
                   "record_id"}, "snippet", "highlight", "fingerprint"}],
     "files": [{"path", "records", "records_flagged", "malformed", "bytes"}],
     "providers": {id: registry entry for each provider with findings},
     "packs": [{"name", "path", "sha256", "rules"}]}
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

import orjson

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict


def document(result: "ScanResult", verdict: "Verdict") -> dict[str, Any]:
    cited = sorted({f.provider for f in result.findings})
    return {
        "tool": {"name": "tos-lint", "version": result.version},
        "disclaimer": result.registry.disclaimer,
        "summary": result.stats.to_dict(),
        "verdict": {"fail_on": verdict.fail_on, "failing": len(verdict.failing), "exit_code": verdict.exit_code},
        "findings": [f.to_dict() for f in result.findings],
        "files": [
            {"path": r.path, "records": r.stats.records, "records_flagged": r.flagged_records,
             "malformed": r.stats.malformed, "bytes": r.stats.bytes}
            for r in result.files
        ],
        "providers": {p: result.registry.providers[p].to_dict() for p in cited if p in result.registry.providers},
        "packs": [{"name": p.name, "path": p.path, "sha256": p.sha256, "rules": len(p.rules)} for p in result.packs],
    }


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    stream.write(orjson.dumps(document(result, verdict), option=orjson.OPT_INDENT_2).decode())
    stream.write("\n")
