"""`--format sarif`: SARIF 2.1.0 for code-scanning UIs (GitHub, Azure DevOps, ...).

One run. What goes where, and why:

- `tool.driver.rules`: one descriptor per rule with a result in the log, with
  the rule's description and the provider's terms entries as help text, so a
  reviewer sees which clause a finding may touch without leaving the UI.
- `results`: every reported outcome (status fail, pass, review), plus the
  baselined and suppressed ones **with a `suppressions` entry** (kind
  `external` for the baseline and allowlists/waivers, `inSource` for a
  record's own `_tos_lint` field). Code-scanning tools then show them as
  dismissed instead of re-opening them. Outcomes that configuration turned
  off (`allowed` stance, `ignored` rules) are not results.
- Input problems (`tos-lint.input.*`) are results like any other and are
  also listed in `invocations[0].toolExecutionNotifications`, whatever their
  status, because a run that could not read part of its input must say so.
- Locations: a relative URI with forward slashes and `region.startLine` for
  line-oriented files; for records in a JSON array (no line) a logical
  location whose `fullyQualifiedName` is the JSON pointer into the file
  (`/3/messages/1/content`), since SARIF forbids `startLine` 0.
- `partialFingerprints["tosLintFingerprint/v1"]` is our line-independent
  fingerprint, so alerts survive re-ordering just as baselines do.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TextIO
from urllib.parse import quote

from tos_lint.model import Finding, Severity
from tos_lint.pathnames import unshown
from tos_lint.policy import INPUT_RULE_PREFIX, Outcome, rule_matches
from tos_lint.reporters import write_json

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.packs import Rule
    from tos_lint.policy import Suppression, Verdict
    from tos_lint.registry import Registry

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "tosLintFingerprint/v1"
STDIN = "<stdin>"  # the path readers give to records read from standard input
LEVELS = {
    Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
    Severity.LOW: "note", Severity.INFO: "note",
}
# Statuses that become results; the suppressed kinds carry a `suppressions` entry.
RESULT_STATUSES = frozenset({"fail", "pass", "review", "baseline", "suppressed"})
# Input problems after which the record was still scanned: a warning, not an error.
_SCANNED_ANYWAY = frozenset({"invalid-utf8", "bad-directive"})


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    doc, results = _log(result, verdict)
    write_json(stream, doc, results, doc["runs"][0]["results"])


def document(result: "ScanResult", verdict: "Verdict") -> dict[str, Any]:
    """The whole SARIF log as a dict (tests validate it against the schema)."""
    doc, results = _log(result, verdict)
    doc["runs"][0]["results"].extend(results)
    return doc


def _log(result: "ScanResult", verdict: "Verdict") -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The log with an empty results list, and its results, made as they are read."""
    samples, inputs = _samples_and_inputs(verdict)
    rule_ids = sorted(samples)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = _rules_by_id(result)
    descriptors = [_descriptor(rid, rules.get(rid), samples[rid], result.registry) for rid in rule_ids]
    run: dict[str, Any] = {
        "tool": {"driver": _driver(result, descriptors)},
        "invocations": [_invocation(inputs, verdict)],
        "results": [],
        "columnKind": "unicodeCodePoints",
        "properties": _run_properties(result, verdict),
    }
    results = (_result(o, index[o.finding.rule_id]) for o in _listed(verdict))
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, results


def _samples_and_inputs(verdict: "Verdict") -> tuple[dict[str, Finding], list[Finding]]:
    """One pass over the outcomes (they may be read back from disk): a
    finding of each rule the log lists, and every input problem, whatever
    its status."""
    samples: dict[str, Finding] = {}
    inputs: list[Finding] = []
    for o in verdict.outcomes:
        if o.status in RESULT_STATUSES:
            samples[o.finding.rule_id] = o.finding
        if o.finding.rule_id.startswith(INPUT_RULE_PREFIX):
            inputs.append(o.finding)
    return samples, inputs


def _listed(verdict: "Verdict") -> Iterator["Outcome"]:
    """The outcomes the log lists, read anew each time (they may be on disk)."""
    return (o for o in verdict.outcomes if o.status in RESULT_STATUSES)


def _rules_by_id(result: "ScanResult") -> dict[str, "Rule"]:
    return {r.id: r for pack in result.packs for r in pack.rules}


