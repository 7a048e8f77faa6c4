"""Output formats, one module each, behind one function signature:

    render(result: ScanResult, verdict: Verdict, stream: TextIO) -> None
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable, TextIO

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict

FORMATS = {
    "console": "console", "json": "json_format", "jsonl": "jsonl",
    "sarif": "sarif", "junit": "junit", "github": "github", "markdown": "markdown",
    "html": "html",
}

Renderer = Callable[["ScanResult", "Verdict", TextIO], None]

# Control characters in the data (an escape sequence in a snippet or a file
# name) would drive the reader's terminal, or the log viewer a Markdown or
# GitHub report is pasted into: text formats show them as `\xNN` escapes.
# A tab is shown as one space.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))} | {ord("\t"): " "}


def printable(text: str) -> str:
    """`text` with every C0 and C1 control character (and DEL) written `\\xNN`."""
    return text.translate(_CONTROLS)


def safe_lines(text: str) -> str:
    """`text` for a terminal: its lines kept, control characters from file
    names or a report's fields written `\\xNN` (see `printable`)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def get_renderer(name: str) -> Renderer:
    module = importlib.import_module(f"tos_lint.reporters.{FORMATS[name]}")
    return module.render  # type: ignore[no-any-return]
