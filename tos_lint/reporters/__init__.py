"""Output formats, one module each, behind one function signature:

    render(result: ScanResult, verdict: Verdict, stream: TextIO) -> None
"""
from __future__ import annotations

import importlib
import uuid
from itertools import islice
from typing import TYPE_CHECKING, Any, Callable, Iterable, TextIO

import orjson

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


# Items serialised per write while a list is streamed: big enough that the
# write calls cost nothing, small enough that the text held stays a few MB.
_ITEMS_PER_WRITE = 2000


def write_json(stream: TextIO, document: dict[str, Any], streamed: Iterable[Any], slot: list[Any]) -> None:
    """Write `document` as `orjson.dumps(document, option=OPT_INDENT_2)` does,
    with the list `slot` (which must sit in the document, empty) holding the
    items of `streamed`: they are serialised a few thousand at a time as
    they come, so a report of millions of findings never exists twice in
    memory (as dicts, then as one string) and is written byte for byte as
    the whole document would be."""
    marker = "\x00" + uuid.uuid4().hex  # a control character: orjson escapes any in the data
    slot.append(marker)
    try:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    finally:
        slot.pop()
    quoted = orjson.dumps(marker)
    at = text.index(quoted)
    list_start = text.rindex(b"[", 0, at)
    indent = b" " * (at - text.rindex(b"\n", 0, at) - 1)  # where orjson puts the slot's items
    stream.write(text[:list_start].decode())
    items = iter(streamed)
    first = True
    while chunk := list(islice(items, _ITEMS_PER_WRITE)):
        body = b",\n".join(indent + orjson.dumps(item, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n" + indent)
                           for item in chunk)
        stream.write(("[\n" if first else ",\n") + body.decode())
        first = False
    closing = text.index(b"]", at) + 1
    stream.write(("[]" if first else "\n" + indent[2:].decode() + "]") + text[closing:].decode())
    stream.write("\n")
