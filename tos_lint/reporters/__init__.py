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


def get_renderer(name: str) -> Renderer:
    module = importlib.import_module(f"tos_lint.reporters.{FORMATS[name]}")
    return module.render  # type: ignore[no-any-return]