def _driver(result: "ScanResult", descriptors: list[dict[str, Any]]) -> dict[str, Any]:
    driver: dict[str, Any] = {"name": "tos-lint", "version": result.version, "semanticVersion": result.version}
    uri = information_uri()
    if uri:  # omitted, not invented, while the package declares no home page
        driver["informationUri"] = uri
    driver["rules"] = descriptors
    return driver


def information_uri() -> str | None:
    """The home page the installed package declares (`[project.urls]`), if any."""
    from importlib import metadata

    try:
        meta = metadata.metadata("tos-lint")
    except metadata.PackageNotFoundError:
        return None
    urls = dict(_split_url(u) for u in meta.get_all("Project-URL") or [])
    home = urls.get("homepage") or urls.get("repository") or (meta["Home-page"] if "Home-page" in meta else None)
    return home if home and home.startswith(("https://", "http://")) else None


def _split_url(entry: str) -> tuple[str, str]:
    label, _, url = entry.partition(",")
    return label.strip().lower(), url.strip()


# --- rules ----------------------------------------------------------------------

def _descriptor(rule_id: str, rule: "Rule | None", sample: Finding, registry: "Registry") -> dict[str, Any]:
    """A rule's descriptor from its pack; rules that no pack declares (the
    tool's own input and near-duplicate rules) are described from a finding."""
    if rule is None:
        return _descriptor_from_finding(sample, registry)
    description = rule.description or rule.message
    return {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.message},
        "fullDescription": {"text": description},
        "help": _help(description, rule.provider, registry),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "provider": rule.provider, "evidence": rule.evidence, "severity": rule.severity.label,
            "confidence": rule.confidence, "pack": rule.pack, "tags": ["tos-lint", rule.provider, rule.evidence],
        },
    }


def _descriptor_from_finding(f: Finding, registry: "Registry") -> dict[str, Any]:
    if f.rule_id.startswith(INPUT_RULE_PREFIX):
        code = f.rule_id.removeprefix(INPUT_RULE_PREFIX)
        short = f"tos-lint could not read part of its input ({code})"
        full = f"{short}. Records at this location were not scanned as written; see each result's message."
    else:
        short = full = f.message
    return {
        "id": f.rule_id,
        "name": f.rule_id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": _help(full, f.provider, registry),
        "defaultConfiguration": {"level": LEVELS[f.severity]},
        "properties": {"provider": f.provider, "evidence": f.evidence, "severity": f.severity.label,
                       "tags": ["tos-lint", f.provider, f.evidence]},
    }


def _help(description: str, provider_id: str, registry: "Registry") -> dict[str, str]:
    terms = _terms_text(provider_id, registry)
    return {
        "text": f"{description}\n\n{terms}" if terms else description,
        "markdown": _terms_markdown(description, provider_id, registry),
    }


def _terms_text(provider_id: str, registry: "Registry") -> str:
    provider = registry.get(provider_id)
    if provider is None:
        return ""
    lines = [f"Terms of {provider.name} (classification: {provider.classification}):"]
    for t in provider.terms:
        lines.append(f"- {t.document} <{t.url}>, effective {t.effective_date}, "
                     f"classification {t.classification}, reviewed {t.reviewed_on}: {t.summary}")
    lines.append(registry.disclaimer)
    return "\n".join(lines)


def _terms_markdown(description: str, provider_id: str, registry: "Registry") -> str:
    provider = registry.get(provider_id)
    if provider is None:
        return description
    lines = [description, "", f"**Terms of {provider.name}** (classification: `{provider.classification}`)", ""]
    for t in provider.terms:
        lines.append(f"- [{t.document}]({t.url}), effective {t.effective_date}, "
                     f"`{t.classification}`, reviewed {t.reviewed_on}: {t.summary}")
    lines += ["", f"_{registry.disclaimer}_"]
    return "\n".join(lines)


# --- results --------------------------------------------------------------------

def _result(outcome: Outcome, rule_index: int) -> dict[str, Any]:
    f = outcome.finding
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": _message(f)},
        "locations": [location(f)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {
            "provider": f.provider, "severity": f.severity.label, "confidence": f.confidence,
            "evidence": f.evidence, "pointer": f.location.pointer, "recordId": f.location.record_id,
            "status": outcome.status, "snippet": f.snippet,
        },
    }
    if outcome.status in ("baseline", "suppressed"):
        out["suppressions"] = [_suppression(outcome)]
    return out


