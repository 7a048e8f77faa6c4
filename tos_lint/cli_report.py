"""`tos-lint report RESULTS.json`: re-render a saved JSON result in any format.

Registered on the main app by cli.py (`app.command("report")(report)`).
A scan of a large corpus takes a while; its JSON document holds everything a
report shows (findings with their status, summary, verdict, cited registry
entries, audit manifest, sample, attribution), so a reviewer can turn it into
an HTML page, a Markdown summary or SARIF later without scanning again.

The HTML page is built from the document directly (`html.render_document`),
so a re-rendered page is the page the scan would have written. Other
formats get a `ScanResult` and `Verdict` rebuilt from the document
(`from_document`): findings and their statuses exactly as saved; the counts
of findings that the JSON does not list (allowed, baseline, suppressed,
ignored) from its status counts; rule packs and the provider registry
reloaded from their paths only when the files still have the hashes the
manifest recorded (otherwise from what the document says).

`--redact` drops snippet text from every format (rule, location and
fingerprint remain); `renderer_for(name, redact)` gives `scan` the same.

Exit codes: 0 when the report is written (re-rendering never gates: the
saved verdict is shown, not applied), 2 for usage errors and for a document
that no scan wrote: a finding, its location, the summary, a file entry or a
status count of the wrong type is named with its index and key; any other
part of the wrong shape names the file.
"""
from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, TextIO

import typer

from tos_lint.cli_common import check_output, usage_errors, writing

# policy and model are small (no third-party imports): `--help` stays instant.
from tos_lint.policy import REPORTED, Suppression, Verdict, parse_expiry

if TYPE_CHECKING:  # pragma: no cover
    from tos_lint.api import ScanResult

Renderer = Callable[["ScanResult", "Verdict", TextIO], None]


