"""`tos-lint attribute`: which providers' style a dataset's answers read like.

Registered on the main app by cli.py (`app.command("attribute")(attribute)`).
Exit codes: 0 after a report (attribution never fails a run by itself; use
`scan --attribution` for that), 2 for usage errors and a bad model file.
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, List, Optional

import typer

from tos_lint.cli_common import check_output, refuse_overwriting, usage_errors, writing

if TYPE_CHECKING:  # pragma: no cover
    from tos_lint.attribution import AttributionReport, DatasetAttribution

FORMATS = ("console", "json")
SHOWN_PER_FILE = 3


def attribute(
    paths: List[str] = typer.Argument(..., help="Files or directories; '-' reads JSONL from stdin."),
    output_format: str = typer.Option("console", "--format", "-f", help="console | json"),
    records: bool = typer.Option(False, "--records", help="Also give each record's top providers."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    max_records: int = typer.Option(500, "--max-records", help="Records used per file, sampled evenly (0: all)."),
    max_total_records: int = typer.Option(5000, "--max-total-records", help="Records used over all files, split evenly (0: no cap)."),
    model: Optional[Path] = typer.Option(None, "--model", help="Style model header (.json) instead of the shipped one."),
    hidden: bool = typer.Option(False, "--hidden", help="Also read files and folders whose names start with '.' (never .git, .hg, .svn)."),
) -> None:
    """Which providers' writing style the answers most resemble: probabilistic evidence, not proof."""
    with usage_errors():
        from tos_lint.errors import UsageError

        if output_format not in FORMATS:
            raise UsageError(f"--format: unknown format {output_format!r} (expected one of {', '.join(FORMATS)})")
        if max_records < 0 or max_total_records < 0:
            raise UsageError("--max-records and --max-total-records: must be 0 (no cap) or more")
        refuse_overwriting(output, paths, hidden=hidden)
        check_output("--output", output, devices=True)
        from tos_lint.attribution import attribute_paths

        report = attribute_paths(paths, records=records, max_records=max_records or None,
                                 max_total_records=max_total_records or None, model_path=model, hidden=hidden)
    from tos_lint.cli_report import write_output  # a device (`-o /dev/null`) is written in place

    render = render_json if output_format == "json" else render_console
    with writing("--output", output):
        write_output(output, lambda stream: render(report, stream))


def render_json(report: "AttributionReport", stream: IO[str]) -> None:
    import orjson

    stream.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")


def render_console(report: "AttributionReport", stream: IO[str]) -> None:
    from rich.console import Console
    from rich.text import Text

    from tos_lint.reporters import printable

    console = Console(file=stream, highlight=False, soft_wrap=True)
    console.print("[bold]Style attribution[/bold]: probabilistic evidence of style, not proof")
    model = report.model
    cap = report.settings.get("max_records")
    console.print(f"model {model.get('name')} ({str(model.get('sha256'))[:12]}), "
                  f"{'all records' if cap is None else f'up to {cap} records per file'}, "
                  "interval: 5th-95th percentile over bootstrap resamples of the records", style="dim")
    for f in report.files:
        console.print()
        used = f"{f.n_records} records used of {f.records_read} read"
        if f.sampled and f.estimated_records:
            used += f" (sampled from about {f.estimated_records})"
        elif f.sampled:
            used += " (sampled)"
        # a file name is data: no markup, no control characters (printable)
        console.print(Text(printable(f.path), style="bold"), Text(used))
        if f.problem:  # reading stopped early: the records before it are all there is
            console.print(Text(f"  {'read in part' if f.records_read else 'not attributed'}: {printable(f.problem)}"))
        _print_result(console, f.result)
        if f.records:
            for r in f.records:
                top = ", ".join(f"{p} {v:.2f}" for p, v in sorted(r.probabilities.items(), key=lambda kv: -kv[1])[:SHOWN_PER_FILE])
                where = " ".join(f"{k}={v}" for k, v in r.where.items())
                console.print(Text(f"    {printable(where)}: {top}", style="dim"))  # record ids are data too
    if len(report.files) > 1:
        console.print()
        console.print(f"[bold]All files together[/bold]  {report.overall.n_records} records used")
        _print_result(console, report.overall)
    console.print()
    console.print(report.disclaimer, style="italic")


def _print_result(console, result: "DatasetAttribution") -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    if not result.ranked:
        console.print("  no assistant text to attribute")
        return
    table = Table(show_edge=False, box=None, padding=(0, 2), pad_edge=True)
    for col, justify in (("provider", "left"), ("style probability", "right"), ("90% interval", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in result.ranked[:SHOWN_PER_FILE]:
        table.add_row(r.provider, f"{r.probability:.2f}", f"{r.low:.2f}-{r.high:.2f}")
    console.print(table)
    top = result.ranked[0]
    console.print(f"  {top.provider} ranks first in {result.top_agreement:.0%} of resamples"
                  + ("; few records, weak evidence" if result.n_records < 30 else ""), style="dim")
