"""`--format html`: one self-contained HTML file for a legal or compliance reviewer.

The reader does not run the tool and does not read JSON. The page says, in
this order: the verdict in plain words, how much of the data each provider
and each file accounts for, severities, who the evidence points to, the
sampling estimate (when sampled), the terms each provider's findings may
touch, the evidence itself (strongest first), and the audit manifest that
ties the report to the exact bytes scanned.

Everything is built from the JSON document (`json_format.document`), so a
saved JSON result re-renders to the same page (`tos-lint report`).

Rules this module keeps:
* one file, no network: CSS, SVG charts and a small script are inline; a
  Content-Security-Policy refuses any fetch, so even a bug cannot phone home;
* every string that comes from the data (paths, snippets, messages, ids,
  registry text) goes through `esc()`; URLs become links only if http(s);
* `redact=True` leaves snippet text out of the file entirely (rule,
  location and fingerprint remain);
* big scans stay openable: the evidence table and the file tables are
  capped, and the page says how many rows were left out.
"""
from __future__ import annotations

import functools
import heapq
import html as _html
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, TextIO

from tos_lint.reporters.html_assets import CSS, JS

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict

MAX_EVIDENCE_ROWS = 500
MAX_FILE_ROWS = 500
MAX_INPUT_ROWS = 2000
CHART_BARS = 15
SNIPPET_CHARS = 280
NEARDUP_PREFIX = "tos-lint.neardup."
INPUT_PROVIDER = "none"
GENERIC_PROVIDER = "unknown"
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_COLORS = {"critical": "#7a271a", "high": "#d92d20", "medium": "#f79009", "low": "#84adff", "info": "#98a2b3"}
CLASS_COLORS = {"forbids-competing": "#d92d20", "conditional": "#dc6803", "permissive": "#079455",
                "unverified": "#667085", "generic": "#98a2b3", "input": "#475467"}
CLASS_WORDS = {
    "forbids-competing": "forbids competing models",
    "conditional": "conditions attached",
    "permissive": "permissive",
    "unverified": "unverified",
    "generic": "no provider named",
    "input": "input problem",
}
STATUS_WORDS = {
    "fail": "fails the gate", "pass": "below the gate's severity", "review": "reported for human review",
    "allowed": "provider allowed by your policy (not listed)", "baseline": "already accepted in the baseline (not listed)",
    "suppressed": "suppressed by an allowlist, waiver or in-record marker (not listed)",
    "ignored": "rule switched off by configuration (not listed)",
}
ATTRIBUTION_WORDS = {
    "attributed": "points to one provider", "conflicting": "several providers (conflicting evidence)",
    "unknown": "generic AI phrasing only: provider not determined", "none": "no provider evidence",
}
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# --- entry points -----------------------------------------------------------------

def render(result: "ScanResult", verdict: "Verdict", stream: TextIO, *, redact: bool = False) -> None:
    from tos_lint.reporters.json_format import document

    render_document(document(result, verdict), stream, redact=redact)


def render_document(doc: Mapping[str, Any], stream: TextIO, redact: bool = False,
                    max_rows: int = MAX_EVIDENCE_ROWS) -> None:
    """Write the report for a JSON document (`json_format.document` or a saved file)."""
    stream.write(build(doc, redact=redact, max_rows=max_rows))


def build(doc: Mapping[str, Any], redact: bool = False, max_rows: int = MAX_EVIDENCE_ROWS) -> str:
    facts = Facts.of(doc)
    sections = [
        _verdict_section(facts), _toc(facts), _provider_section(facts), _file_section(facts),
        _severity_section(facts), _similarity_section(facts), _attribution_section(facts),
        _sample_section(facts), _style_section(facts), _terms_section(facts),
        _evidence_section(facts, redact, max_rows), _waiver_section(facts), _manifest_section(facts),
        _method_section(facts),
    ]
    return _page(facts, "".join(s for s in sections if s), redact)


# --- escaping and numbers -----------------------------------------------------------

def esc(value: Any) -> str:
    """Text safe anywhere in HTML (element content or a quoted attribute).
    Control characters and lone surrogates become U+FFFD."""
    text = "" if value is None else str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _html.escape(_CONTROL.sub("\ufffd", text), quote=True)