def report(
    results: Path = typer.Argument(..., help="A JSON result written by `tos-lint scan --format json`."),
    output_format: str = typer.Option("html", "--format", "-f",
                                      help="html | markdown | sarif | junit | github | console | json | jsonl"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file (default: stdout)."),
    redact: bool = typer.Option(False, "--redact", help="Leave snippet text out: show rule, location and fingerprint only."),
) -> None:
    """Re-render a saved JSON result (HTML for reviewers, Markdown, SARIF, ...) without scanning again."""
    with usage_errors():
        from tos_lint.errors import UsageError
        from tos_lint.reporters import FORMATS

        if output_format not in FORMATS:
            raise UsageError(f"--format: unknown format {output_format!r} (expected one of {', '.join(FORMATS)})")
        if output is not None and output.resolve() == results.resolve():
            raise UsageError(f"--output {output} is the result being read; refusing to overwrite it")
        doc = load_document(results)
        _refuse_inputs(output, doc)
        check_output("--output", output, devices=True)
        with writing("--output", output), _invalid_report(results):
            write_output(output, lambda stream: render_document(output_format, doc, stream, redact))


@contextmanager
def _invalid_report(path: Path) -> Iterator[None]:
    """A part `load_document` does not check (the manifest, the sample, the
    attribution) of a type no scan writes: a usage error naming the file,
    not an internal error. (Written to a file, the output is not replaced.)"""
    from tos_lint.errors import UsageError

    try:
        yield
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise UsageError(f"{path}: invalid report: a field has a type or shape no scan writes "
                         f"({type(exc).__name__}: {exc}); re-create it with `tos-lint scan --format json`") from None


def _refuse_inputs(output: Optional[Path], doc: dict[str, Any]) -> None:
    """Never write over a file the saved result describes."""
    from tos_lint.errors import UsageError

    if output is None:
        return
    from tos_lint.pathnames import places

    target = output.resolve()
    for entry in (doc.get("manifest") or {}).get("inputs") or []:
        place = entry.get("abspath") if isinstance(entry, dict) else None
        if isinstance(place, str) and target in (p.resolve() for p in places(place)):
            raise UsageError(f"--output {output} is an input the result describes; refusing to overwrite it")


def load_document(path: Path) -> dict[str, Any]:
    """A saved JSON result, checked enough that every renderer can read it."""
    from tos_lint.errors import UsageError
    from tos_lint.verify import read_report

    doc = read_report(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list) or not isinstance(doc.get("summary"), dict):
        raise UsageError(f"{path}: not a JSON report of `tos-lint scan --format json` (no 'findings' and 'summary')")
    _check_findings(path, doc["findings"])
    _check_sections(path, doc)
    return doc


def _check_findings(path: Path, findings: list[Any]) -> None:
    """What every renderer relies on in each finding: an object, with a
    severity it knows how to rank and show, and fields (the location's
    line and index above all) of the types the scan writes."""
    from tos_lint.errors import UsageError
    from tos_lint.model import Severity

    labels = [s.label for s in Severity]
    for i, finding in enumerate(findings):
        if not isinstance(finding, dict):
            raise UsageError(f"{path}: invalid report: findings[{i}] is not an object")
        if finding.get("severity") not in labels:
            raise UsageError(f"{path}: invalid report: findings[{i}]: key 'severity': "
                             f"{finding.get('severity')!r} is not one of {', '.join(labels)}")
        _check_fields(path, f"findings[{i}]", finding, _FINDING_FIELDS)
        location = finding.get("location") or {}
        _check_fields(path, f"findings[{i}]", location, _LOCATION_FIELDS, "location.")
        for key, value in (("rule_id", finding.get("rule_id")), ("location.path", location.get("path"))):
            if not value:  # what a finding is, and where: shown as "None" else
                raise UsageError(f"{path}: invalid report: findings[{i}]: key {key!r}: must be a non-empty string "
                                 f"(got {value!r})")


def _check_sections(path: Path, doc: dict[str, Any]) -> None:
    """The types of the other parts the renderers count with: the
    sections, the summary's numbers, each file's and each status count."""
    from tos_lint.errors import UsageError

    _check_fields(path, "the document", doc, _SECTION_FIELDS)
    _check_fields(path, "the document", doc["summary"], _SUMMARY_FIELDS, "summary.")
    for i, entry in enumerate(doc.get("files") or []):
        if not isinstance(entry, dict):
            raise UsageError(f"{path}: invalid report: files[{i}] is not an object")
        _check_fields(path, f"files[{i}]", entry, _FILE_FIELDS)
    verdict = doc.get("verdict") or {}
    _check_fields(path, "verdict", verdict, _VERDICT_FIELDS)
    statuses = verdict.get("statuses")
    _check_fields(path, "verdict", statuses or {}, tuple((k, _count, _COUNT) for k in statuses or {}), "statuses.")


def _check_fields(path: Path, where: str, obj: dict[str, Any], spec: tuple[tuple[str, Any, str], ...],
                  prefix: str = "") -> None:
    from tos_lint.errors import UsageError

    for key, ok, want in spec:
        if not ok(obj.get(key)):
            raise UsageError(f"{path}: invalid report: {where}: key {prefix + key!r}: must be {want} "
                             f"(got {obj.get(key)!r})")


def _text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _count(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _span(value: Any) -> bool:
    return value is None or (isinstance(value, list) and len(value) == 2 and all(_count(v) and v is not None for v in value))


def _mapping(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _list(value: Any) -> bool:
    return value is None or isinstance(value, list)


_TEXT, _COUNT = "a string or null", "a whole number of at least 0, or null"
_FINDING_FIELDS = (
    ("rule_id", _text, _TEXT), ("provider", _text, _TEXT), ("evidence", _text, _TEXT), ("message", _text, _TEXT),
    ("snippet", _text, _TEXT), ("fingerprint", _text, _TEXT), ("status", _text, _TEXT),
    ("confidence", _number, "a number or null"), ("highlight", _span, "a list of two whole numbers"),
    ("detail", _mapping, "an object"), ("location", _mapping, "an object"),
)
_LOCATION_FIELDS = (
    ("path", _text, _TEXT), ("line", _count, _COUNT), ("index", _count, _COUNT),
    ("pointer", _text, _TEXT), ("record_id", _text, _TEXT),
)
_OBJECT, _LIST = "an object or null", "a list or null"
_SECTION_FIELDS = tuple((k, _mapping, _OBJECT) for k in ("tool", "verdict", "manifest", "providers", "sample",
                                                          "attribution", "style_attribution")) + \
    tuple((k, _list, _LIST) for k in ("files", "packs"))
_SUMMARY_FIELDS = tuple((k, _count, _COUNT) for k in ("files", "records", "records_flagged", "malformed", "bytes",
                                                      "hidden_skipped", "unknown_type_skipped")) + \
    (("seconds", _number, "a number or null"),) + tuple((k, _mapping, _OBJECT) for k in ("by_provider", "by_rule", "by_severity"))
_FILE_FIELDS = (("path", _text, _TEXT),) + tuple((k, _count, _COUNT) for k in ("records", "records_flagged", "malformed", "bytes"))
_VERDICT_FIELDS = (("statuses", _mapping, "an object"),)


def render_document(name: str, doc: Mapping[str, Any], stream: TextIO, redact: bool = False) -> None:
    """Write `doc` (a saved JSON result) in format `name`."""
    if name == "html":
        from tos_lint.reporters import html

        html.render_document(doc, stream, redact=redact)
        return
    doc = redact_document(doc) if redact else doc
    if name == "json":  # the document itself: a saved result round-trips unchanged
        import orjson

        stream.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    from tos_lint.reporters import get_renderer

    result, verdict = from_document(doc)
    get_renderer(name)(result, verdict, stream)


def renderer_for(name: str, redact: bool = False) -> Renderer:
    """The renderer `scan` uses for `--format name [--redact]`."""
    from tos_lint.reporters import get_renderer

    render = get_renderer(name)
    if not redact:
        return render
    if name == "html":
        from tos_lint.reporters import html

        return lambda result, verdict, stream: html.render(result, verdict, stream, redact=True)
    return lambda result, verdict, stream: render(*redact_scan(result, verdict), stream)


# --- redaction ------------------------------------------------------------------------

def redact_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `doc` whose findings carry no snippet text."""
    out = dict(doc)
    out["findings"] = [f | {"snippet": "", "highlight": [0, 0]} if isinstance(f, dict) else f
                       for f in doc.get("findings") or []]
    return out


def redact_scan(result: "ScanResult", verdict: "Verdict") -> tuple["ScanResult", "Verdict"]:
    """The same result and verdict with every finding's snippet removed."""
    from tos_lint.model import finding_spool
    from tos_lint.policy import OUTCOME_CODEC, Outcome
    from tos_lint.spool import Spool

    def blank(f: Any) -> Any:
        return dataclasses.replace(f, snippet="", highlight=(0, 0))

    # spools, as the scan's own: a redacted report of millions of findings holds no more of them
    new_result = dataclasses.replace(result, findings=finding_spool(blank(f) for f in result.findings))
    outcomes = Spool((Outcome(blank(o.finding), o.status, o.reason) for o in verdict.outcomes), codec=OUTCOME_CODEC)
    return new_result, dataclasses.replace(verdict, outcomes=outcomes)


# --- rebuilding a result from its document ------------------------------------------------

def from_document(doc: Mapping[str, Any]) -> tuple["ScanResult", "Verdict"]:
    """A `ScanResult` and `Verdict` that render as the scan's own did."""
    from tos_lint.api import ScanResult

    findings = [_finding(f) for f in doc.get("findings") or []]
    statuses = [str(f.get("status") or "pass") for f in doc.get("findings") or []]
    manifest = doc.get("manifest") or {}
    registry = _registry(doc, manifest)
    result = ScanResult(
        findings=findings, stats=_stats(doc.get("summary") or {}), files=_files(doc, manifest, findings),
        packs=_packs(doc, registry), registry=registry,
        version=str((doc.get("tool") or {}).get("version") or ""), manifest=dict(manifest),
        sample=doc.get("sample"), attribution=_attribution(doc.get("attribution")),
    )
    return result, _verdict(doc.get("verdict") or {}, findings, statuses)


def _finding(d: Mapping[str, Any]) -> Any:
    from tos_lint.model import Finding, Location, Severity

    loc = d.get("location") or {}
    return Finding(
        rule_id=str(d.get("rule_id")), provider=str(d.get("provider")), severity=Severity.parse(str(d.get("severity"))),
        confidence=float(d.get("confidence") or 0.0), evidence=str(d.get("evidence") or ""),
        message=str(d.get("message") or ""),
        location=Location(str(loc.get("path")), loc.get("line"), loc.get("index"), str(loc.get("pointer") or ""),
                          str(loc.get("record_id") or "")),
        snippet=str(d.get("snippet") or ""), highlight=tuple(d.get("highlight") or (0, 0)),  # type: ignore[arg-type]
        fingerprint=str(d.get("fingerprint") or ""), detail=dict(d.get("detail") or {}),
    )


def _stats(summary: Mapping[str, Any]) -> Any:
    from tos_lint.api import ScanStats

    return ScanStats(
        files=int(summary.get("files") or 0), records=int(summary.get("records") or 0),
        records_flagged=int(summary.get("records_flagged") or 0), malformed=int(summary.get("malformed") or 0),
        bytes=int(summary.get("bytes") or 0), seconds=float(summary.get("seconds") or 0.0),
        by_provider=Counter(summary.get("by_provider") or {}),
        by_severity=Counter({k: v for k, v in (summary.get("by_severity") or {}).items() if v}),
        by_rule=Counter(summary.get("by_rule") or {}), hidden_skipped=int(summary.get("hidden_skipped") or 0),
        unknown_type_skipped=int(summary.get("unknown_type_skipped") or 0),
    )


def _files(doc: Mapping[str, Any], manifest: Mapping[str, Any], findings: list[Any]) -> list[Any]:
    from tos_lint.engine import FileResult
    from tos_lint.readers import FileStats

    hashed = {i.get("path"): i for i in manifest.get("inputs") or [] if isinstance(i, dict)}
    by_path: dict[str, list[Any]] = {}
    for f in findings:
        by_path.setdefault(f.location.path, []).append(f)
    out = []
    for f in doc.get("files") or []:
        entry = hashed.get(f.get("path"), {})
        stats = FileStats(records=int(f.get("records") or 0), malformed=int(f.get("malformed") or 0),
                          bytes=int(f.get("bytes") or 0), size=int(entry.get("size") or 0),
                          sha256=str(entry.get("sha256") or ""))
        out.append(FileResult(str(f.get("path")), stats, by_path.get(str(f.get("path")), []),
                              int(f.get("records_flagged") or 0)))
    return out


def _same_file(path: Any, sha256: Any) -> bool:
    import hashlib

    try:
        return bool(path) and hashlib.sha256(Path(str(path)).read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def _registry(doc: Mapping[str, Any], manifest: Mapping[str, Any]) -> Any:
    """The registry file the scan used if it is unchanged, else the entries the document cites."""
    from tos_lint.registry import DISCLAIMER, Provider, Registry, TermsDocument, load_registry

    saved = manifest.get("registry") or {}
    if _same_file(saved.get("path"), saved.get("sha256")):
        try:
            return load_registry(saved["path"])
        except Exception:  # noqa: BLE001 - fall back to what the document says
            pass
    providers = {}
    for pid, p in (doc.get("providers") or {}).items():
        terms = tuple(TermsDocument(**{k: t.get(k, "") for k in ("document", "url", "effective_date", "reviewed_on",
                                                                    "summary", "scope", "classification")},
                                    source_type=str(t.get("source_type") or "primary"),
                                    applies_to=tuple(t.get("applies_to") or ()))
                      for t in p.get("terms") or [] if isinstance(t, dict))
        providers[pid] = Provider(str(p.get("id") or pid), str(p.get("name") or pid),
                                  str(p.get("classification") or "unverified"), terms)
    return Registry(providers, str(doc.get("disclaimer") or DISCLAIMER), str(saved.get("sha256") or ""),
                    str(saved.get("path") or ""))


def _packs(doc: Mapping[str, Any], registry: Any) -> list[Any]:
    """Each pack reloaded (for rule descriptions) if its file is unchanged, else its name and hash only."""
    from tos_lint.packs import Pack, load_packs

    out = []
    providers = set(registry.providers) | {"unknown"}
    for p in doc.get("packs") or (doc.get("manifest") or {}).get("packs") or []:
        pack = Pack(str(p.get("name")), str(p.get("path")), str(p.get("sha256")))
        if _same_file(p.get("path"), p.get("sha256")):
            try:
                [pack] = load_packs([str(p["path"])], providers, check_regexes=False)
            except Exception:  # noqa: BLE001 - a pack that no longer loads keeps its name and hash
                pass
        out.append(pack)
    return out


def _attribution(saved: Any) -> Any:
    if not isinstance(saved, dict) or not isinstance(saved.get("overall"), dict):
        return None
    from tos_lint.attribution_evidence import ScanAttribution

    return ScanAttribution([_file_attribution(f) for f in saved.get("files") or [] if isinstance(f, dict)],
                           _file_attribution(saved["overall"]))


def _file_attribution(d: Mapping[str, Any]) -> Any:
    from tos_lint.attribution_evidence import FileAttribution

    unknown = d.get("unknown")
    return FileAttribution(str(d.get("path")), int(d.get("records") or 0),
                           [_evidence(p) for p in d.get("providers") or [] if isinstance(p, dict)],
                           _evidence(unknown) if isinstance(unknown, dict) else None, str(d.get("status") or "none"))


def _evidence(d: Mapping[str, Any]) -> Any:
    from tos_lint.attribution_evidence import ProviderEvidence

    return ProviderEvidence(
        provider=str(d.get("provider")), strong_records=int(d.get("strong_records") or 0),
        weak_records=int(d.get("weak_records") or 0), findings=int(d.get("findings") or 0),
        confidence=float(d.get("confidence") or 0.0), share_of_records=float(d.get("share_of_records") or 0.0),
        top_rules=[(str(r.get("rule_id")), int(r.get("records") or 0)) for r in d.get("top_rules") or [] if isinstance(r, dict)],
    )


def _suppression(d: Mapping[str, Any]) -> Suppression:
    expires = d.get("expires")
    try:
        when = parse_expiry(expires) if expires else None
    except ValueError:
        when = None
    return Suppression(reason=str(d.get("reason") or ""), fingerprint=d.get("fingerprint"), rule=d.get("rule"),
                       paths=tuple(d.get("paths") or ()), reviewer=d.get("reviewer"), expires=when,
                       source=str(d.get("source") or ""))


def _verdict(saved: Mapping[str, Any], findings: list[Any], statuses: list[str]) -> Verdict:
    from tos_lint.policy import Outcome

    def sups(key: str) -> list[Suppression]:
        return [_suppression(s) for s in saved.get(key) or [] if isinstance(s, dict)]

    return SavedVerdict(
        outcomes=[Outcome(f, s) for f, s in zip(findings, statuses)], fail_on=str(saved.get("fail_on") or "high"),
        unused_suppressions=sups("unused_suppressions"), expired_suppressions=sups("expired_suppressions"),
        active_waivers=sups("active_waivers"), saved_counts=dict(saved.get("statuses") or {}),
    )


@dataclasses.dataclass
class SavedVerdict(Verdict):
    """A verdict read back from JSON: the findings it does not list
    (allowed, baseline, suppressed, ignored) exist only as counts."""

    saved_counts: dict[str, int] = dataclasses.field(default_factory=dict)

    def count(self, status: str) -> int:
        if status in REPORTED:
            return super().count(status)
        return int(self.saved_counts.get(status) or 0)


# --- output -----------------------------------------------------------------------------

def write_output(output: Optional[Path], write: Callable[[TextIO], None]) -> None:
    """To stdout, or atomically to a file (temp file + rename). A device or
    pipe (`-o /dev/null`, `-o /dev/stdout`) is written in place: renaming
    over it would replace the device with a regular file."""
    if output is None:
        write(sys.stdout)
        return
    if output.exists() and not output.is_file():
        with output.open("w", encoding="utf-8") as stream:
            write(stream)
        return
    from tos_lint.atomic import atomic_write

    with atomic_write(output, "w") as stream:
        write(stream)
