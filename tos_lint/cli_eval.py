"""`tos-lint rules eval`: measure rule packs on labelled data.

Registered in cli.py as `rules_app.command("eval")(rules_eval)`. The
rendering helpers (console, JSON, Markdown) are also used by
benchmarks/rule_accuracy.py to write docs/rule-accuracy.md.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, TextIO

import typer

from tos_lint.cli_common import EXIT_USAGE, refuse_replacing

if TYPE_CHECKING:
    from tos_lint.evaluate import Evaluation, FileEval, RuleStats

EVAL_FORMATS = ("console", "json", "markdown")


def rules_eval(
    labels: Path = typer.Option(..., "--labels", "-l", help="Labels file (YAML): data path or glob -> provider: ID | human | hard-negative | unlabelled."),
    rules: List[Path] = typer.Option([], "--rules", "-r", help="Add a rule pack (YAML). Repeatable."),
    no_default_rules: bool = typer.Option(False, "--no-default-rules", help="Do not load the built-in packs."),
    output_format: str = typer.Option("console", "--format", "-f", help="console | json | markdown"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    ignore: List[str] = typer.Option([], "--ignore", help="Leave out these rule ids or prefixes (repeatable)."),
    text_only: bool = typer.Option(False, "--text-only", help="Leave out rules that match record fields (provenance metadata such as a `generator` column): measure what the text alone gives away."),
    root: Optional[Path] = typer.Option(None, "--root", help="Folder the labels' paths start from (overrides the labels file's `root`)."),
    check: bool = typer.Option(False, "--check", help="Exit 1 if a goal is not met (human share, hard negatives, attribution)."),
) -> None:
    """Scan labelled data and report per-rule precision, per-file flags and attribution, and overall goals."""
    from tos_lint.errors import UsageError

    if output_format not in EVAL_FORMATS:
        _fail(f"--format: unknown format {output_format!r} (expected one of {', '.join(EVAL_FORMATS)})")
    try:
        from tos_lint.evaluate import evaluate

        evaluation = evaluate(
            labels, rules=[str(r) for r in rules], use_default_rules=not no_default_rules,
            ignore=tuple(ignore), text_only=text_only, root=root,
        )
        if output is not None:  # the report would destroy what it measured
            refuse_replacing(output, [("labels file", evaluation.labels.path), *(("rule pack", r) for r in rules),
                                      *(("labelled data file", f.path) for f in evaluation.labels.files)])
    except UsageError as exc:
        _fail(str(exc))
    render = {"console": render_console, "json": render_json, "markdown": render_markdown}[output_format]
    _write(render, evaluation, output)
    if check and not all(g.met for g in evaluation.goals()):
        raise typer.Exit(1)


def _fail(message: str) -> None:
    typer.echo(f"tos-lint: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _write(render, evaluation: "Evaluation", output: Optional[Path]) -> None:  # type: ignore[no-untyped-def]
    if output is None:
        render(evaluation, sys.stdout)
        return
    from tos_lint.atomic import atomic_write

    with atomic_write(output, "w") as stream:
        render(evaluation, stream)


# --- shared cell formatting ---------------------------------------------------------

def fmt_precision(r: "RuleStats") -> str:
    return "-" if r.precision is None else f"{r.precision:.2f}"


def fmt_other(r: "RuleStats") -> str:
    if not r.other_provider:
        return "0"
    detail = ", ".join(f"{p} {n}" for p, n in sorted(r.other_by_provider.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{r.other_provider} ({detail})"


def fmt_attribution(f: "FileEval") -> str:
    a = f.attribution
    if a is None:
        return "-"
    text = a.summary()
    if a.primary is not None:
        text += f"; confidence {a.confidence:.2f}"
    return text


def fmt_top_rules(f: "FileEval") -> str:
    return ", ".join(f"{r} ({n})" for r, n in f.top_rules) or "-"


def fmt_label(f: "FileEval") -> str:
    text = f.label.display()
    if f.label.kind == "provider" and not f.label.fingerprints:
        text += " (no fingerprints)"
    return text


def fmt_verdict(f: "FileEval") -> str:
    if not f.scanned:
        return "not scanned: " + "; ".join(f.input_issues)
    return f.verdict or "-"


def fmt_pct(part: int, whole: int) -> str:
    return f"{part} ({100.0 * part / whole:.2f} %)" if whole else str(part)


def rules_with_hits(evaluation: "Evaluation") -> list["RuleStats"]:
    return [r for r in evaluation.rules if r.hits]


# --- console ------------------------------------------------------------------------------

def render_console(evaluation: "Evaluation", stream: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tos_lint.model import Severity

    console = Console(file=stream, highlight=False, soft_wrap=False)
    mode = " (text only: field rules left out)" if evaluation.text_only else ""
    console.print(Text(f"Rule evaluation on {evaluation.labels.path}{mode}", style="bold"))
    console.print(Text(f"data root: {evaluation.labels.root}; {len(evaluation.files)} files; "
                       f"{sum(1 for _ in evaluation.rules)} rules; {evaluation.seconds:.1f} s", style="dim"))

    hit = rules_with_hits(evaluation)
    table = Table(title="Per rule (records hit; precision = right provider / labelled hits)")
    for col, justify in (("rule", "left"), ("provider", "left"), ("sev", "left"), ("evidence", "left"),
                         ("right provider", "right"), ("other provider", "right"), ("human", "right"),
                         ("hard neg.", "right"), ("unlabelled", "right"), ("precision", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in hit:
        bad = "red" if (r.human or r.hard_negative) else ("yellow" if r.other_provider else "")
        table.add_row(r.rule_id, r.provider, r.severity, r.evidence, str(r.right_provider), fmt_other(r),
                      Text(str(r.human), style="red" if r.human else ""),
                      Text(str(r.hard_negative), style="red" if r.hard_negative else ""),
                      str(r.unlabelled), Text(fmt_precision(r), style=bad))
    console.print(table)
    silent = len(evaluation.rules) - len(hit)
    if silent:
        console.print(Text(f"{silent} rule(s) hit no record.", style="dim"))

    files = Table(title="Per file (records flagged by their most severe finding)")
    for col, justify in (("file", "left"), ("label", "left"), ("records", "right"), ("flagged", "right"),
                         (">= medium", "right"), (">= high", "right"), ("top rules", "left"),
                         ("attribution", "left"), ("verdict", "left")):
        files.add_column(col, justify=justify)  # type: ignore[arg-type]
    for f in evaluation.files:
        verdict = fmt_verdict(f)
        style = {"right": "green", "wrong": "red", "wrong (weak)": "yellow"}.get(verdict, "")
        files.add_row(f.path, fmt_label(f), str(f.records), str(f.flagged), str(f.flagged_at(Severity.MEDIUM)),
                      str(f.flagged_at(Severity.HIGH)), fmt_top_rules(f), fmt_attribution(f), Text(verdict, style=style))
    console.print(files)

    console.print(Text("Overall", style="bold"))
    overall = Table(show_header=True)
    for col in ("goal", "target", "value", "met"):
        overall.add_column(col)
    for g in evaluation.goals():
        overall.add_row(g.name, g.target, g.value, Text("yes" if g.met else "NO", style="green" if g.met else "bold red"))
    console.print(overall)
    o = evaluation.overall
    console.print(f"provider records with evidence for their provider: {fmt_pct(o.provider_records_right, o.provider_records)}")
    console.print(f"provider files by verdict: {_verdicts(evaluation)}")
    console.print(f"all labelled files: {evaluation.attribution.overall.summary()}")
    for path in o.not_scanned:
        console.print(Text(f"not scanned: {path}", style="yellow"))


def _verdicts(evaluation: "Evaluation") -> str:
    from tos_lint.evaluate import VERDICTS

    v = evaluation.overall.verdicts
    return ", ".join(f"{name} {v[name]}" for name in VERDICTS if v.get(name)) or "no provider files"


# --- JSON ---------------------------------------------------------------------------------

def render_json(evaluation: "Evaluation", stream: TextIO) -> None:
    import orjson

    stream.write(orjson.dumps(evaluation.to_dict(), option=orjson.OPT_INDENT_2).decode())
    stream.write("\n")


# --- Markdown -------------------------------------------------------------------------------

def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], rows: list[list[object]], align: str = "") -> str:
    """A GitHub-flavoured Markdown table; `align` is one of l/r per column."""
    align = align or "l" * len(header)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def md_rules(evaluation: "Evaluation") -> str:
    rows = [[f"`{r.rule_id}`", r.provider, r.severity, r.evidence, r.right_provider, fmt_other(r),
             r.human, r.hard_negative, r.unlabelled, fmt_precision(r)] for r in rules_with_hits(evaluation)]
    out = md_table(["rule", "provider", "severity", "evidence", "right provider", "other provider",
                    "human", "hard neg.", "unlabelled", "precision"], rows, "llllrrrrrr")
    silent = sorted(r.rule_id for r in evaluation.rules if not r.hits)
    if silent:
        out += f"\n{len(silent)} rule(s) hit no record: " + ", ".join(f"`{r}`" for r in silent) + ".\n"
    return out


def md_files(evaluation: "Evaluation") -> str:
    from tos_lint.model import Severity

    rows = [[f"`{f.path}`", fmt_label(f), f.records, f.flagged, f.flagged_at(Severity.MEDIUM),
             f.flagged_at(Severity.HIGH), fmt_top_rules(f), fmt_attribution(f), fmt_verdict(f)]
            for f in evaluation.files]
    return md_table(["file", "label", "records", "flagged", ">= medium", ">= high", "top rules (records)",
                     "attribution", "verdict"], rows, "llrrrrlll")


def md_goals(evaluation: "Evaluation") -> str:
    rows = [[g.name, g.target, g.value, "yes" if g.met else "**no**"] for g in evaluation.goals()]
    out = md_table(["goal", "target", "value", "met"], rows)
    o = evaluation.overall
    out += (f"\nProvider records with evidence for their provider: {fmt_pct(o.provider_records_right, o.provider_records)}. "
            f"Provider files by verdict: {_verdicts(evaluation)}.\n")
    if o.not_scanned:
        out += "\nNot scanned: " + "; ".join(f"`{p}`" for p in o.not_scanned) + ".\n"
    return out


def render_markdown(evaluation: "Evaluation", stream: TextIO) -> None:
    mode = " (text only)" if evaluation.text_only else ""
    stream.write(f"# Rule evaluation{mode}\n\nLabels: `{evaluation.labels.path}`; data root: `{evaluation.labels.root}`.\n\n")
    stream.write("## Overall\n\n" + md_goals(evaluation) + "\n")
    stream.write("## Per rule\n\n" + md_rules(evaluation) + "\n")
    stream.write("## Per file\n\n" + md_files(evaluation))