def _n(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return esc(value)


def _pct_value(p: float) -> str:
    p *= 100.0
    if p == 0:
        return "0 %"
    if p < 0.01:
        return "&lt;0.01 %"  # raw HTML, like every value these helpers return
    return f"{p:.2f} %" if p < 1 else f"{p:.1f} %"


def _pct(part: int, whole: int) -> str:
    return _pct_value(part / whole) if whole else "n/a"


def _bytes(size: Any) -> str:
    try:
        value = float(size)
    except (TypeError, ValueError):
        return "unknown"
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1000.0
    return ""


def _shorten(text: str, limit: int) -> str:
    """Cut the middle of a long label: the file name at the end stays."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 3] + "…" + text[len(text) - (keep - keep // 3):]


def _path(text: str) -> str:
    """An escaped path that may wrap after each '/' rather than mid-name."""
    return esc(text).replace("/", "/<wbr>")


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{_n(count)} {one if count == 1 else (many or one + 's')}"


# --- what the page shows, computed once ---------------------------------------------

RecordKey = tuple[Any, ...]


def _record_key(f: Mapping[str, Any]) -> RecordKey:
    loc = f.get("location") or {}
    return (loc.get("path"), loc.get("line"), loc.get("index"), loc.get("record_id"))


@dataclass
class Facts:
    doc: Mapping[str, Any]
    findings: list[dict[str, Any]]
    records: int  # records checked (the sample, when sampling)
    records_read: int
    flagged: int
    failing: int
    fail_on: str
    sampled: bool
    provider_records: dict[str, set[RecordKey]] = field(default_factory=dict)
    provider_findings: Counter[str] = field(default_factory=Counter)
    file_findings: Counter[str] = field(default_factory=Counter)
    severity_counts: Counter[str] = field(default_factory=Counter)
    provider_severities: dict[str, set[str]] = field(default_factory=dict)
    base: str = ""  # the folder every scanned path shares, left out of displayed paths

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> "Facts":
        summary = doc.get("summary") or {}
        verdict = doc.get("verdict") or {}
        sample = doc.get("sample") or None
        findings = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
        read = int(summary.get("records") or 0)
        checked = int(sample.get("sampled_records") or 0) if sample else read
        facts = cls(doc, findings, checked, read, int(summary.get("records_flagged") or 0),
                    int(verdict.get("failing") or 0), str(verdict.get("fail_on") or "high"), bool(sample))
        for f in findings:
            pid = str(f.get("provider") or "")
            facts.provider_records.setdefault(pid, set()).add(_record_key(f))
            facts.provider_findings[pid] += 1
            facts.file_findings[str((f.get("location") or {}).get("path"))] += 1
            facts.severity_counts[str(f.get("severity"))] += 1
            facts.provider_severities.setdefault(pid, set()).add(str(f.get("severity")))
        facts.base = _common_folder([str(f.get("path")) for f in doc.get("files") or [] if isinstance(f, dict)]
                                    + list(facts.file_findings))
        return facts

    def short(self, path: Any) -> str:
        text = str(path)
        return text[len(self.base):] if self.base and text.startswith(self.base) else text

    def provider(self, pid: str) -> Mapping[str, Any]:
        entry = (self.doc.get("providers") or {}).get(pid)
        return entry if isinstance(entry, dict) else {}

    def name(self, pid: str) -> str:
        if pid == GENERIC_PROVIDER:
            return "Generic AI phrasing (no provider named)"
        if pid == INPUT_PROVIDER:
            return "Input problems (unreadable data)"
        return str(self.provider(pid).get("name") or _registry_names().get(pid) or pid)

    def classification(self, pid: str) -> str:
        if pid == GENERIC_PROVIDER:
            return "generic"
        if pid == INPUT_PROVIDER:
            return "input"
        return str(self.provider(pid).get("classification") or "unverified")

    def records_with(self, classifications: Iterable[str]) -> set[RecordKey]:
        wanted = set(classifications)
        return {k for pid, keys in self.provider_records.items() if self.classification(pid) in wanted for k in keys}

    def providers_with(self, classifications: Iterable[str]) -> list[str]:
        wanted = set(classifications)
        return [p for p in self.ranked_providers() if self.classification(p) in wanted]

    def ranked_providers(self) -> list[str]:
        """Providers with findings, most records first; generic and input last."""
        def key(pid: str) -> tuple[int, int, str]:
            tail = 1 if pid in (GENERIC_PROVIDER, INPUT_PROVIDER) else 0
            return (tail, -len(self.provider_records[pid]), pid)
        return sorted(self.provider_records, key=key)


@functools.lru_cache(maxsize=1)
def _registry_names() -> dict[str, str]:
    """Display names of providers the document does not cite (style
    attribution may name any): from the built-in registry, if it loads."""
    try:
        from tos_lint.registry import load_registry

        return {pid: p.name for pid, p in load_registry().providers.items()}
    except Exception:  # noqa: BLE001 - names are cosmetic; ids will do
        return {}


def _common_folder(paths: list[str]) -> str:
    """`../data/a/` for `../data/a/x.jsonl` and `../data/a/b/y.jsonl`; "" when
    nothing is shared or only one file was scanned (its folder is worth showing)."""
    if len(set(paths)) < 2 or any("/" not in p for p in paths):
        return ""
    parts = [p.rsplit("/", 1)[0].split("/") for p in set(paths)]
    shared = []
    for column in zip(*parts):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    base = "/".join(shared)
    return base + "/" if base.strip("./") else ""


# --- page frame ---------------------------------------------------------------------

def _page(facts: Facts, body: str, redact: bool) -> str:
    manifest = facts.doc.get("manifest") or {}
    tool = facts.doc.get("tool") or {}
    subtitle = f"tos-lint {esc(tool.get('version', ''))} · scan finished {esc(_when(manifest.get('finished_at')))}"
    if redact:
        subtitle += " · snippets redacted"
    disclaimer = esc(_rest_of_disclaimer(str(facts.doc.get("disclaimer") or "")))
    # JSON inside <script> must not close the element: escape '<' as \u003c.
    manifest_json = json.dumps(manifest, ensure_ascii=True, default=str).replace("<", "\\u003c")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"tos-lint\">\n"
        "<link rel=\"icon\" href=\"data:,\">\n"
        "<title>tos-lint report: training-data terms-of-service review</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        "<a class=\"skip\" href=\"#main\">Skip to the report</a>\n"
        "<header class=\"top\" role=\"banner\"><div class=\"wrap\">"
        "<h1>Training-data terms-of-service review</h1>"
        f"<p>{subtitle}</p></div></header>\n"
        "<main id=\"main\" class=\"wrap\">\n"
        f"<p class=\"legal\" role=\"note\"><strong>Not legal advice.</strong> {disclaimer} "
        "This report lists evidence for a reviewer to weigh; it does not decide whether a use is permitted.</p>\n"
        f"{body}\n"
        f"<footer><p><strong>Not legal advice.</strong> {disclaimer}</p>"
        f"<p>Generated by tos-lint {esc(tool.get('version', ''))}. This file is self-contained: "
        "it loads nothing from the network.</p></footer>\n</main>\n"
        f"<script type=\"application/json\" id=\"tos-lint-manifest\">{manifest_json}</script>\n"
        f"<script>{JS}</script>\n</body>\n</html>\n"
    )


def _rest_of_disclaimer(text: str) -> str:
    """The registry's disclaimer without its own leading "Not legal advice",
    which the page already says in bold."""
    rest = re.sub(r"^\s*not legal advice\s*[;:.,]?\s*", "", text, flags=re.IGNORECASE)
    return rest[:1].upper() + rest[1:]


def _when(stamp: Any) -> str:
    """`2025-01-01T10:00:00+00:00` as `2025-01-01 10:00:00 UTC`."""
    text = str(stamp or "")
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d(?::\d\d)?)(?:\.\d+)?(\+00:00|Z)?", text)
    if not match:
        return text or "unknown"
    return f"{match[1]} {match[2]}" + (" UTC" if match[3] else "")


def _section(sid: str, title: str, inner: str, lead: str = "") -> str:
    lead_html = f"<p class=\"lead\">{lead}</p>" if lead else ""
    return f"<section id=\"{sid}\" aria-labelledby=\"{sid}-h\"><h2 id=\"{sid}-h\">{title}</h2>{lead_html}{inner}</section>\n"


def _table(caption: str, header: list[tuple[str, str]], rows: list[str], table_id: str = "") -> str:
    """`header` holds (label, css class); `rows` are ready-made <tr> elements."""
    ident = f" id=\"{table_id}\"" if table_id else ""
    cols = "".join(f"<th scope=\"col\" class=\"{cls}\">{label}</th>" for label, cls in header)
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (f"<div class=\"tablewrap\"><table{ident}>{cap}<thead><tr>{cols}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


CLASS_TITLES = {
    "forbids-competing": "the terms forbid using outputs to train models that compete with the provider",
    "conditional": "the terms allow training on outputs under conditions (naming, licence inheritance, size limits)",
    "permissive": "the terms place no restriction on training with outputs",
    "unverified": "the project has not verified what the terms say about training on outputs",
}


def _badge_class(classification: str) -> str:
    title = CLASS_TITLES.get(classification, "")
    return (f"<span class=\"badge c-{esc(classification)}\" title=\"{esc(title)}\">"
            f"{esc(CLASS_WORDS.get(classification, classification))}</span>")


def _badge_severity(severity: str) -> str:
    return f"<span class=\"badge s-{esc(severity)}\">{esc(severity)}</span>"


def _omitted(shown: int, total: int, what: str, where: str = "the JSON report") -> str:
    if total <= shown:
        return ""
    return (f"<p class=\"note\"><strong>Showing {_n(shown)} of {_n(total)} {what}; "
            f"{_n(total - shown)} left out to keep this file small.</strong> All of them are in {where}.</p>")


# --- verdict --------------------------------------------------------------------------

def _verdict_section(facts: Facts) -> str:
    state = "info" if facts.fail_on == "never" else ("fail" if facts.failing else "pass")
    pill = {"fail": "Fails the gate", "pass": "Passes the gate", "info": "For information"}[state]
    bullets = _verdict_bullets(facts)
    items = "".join(f"<li>{b}</li>" for b in bullets)
    return (
        f"<section id=\"verdict\" aria-labelledby=\"verdict-h\"><h2 id=\"verdict-h\" class=\"sr-only\">Verdict</h2>"
        f"<div class=\"card verdict {state}\"><span class=\"pill {state}\" data-key=\"gate\">{pill}</span>"
        f"<p class=\"headline\" data-key=\"headline\">{_headline(facts)}</p>"
        f"{'<ul>' + items + '</ul>' if items else ''}</div>{_tiles(facts)}</section>\n"
    )


def _headline(facts: Facts) -> str:
    forbidding = facts.records_with(["forbids-competing"])
    scope = "sampled records" if facts.sampled else "records"
    if forbidding:
        text = (f"{_n(len(forbidding))} of {_n(facts.records)} {scope} ({_pct(len(forbidding), facts.records)}) "
                f"look generated by providers whose terms forbid training competing models")
    elif facts.provider_records.keys() - {INPUT_PROVIDER, GENERIC_PROVIDER}:
        text = (f"None of the {_n(facts.records)} {scope} shows evidence of a provider whose terms forbid "
                f"training competing models")
    else:
        text = f"None of the {_n(facts.records)} {scope} shows evidence of a model provider"
    return text + "; " + _gate_words(facts) + "."


def _gate_words(facts: Facts) -> str:
    if facts.fail_on == "never":
        return "the gate is set never to fail, so this report is for information"
    if facts.failing:
        return (f"the scan fails the gate at '{esc(facts.fail_on)}' "
                f"({_plural(facts.failing, 'finding')} at or above that severity)")
    return f"the scan passes the gate at '{esc(facts.fail_on)}' (no failing finding at or above that severity)"


def _provider_counts(facts: Facts, classifications: list[str]) -> str:
    """`OpenAI (4,076 records), Anthropic (1,790)`."""
    pids = facts.providers_with(classifications)
    counts = [len(facts.provider_records[p]) for p in pids]
    return ", ".join(f"{esc(facts.name(p))} ({_plural(n, 'record') if i == 0 else _n(n)})"
                     for i, (p, n) in enumerate(zip(pids, counts)))


def _verdict_bullets(facts: Facts) -> list[str]:
    out = []
    if facts.providers_with(["forbids-competing"]):
        out.append(f"Providers whose terms forbid it: {_provider_counts(facts, ['forbids-competing'])}.")
    other = facts.records_with(["conditional", "permissive", "unverified"])
    if other:
        out.append(f"{_n(len(other))} records ({_pct(len(other), facts.records)}) show evidence of providers whose "
                   "terms attach conditions, are permissive or are unverified, listed for review: "
                   f"{_provider_counts(facts, ['conditional', 'permissive', 'unverified'])}.")
    generic = facts.provider_records.get(GENERIC_PROVIDER, set())
    if generic:
        out.append(f"{_n(len(generic))} records contain generic AI-assistant phrasing that names no provider "
                   "(for example “As an AI language model”): a hint, not an attribution.")
    inputs = facts.provider_findings.get(INPUT_PROVIDER, 0)
    if inputs:
        out.append(f"<strong>{_plural(inputs, 'line or file', 'lines or files')} could not be read</strong>; "
                   "the records in them were not checked (see the evidence table, rules tos-lint.input.*).")
    if facts.sampled:
        out.append(f"These figures come from a random sample of {_n(facts.records)} of {_n(facts.records_read)} "
                   "records; see <a href=\"#sample\">Sampling</a> for what they mean for the whole dataset.")
    quiet = _quiet_statuses(facts)
    if quiet:
        out.append(f"Not listed in this report: {quiet}.")
    out.append("Most generated text carries no fingerprint at all: a low count is a lower bound, "
               "not proof that the rest is human-written.")
    return out


def _quiet_statuses(facts: Facts) -> str:
    statuses = (facts.doc.get("verdict") or {}).get("statuses") or {}
    parts = [f"{_n(statuses[s])} {esc(STATUS_WORDS[s])}" for s in ("allowed", "baseline", "suppressed", "ignored")
             if statuses.get(s)]
    return "; ".join(parts)


def _tiles(facts: Facts) -> str:
    providers = [p for p in facts.provider_records if p not in (GENERIC_PROVIDER, INPUT_PROVIDER)]
    summary = facts.doc.get("summary") or {}
    tiles = [
        ("records-scanned", _n(facts.records), "sampled records checked" if facts.sampled else "records scanned",
         f"of {_n(facts.records_read)} in the files" if facts.sampled else f"in {_plural(int(summary.get('files') or 0), 'file')}", False),
        ("records-flagged", _n(facts.flagged), "records flagged", f"{_pct(facts.flagged, facts.records)} of records", facts.flagged > 0),
        ("findings", _n(len(facts.findings)), "findings listed", "each is one piece of evidence", False),
        ("failing", _n(facts.failing), "failing findings", f"gate: {esc(facts.fail_on)}", facts.failing > 0),
        ("providers", _n(len(providers)), "providers named", "by at least one finding", False),
    ]
    cells = "".join(
        f"<div class=\"tile{' bad' if bad else ''}\"><span class=\"k\">{label}</span>"
        f"<span class=\"v\" data-key=\"{key}\">{value}</span><span class=\"s\">{sub}</span></div>"
        for key, value, label, sub, bad in tiles
    )
    return f"<div class=\"tiles\">{cells}</div>"


def _toc(facts: Facts) -> str:
    entries = [("providers", "Providers"), ("files", "Files"), ("severity", "Severity")]
    if _similarities(facts):
        entries.append(("similarity", "Near-duplicates"))
    if facts.doc.get("attribution"):
        entries.append(("attribution", "Attribution"))
    if facts.sampled:
        entries.append(("sample", "Sampling"))
    if facts.doc.get("style_attribution"):
        entries.append(("style", "Style (probabilistic)"))
    entries += [("terms", "Terms cited"), ("evidence", "Evidence"), ("manifest", "Audit manifest"),
                ("method", "Method and limitations")]
    links = "".join(f"<li><a href=\"#{sid}\">{label}</a></li>" for sid, label in entries)
    return f"<nav class=\"toc\" aria-label=\"Contents\"><ol>{links}</ol></nav>\n"


# --- charts (inline SVG) ----------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    color: str
    text: str  # the value as shown next to the bar


def _hbar_chart(slug: str, title: str, bars: list[Bar]) -> str:
    if not bars:
        return ""
    width, value_w, row_h = 1000, 150, 26
    label_w = _label_width(b.label for b in bars)
    room = width - label_w - value_w - 12
    top = max((b.value for b in bars), default=0) or 1
    height = row_h * len(bars) + 8
    rows = []
    for i, b in enumerate(bars):
        y = 4 + i * row_h
        w = max(1.5, room * b.value / top) if b.value > 0 else 0
        rows.append(
            f"<g><title>{esc(b.label)}: {esc(b.text)}</title>"
            f"<text x=\"{label_w - 10}\" y=\"{y + 17}\" text-anchor=\"end\">{esc(_shorten(b.label, 48))}</text>"
            f"<rect x=\"{label_w}\" y=\"{y + 5}\" width=\"{w:.1f}\" height=\"16\" rx=\"3\" fill=\"{b.color}\"/>"
            f"<text x=\"{label_w + w + 8:.1f}\" y=\"{y + 17}\">{esc(b.text)}</text></g>"
        )
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars)
    return (f"<figure><figcaption id=\"{slug}-t\">{esc(title)}</figcaption>"
            f"<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{slug}-t {slug}-d\">"
            f"<desc id=\"{slug}-d\">{esc(desc)}</desc>"
            f"<line class=\"axis\" x1=\"{label_w}\" y1=\"2\" x2=\"{label_w}\" y2=\"{height - 2}\"/>{''.join(rows)}</svg></figure>")


def _label_width(labels: Iterable[str]) -> int:
    """Room for the longest label (cut at 48 characters), about 7 units a character."""
    longest = max((len(_shorten(label, 48)) for label in labels), default=10)
    return max(90, min(340, 7 * longest + 24))


def _histogram(slug: str, title: str, values: list[float], step: float = 0.05) -> str:
    bins = int(round(1 / step))
    low_bin = min(int(min(values) / step), bins - 1)
    counts = [0] * (bins - low_bin)
    for v in values:
        counts[min(int(max(v, 0.0) / step), bins - 1) - low_bin] += 1
    width, height, left, bottom, top_pad = 1000, 240, 56, 40, 14
    plot_w, plot_h = width - left - 16, height - bottom - top_pad
    peak = max(counts) or 1
    bar_w = plot_w / len(counts)
    parts = [f"<line class=\"axis\" x1=\"{left}\" y1=\"{top_pad + plot_h}\" x2=\"{width - 16}\" y2=\"{top_pad + plot_h}\"/>"]
    for tick in (0, peak // 2, peak) if peak > 1 else (0, peak):
        y = top_pad + plot_h - plot_h * tick / peak
        parts.append(f"<line class=\"grid\" x1=\"{left}\" y1=\"{y:.1f}\" x2=\"{width - 16}\" y2=\"{y:.1f}\"/>"
                     f"<text x=\"{left - 8}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">{tick}</text>")
    for i, c in enumerate(counts):
        lo = (low_bin + i) * step
        x = left + i * bar_w
        h = plot_h * c / peak
        parts.append(f"<g><title>similarity {lo:.2f}–{lo + step:.2f}: {c} finding(s)</title>"
                     f"<rect x=\"{x + 2:.1f}\" y=\"{top_pad + plot_h - h:.1f}\" width=\"{bar_w - 4:.1f}\" "
                     f"height=\"{h:.1f}\" rx=\"2\" fill=\"#1849a9\"/></g>"
                     f"<text x=\"{x + bar_w / 2:.1f}\" y=\"{height - 20}\" text-anchor=\"middle\">{lo:.2f}</text>")
    parts.append(f"<text x=\"{left + plot_w / 2:.0f}\" y=\"{height - 3}\" text-anchor=\"middle\">"
                 "verified similarity to the matched reference record (bin start)</text>")
    desc = ", ".join(f"{(low_bin + i) * step:.2f}: {c}" for i, c in enumerate(counts))
    return (f"<figure><figcaption id=\"{slug}-t\">{esc(title)}</figcaption>"
            f"<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{slug}-t {slug}-d\">"
            f"<desc id=\"{slug}-d\">Findings per similarity bin: {desc}</desc>{''.join(parts)}</svg></figure>")


def _top_bars(counts: list[tuple[str, int, str]], others_label: str) -> list[Bar]:
    """The CHART_BARS largest as bars, the rest summed into one grey bar."""
    shown = counts[:CHART_BARS]
    bars = [Bar(label, n, color, _n(n)) for label, n, color in shown]
    rest = counts[CHART_BARS:]
    if rest:
        bars.append(Bar(others_label.format(n=len(rest)), sum(n for _, n, _ in rest), "#d0d5dd",
                        _n(sum(n for _, n, _ in rest))))
    return bars


# --- providers, files, severity -----------------------------------------------------------

def _provider_section(facts: Facts) -> str:
    ranked = facts.ranked_providers()
    if not ranked:
        return _section("providers", "Prevalence by provider", "<p>No finding names a provider.</p>")
    rows = []
    for pid in ranked:
        recs = len(facts.provider_records[pid])
        worst = next((s for s in SEVERITIES if s in facts.provider_severities.get(pid, ())), "")
        rows.append(
            f"<tr data-provider=\"{esc(pid)}\"><th scope=\"row\">{esc(facts.name(pid))}</th>"
            f"<td>{_badge_class(facts.classification(pid))}</td><td class=\"num\">{_n(recs)}</td>"
            f"<td class=\"num\">{_pct(recs, facts.records)}</td><td class=\"num\">{_n(facts.provider_findings[pid])}</td>"
            f"<td>{_badge_severity(worst) if worst else ''}</td></tr>")
    table = _table("Records and findings per provider",
                   [("Provider", ""), ("Terms", ""), ("Records", "num"), ("Share of records", "num"),
                    ("Findings", "num"), ("Highest severity", "")], rows)
    counts = [(facts.name(p), facts.provider_findings[p], CLASS_COLORS.get(facts.classification(p), "#667085"))
              for p in sorted(ranked, key=lambda p: -facts.provider_findings[p])]
    chart = _hbar_chart("chart-providers", "Findings per provider (colour: terms classification)",
                        _top_bars(counts, "{n} other providers"))
    lead = ("A record counts once per provider, however many findings it has. "
            "The share is of all records checked.")
    return _section("providers", "Prevalence by provider", table + chart, lead)


def _attribution_by_path(facts: Facts) -> dict[str, Mapping[str, Any]]:
    attribution = facts.doc.get("attribution") or {}
    return {str(a.get("path")): a for a in attribution.get("files") or [] if isinstance(a, dict)}


def _file_section(facts: Facts) -> str:
    files = [f for f in facts.doc.get("files") or [] if isinstance(f, dict)]
    if not files:
        return _section("files", "Prevalence by file", "<p>No file was scanned.</p>")
    files.sort(key=lambda f: (-int(f.get("records_flagged") or 0), -facts.file_findings[str(f.get("path"))], str(f.get("path"))))
    by_path = _attribution_by_path(facts)
    rows = [_file_row(facts, f, by_path.get(str(f.get("path")))) for f in files[:MAX_FILE_ROWS]]
    share = [] if facts.sampled else [("Share flagged", "num")]  # per-file sample sizes are not in the document
    table = _table("Records flagged per file, most first",
                   [("File", ""), ("Records" + (" in file" if facts.sampled else ""), "num"), ("Flagged", "num"), *share,
                    ("Unreadable", "num"), ("Findings", "num"), ("Evidence points to", "")], rows)
    counts = [(facts.short(f.get("path")), facts.file_findings[str(f.get("path"))], "#1849a9") for f in files
              if facts.file_findings[str(f.get("path"))]]
    counts.sort(key=lambda c: -c[1])
    chart = _hbar_chart("chart-files", "Findings per file", _top_bars(counts, "{n} other files"))
    note = _omitted(MAX_FILE_ROWS, len(files), "files")
    lead = _base_note(facts) + (" Only a random sample of each file was checked: flagged counts are of sampled records."
                                if facts.sampled else "")
    return _section("files", "Prevalence by file", table + note + chart, lead.strip())


def _base_note(facts: Facts) -> str:
    return f"Paths are shown relative to <code>{esc(facts.base)}</code>." if facts.base else ""


def _file_row(facts: Facts, f: Mapping[str, Any], attribution: Mapping[str, Any] | None) -> str:
    records, flagged = int(f.get("records") or 0), int(f.get("records_flagged") or 0)
    malformed, findings = int(f.get("malformed") or 0), facts.file_findings[str(f.get("path"))]
    points = _attribution_words(facts, attribution) if attribution and attribution.get("status") != "none" else "—"
    return (f"<tr><td class=\"path mono\">{_path(facts.short(f.get('path')))}</td><td class=\"num\">{_n(records)}</td>"
            f"<td class=\"num\">{_n(flagged)}</td>"
            + ("" if facts.sampled else f"<td class=\"num\">{_pct(flagged, records)}</td>")
            + f"<td class=\"num\">{_n(malformed) if malformed else '0'}</td><td class=\"num\">{_n(findings)}</td>"
            f"<td>{points}</td></tr>")


def _severity_section(facts: Facts) -> str:
    total = len(facts.findings)
    rows = [f"<tr><th scope=\"row\">{_badge_severity(s)}</th><td class=\"num\">{_n(facts.severity_counts[s])}</td>"
            f"<td class=\"num\">{_pct(facts.severity_counts[s], total)}</td></tr>" for s in SEVERITIES]
    sev_table = _table("Findings listed, by severity", [("Severity", ""), ("Findings", "num"), ("Share", "num")], rows)
    statuses = (facts.doc.get("verdict") or {}).get("statuses") or {}
    st_rows = [f"<tr><th scope=\"row\">{esc(s)}</th><td>{esc(STATUS_WORDS.get(s, ''))}</td>"
               f"<td class=\"num\">{_n(statuses.get(s, 0))}</td></tr>" for s in STATUS_WORDS if s in statuses]
    st_table = _table("What the policy decided, per finding", [("Status", ""), ("Meaning", ""), ("Findings", "num")], st_rows)
    bars = [Bar(s, facts.severity_counts[s], SEVERITY_COLORS[s], _n(facts.severity_counts[s])) for s in SEVERITIES]
    chart = _hbar_chart("chart-severity", "Findings per severity", bars) if total else ""
    gate = ("the gate is set never to fail." if facts.fail_on == "never" else
            f"the gate fails on findings at or above '{esc(facts.fail_on)}' from providers your policy forbids.")
    lead = "Severity is how serious a rule's finding is taken to be; " + gate
    return _section("severity", "Severity breakdown", f"<div class=\"grid2\"><div>{sev_table}</div><div>{st_table}</div></div>{chart}", lead)


def _similarities(facts: Facts) -> list[float]:
    out = []
    for f in facts.findings:
        if str(f.get("rule_id", "")).startswith(NEARDUP_PREFIX):
            value = (f.get("detail") or {}).get("verified_similarity")
            if isinstance(value, (int, float)) and math.isfinite(value):
                out.append(float(value))
    return out


def _similarity_section(facts: Facts) -> str:
    values = _similarities(facts)
    if not values:
        return ""
    lead = (f"{_plural(len(values), 'record segment')} closely match a known provider output in a reference index. "
            "Similarity 1.00 is a verbatim copy; the lower the value, the more the text was edited or only partly copied.")
    chart = _histogram("chart-similarity", "Near-duplicate findings by verified similarity", values)
    return _section("similarity", "Near-duplicate similarity", chart, lead)


# --- attribution, sampling, style -------------------------------------------------------------

def _attribution_section(facts: Facts) -> str:
    attribution = facts.doc.get("attribution") or {}
    overall = attribution.get("overall") or {}
    if not overall:
        return ""
    status = str(overall.get("status") or "none")
    head = (f"<div class=\"plain\"><strong>Across all files: {esc(ATTRIBUTION_WORDS.get(status, status))}.</strong> "
            f"{_attribution_words(facts, overall)}</div>")
    rows = [_attribution_row(facts, p) for p in overall.get("providers") or [] if isinstance(p, dict)]
    table = _table("Evidence per provider, whole scan",
                   [("Provider", ""), ("Strength", ""), ("Strong records", "num"), ("Weak records", "num"),
                    ("Share of records", "num"), ("Confidence", "num"), ("Rules most often behind it", "")],
                   rows) if rows else ""
    per_file = [a for a in attribution.get("files") or [] if isinstance(a, dict) and a.get("status") != "none"]
    file_rows = [f"<tr><td class=\"path mono\">{_path(facts.short(a.get('path')))}</td>"
                 f"<td>{esc(ATTRIBUTION_WORDS.get(str(a.get('status')), a.get('status')))}</td>"
                 f"<td>{esc(facts.name(str(a.get('primary')))) if a.get('primary') else '—'}</td>"
                 f"<td class=\"num\">{float(a.get('confidence') or 0):.2f}</td><td>{_attribution_words(facts, a)}</td></tr>"
                 for a in per_file[:MAX_FILE_ROWS]]
    files = _table("Per file (files with evidence)", [("File", ""), ("Attribution", ""), ("Most likely", ""),
                                                      ("Confidence", "num"), ("Evidence", "")], file_rows) if file_rows else ""
    lead = ("Which providers the findings point to, weighed by the kind of evidence. <strong>Strong</strong> evidence: "
            "the assistant names its maker, API artefacts (response ids, model names in metadata), or a verified near-copy "
            "of known provider output. <strong>Weak</strong> evidence: a provider mentioned, a chat template, habitual phrasing; "
            "weak evidence alone never gives a confident attribution. One record is an anecdote (models misstate their maker); "
            "many agreeing records make a pattern. Confidence runs from 0 to 1 and drops when several providers compete.")
    return _section("attribution", "Who the evidence points to", head + table + files + _omitted(MAX_FILE_ROWS, len(per_file), "files"), lead)


def _attribution_words(facts: Facts, a: Mapping[str, Any]) -> str:
    """`OpenAI (strong evidence: 40 records), Anthropic (weak: 2); generic phrasing: 3 records`."""
    parts = []
    for p in a.get("providers") or []:
        if isinstance(p, dict):
            strong, weak = int(p.get("strong_records") or 0), int(p.get("weak_records") or 0)
            kinds = [f"strong: {_n(strong)}" if strong else "", f"weak: {_n(weak)}" if weak else ""]
            parts.append(f"{esc(facts.name(str(p.get('provider'))))} ({' + '.join(k for k in kinds if k)} "
                         f"record{'' if strong + weak == 1 else 's'})")
    text = ", ".join(parts)
    unknown = a.get("unknown")
    if isinstance(unknown, dict) and unknown.get("records"):
        text += ("; " if text else "") + f"generic AI phrasing: {_plural(int(unknown['records']), 'record')}"
    return text or "no provider evidence"


def _attribution_row(facts: Facts, p: Mapping[str, Any]) -> str:
    pid = str(p.get("provider"))
    rules = ", ".join(f"{esc(r.get('rule_id'))} ({_n(r.get('records'))})" for r in p.get("top_rules") or [] if isinstance(r, dict))
    return (f"<tr><th scope=\"row\">{esc(facts.name(pid))}</th><td>{esc(p.get('strength'))}</td>"
            f"<td class=\"num\">{_n(p.get('strong_records', 0))}</td><td class=\"num\">{_n(p.get('weak_records', 0))}</td>"
            f"<td class=\"num\">{_pct_value(float(p.get('share_of_records') or 0))}</td>"
            f"<td class=\"num\">{float(p.get('confidence') or 0):.2f}</td><td class=\"mono\">{rules}</td></tr>")


def _sample_section(facts: Facts) -> str:
    sample = facts.doc.get("sample") or {}
    if not sample:
        return ""
    n = int(sample.get("sampled_records") or 0)
    providers = [(str(pid), v) for pid, v in (sample.get("providers") or {}).items() if isinstance(v, dict)]
    providers.sort(key=lambda kv: -float(kv[1].get("share") or 0))
    rows, sentences, bars = [], [], []
    for pid, v in providers:
        lo, hi = _interval(v)
        share = float(v.get("share") or 0)
        rows.append(f"<tr><th scope=\"row\">{esc(facts.name(pid))}</th><td class=\"num\">{_n(v.get('records', 0))}</td>"
                    f"<td class=\"num\">{_pct_value(share)}</td><td class=\"num\">{_pct_value(lo)} – {_pct_value(hi)}</td></tr>")
        sentences.append(f"<li><strong>{esc(facts.name(pid))}</strong>: the sample found {_n(v.get('records', 0))} of {_n(n)} "
                         f"records ({_pct_value(share)}); we are 95 % confident the true share in the whole of the scanned "
                         f"files lies between {_pct_value(lo)} and {_pct_value(hi)}.</li>")
        bars.append((facts.name(pid), share, lo, hi))
    table = _table("Estimated share of records per provider", [("Provider", ""), ("Records in sample", "num"),
                   ("Share in sample", "num"), ("95 % interval", "num")], rows) if rows else "<p>No provider evidence in the sample.</p>"
    lead = (f"Only a random sample was checked: {esc(sample.get('method', ''))}, {_n(n)} records in all. "
            "A sample gives an estimate, so each share comes with a 95 % confidence interval (Wilson score interval): "
            "if the sampling were repeated many times, 95 % of such intervals would contain the true share. "
            "The interval covers the luck of the draw only, not records the rules miss or flag wrongly.")
    plain = f"<ul class=\"plain\">{''.join(sentences)}</ul>" if sentences else ""
    return _section("sample", "Sampling: prevalence with 95 % intervals", plain + table + _interval_chart(bars), lead)


def _interval(v: Mapping[str, Any]) -> tuple[float, float]:
    ci = v.get("ci95") or [0.0, 1.0]
    try:
        return float(ci[0]), float(ci[1])
    except (TypeError, ValueError, IndexError):
        return 0.0, 1.0


def _interval_chart(rows: list[tuple[str, float, float, float]]) -> str:
    if not rows:
        return ""
    width, row_h = 1000, 26
    label_w = _label_width(label for label, _, _, _ in rows)
    room = width - label_w - 200
    top = max(hi for _, _, _, hi in rows) or 1
    height = row_h * len(rows) + 8
    parts = []
    for i, (label, share, lo, hi) in enumerate(rows):
        y = 4 + i * row_h + 13
        x = lambda v: label_w + room * v / top  # noqa: E731 - local scale
        parts.append(f"<g><title>{esc(label)}: {_pct_value(share)} (95 % interval {_pct_value(lo)} – {_pct_value(hi)})</title>"
                     f"<text x=\"{label_w - 10}\" y=\"{y + 4}\" text-anchor=\"end\">{esc(_shorten(label, 48))}</text>"
                     f"<line x1=\"{x(lo):.1f}\" y1=\"{y}\" x2=\"{x(hi):.1f}\" y2=\"{y}\" stroke=\"#1849a9\" stroke-width=\"3\"/>"
                     f"<line x1=\"{x(lo):.1f}\" y1=\"{y - 6}\" x2=\"{x(lo):.1f}\" y2=\"{y + 6}\" stroke=\"#1849a9\" stroke-width=\"2\"/>"
                     f"<line x1=\"{x(hi):.1f}\" y1=\"{y - 6}\" x2=\"{x(hi):.1f}\" y2=\"{y + 6}\" stroke=\"#1849a9\" stroke-width=\"2\"/>"
                     f"<circle cx=\"{x(share):.1f}\" cy=\"{y}\" r=\"5\" fill=\"#d92d20\"/>"
                     f"<text x=\"{x(hi) + 10:.1f}\" y=\"{y + 4}\">{_pct_value(lo)} – {_pct_value(hi)}</text></g>")
    return (f"<figure><figcaption id=\"chart-sample-t\">Share in the sample (dot) and 95 % interval (line)</figcaption>"
            f"<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"chart-sample-t\">"
            f"<line class=\"axis\" x1=\"{label_w}\" y1=\"2\" x2=\"{label_w}\" y2=\"{height - 2}\"/>{''.join(parts)}</svg></figure>")


def _style_section(facts: Facts) -> str:
    style = facts.doc.get("style_attribution")
    if not isinstance(style, dict):
        return ""
    overall = style.get("overall") or {}
    ranked = [r for r in overall.get("ranked") or [] if isinstance(r, dict)]
    rows = [f"<tr><th scope=\"row\">{esc(facts.name(str(r.get('provider'))))}</th>"
            f"<td class=\"num\">{_pct_value(float(r.get('probability') or 0))}</td>"
            f"<td class=\"num\">{_style_interval(r)}</td></tr>" for r in ranked[:8]]
    table = _table(f"Overall, from {_n(overall.get('n_records', 0))} answers",
                   [("Provider style", ""), ("Probability", "num"), ("Range", "num")], rows) if rows else ""
    files = [f for f in style.get("files") or [] if isinstance(f, dict)]
    file_rows = [f"<tr><td class=\"path mono\">{_path(facts.short(f.get('path')))}</td><td class=\"num\">{_n(f.get('n_records', 0))}</td><td>"
                 + ", ".join(f"{esc(facts.name(str(r.get('provider'))))} {_pct_value(float(r.get('probability') or 0))}"
                             for r in (f.get("ranked") or [])[:3] if isinstance(r, dict))
                 + "</td></tr>" for f in files[:MAX_FILE_ROWS]]
    file_table = _table("Per file: the three closest styles", [("File", ""), ("Answers used", "num"), ("Closest styles", "")],
                        file_rows) if file_rows else ""
    agreement = overall.get("top_agreement")
    agree = (f"<p>The top style was the same in {_pct_value(float(agreement))} of bootstrap resamples.</p>"
             if isinstance(agreement, (int, float)) else "")
    disclaimer = esc(style.get("disclaimer") or "")
    inner = (f"<div class=\"card probabilistic\"><p class=\"tag\">Probabilistic · not proof</p>"
             "<p>A statistical model compared the writing style of the answers with known outputs of several providers. "
             "Style resembles, it does not identify: models imitate each other, and people write like models. "
             "Use this only alongside the evidence above; it never changes the verdict.</p>"
             f"{agree}{table}{file_table}{f'<p class=note>{disclaimer}</p>' if disclaimer else ''}</div>")
    return _section("style", "Style-based attribution (probabilistic, not proof)", inner)


def _style_interval(r: Mapping[str, Any]) -> str:
    interval = r.get("interval")
    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        try:
            return f"{_pct_value(float(interval[0]))} – {_pct_value(float(interval[1]))}"
        except (TypeError, ValueError):
            pass
    return "—"


# --- terms ---------------------------------------------------------------------------------

def _terms_section(facts: Facts) -> str:
    cited = [p for p in facts.ranked_providers() if facts.provider(p) and p not in (GENERIC_PROVIDER, INPUT_PROVIDER)]
    if not cited:
        return _section("terms", "Terms cited", "<p>No finding names a provider in the registry.</p>")
    cards = "".join(_terms_card(facts, pid) for pid in cited)
    lead = ("For each provider named by a finding, the terms documents the provider registry cites, summarised in "
            "the project's own words. Read the document itself: terms change, and their scope (API, consumer app, "
            "open weights of one version) decides whether they apply to your data.")
    return _section("terms", "Terms cited", cards, lead)


def _terms_card(facts: Facts, pid: str) -> str:
    entry = facts.provider(pid)
    docs = [t for t in entry.get("terms") or [] if isinstance(t, dict)]
    recs = len(facts.provider_records.get(pid, ()))
    table = _table("", [("Document", ""), ("Scope", ""), ("Effective", ""), ("Reviewed on", ""),
                        ("Classification", ""), ("Summary", "")], [_terms_row(t) for t in docs]) if docs else \
        "<p>No terms document recorded.</p>"
    return (f"<div class=\"card terms\"><h3>{esc(facts.name(pid))} {_badge_class(facts.classification(pid))}</h3>"
            f"<p class=\"note\">{_plural(recs, 'record')} with evidence ({_pct(recs, facts.records)}); "
            f"{_plural(len(docs), 'terms document')} cited.</p>{table}</div>")


def _link(url: Any) -> str:
    text = str(url or "")
    if re.match(r"^https?://", text, re.IGNORECASE):
        return f"<a href=\"{esc(text)}\" rel=\"noopener noreferrer\" target=\"_blank\">{esc(text)}</a>"
    return esc(text) or "no URL recorded"


def _terms_row(t: Mapping[str, Any]) -> str:
    applies = ", ".join(str(a) for a in t.get("applies_to") or [])
    secondary = str(t.get("source_type") or "primary") != "primary"
    source = (f"<span class=\"detail\">source: {esc(t.get('source_type'))} (not the document itself)</span>"
              if secondary else "")
    return (f"<tr><td class=\"doc\"><strong>{esc(t.get('document'))}</strong>"
            f"<span class=\"detail url\">{_link(t.get('url'))}</span>{source}</td>"
            f"<td>{esc(t.get('scope'))}{f'<span class=detail>{esc(applies)}</span>' if applies else ''}</td>"
            f"<td class=\"nowrap\">{esc(t.get('effective_date'))}</td><td class=\"nowrap\">{esc(t.get('reviewed_on'))}</td>"
            f"<td>{_badge_class(str(t.get('classification')))}</td><td>{esc(t.get('summary'))}</td></tr>")


# --- evidence -------------------------------------------------------------------------------

_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_STATUS_RANK = {"fail": 0, "review": 1, "pass": 2}


def _strength(f: Mapping[str, Any]) -> tuple[Any, ...]:
    """Strongest first: severity, then confidence, then failing before the rest."""
    loc = f.get("location") or {}
    conf = f.get("confidence")
    return (_SEVERITY_RANK.get(str(f.get("severity")), 9), -(float(conf) if isinstance(conf, (int, float)) else 0.0),
            _STATUS_RANK.get(str(f.get("status")), 3), str(loc.get("path")), loc.get("line") or 0, loc.get("index") or 0)


def _evidence_section(facts: Facts, redact: bool, max_rows: int) -> str:
    total = len(facts.findings)
    if not total:
        return _section("evidence", "Evidence", "<p>No finding to list.</p>")
    top = _select_evidence(facts.findings, max_rows)
    rows = [_evidence_row(i + 1, f, facts, redact) for i, f in enumerate(top)]
    table = _table("", [("#", "num"), ("Strength", ""), ("Provider and rule", ""), ("Where", ""),
                        ("Evidence" + (" (redacted)" if redact else ""), ""), ("Status", "")],
                   rows, table_id="evidence-table")
    lead = ("One row per finding, strongest first: by severity, then by confidence (how strongly the rule points at the "
            "provider, 0 to 1). " + ("Snippet text is hidden (--redact); each finding is identified by its rule, "
                                     "location and fingerprint." if redact else "The text that matched is highlighted.")
            + (" " + _base_note(facts) if facts.base else ""))
    note = _omitted(len(top), total, "findings")
    if note:
        note = note.replace("</strong>", " The rows shown cover every rule that fired, strongest findings of each "
                            "rule first.</strong>", 1)
    return _section("evidence", "Evidence", note + _controls(facts, len(top)) + table, lead)


def _select_evidence(findings: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most `limit` findings, strongest first, that cover every rule: a
    rule with 10,000 identical hits must not push every other rule out.
    Rules take turns (strongest rule first), each giving its next strongest
    finding, until the table is full."""
    if len(findings) <= limit:
        return sorted(findings, key=_strength)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_rule.setdefault(str(f.get("rule_id")), []).append(f)
    # Only a rule's `limit` strongest can ever be shown: keeps this O(n log limit).
    queues = [heapq.nsmallest(limit, group, key=_strength) for group in by_rule.values()]
    queues.sort(key=lambda q: _strength(q[0]))
    chosen: list[dict[str, Any]] = []
    depth = 0
    while len(chosen) < limit:
        row = [q[depth] for q in queues if depth < len(q)]
        if not row:
            break
        chosen.extend(row[: limit - len(chosen)])
        depth += 1
    return sorted(chosen, key=_strength)


def _controls(facts: Facts, shown: int) -> str:
    sev = "".join(f"<option value=\"{s}\">{s}</option>" for s in SEVERITIES if facts.severity_counts[s])
    prov = "".join(f"<option value=\"{esc(p)}\">{esc(facts.name(p))}</option>" for p in facts.ranked_providers())
    return ("<div class=\"controls\" id=\"evidence-controls\" hidden>"
            "<label>Filter <input type=\"search\" id=\"evidence-filter\" placeholder=\"text, file, rule…\"></label>"
            f"<label>Severity <select id=\"evidence-severity\"><option value=\"\">all</option>{sev}</select></label>"
            f"<label>Provider <select id=\"evidence-provider\"><option value=\"\">all</option>{prov}</select></label>"
            f"<span aria-live=\"polite\">showing <span id=\"evidence-shown\">{shown}</span> of {_n(shown)} rows</span></div>")


def _evidence_row(number: int, f: Mapping[str, Any], facts: Facts, redact: bool) -> str:
    pid, severity, status = str(f.get("provider")), str(f.get("severity")), str(f.get("status", ""))
    conf = f.get("confidence")
    conf_text = f"{float(conf):.2f}" if isinstance(conf, (int, float)) else "—"
    evidence = "<span class=\"redacted\">snippet hidden (--redact)</span>" if redact else _snippet(f)
    return (f"<tr data-severity=\"{esc(severity)}\" data-provider=\"{esc(pid)}\">"
            f"<td class=\"num\">{number}</td>"
            f"<td>{_badge_severity(severity)}<span class=\"detail\">confidence {conf_text}</span></td>"
            f"<td class=\"rule\"><strong>{esc(facts.name(pid))}</strong><span class=\"detail\"><code>{esc(f.get('rule_id'))}</code>"
            f"</span><span class=\"detail\">{esc(f.get('message'))}</span></td>"
            f"<td class=\"path where\">{_where(facts, f)}</td><td class=\"ev\">{evidence}{_neardup_detail(f)}</td>"
            f"<td class=\"st-{esc(status)}\" title=\"{esc(STATUS_WORDS.get(status, ''))}\">{esc(status)}</td></tr>")


def _where(facts: Facts, f: Mapping[str, Any]) -> str:
    loc = f.get("location") or {}
    place = facts.short(loc.get("path"))
    if loc.get("line") is not None:
        place += f":{loc.get('line')}"
    elif loc.get("index") is not None:
        place += f"[{loc.get('index')}]"
    parts = [f"<span class=\"mono\">{_path(place)}</span>"]
    if loc.get("pointer"):
        parts.append(f"<span class=\"detail\">at <code>{esc(loc.get('pointer'))}</code></span>")
    if loc.get("record_id"):
        parts.append(f"<span class=\"detail\">record {esc(loc.get('record_id'))}</span>")
    parts.append(f"<span class=\"detail fp\">fingerprint {esc(f.get('fingerprint'))}</span>")
    return "".join(parts)


def _snippet(f: Mapping[str, Any]) -> str:
    """The snippet cut to about SNIPPET_CHARS around the match, the match marked."""
    text = str(f.get("snippet") or "")
    if not text:
        return "<span class=\"redacted\">no text snippet for this finding</span>"
    span = f.get("highlight") or [0, 0]
    try:
        lo, hi = int(span[0]), int(span[1])
    except (TypeError, ValueError, IndexError):
        lo = hi = 0
    if not 0 <= lo <= hi <= len(text):
        lo = hi = 0
    room = max(0, SNIPPET_CHARS - (hi - lo)) // 2
    start, end = max(0, lo - room), min(len(text), hi + room)
    before = ("…" if start > 0 else "") + text[start:lo]
    after = text[hi:end] + ("…" if end < len(text) else "")
    mark = f"<mark>{esc(text[lo:hi])}</mark>" if hi > lo else ""
    return f"<div class=\"snippet mono\">{esc(before)}{mark}{esc(after)}</div>"


def _neardup_detail(f: Mapping[str, Any]) -> str:
    detail = f.get("detail") or {}
    if not str(f.get("rule_id", "")).startswith(NEARDUP_PREFIX) or not isinstance(detail, dict):
        return ""
    if str(detail.get("reference_id")) in str(f.get("message", "")):
        return ""  # the message already names the reference and the similarity
    sim = detail.get("verified_similarity")
    sim_text = f"{float(sim):.2f}" if isinstance(sim, (int, float)) else "?"
    return (f"<span class=\"detail\">matches reference {esc(detail.get('reference_id'))} "
            f"from {esc(detail.get('reference_source'))} ({esc(detail.get('provider'))}); "
            f"verified similarity {sim_text}</span>")


# --- waivers, manifest, method ------------------------------------------------------------------

def _waiver_section(facts: Facts) -> str:
    verdict = facts.doc.get("verdict") or {}
    groups = [("active_waivers", "Active waivers (suppressing findings)"),
              ("expired_suppressions", "Expired waivers (no longer applied: their findings are reported again)"),
              ("unused_suppressions", "Allowlist entries or waivers that matched nothing")]
    tables = []
    for key, caption in groups:
        entries = [s for s in verdict.get(key) or [] if isinstance(s, dict)]
        if entries:
            rows = [f"<tr><td>{esc(s.get('fingerprint') or s.get('rule'))}</td><td class=\"mono\">{esc(', '.join(s.get('paths') or []))}</td>"
                    f"<td>{esc(s.get('reason'))}</td><td>{esc(s.get('reviewer') or '—')}</td><td>{esc(s.get('expires') or '—')}</td>"
                    f"<td class=\"mono\">{esc(s.get('source'))}</td></tr>" for s in entries]
            tables.append(_table(caption, [("Fingerprint or rule", ""), ("Paths", ""), ("Reason", ""), ("Reviewer", ""),
                                           ("Expires", ""), ("Where it is written", "")], rows))
    if not tables:
        return ""
    return _section("waivers", "Waivers and suppressions", "".join(tables),
                    "Reviewed exceptions that changed what this report lists.")


def _manifest_section(facts: Facts) -> str:
    m = facts.doc.get("manifest") or {}
    tool = m.get("tool") or facts.doc.get("tool") or {}
    registry = m.get("registry") or {}
    seconds = (facts.doc.get("summary") or {}).get("seconds")
    kv = [("Tool", f"{esc(tool.get('name', 'tos-lint'))} {esc(tool.get('version', ''))}"),
          ("Scan started", esc(_when(m.get("started_at")))), ("Scan finished", esc(_when(m.get("finished_at")))),
          ("Duration", f"{float(seconds):.1f} s" if isinstance(seconds, (int, float)) else "—"),
          ("Provider registry", f"<span class=\"mono\">{esc(registry.get('path'))}</span><br>"
                                f"<span class=\"mono\">sha256 {esc(registry.get('sha256'))}</span>")]
    for ix in m.get("indexes") or []:
        kv.append(("Near-duplicate index", f"<span class=\"mono\">{esc(_compact(ix))}</span>"))
    dl = "<dl class=\"kv\">" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in kv) + "</dl>"
    packs = [p for p in m.get("packs") or facts.doc.get("packs") or [] if isinstance(p, dict)]
    pack_rows = [f"<tr><td>{esc(p.get('name'))}</td><td class=\"num\">{_n(p.get('rules', 0))}</td>"
                 f"<td class=\"mono fp\">{esc(p.get('sha256'))}</td><td class=\"path mono\">{esc(p.get('path'))}</td></tr>" for p in packs]
    pack_table = _table("", [("Pack", ""), ("Rules", "num"), ("SHA-256", ""), ("Path", "")], pack_rows)
    inputs = [i for i in m.get("inputs") or [] if isinstance(i, dict)]
    input_rows = [f"<tr><td class=\"path mono\">{esc(i.get('path'))}</td><td class=\"num\">{_bytes(i.get('size'))}</td>"
                  f"<td class=\"num\">{_n(i.get('records', 0))}</td><td class=\"num\">{_n(i.get('malformed', 0))}</td>"
                  f"<td class=\"mono fp\">{esc(i.get('sha256'))}</td></tr>" for i in inputs[:MAX_INPUT_ROWS]]
    input_table = _table("", [("File", ""), ("Size", "num"), ("Records", "num"),
                         ("Unreadable", "num"), ("SHA-256", "")], input_rows)
    options = m.get("options") or {}
    opt_rows = [f"<tr><th scope=\"row\" class=\"mono\">{esc(k)}</th><td class=\"mono\">{esc(_compact(v))}</td></tr>"
                for k, v in sorted(options.items())]
    opt_table = _table("Options used", [("Option", ""), ("Value", "")], opt_rows) if opt_rows else ""
    verify = ("<div class=\"verify\"><strong>How to verify.</strong> This report describes the input files exactly as "
              "listed above (size and SHA-256). To check that they have not changed since, run "
              "<code>tos-lint verify report.json</code> on the JSON report of the same scan "
              "(<code>tos-lint scan … --format json -o report.json</code>): it re-hashes every input and says whether "
              "the report still describes them. The manifest is also embedded in this file, machine-readable, "
              "as the JSON element <code>#tos-lint-manifest</code>.</div>")
    inner = (f"<div class=\"card\">{dl}</div>{verify}<h3>Rule packs ({len(packs)})</h3>{pack_table}<h3>Input files ({_n(len(inputs))})</h3>{input_table}"
             f"{_omitted(MAX_INPUT_ROWS, len(inputs), 'input files', 'the embedded manifest and the JSON report')}"
             f"<details><summary>Options used for this scan</summary>{opt_table}</details>")
    return _section("manifest", "Audit manifest", inner,
                    "What exactly was reviewed, with what: enough to reproduce the scan and to prove the files are unchanged.")


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def _method_section(facts: Facts) -> str:
    m = facts.doc.get("manifest") or {}
    packs = [p for p in m.get("packs") or [] if isinstance(p, dict)]
    rules = sum(int(p.get("rules") or 0) for p in packs)
    items = [
        f"<strong>How records were checked.</strong> Every text field of every record was matched against "
        f"{_plural(rules, 'rule')} in {_plural(len(packs), 'rule pack')}: phrases a provider's model uses about itself, "
        "API artefacts (response ids, model names, generator fields), chat templates and habitual phrasing, after "
        "normalising Unicode look-alikes, invisible characters and markup."
        + (" Records were also compared with reference corpora of known provider outputs (near-duplicate index)."
           if m.get("indexes") else ""),
        "<strong>What a finding is.</strong> Evidence that a provider's model may have written a record, with the rule "
        "and the text that matched. It is not proof: models misstate their maker, people quote model output, and "
        "prompts name providers.",
        "<strong>What the scan cannot see.</strong> Most generated text carries no fingerprint. A record without a "
        "finding may still be generated, so the counts are lower bounds.",
        "<strong>Terms.</strong> Classifications are heuristic summaries of public terms as of the reviewed date. "
        "Terms change and depend on scope (API, consumer app, open weights of a given version); read the cited document.",
        "<strong>The gate.</strong> Your policy decides which providers fail the gate (by default those whose terms "
        "forbid training competing models) and from which severity; other providers are listed for review.",
        "<strong>Unreadable input</strong> is reported (rules tos-lint.input.*), never skipped silently; the records in "
        "it were not checked.",
    ]
    if facts.sampled:
        items.append("<strong>Sampling.</strong> Only a random sample was checked; shares for the whole dataset are "
                     "estimates with 95 % intervals that cover sampling luck only.")
    items.append("<strong>Not legal advice.</strong> This report supports a reviewer's judgement; it does not replace it.")
    body = "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    return _section("method", "Method and limitations", f"<div class=\"card\">{body}</div>")
