"""The human view: findings grouped by file, then a summary table."""
from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, Any, Mapping, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tos_lint.model import Finding, Severity
from tos_lint.reporters import printable, safe_lines

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict

SEVERITY_STYLE = {
    Severity.INFO: "dim", Severity.LOW: "cyan", Severity.MEDIUM: "yellow",
    Severity.HIGH: "bold red", Severity.CRITICAL: "bold white on red",
}


def add_text_row(table: Table, *cells: str) -> None:
    """A row of strings from data or packs, shown as written: never read as
    rich markup (a rule message "[INST] ... [/INST]" is text, not a tag),
    control characters escaped line by line."""
    table.add_row(*(Text(safe_lines(cell)) for cell in cells))


# Findings rendered per print: a file's findings are printed as they are
# rendered, a few hundred at a time, never all held as rich text at once.
_FINDINGS_PER_PRINT = 500

# A line of the findings list: (text, rich style) parts. Made once and shown
# plain or coloured, so both say the same. Every part's text is printable
# already (`printable`), so rich would strip nothing from it.
Line = list[tuple[str, str]]


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    console = Console(file=stream, highlight=False, soft_wrap=True)
    for path, group in groupby(verdict.reported, key=lambda o: o.finding.location.path):
        lines: list[Line] = [[(printable(path), "bold underline")]]
        for n, outcome in enumerate(group, 1):
            lines.extend(_finding(outcome.finding, outcome.status))
            if n % _FINDINGS_PER_PRINT == 0:
                _print_lines(console, stream, lines)
                lines = []
        lines.append([])
        _print_lines(console, stream, lines)
    _summary(console, result, verdict)


def _print_lines(console: Console, stream: TextIO, lines: list[Line]) -> None:
    """Print `lines`; without colour (a file, a pipe), as plain text: rich
    renders a line in about 50 µs, which for thousands of findings costs
    more than the scan that found them. The output is the same either way."""
    if console.color_system is None:
        stream.write("".join("".join(text for text, _ in line) + "\n" for line in lines))
    else:
        console.print(Text("\n").join(Text.assemble(*line) for line in lines))


def _finding(f: Finding, status: str) -> list[Line]:
    loc = f.location
    where = f"{loc.line}" if loc.line is not None else (f"[{loc.index}]" if loc.index is not None else "-")
    head: Line = [("  ", ""), (f"{where:>6}", "bold"), (f"  {f.severity.label:<8}", SEVERITY_STYLE[f.severity])]
    if status == "review":
        head.append((" review", "italic"))
    head += [(f" {printable(f.rule_id)}", "magenta"), (f"  [{printable(f.provider)}]", "blue"), (f"  {printable(f.message)}", "")]
    lines = [head]
    if loc.pointer:
        lines.append([(f"          at {printable(loc.pointer)}", "dim")])
    if f.snippet:
        lo, hi = f.highlight
        lines.append([("          ", ""), (printable(f.snippet[:lo]), "dim"), (printable(f.snippet[lo:hi]), "bold reverse"),
                      (printable(f.snippet[hi:]), "dim")])
    return lines


def _examples(manifest: Mapping[str, Any], shown: int = 3) -> str:
    """The first few files passed over for their names, to start a note."""
    paths = [printable(str(p)) for p in (manifest.get("unknown_type_skipped") or [])]
    if not paths:
        return ""
    return ", ".join(paths[:shown]) + (", ..." if len(paths) > shown else "") + ": "


