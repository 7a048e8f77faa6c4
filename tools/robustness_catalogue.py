#!/usr/bin/env python
"""Regenerate the catalogues in docs/robustness.md from the same cases the
tests run (tests/hostile_cases.py):

* hostile and broken inputs, each scanned by `python -m tos_lint scan FILE
  --format json` (about 30 s: 34 command-line runs, two of them over a
  100 MiB file);
* evasions, each scanned through the API.

    .venv/bin/python tools/robustness_catalogue.py          # rewrite the doc
    .venv/bin/python tools/robustness_catalogue.py --check  # exit 1 if it is stale

Any case whose outcome no longer matches what the tests expect is listed on
stderr (and the tests fail on it too).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.hostile_cases import (  # noqa: E402 - after the path is set
    catalogue_rows, evasion_rows, issues_match, run_all, run_evasions,
)

DOC = REPO / "docs" / "robustness.md"
SECTIONS = {
    "hostile-inputs": ("<!-- BEGIN hostile-inputs (tools/robustness_catalogue.py) -->", "<!-- END hostile-inputs -->"),
    "evasions": ("<!-- BEGIN evasions (tools/robustness_catalogue.py) -->", "<!-- END evasions -->"),
}


def replace_section(text: str, name: str, rows: list[str]) -> str:
    begin, end = SECTIONS[name]
    if begin not in text or end not in text:
        raise SystemExit(f"{DOC}: the markers of section {name!r} are missing")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(rows) + "\n" + end + tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the doc is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = run_all(Path(tmp) / "inputs", workers=4)
        evasions = run_evasions(Path(tmp) / "evasions")
    problems = [f"input {o.case.id}: exit {o.returncode}, findings {o.issues()}, scanned {o.hits()}"
                for o in inputs.values()
                if not (o.returncode == o.case.exit_code and issues_match(o.case.issues, o.issues())
                        and o.hits() == sorted(o.case.hits, key=repr))]
    problems += [f"evasion {o.evasion.id}: rules {o.rules}" for o in evasions.values()
                 if (o.evasion.rule in o.rules) == o.evasion.gap]
    for p in problems:
        print(f"unexpected: {p}", file=sys.stderr)
    text = DOC.read_text(encoding="utf-8")
    new = replace_section(text, "hostile-inputs", catalogue_rows(inputs))
    new = replace_section(new, "evasions", evasion_rows(evasions))
    if args.check:
        if new != text:
            print(f"{DOC} is stale: run {Path(__file__).relative_to(REPO)}", file=sys.stderr)
            return 1
        return 1 if problems else 0
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote {DOC.relative_to(REPO)} ({len(inputs)} inputs, {len(evasions)} evasions)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
