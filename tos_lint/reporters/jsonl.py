"""`--format jsonl`: one finding per line (same fields as in `--format json`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import orjson

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    for outcome in verdict.reported:
        stream.write(orjson.dumps(outcome.finding.to_dict() | {"status": outcome.status}).decode())
        stream.write("\n")
