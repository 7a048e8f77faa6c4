#!/usr/bin/env python
"""Rule accuracy on the development corpora: writes docs/rule-accuracy.md.

    .venv/bin/python benchmarks/rule_accuracy.py [--corpora ../shared/corpora]
        [--labels benchmarks/corpora-labels.yaml] [--output docs/rule-accuracy.md]

Runs `tos-lint rules eval` twice on the labelled corpora (see
benchmarks/corpora-labels.yaml): once with every built-in rule, as a user's
scan runs, and once with the field (provenance metadata) rules left out,
because AlpacaEval files name their generator in every record and that alone
would make their attribution trivial. Skips cleanly (exit 0) when the corpora
folder is absent; they are evaluation data, not part of the project.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_LABELS = REPO / "benchmarks" / "corpora-labels.yaml"
DEFAULT_OUTPUT = REPO / "docs" / "rule-accuracy.md"
COMMAND = ".venv/bin/python benchmarks/rule_accuracy.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help="the corpora folder (default: ../shared/corpora)")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="labels file (default: benchmarks/corpora-labels.yaml)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to write (default: docs/rule-accuracy.md)")
    args = parser.parse_args(argv)

    if not args.corpora.is_dir():
        print(f"rule_accuracy: skipped: corpora folder {args.corpora} not found (it is evaluation data, not part of the project)")
        return 0

    from tos_lint.atomic import atomic_write
    from tos_lint.errors import UsageError
    from tos_lint.evaluate import evaluate

    try:
        full = evaluate(args.labels, root=args.corpora)
        text = evaluate(args.labels, root=args.corpora, text_only=True)
    except UsageError as exc:
        print(f"rule_accuracy: error: {exc}", file=sys.stderr)
        return 2
    doc = render(full, text, args.corpora, args.labels)
    with atomic_write(args.output, "w") as stream:
        stream.write(doc)
    for name, ev in (("all rules", full), ("text only", text)):
        met = sum(g.met for g in ev.goals())
        print(f"{name}: {met}/{len(ev.goals())} goals met; " + "; ".join(f"{g.name}: {g.value}" for g in ev.goals()))
    print(f"wrote {_rel(args.output)}")
    return 0


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), REPO)
    except ValueError:
        return str(path)


def render(full, text, corpora: Path, labels: Path) -> str:  # type: ignore[no-untyped-def]
    from tos_lint import __version__
    from tos_lint.cli_eval import fmt_other, fmt_precision, md_files, md_goals, md_rules, md_table
    from tos_lint.evaluate import worst_rules

    out: list[str] = []
    w = out.append
    w("# Rule accuracy on the development corpora\n\n")
    w(f"Regenerate with one command (from the repository root):\n\n```bash\n{COMMAND}\n```\n\n")
    w(f"Generated on {date.today().isoformat()} by tos-lint {__version__} from `{_rel(labels)}` "
      f"on `{_rel(corpora)}` ({len(full.files)} files, {full.overall.records} records, "
      f"{len(full.rules)} rules). The same figures for your own data and packs: "
      "`tos-lint rules eval --labels LABELS.yaml [--rules PACK.yaml] [--text-only] [--format json]`.\n\n")
    w("The corpora are public data nobody on this team wrote (see `../shared/corpora/README.md`); they are "
      "read for evaluation only. Nothing here is legal advice.\n\n")

    w("## How to read this\n\n")
    w("- **Hits** are *records* with at least one finding of a rule (a rule firing three times in a record counts once).\n"
      "- **Right provider**: hits on data labelled with the rule's provider. For rules whose provider is `unknown` "
      "(generic boilerplate such as \"As an AI language model\"), hits on *any* provider's data are right: they claim "
      "that some model wrote the text, not which one.\n"
      "- **Other provider**: hits on data labelled with a different provider (by label, in brackets).\n"
      "- **Precision** = right-provider hits / hits on labelled data (provider + human + hard-negative). "
      "Unlabelled data is left out. `-` when a rule hit no labelled record.\n"
      "- **Flagged at >= medium**: a record whose most severe finding is `medium` or above, whatever its "
      "provider. It measures what reviewers would be shown; what a run fails on also depends on the provider's "
      "stance (`--fail-on medium` fails on findings of providers whose terms forbid training competing models; "
      "the others, generic `unknown` boilerplate included, are listed for `review`; see docs/configuration.md).\n"
      "- **Attribution** (per file): which providers the findings point to, weighing strong evidence (`self-id`, "
      "`api-artifact`, `near-duplicate`) over weak (mentions, templates, provider-typical boilerplate); "
      "generic boilerplate is `unknown` and never credited to a provider; more than one named provider is "
      "shown as `conflicting`. Confidence = support (how much evidence) x share (against competing providers); "
      "a single strong record, or weak evidence alone, stays below 0.5. See `tos_lint/attribution_evidence.py`.\n"
      "- **Verdict** (provider files): `right` / `wrong` when the best-supported provider is (not) the labelled one "
      "with confidence >= 0.5; `(weak)` below that; `unattributed` when no named provider has evidence.\n"
      "- Files marked *no fingerprints* hold provider output known to carry no textual fingerprint "
      "(text-davinci-003, the GPT-3 GSM8K solutions, the Claude persuasion arguments): only near-duplicate "
      "matching can find them, so they are left out of the attribution goal.\n\n")

    w("## Goals\n\n")
    w("Goals: at most 0.1 % of human records flagged at >= medium; no hard-negative record flagged at "
      ">= medium; provider sets with real fingerprints attributed to the right provider.\n\n")
    w("### With every rule (as a scan runs)\n\n")
    w(md_goals(full) + "\n")
    w("### Text only (field rules left out)\n\n")
    w("AlpacaEval files carry a `generator` field in every record, which the provenance-metadata rules read; "
      "that alone attributes them. Leaving the field rules out (`--text-only`) shows what the text gives away.\n\n")
    w(md_goals(text) + "\n")

    w("## Worst rules (false positives)\n\n")
    worst = _merge_worst(worst_rules(full, 25), worst_rules(text, 25))
    if worst:
        rows = [[f"`{r.rule_id}`", r.provider, r.severity, r.evidence, r.human, r.hard_negative, fmt_other(r),
                 r.right_provider, fmt_precision(r)] for r in worst]
        w("Hits on human, hard-negative or another provider's data (all-rules run; text rules count the same in both runs).\n\n")
        w(md_table(["rule", "provider", "severity", "evidence", "human", "hard neg.", "other provider",
                    "right provider", "precision"], rows, "llllrrrrr"))
        w("\n")
    else:
        w("No rule hit human, hard-negative or another provider's data.\n\n")

    w("## Per rule (every rule)\n\n")
    w(md_rules(full) + "\n")
    w("## Per file (every rule)\n\n")
    w(md_files(full) + "\n")
    w("## Per file (text only)\n\n")
    w(md_files(text) + "\n")

    w("## Labels\n\n")
    w(f"From `{_rel(labels)}` (paths relative to the corpora folder; the last matching key wins).\n\n")
    rows = [[f"`{key}`", label.display() + ("" if label.fingerprints else " (no fingerprints)"), label.note or "-"]
            for key, label in full.labels.entries]
    w(md_table(["path or glob", "label", "note"], rows))
    return "".join(out)


def _merge_worst(a, b):  # type: ignore[no-untyped-def]
    """Worst rules of the all-rules run, then any only the text-only run shows."""
    seen = {r.rule_id for r in a}
    return list(a) + [r for r in b if r.rule_id not in seen]


if __name__ == "__main__":
    sys.exit(main())