def _summary(console: Console, result: "ScanResult", verdict: "Verdict") -> None:
    s = result.stats
    share = (100.0 * s.records_flagged / s.records) if s.records else 0.0
    table = Table(title="Summary", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("files scanned", str(s.files))
    table.add_row("records scanned", str(s.records))
    table.add_row("records flagged", f"{s.records_flagged} ({share:.2f} %)")
    if s.malformed:
        table.add_row("unreadable records", str(s.malformed))
    if s.hidden_skipped:
        table.add_row("hidden, not scanned", f"{s.hidden_skipped} (names starting with '.'; --hidden scans them)")
    if s.unknown_type_skipped:
        table.add_row("other files, not scanned", Text(f"{s.unknown_type_skipped} ({_examples(result.manifest)}no reader "
                                                       "knows these names; --include '*.EXT' reads them as JSON)"))
    table.add_row("findings", str(len(verdict.reported)))
    # the findings listed above, at the severity the policy gave them (not
    # the scan's own counts, which include ignored and suppressed findings)
    by_severity = verdict.reported_by_severity()
    for sev in reversed(Severity):
        if by_severity[sev]:
            table.add_row(f"  {sev.label}", Text(str(by_severity[sev]), style=SEVERITY_STYLE[sev]))
    for status in ("review", "baseline", "suppressed", "allowed", "ignored"):
        if verdict.count(status):
            table.add_row(f"not failing: {status}", str(verdict.count(status)))
    console.print(table)
    for sup in verdict.unused_suppressions:
        console.print(Text(f"unused suppression: {sup.source} ({sup.reason})", style="yellow"))
    for sup in verdict.expired_suppressions:
        console.print(Text(f"expired waiver, no longer applied: {sup.source} (expired {sup.expires})", style="yellow"))
    if verdict.reported:
        console.print(_provider_table(result, verdict))
    if result.sample:
        console.print(_sample_table(result.sample))
    if result.attribution is not None:
        _attribution(console, result.attribution)
    if result.style_attribution:
        _style_attribution(console, result.style_attribution)
    console.print(Text(result.registry.disclaimer, style="italic dim"))
    if verdict.failing:
        console.print(Text(f"FAIL: {len(verdict.failing)} finding(s) at or above '{verdict.fail_on}'", style="bold red"))
    else:
        label = "never fails" if verdict.fail_on == "never" else f"nothing at or above '{verdict.fail_on}'"
        console.print(Text(f"OK: {label}", style="bold green"))


def _provider_table(result: "ScanResult", verdict: "Verdict") -> Table:
    table = Table(title="By provider")
    table.add_column("provider")
    table.add_column("findings", justify="right")
    table.add_column("terms classification")
    table.add_column("terms document")
    for provider, count in verdict.reported_by_provider().most_common():
        entry = result.registry.get(provider)
        doc = entry.terms[0] if entry and entry.terms else None
        add_text_row(table, provider, str(count), entry.classification if entry else "-",
                     f"{doc.document} ({doc.effective_date})" if doc else "-")
    return table


def _sample_table(sample: dict) -> Table:  # type: ignore[type-arg]
    table = Table(title=f"Estimated prevalence ({sample['method']}, {sample['sampled_records']} records)")
    table.add_column("provider")
    table.add_column("records", justify="right")
    table.add_column("share", justify="right")
    table.add_column("95 % interval", justify="right")
    for provider, row in sample["providers"].items():
        low, high = row["ci95"]
        table.add_row(provider, str(row["records"]), f"{100 * row['share']:.2f} %", f"{100 * low:.2f} – {100 * high:.2f} %")
    return table


MAX_ATTRIBUTION_FILES = 20


def _attribution(console: Console, attribution: Any) -> None:
    """Which providers the evidence points to, per file and overall."""
    with_evidence = [f for f in attribution.files if f.status != "none"]
    if not with_evidence:
        return
    console.print(Text("Evidence points to", style="bold"))
    _per_file(console, [f"{f.path}: {f.summary()}" for f in with_evidence])
    console.print(Text(f"  all files: {attribution.overall.summary()}", style="bold"))


def _per_file(console: Console, lines: list[str]) -> None:
    """One line per file, the first MAX_ATTRIBUTION_FILES of them."""
    for line in lines[:MAX_ATTRIBUTION_FILES]:
        console.print(Text(f"  {printable(line)}"))
    if len(lines) > MAX_ATTRIBUTION_FILES:
        console.print(Text(f"  … and {len(lines) - MAX_ATTRIBUTION_FILES} more files (see --format json)", style="dim"))


STYLE_TOP = 3  # providers shown per file; the JSON report has them all


def _style_attribution(console: Console, style: dict[str, Any]) -> None:
    """What the answers read like (`scan --attribution`), apart from the
    evidence above: a probability per provider, never proof."""
    console.print(Text("Answers read like (style, probabilistic evidence, not proof)", style="bold"))
    files = style.get("files") or []
    _per_file(console, [f"{f['path']}: {_ranked(f)}" for f in files])
    if len(files) > 1 and style.get("overall"):
        console.print(Text(f"  all files: {_ranked(style['overall'])}", style="bold"))


def _ranked(entry: dict[str, Any]) -> str:
    n = entry.get("n_records", 0)
    if not n or not entry.get("ranked"):
        return "no assistant text to attribute"
    top = ", ".join(f"{r['provider']} {r['probability']:.2f}" for r in entry["ranked"][:STYLE_TOP])
    return f"{top} ({n} record{'' if n == 1 else 's'})"
