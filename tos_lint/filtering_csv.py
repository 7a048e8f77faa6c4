"""`tos-lint filter` for CSV and TSV files (UTF-8, compressed or not): each
row's lines copied byte for byte to the clean or the quarantine copy.

The scan's CSV reader runs again and says where each row starts (a quoted
field may span lines) and what became of it; beside it, a second reader of
the same (decompressed) bytes cuts them into the lines the CSV reader saw,
so a row is the lines from its start to the next row's. Both copies begin
with the header. The quarantine copy has one more column, first:
`_tos_lint_findings`, each row's failing findings as JSON (or why the row
was not read: a field over the size limit, a quote never closed, the wrong
number of fields), quoted. A UTF-16 or UTF-32 file gets no copy: its rows
would have to be written in another encoding.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any, Iterator

from tos_lint import deepjson
from tos_lint.filtering import (
    CHANGED_SINCE_SCAN, FINDINGS_KEY, FilterCounts, _AtomicOutput, differs_from_scan, issue_note,
)
from tos_lint.model import Finding
from tos_lint.policy import INPUT_RULE_PREFIX
from tos_lint.readers import (
    _DECOMPRESS_ERRORS, BLOCK_SIZE, FileSignature, FileStats, InputFile, InputIssue, RawRecord, ReadOptions,
    compression_of, open_input, read_records,
)

# Lines as `csv.reader` gets them from a text stream opened with newline="".
_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"
# Rows the reader reported instead of reading: the quarantine copy holds them.
_ROW_NOT_READ = frozenset({"oversized-record", "malformed-csv"})


def physical_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of a byte stream, each ended by `\\r\\n`, `\\r` or `\\n`
    (kept), the last one maybe by nothing. A line longer than a block is
    gathered in parts, never copied again and again."""
    parts: list[bytes] = []
    while block := stream.read(BLOCK_SIZE):
        if parts and parts[-1].endswith(b"\r") and not block.startswith(b"\n"):
            yield b"".join(parts)  # a lone CR ended the block's last line
            parts = []
        start = 0
        for end in _LINE_END.finditer(block):
            if end.end() == len(block) and block.endswith(b"\r"):
                break  # maybe the first half of a CRLF: the next block says
            yield b"".join([*parts, block[start:end.end()]]) if parts else block[start:end.end()]
            parts, start = [], end.end()
        if start < len(block):
            parts.append(block[start:])
    if parts:
        yield b"".join(parts)


def quoted_field(text: str, delimiter: bytes) -> bytes:
    return b'"' + text.encode("utf-8").replace(b'"', b'""') + b'"' + delimiter


class _Row:
    """The row being copied: where it starts, and what the reader made of it."""

    def __init__(self, start: int):
        self.start = start
        self.record: RawRecord | None = None
        self.not_read: InputIssue | None = None


def filter_csv(inp: InputFile, delimiter: str, failing: dict[int, list[Finding]], counts: FilterCounts,
               clean_path: Path, quarantine_path: Path, options: ReadOptions, scanned_sha256: str | None) -> None:
    """Fill `counts` for one CSV or TSV input and write its copies."""
    assert inp.fs_path is not None
    before = FileSignature.of(inp.fs_path)  # the two readers must read one file
    stats = FileStats()
    kind = compression_of(inp.fs_path)
    with _AtomicOutput(clean_path, kind, False) as clean, _AtomicOutput(quarantine_path, kind, False) as quarantine:
        copier = _Copier(delimiter.encode("ascii"), failing, counts, clean, quarantine)
        try:
            with open_input(inp, None, options.limits) as raw:
                copier.copy(read_records(inp, stats, options), physical_lines(raw))
        except _DECOMPRESS_ERRORS as exc:  # the scan's reader met it too, and said so
            counts.stopped = counts.stopped or f"unreadable: {exc}"
        changed = differs_from_scan(stats, scanned_sha256) or FileSignature.of(inp.fs_path) != before
        if copier.refused or changed:
            clean.abandon()
            quarantine.abandon()
            counts.kept = counts.quarantined = counts.unreadable_copied = 0
            counts.stopped = copier.refused or CHANGED_SINCE_SCAN
            return
    counts.records_in = stats.records + stats.malformed
    counts.unreadable = stats.malformed


class _Copier:
    """Walks the reader's items and the file's lines together: each item
    that starts a row sends the lines before it to the row before."""

    def __init__(self, delimiter: bytes, failing: dict[int, list[Finding]], counts: FilterCounts,
                 clean: _AtomicOutput, quarantine: _AtomicOutput):
        self.delimiter, self.failing, self.counts = delimiter, failing, counts
        self.clean, self.quarantine = clean, quarantine
        self.refused = ""
        self.row: _Row | None = None  # None: the header (and blank lines around it) is being copied
        self.line = 0  # lines copied so far
        self.header_marked = False

    def copy(self, items: Iterator[RawRecord | InputIssue], lines: Iterator[bytes]) -> None:
        for item in items:
            if item.line is None:  # about the file, not a row
                if item.code == "not-utf8":
                    self.refused = (f"not-utf8: {item.message.split(',')[0]}; filter copies UTF-8 CSV only, "
                                    "so no copy was written: convert it to UTF-8, or exclude it")
                    return
                self.counts.stopped = self.counts.stopped or f"{item.code}: {item.message}"
                continue
            if self.row is None or item.line > self.row.start:
                self._send(lines, item.line)
                self.row = _Row(item.line)
            if isinstance(item, RawRecord):
                self.row.record = item
            elif item.code in _ROW_NOT_READ:
                self.row.not_read = item
        self._send(lines, None)

    def _send(self, lines: Iterator[bytes], until: int | None) -> None:
        """The lines before line `until` (all that are left: None) to where
        the current row goes."""
        parts: list[bytes] = []
        while until is None or self.line + 1 < until:
            text = next(lines, None)
            if text is None:
                break
            self.line += 1
            parts.append(text)
        if self.row is None:
            self._header(parts)
        elif parts:
            self._row(parts)

    def _header(self, parts: list[bytes]) -> None:
        marked = list(parts)
        for i, text in enumerate(marked):
            if text.strip(b"\r\n") and not self.header_marked:  # the header's first line
                bom = _BOM if text.startswith(_BOM) else b""
                marked[i] = bom + FINDINGS_KEY.encode("ascii") + self.delimiter + text[len(bom):]
                self.header_marked = True
        self.clean.write_lines(b"".join(parts), 0)
        self.quarantine.write_lines(b"".join(marked), 0)

    def _row(self, parts: list[bytes]) -> None:
        assert self.row is not None
        why = self._why_quarantined()
        if why is None:
            self.clean.write_lines(b"".join(parts), 1)
            self.counts.kept += 1
            return
        self.quarantine.write_lines(quoted_field(deepjson.dumps(why).decode("utf-8"), self.delimiter) + b"".join(parts), 1)
        if self.row.not_read is not None:
            self.counts.unreadable_copied += 1
        elif self.row.record is not None:
            self.counts.quarantined += 1

    def _why_quarantined(self) -> list[dict[str, Any]] | None:
        assert self.row is not None
        if self.row.not_read is not None:
            return issue_note(self.row.not_read)
        if self.row.record is None:  # lines no row of the reader's starts on: never judged
            return [{"rule_id": INPUT_RULE_PREFIX + "not-judged", "message": "lines the scan read as no row"}]
        found = self.failing.get(self.row.record.index) if self.row.record.index is not None else None
        return [f.to_dict() for f in found] if found else None
