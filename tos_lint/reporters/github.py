"""`--format github`: GitHub Actions workflow commands, one line per reported finding.

    ::error file=data/train.jsonl,line=12,title=openai.self-id.chatgpt::assistant says it is ChatGPT (openai, high)

The runner turns each line into an annotation on the file and line. The
command (`error`, `warning`, `notice`) follows severity as SARIF's level
does; whether the job fails is still the exit code's business. A record in
a JSON array has no line, so its position goes into the message instead.

Escaping follows the runner's own rules (actions/toolkit `command.ts`): in
the message `%`, CR and LF; in properties also `:` and `,`, which would
otherwise end the property. Escaping LF also stops a crafted record from
starting a workflow command of its own on a new line.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from tos_lint.model import Finding, Severity
from tos_lint.reporters import printable

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict

COMMANDS = {
    Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
    Severity.LOW: "notice", Severity.INFO: "notice",
}


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    for outcome in verdict.reported:
        stream.write(command(outcome.finding))
        stream.write("\n")


def command(f: Finding) -> str:
    # Windows separators become '/'; elsewhere a backslash is part of a name (or of a `\\xNN` escape)
    path = f.location.path.replace("\\", "/") if os.sep == "\\" else f.location.path
    props = {"file": path, "title": f.rule_id}
    if f.location.line is not None:
        props["line"] = str(f.location.line)
    ordered = [(k, props[k]) for k in ("file", "line", "title") if k in props]
    joined = ",".join(f"{k}={escape_property(v)}" for k, v in ordered)
    return f"::{COMMANDS[f.severity]} {joined}::{escape_data(_message(f))}"


def _message(f: Finding) -> str:
    text = f"{f.message} ({f.provider}, {f.severity.label})"
    if f.location.line is None and f.location.index is not None:
        text += f" at record [{f.location.index}]{' ' + f.location.pointer if f.location.pointer else ''}"
    return text


def escape_data(value: str) -> str:
    """The runner's escapes, then any other control character as `\\xNN`
    (an escape sequence would colour or rewrite the job's log)."""
    return printable(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")