def _message(f: Finding) -> str:
    if f.rule_id.startswith(INPUT_RULE_PREFIX):
        return f.message
    return f"{f.message} [{f.provider}, {f.severity.label}]"


def _suppression(outcome: Outcome) -> dict[str, Any]:
    f = outcome.finding
    inline = f.detail.get("inline_ignore") or ()
    if outcome.status == "suppressed" and any(rule_matches(f.rule_id, s) for s in inline):
        return {"kind": "inSource", "justification": str(f.detail.get("inline_reason") or "record's _tos_lint field")}
    if outcome.status == "baseline":
        return {"kind": "external", "justification": "in the baseline file"}
    return {"kind": "external", "justification": outcome.reason or "allowlist entry"}


def location(f: Finding) -> dict[str, Any]:
    """A SARIF location: file and line where there is a line, else the JSON
    pointer of the record inside an array file as a logical location."""
    loc = f.location
    artifact: dict[str, Any] = {"uri": artifact_uri(loc.path)}
    if loc.path == STDIN:  # not a file in the repository, whatever the URI looks like
        artifact["description"] = {"text": "standard input"}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if loc.line is not None and loc.line >= 1:
        physical["region"] = {"startLine": loc.line}
    out: dict[str, Any] = {"physicalLocation": physical}
    pointer = f"/{loc.index}{loc.pointer}" if loc.index is not None else loc.pointer
    if pointer:
        kind = "element" if loc.index is not None and not loc.pointer else "value"
        out["logicalLocations"] = [{"fullyQualifiedName": pointer, "kind": kind}]
    if loc.index is not None:
        out["properties"] = {"index": loc.index}
    return out


def artifact_uri(path: str) -> str:
    """A relative URI with forward slashes (code scanning resolves it against
    the repository root); a path outside the working directory stays absolute."""
    return _artifact_uri(path, os.getcwd())


@functools.lru_cache(maxsize=1024)
def _artifact_uri(path: str, cwd: str) -> str:
    # cached: every result of a file has its path's URI, and pathlib's parsing
    # costs more than the rest of a result
    if path == STDIN:
        return "stdin"
    p = Path(unshown(path))  # a name that is not UTF-8: its own bytes, percent-encoded (%FF)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(Path(cwd).resolve())
        except ValueError:
            return p.as_uri()
    return quote(os.fsencode(p.as_posix()), safe="/")  # as_posix: forward slashes on Windows too


# --- invocation -----------------------------------------------------------------

def _invocation(inputs: list[Finding], verdict: "Verdict") -> dict[str, Any]:
    config = [_config_notification(s, "unused suppression, matched no finding") for s in verdict.unused_suppressions]
    config += [_config_notification(s, f"expired waiver (expired {s.expires}), no longer applied")
               for s in verdict.expired_suppressions]
    # The renderer only runs after a scan that finished: the tool itself worked,
    # whatever the exit code says about the data.
    return {
        "executionSuccessful": True,
        "exitCode": verdict.exit_code,
        "toolExecutionNotifications": [_input_notification(f) for f in inputs],
        "toolConfigurationNotifications": config,
    }


def _input_notification(f: Finding) -> dict[str, Any]:
    code = f.rule_id.removeprefix(INPUT_RULE_PREFIX)
    return {
        "descriptor": {"id": f.rule_id},
        "level": "warning" if code in _SCANNED_ANYWAY else "error",
        "message": {"text": f"{f.location.display()}: {f.message}"},
        "locations": [location(f)],
    }


def _config_notification(s: "Suppression", what: str) -> dict[str, Any]:
    return {"level": "warning", "message": {"text": f"{s.source}: {what} ({s.reason})"}}


def _run_properties(result: "ScanResult", verdict: "Verdict") -> dict[str, Any]:
    s = result.stats
    return {
        "disclaimer": result.registry.disclaimer,
        "files": s.files, "records": s.records, "recordsFlagged": s.records_flagged, "malformed": s.malformed,
        "failOn": verdict.fail_on, "failing": len(verdict.failing),
        "statuses": {status: verdict.count(status) for status in sorted(s for s, n in verdict.counts.items() if n)},
    }
