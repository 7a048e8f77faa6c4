"""The catalogue of hostile and broken inputs, shared by
`tests/test_hostile_inputs.py` (which asserts every expectation through the
real command line) and `tools/robustness_catalogue.py` (which runs the same
cases and writes the table in docs/robustness.md).

Every case is a file built in a scratch folder, scanned with a one-rule pack
(the phrase "I am ChatGPT", rule `test.chatgpt`, severity high) by
`python -m tos_lint scan FILE --format json`. A record that is read and
holds the phrase shows up as a `test.chatgpt` finding at its line or array
index, so each case states both what the tool reports about the input
(`tos-lint.input.*` codes with their line or index) and which records around
the damage are still scanned.
"""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
RULE_ID = "test.chatgpt"
HIT = b'{"text": "I am ChatGPT, a language model."}'
CLEAN = b'{"text": "The sky is blue."}'
PACK = """\
pack: hostile-test
version: 1
rules:
  - id: test.chatgpt
    provider: openai
    severity: high
    confidence: 0.9
    message: the assistant says it is ChatGPT
    match: {any: [{phrase: "I am ChatGPT"}]}
    examples: {match: ["I am ChatGPT."], no_match: ["Hello."]}
"""

Loc = tuple[Any, Any]  # (line, index): one of them is None


@dataclass(frozen=True)
class Case:
    id: str
    title: str  # what the input is, for the catalogue
    make: Callable[[Path], Path]  # builds the input file in a folder, returns it
    # expected (code, line, index) of tos-lint.input.* findings; a line of
    # "*" is one or more findings at any line, "?" zero or more
    issues: tuple[tuple[str, Any, Any], ...]
    hits: tuple[Loc, ...]  # (line, index) of records with the phrase that must still be scanned
    outcome: str  # what the tool does, for the catalogue
    args: tuple[str, ...] = ()
    records: int | None = None  # records read, when it matters
    max_rss_mb: float | None = None  # bound on the scan's peak memory above a tiny scan's
    stdin: bool = False  # the file is given on standard input ('-'), not by name

    @property
    def exit_code(self) -> int:
        return 1 if self.hits else 0


def _lines(*lines: bytes, end: bytes = b"\n") -> bytes:
    return b"".join(line + end for line in lines)


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path
    return make


def _filler(n: int) -> bytes:
    return b"".join(json.dumps({"id": i, "text": f"filler record {i} " + "lorem ipsum " * 8}).encode() + b"\n"
                    for i in range(n))


def _truncated(name: str, compress: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    """The phrase on line 1, then 3000 filler lines; the file cut at 60 %."""
    def make(folder: Path) -> Path:
        blob = compress(HIT + b"\n" + _filler(3000))
        path = folder / name
        path.write_bytes(blob[: int(len(blob) * 0.6)])
        return path
    return make


def _corrupt_gzip(folder: Path) -> Path:
    blob = bytearray(gzip.compress(HIT + b"\n" + _filler(3000)))
    for i in range(len(blob) // 2, len(blob) // 2 + 64):
        blob[i] ^= 0x5A
    path = folder / "corrupt.jsonl.gz"
    path.write_bytes(bytes(blob))
    return path


def _zstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


def _bomb(name: str, compress: Callable[[bytes], bytes], mib: int) -> Callable[[Path], Path]:
    """A few hundred bytes that expand to `mib` MiB: the phrase, a run of
    newlines, the phrase again (behind the bomb, so never reached)."""
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(compress(HIT + b"\n" + b"\n" * (mib << 20) + HIT + b"\n"))
        return path
    return make


def _long_line(folder: Path) -> Path:
    """The phrase, one 100 MiB line, the phrase: written in pieces."""
    path = folder / "long-line.jsonl"
    with path.open("wb") as f:
        f.write(HIT + b"\n" + b'{"text": "')
        piece = b"a" * (1 << 20)
        for _ in range(100):
            f.write(piece)
        f.write(b'"}\n' + HIT + b"\n")
    return path


_DUMP_OBJECTS = 36_000  # 4 lines each: object i starts on line 4i + 1
_DUMP_BIG = _DUMP_OBJECTS // 2  # 1.5 MB of text, the phrase first


def _jq_dump(name: str, compress: Callable[[bytes], bytes] | None = None) -> Callable[[Path], Path]:
    """About 7 MB of objects pretty-printed one after another, as `jq .`
    writes them: the phrase in the first, the one after the middle and the
    last; the middle one 1.5 MB. Compressed and cut at 60 % if `compress`."""
    def make(folder: Path) -> Path:
        records = (json.dumps({"id": i, "text": ("I am ChatGPT, a language model. " if i in (0, _DUMP_BIG, _DUMP_BIG + 1,
                                                                                             _DUMP_OBJECTS - 1) else "")
                               + f"filler record {i} " + ("x " * (3 << 18) if i == _DUMP_BIG else "lorem ipsum " * 8)},
                              indent=2) for i in range(_DUMP_OBJECTS))
        data = ("\n".join(records) + "\n").encode()
        path = folder / name
        if compress is None:
            path.write_bytes(data)
        else:
            blob = compress(data)
            path.write_bytes(blob[: int(len(blob) * 0.6)])
        return path
    return make


def _noise(size: int) -> bytes:
    import random

    return random.Random(9).randbytes(size)


def _pretty_array(size: int) -> bytes:
    """An Alpaca-style array, one field per line; every 10,000th record has the phrase."""
    out, i = [], 0
    total = 0
    while total < size:
        rec = {"instruction": f"question {i}", "output": "I am ChatGPT." if i % 10_000 == 0 else "fine " * 20}
        out.append(rec)
        total += 150
        i += 1
    return json.dumps(out, indent=2).encode()


DEEP = 100_000


def _deep_array_line() -> bytes:
    return b"[" * DEEP + b"]" * DEEP


def _deep_object_line() -> bytes:
    return b'{"a":' * DEEP + b"1" + b"}" * DEEP


SAYS = "I am ChatGPT, a language model."  # the text of HIT, for tables


def _parquet(name: str, columns: dict[str, list[Any]], binary: tuple[str, ...] = (),
             names: list[str] | None = None) -> Callable[[Path], Path]:
    """A Parquet file of these columns (`binary`: stored as bytes), under `names` if given (they may repeat)."""
    def make(folder: Path) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = [pa.array(v, pa.binary() if k in binary else None) for k, v in columns.items()]
        path = folder / name
        pq.write_table(pa.Table.from_arrays(arrays, names=names or list(columns)), path)
        return path
    return make


CASES: list[Case] = [
    Case("invalid-utf8", "a JSONL line with invalid UTF-8 bytes inside a string",
         _write("invalid-utf8.jsonl", _lines(CLEAN, b'{"text": "I am ChatGPT \xff\xfe here"}', HIT)),
         issues=(("invalid-utf8", 2, None),), hits=((2, None), (3, None)),
         outcome="reported; the line is read with U+FFFD in place of the bad bytes and scanned"),
    Case("invalid-utf8-breaks-json", "invalid UTF-8 that also breaks the JSON syntax",
         _write("invalid-utf8-json.jsonl", _lines(CLEAN, b'{"te\xffxt": "I am ChatGPT"\xff}', HIT)),
         issues=(("invalid-utf8", 2, None), ("malformed-json", 2, None)), hits=((3, None),),
         outcome="both reported; the line is not read; the next line is"),
    Case("bom-jsonl", "a UTF-8 byte-order mark before the first JSONL line",
         _write("bom.jsonl", b"\xef\xbb\xbf" + _lines(HIT, CLEAN, HIT)),
         issues=(), hits=((1, None), (3, None)),
         outcome="the mark is skipped; every line read, line numbers unchanged"),
    Case("bom-json-array", "a UTF-8 byte-order mark before a JSON array",
         _write("bom.json", b"\xef\xbb\xbf[" + CLEAN + b",\n" + HIT + b"]\n"),
         issues=(), hits=((None, 1),),
         outcome="the mark is skipped; the array is read"),
    Case("bom-inside-jsonl", "UTF-8 byte-order marks starting lines inside a JSONL file (`cat` of files that start with one)",
         _write("cat-bom.jsonl", b"\xef\xbb\xbf" + _lines(HIT, CLEAN) + b"\xef\xbb\xbf" + _lines(HIT, CLEAN)),
         issues=(), hits=((1, None), (3, None)),
         outcome="each mark is skipped, as at the start of the file; every line read"),
    Case("crlf", "CRLF line endings, blank CRLF lines among them",
         _write("crlf.jsonl", _lines(CLEAN, b"", HIT, b"", HIT, end=b"\r\n")),
         issues=(), hits=((3, None), (5, None)),
         outcome="read as JSONL; blank lines skipped; physical line numbers"),
    Case("empty", "an empty file",
         _write("empty.jsonl", b""),
         issues=(), hits=(), records=0,
         outcome="clean result: no record, no finding"),
    Case("blank", "a file of white space and blank lines only",
         _write("blank.jsonl", b"  \n\n\t\r\n \n"),
         issues=(), hits=(), records=0,
         outcome="clean result: no record, no finding"),
    Case("blank-run-before-records", "2 MiB of blank lines before the first record (longer than the block a file's shape is judged from)",
         _write("lead.jsonl", b"\n" * (2 << 20) + _lines(HIT, CLEAN)),
         issues=(), hits=(((2 << 20) + 1, None),), records=2,
         outcome="the blank run is passed over; every record read at its physical line, whatever --jobs"),
    Case("lone-cr", "lines ending in a lone CR (classic Mac OS)",
         _write("mac.jsonl", _lines(HIT, CLEAN, HIT, end=b"\r")),
         issues=(), hits=((1, None), (3, None)),
         outcome="a CR ends a line as LF does; every record read at its line"),
    Case("lone-cr-in-lf-file", "lone CR line endings in some lines of an LF file",
         _write("mixed.jsonl", HIT + b"\n" + CLEAN + b"\r" + HIT + b"\r" + CLEAN + b"\n" + HIT + b"\n"),
         issues=(), hits=((1, None), (2, None), (3, None)),
         outcome="a line that fails to parse is split at its lone CRs (a raw CR cannot be inside a JSON string) and "
                 "each part read, at the LF-counted line it sits on; the lines after keep their numbers"),
    Case("binary-by-name", "a binary file given by name (`.bin`)",
         _write("data.bin", bytes(range(256)) * 64),
         issues=(("binary-file", None, None),), hits=(),
         outcome="one file-level finding; nothing else read"),
    Case("binary-as-jsonl", "a binary file named `.jsonl`",
         _write("image.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16),
         issues=(("binary-file", None, None),), hits=(),
         outcome="one file-level finding; nothing else read"),
    Case("nul-in-first-line", "one NUL byte in the first line of otherwise valid JSONL",
         _write("nul.jsonl", _lines(b'{"text": "a\x00b"}', CLEAN, HIT)),
         issues=(("malformed-json", 1, None),), hits=((3, None),),
         outcome="the file is text, not binary: the line with the NUL is reported at its line, the others scanned"),
    Case("large-binary-as-jsonl", "a 9 MiB binary file named `.jsonl` (large files are split across workers by name)",
         lambda folder: _write("big-noise.jsonl", _noise(9 << 20))(folder),
         issues=(("binary-file", None, None),), hits=(),
         outcome="one file-level finding, not one per random line from each worker"),
    Case("large-array-as-jsonl", "a 9 MiB pretty-printed JSON array named `.jsonl`",
         lambda folder: _write("big-array.jsonl", _pretty_array(9 << 20))(folder),
         issues=(), hits=tuple((None, k * 10_000) for k in range(7)),
         outcome="read whole as a JSON array by the first worker; the others read nothing"),
    Case("utf16", "a UTF-16 file (with its byte-order mark)",
         _write("utf16.jsonl", (CLEAN + b"\n" + HIT + b"\n").decode().encode("utf-16")),
         issues=(("not-utf8", None, None),), hits=((2, None),),
         outcome="one file-level finding (not UTF-8); read converted to UTF-8 and scanned, line numbers kept"),
    Case("utf16-be-no-bom", "a UTF-16 BE JSON array without a byte-order mark",
         _write("utf16.json", (b"[" + CLEAN + b", " + HIT + b"]").decode().encode("utf-16-be")),
         issues=(("not-utf8", None, None),), hits=((None, 1),),
         outcome="one file-level finding (not UTF-8); read converted to UTF-8 and scanned"),
    Case("utf32", "a UTF-32 file (with its byte-order mark)",
         _write("utf32.jsonl", (HIT + b"\n").decode().encode("utf-32")),
         issues=(("not-utf8", None, None),), hits=((1, None),),
         outcome="one file-level finding (not UTF-8); read converted to UTF-8 and scanned"),
    Case("utf16-csv", "a UTF-16 CSV file (with its byte-order mark)",
         _write("utf16.csv", f'id,text\n1,"{SAYS}"\n'.encode("utf-16")),
         issues=(("not-utf8", None, None),), hits=((2, 0),),
         outcome="one file-level finding (not UTF-8), as for JSON; read converted to UTF-8 and scanned"),
    Case("csv-repeated-column", "a CSV header that names a column twice (`text,text`)",
         _write("repeated.csv", f'text,text\nhello,"{SAYS}"\n'.encode()),
         issues=(), hits=((2, 0),),
         outcome="every column is read: the second `text` is the field `text#2`"),
    Case("csv-blank-header", "a CSV header of blank names only (`,,`)",
         _write("blank-header.csv", f',,\na,b,"{SAYS}"\n'.encode()),
         issues=(), hits=((2, 0),),
         outcome="every column is read: the blank names become a blank name, `#2` and `#3`"),
    Case("tsv-stray-quote", "a TSV row whose field opens a quote that is never closed",
         _write("stray.tsv", f'id\ttext\n1\t"quoted start\n2\t{SAYS}\n3\t{SAYS}\n'.encode()),
         issues=(("malformed-csv", 2, 0),), hits=((3, 1), (4, 2)),
         outcome="reported at the line the quote opens on; that line alone is lost: the lines after it are read again as rows"),
    Case("parquet-repeated-column", "a Parquet file with two columns of the same name",
         _parquet("repeated.parquet", {"a": [SAYS], "b": ["hello"]}, names=["text", "text"]),
         issues=(), hits=((None, 0),),
         outcome="every column is read: the second `text` is the field `text#2`"),
    Case("parquet-binary-column", "a Parquet binary column, one value UTF-8 text and one not (an image)",
         _parquet("binary.parquet", {"text": [b"\x89PNG\r\n\x1a\n", SAYS.encode()]}, binary=("text",)),
         issues=(("binary-field", None, 0),), hits=((None, 1),),
         outcome="the UTF-8 value is read as text and scanned; the column's first value that is not text is reported, once"),
    Case("parquet-oversized-row", "a 40 kB Parquet row with `--max-record-bytes 1024`",
         _parquet("big-row.parquet", {"text": ["a " * 20_000 + SAYS, SAYS]}),
         issues=(("oversized-record", None, 0),), hits=((None, 1),), args=("--max-record-bytes", "1024"),
         outcome="reported and not scanned, as a JSONL line or CSV row over the limit is; the next row is scanned"),
    Case("gzip-on-stdin", "gzip-compressed JSONL piped to standard input (`scan -`)",
         _write("piped.jsonl.gz", gzip.compress(_lines(HIT, CLEAN, HIT))),
         issues=(), hits=((1, None), (3, None)), stdin=True,
         outcome="told by its magic number, as a compressed file is, and decompressed; every line read"),
    Case("zstd-skippable-frame", "a zstd file that starts with a skippable frame (as pzstd and the seekable format write)",
         _write("pzstd.jsonl.zst", b"\x50\x2a\x4d\x18" + (8).to_bytes(4, "little") + b"12345678" + _zstd(_lines(HIT, CLEAN, HIT))),
         issues=(), hits=((1, None), (3, None)),
         outcome="told by its magic number (0x184D2A50 to 0x184D2A5F) as zstd; the frame is passed over and every line read"),
    Case("truncated-gzip", "a gzip stream cut at 60 %",
         _truncated("cut.jsonl.gz", gzip.compress),
         issues=(("truncated-stream", "*", None),), hits=((1, None),),
         outcome="every record before the cut is scanned; the cut is reported at the line where reading stopped"),
    Case("truncated-zstd", "a zstd stream cut at 60 %",
         _truncated("cut.jsonl.zst", _zstd),
         issues=(("truncated-stream", "*", None),), hits=((1, None),),
         outcome="every record before the cut is scanned; the cut is reported"),
    Case("truncated-bz2", "a bzip2 stream cut at 60 %",
         _truncated("cut.jsonl.bz2", bz2.compress),
         issues=(("truncated-stream", "*", None),), hits=(),
         outcome="reported; bzip2 decodes whole 900 kB blocks, so the records of the cut block are not scanned"),
    Case("truncated-xz", "an xz stream cut at 60 %",
         _truncated("cut.jsonl.xz", lzma.compress),
         issues=(("truncated-stream", "*", None),), hits=((1, None),),
         outcome="every record before the cut is scanned; the cut is reported"),
    Case("corrupt-gzip", "a gzip stream with 64 bytes flipped in the middle",
         _corrupt_gzip,
         issues=(("malformed-json", "?", None), ("truncated-stream", "*", None)), hits=((1, None),),
         outcome="records before the damage are scanned; deflate has no check until the CRC at the end, so what "
                 "it decodes after the damage comes out as malformed lines, and the CRC failure as a corrupt stream"),
    Case("trailing-garbage-gzip", "a gzip stream followed by bytes that are not gzip data (trailing garbage)",
         _write("trailing.jsonl.gz", gzip.compress(_lines(HIT, CLEAN, HIT)) + b"not gzip data\n"),
         issues=(("trailing-data", 4, None),), hits=((1, None), (3, None)),
         outcome="every record of the stream is scanned; what follows it is reported as trailing data, from the byte "
                 "where it starts (zero bytes alone are padding, accepted as gzip and xz accept them)"),
    Case("bomb-gzip", "a gzip decompression bomb (40 kB expanding 1028 times to 40 MiB of newlines)",
         _bomb("bomb.jsonl.gz", lambda b: gzip.compress(b, 9), 40),
         issues=(("decompression-bomb", "*", None),), hits=((1, None),),
         outcome="stopped once past 16 MiB and 1000x expansion; the record before it is scanned"),
    Case("bomb-zstd", "a zstd decompression bomb (1 kB expanding to 32 MiB of newlines)",
         _bomb("bomb.jsonl.zst", _zstd, 32),
         issues=(("decompression-bomb", "*", None),), hits=((1, None),),
         outcome="stopped once past 16 MiB and 1000x expansion; memory stays bounded; the record before it is scanned"),
    Case("bomb-bz2", "a bzip2 decompression bomb (under 100 bytes expanding to 24 MiB)",
         _bomb("bomb.jsonl.bz2", bz2.compress, 24),
         issues=(("decompression-bomb", "*", None),), hits=((1, None),),
         outcome="stopped once past 16 MiB and 1000x expansion; memory stays bounded"),
    Case("long-line", "a single 100 MiB line between two records, with `--max-record-bytes 1048576`",
         _long_line,
         issues=(("oversized-record", 2, None),), hits=((1, None), (3, None)),
         args=("--max-record-bytes", "1048576"), max_rss_mb=60,
         outcome="reported and skipped without being held in memory; the records around it are scanned"),
    Case("long-line-default-limit", "the same 100 MiB line with the default limit (64 MiB)",
         _long_line,
         issues=(("oversized-record", 2, None),), hits=((1, None), (3, None)), max_rss_mb=64 + 60,
         outcome="reported and skipped; memory bounded by the limit, not the line"),
    Case("deep-array-line", "a JSONL line of arrays nested 100,000 levels deep",
         _write("deep-array.jsonl", _lines(_deep_array_line(), HIT)),
         issues=(("malformed-json", 1, None),), hits=((2, None),),
         outcome="reported (nested too deeply, the limit is 1024 levels); the next line is scanned"),
    Case("deep-object-line", "a JSONL line of objects nested 100,000 levels deep",
         _write("deep-object.jsonl", _lines(CLEAN, _deep_object_line(), HIT)),
         issues=(("malformed-json", 2, None),), hits=((3, None),),
         outcome="reported; the next line is scanned"),
    Case("deep-array-element", "a JSON array whose first element nests 100,000 levels",
         _write("deep.json", b"[" + _deep_object_line() + b",\n" + HIT + b"]\n"),
         issues=(("malformed-json", None, 0),), hits=((None, 1),),
         outcome="the element is reported and skipped without being built; the next element is scanned"),
    Case("deep-single-object", "a pretty-printed single JSON object nesting 100,000 levels",
         _write("deep-one.json", b'{\n  "a":\n' + _deep_object_line() + b"\n}\n"),
         issues=(("malformed-json", 1, None),), hits=(),
         outcome="reported"),
    Case("nesting-at-the-limit", "JSONL records nesting objects, then arrays, 1024 levels deep (the limit)",
         _write("deep-1024.jsonl", _lines(b'{"a":' * 1023 + HIT + b"}" * 1023, b'{"a":' + b"[" * 1022 + HIT + b"]" * 1022 + b"}",
                                           b'{"n":NaN,"a":' + b"[" * 1022 + HIT + b"]" * 1022 + b"}")),
         issues=(("nonstandard-json", 3, None),), hits=((1, None), (2, None), (3, None)),
         outcome="read and scanned, NaN too (Python's own parser reads it, with room for the 1024 levels); nothing "
                 "that walks a record recurses, so no depth the readers accept breaks a later step"),
    Case("duplicate-keys", "duplicate keys in a record",
         _write("dup.jsonl", _lines(b'{"text": "clean", "text": "I am ChatGPT"}', b'{"text": "I am ChatGPT", "text": "clean"}')),
         issues=(("duplicate-key", 2, None),), hits=((1, None), (2, None)),
         outcome="every value of the key is scanned (parsers keep the last); where an earlier value holds a finding, "
                 "the repeated key is reported too"),
    Case("duplicate-keys-in-array", "duplicate keys in a JSON array element",
         _write("dup.json", b'[{"text": "I am ChatGPT", "text": "clean"},\n' + CLEAN + b",\n" + HIT + b"]\n"),
         issues=(("duplicate-key", None, 0),), hits=((None, 0), (None, 2)),
         outcome="as in JSONL: the earlier value is scanned and the repeated key reported"),
    Case("nan-infinity", "NaN, Infinity and -Infinity in JSONL records",
         _write("nan.jsonl", _lines(
             b'{"text": "I am ChatGPT", "score": NaN}', b'{"score": Infinity, "text": "I am ChatGPT"}',
             b'{"score": -Infinity, "text": "clean"}', HIT)),
         issues=(("nonstandard-json", 1, None), ("nonstandard-json", 2, None), ("nonstandard-json", 3, None)),
         hits=((1, None), (2, None), (4, None)),
         outcome="reported (strict parsers refuse them); read leniently and scanned"),
    Case("nan-lines-first", "a JSONL file whose first 10 lines hold NaN (no line a strict parser reads before the 11th)",
         _write("lead-nan.jsonl", _lines(*[b'{"text": "clean", "score": NaN}'] * 10, HIT, CLEAN, HIT)),
         issues=tuple(("nonstandard-json", n, None) for n in range(1, 11)), hits=((11, None), (13, None)), records=13,
         outcome="read line by line, as its first line closes all it opens; a file is read as one pretty-printed object "
                 "only when its first line opens more than it closes (`{` alone) and no line after it is a record line"),
    Case("nan-in-array", "NaN inside a JSON array file",
         _write("nan.json", b"[" + HIT + b',\n{"score": NaN},\n' + HIT + b"]\n"),
         issues=(("nonstandard-json", None, 1),), hits=((None, 0), (None, 2)),
         outcome="reported at the element; the streaming parser stops there, so the file is read again with NaN "
                 "and Infinity rewritten, from that element on: the element and all after it are scanned"),
    Case("nan-in-array-on-stdin", "NaN inside a JSON array given on stdin",
         _write("nan-stdin.json", b"[" + HIT + b',\n{"score": NaN},\n' + HIT + b"]\n"),
         issues=(("nonstandard-json", None, 1),), hits=((None, 0), (None, 2)), stdin=True,
         outcome="as in a file: standard input that starts with `[` is kept aside (in memory, past 16 MiB in a "
                 "temporary file) so that it can be read again from that element on"),
    Case("invalid-utf8-in-array", "invalid UTF-8 bytes inside an element of a JSON array file",
         _write("latin1.json", b"[" + HIT + b',\n{"text": "h\xe9llo"},\n' + HIT + b"]\n"),
         issues=(("invalid-utf8", None, 1),), hits=((None, 0), (None, 2)),
         outcome="reported at the element; the streaming parser stops there, so the file is read again from that "
                 "element on with each invalid byte as U+FFFD, as a JSONL line is: the element and all after it "
                 "are scanned"),
    Case("invalid-utf8-and-nan-in-array", "NaN in one element of a JSON array and invalid UTF-8 in a later one",
         _write("nan-latin1.json", b"[" + HIT + b',\n{"score": NaN},\n{"text": "h\xe9llo"},\n' + HIT + b"]\n"),
         issues=(("nonstandard-json", None, 1), ("invalid-utf8", None, 2)), hits=((None, 0), (None, 3)),
         outcome="each reported at its element; the file is read again once for each, with both fixes from the "
                 "second on"),
    Case("huge-numbers", "numbers too large for a double or a 64-bit integer",
         _write("numbers.jsonl", _lines(
             b'{"text": "I am ChatGPT", "n": 1e400}', b'{"n": -1e999, "text": "clean"}',
             b'{"n": 123456789012345678901234567890, "text": "I am ChatGPT"}',
             b'{"n": 1' + b"0" * 5000 + b', "text": "I am ChatGPT"}')),
         issues=(("nonstandard-json", 1, None), ("nonstandard-json", 2, None), ("nonstandard-json", 4, None)),
         hits=((1, None), (3, None), (4, None)),
         outcome="reported where strict parsers refuse them; read as floats (infinity beyond range) and scanned"),
    Case("huge-numbers-in-array", "a number beyond a double inside a JSON array",
         _write("numbers.json", b'[{"text": "I am ChatGPT", "n": 1e400},\n' + HIT + b"]\n"),
         issues=(("nonstandard-json", None, 0),), hits=((None, 0), (None, 1)),
         outcome="reported; read as infinity and scanned"),
    Case("lone-surrogate", "a JSON string with a lone surrogate escape (`\\ud800`)",
         _write("surrogate.jsonl", _lines(b'{"text": "I am ChatGPT \\ud800"}', HIT)),
         issues=(("nonstandard-json", 1, None),), hits=((1, None), (2, None)),
         outcome="reported; the surrogate becomes U+FFFD and the record is scanned"),
    Case("not-objects-jsonl", "JSONL lines that are arrays, strings, numbers, null, booleans",
         _write("scalars.jsonl", _lines(b"[1, 2]", b'"just a string"', b"42", b"null", b"true", HIT)),
         issues=tuple(("not-an-object", n, None) for n in range(1, 6)), hits=((6, None),),
         outcome="each reported at its line (a first line holding an array still means JSONL); the rest scanned"),
    Case("broken-array-first-line", "a `.jsonl` file whose first line is a broken array (`[1,2`)",
         _write("broken-first.jsonl", _lines(b"[1,2", HIT, CLEAN, HIT)),
         issues=(("malformed-json", 1, None),), hits=((2, None), (4, None)),
         outcome="not one complete JSON document, so read line by line: the first line reported at its line, the rest scanned"),
    Case("broken-array-first-line-on-stdin", "the same on stdin: JSONL whose first line is a broken array",
         _write("broken-first-stdin.jsonl", _lines(b"[1,2", HIT, CLEAN, HIT)),
         issues=(("malformed-json", 1, None),), hits=((2, None), (4, None)), stdin=True,
         outcome="read as the file is: standard input is kept aside to be read twice; the first line reported, "
                 "the rest scanned"),
    Case("not-objects-array", "JSON array elements that are not objects",
         _write("scalars.json", b'[1, "s", null, [], true, ' + HIT + b"]"),
         issues=tuple(("not-an-object", None, i) for i in range(5)), hits=((None, 5),),
         outcome="each reported at its index; the rest scanned"),
    Case("scalar-file", "a `.json` file holding a single number",
         _write("scalar.json", b"42\n"),
         issues=(("not-an-object", 1, None),), hits=(),
         outcome="reported"),
    Case("malformed-then-valid", "a broken line, then trailing garbage after an object, then valid lines",
         _write("broken.jsonl", _lines(b'{"text": "I am Chat', b'{"text": "x"} trailing', HIT)),
         issues=(("malformed-json", 1, None), ("malformed-json", 2, None)), hits=((3, None),),
         outcome="each reported at its line; the rest scanned"),
    Case("garbage-after-array", "a JSON array followed by more data",
         _write("after.json", b"[\n" + HIT + b"\n]\n" + HIT + b"\n"),
         issues=(("malformed-json", None, 1),), hits=((None, 0),),
         outcome="the array is scanned; what follows it is reported, not silently dropped"),
    Case("concatenated-objects", "a `.json` file of objects written one after another on one line (`{..}{..}{..}`)",
         _write("concat.json", HIT + CLEAN + HIT),
         issues=(("nonstandard-json", 1, None),), hits=((1, None),), records=3,
         outcome="each object read and scanned (as `jq` reads them), at the line it starts on; reported once, "
                 "as strict JSON readers refuse such text and others keep only its first value"),
    Case("concatenated-pretty-objects", "pretty-printed objects one after another (as `jq .` writes several), then garbage",
         _write("jq.json", b'{\n  "text": "clean"\n}\n{\n  "text": "I am ChatGPT"\n}\nnot json\n{\n  "text": "I am ChatGPT"\n}\n'),
         issues=(("nonstandard-json", 1, None), ("malformed-json", 7, None)), hits=((4, None),), records=2,
         outcome="each object read and scanned at the line it starts on; what follows the last value that reads "
                 "is reported at its line, as data after an array is (and not read further)"),
    Case("concatenated-over-the-limit", "a 7 MB `.json` of objects pretty-printed one after another, one of them "
         "1.5 MB, with `--max-record-bytes 1048576`",
         _jq_dump("dump.json"),
         issues=(("nonstandard-json", 1, None), ("oversized-record", 4 * _DUMP_BIG + 1, None)),
         hits=((1, None), (4 * _DUMP_BIG + 5, None), (4 * _DUMP_OBJECTS - 3, None)), args=("--max-record-bytes", "1048576"),
         records=_DUMP_OBJECTS - 1,
         outcome="read streamed, a value at a time, each at the line it starts on: the one over the limit reported and "
                 "passed over without being held, the ones after it scanned; memory is bounded by the limit, not the file"),
    Case("concatenated-gzip-cut", "the same, gzip-compressed and cut at 60 %",
         _jq_dump("dump.json.gz", gzip.compress),
         issues=(("nonstandard-json", 1, None), ("oversized-record", 4 * _DUMP_BIG + 1, None), ("truncated-stream", "*", None)),
         hits=((1, None), (4 * _DUMP_BIG + 5, None)), args=("--max-record-bytes", "1048576"),
         outcome="every object before the cut scanned; the cut reported at the line of the first object it kept from "
                 "being read"),
]


# --- running a case ----------------------------------------------------------------------

@dataclass
class Outcome:
    case: Case
    path: Path
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None = None
    rss_mb: float | None = None  # peak memory of the scan minus a tiny scan's
    notes: list[str] = field(default_factory=list)

    def input_findings(self) -> list[dict[str, Any]]:
        return [f for f in (self.report or {}).get("findings", []) if f["rule_id"].startswith("tos-lint.input.")]

    def issues(self) -> list[tuple[str, Any, Any]]:
        return sorted(((f["rule_id"].removeprefix("tos-lint.input."), f["location"]["line"], f["location"]["index"])
                       for f in self.input_findings()), key=repr)

    def hits(self) -> list[Loc]:
        return sorted({(f["location"]["line"], f["location"]["index"])
                       for f in (self.report or {}).get("findings", []) if f["rule_id"] == RULE_ID}, key=repr)


def cli_env() -> dict[str, str]:
    env = dict(os.environ)  # the session's compile cache (conftest) comes with it
    env.pop("TOS_LINT_DEBUG", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def scan_command(path: Path, pack: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tos_lint", "scan", str(path), "--isolated", "--no-default-rules",
            "--rules", str(pack), "--format", "json", *args]


_RSS_WRAPPER = """\
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True)
sys.stdout.buffer.write(proc.stdout)
sys.stderr.buffer.write(proc.stderr)
sys.stderr.write("\\nMAXRSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(proc.returncode)
"""


def run_command(command: list[str], cwd: Path, measure: bool = False, timeout: float = 300,
                stdin: bytes | None = None) -> tuple[int, str, str, float | None]:
    """Run a command; with `measure`, in a fresh wrapper process whose
    `getrusage(RUSAGE_CHILDREN)` is the peak memory of that command alone."""
    if measure:
        command = [sys.executable, "-c", _RSS_WRAPPER, *command]
    proc = subprocess.run(command, cwd=cwd, capture_output=True, timeout=timeout, env=cli_env(), input=stdin)
    stdout, stderr = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    rss = None
    if measure:
        stderr, _, tail = stderr.rpartition("\nMAXRSS_KB=")
        rss = int(tail.strip()) / 1024
    return proc.returncode, stdout, stderr, rss


def write_pack(folder: Path) -> Path:
    path = folder / "hostile-test.yaml"
    path.write_text(PACK, encoding="utf-8")
    return path


def baseline_rss(folder: Path, pack: Path) -> float:
    """Peak memory of scanning a one-line file: what every scan costs."""
    tiny = folder / "tiny.jsonl"
    tiny.write_bytes(HIT + b"\n")
    _, _, _, rss = run_command(scan_command(tiny, pack), folder, measure=True)
    assert rss is not None
    return rss


def run_case(case: Case, folder: Path, pack: Path, base_rss: float | None = None) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    path = case.make(folder)
    measure = case.max_rss_mb is not None
    code, stdout, stderr, rss = run_command(scan_command(Path("-") if case.stdin else path, pack, *case.args), folder,
                                            measure=measure, stdin=path.read_bytes() if case.stdin else None)
    outcome = Outcome(case, path, code, stdout, stderr)
    try:
        outcome.report = json.loads(stdout)
    except ValueError:
        outcome.report = None
    if rss is not None and base_rss is not None:
        outcome.rss_mb = rss - base_rss
    if case.make is _long_line:
        path.unlink()  # 100 MiB: do not keep it around
    return outcome


def run_all(folder: Path, cases: list[Case] | None = None, workers: int = 3) -> dict[str, Outcome]:
    """Every case, a few at a time (each is a separate `python -m tos_lint`)."""
    from concurrent.futures import ThreadPoolExecutor

    cases = CASES if cases is None else cases
    folder.mkdir(parents=True, exist_ok=True)
    pack = write_pack(folder)
    base = baseline_rss(folder, pack)
    heavy = [c for c in cases if c.max_rss_mb is not None]  # measured alone, one after the other
    light = [c for c in cases if c.max_rss_mb is None]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {c.id: pool.submit(run_case, c, folder / c.id, pack) for c in light}
        results = {c.id: run_case(c, folder / c.id, pack, base) for c in heavy}
        results.update({cid: f.result() for cid, f in futures.items()})
    return {c.id: results[c.id] for c in cases}


# --- the catalogue --------------------------------------------------------------------------

def _where(line: Any, index: Any) -> str:
    if line == "*":
        return "line N"
    if line is not None:
        return f"line {line}"
    if index is not None:
        return f"[{index}]"
    return "file"


def issues_match(expected: tuple[tuple[str, Any, Any], ...], actual: list[tuple[str, Any, Any]]) -> bool:
    """Whether the findings are exactly those expected ('*' and '?' lines
    stand for one-or-more and zero-or-more findings of that code)."""
    exact = sorted((e for e in expected if e[1] not in ("*", "?")), key=repr)
    loose = {e[0]: e[1] for e in expected if e[1] in ("*", "?")}
    rest = [a for a in actual if a[0] not in loose]
    if sorted(rest, key=repr) != exact:
        return False
    return all(marker == "?" or any(a[0] == code for a in actual) for code, marker in loose.items())


def catalogue_rows(outcomes: dict[str, Outcome]) -> list[str]:
    """The markdown table of docs/robustness.md, from what the tool did."""
    rows = ["| input | `tos-lint.input.*` findings (where) | still scanned | exit | what the tool does |",
            "|---|---|---|---|---|"]
    for o in outcomes.values():
        loose = {code: line for code, line, _ in o.case.issues if line in ("*", "?")}
        shown: dict[str, list[str]] = {}
        for code, line, index in o.issues():
            shown.setdefault(code, []).append(_where(line, index))
        issues = ", ".join(
            f"`{code}` (" + ("line N" if loose.get(code) == "*" else "some lines" if code in loose else ", ".join(where)) + ")"
            for code, where in shown.items()) or "none"
        hits = ", ".join(_where(line, index) for line, index in o.hits()) or "-"
        rows.append(f"| {o.case.title} | {issues} | {hits} | {o.returncode} | {o.case.outcome} |")
    return rows


# --- evasions ----------------------------------------------------------------------------------

EVASION_PACK = """\
pack: evasion-test
version: 1
rules:
  - id: test.chatgpt
    provider: openai
    severity: high
    confidence: 0.9
    message: says it is ChatGPT
    match: {any: [{phrase: "I am ChatGPT"}]}
    examples: {match: ["I am ChatGPT."], no_match: ["Hello."]}
  - id: test.openai
    provider: openai
    severity: high
    confidence: 0.9
    message: says OpenAI trained it
    match: {any: [{phrase: "trained by OpenAI"}]}
    examples: {match: ["I was trained by OpenAI."], no_match: ["Hello."]}
  - id: test.claude
    provider: anthropic
    severity: high
    confidence: 0.9
    message: says it is Claude
    match: {any: [{phrase: "I'm Claude"}]}
    examples: {match: ["I'm Claude."], no_match: ["Hello."]}
"""


@dataclass(frozen=True)
class Evasion:
    id: str
    title: str
    text: str  # the disguised sentence, as it stands in the record
    rule: str  # the rule it must still hit
    gap: bool = False  # a known gap: it does not hit (documented; the test is a strict xfail)


EVASIONS: list[Evasion] = [
    Evasion("cyrillic-one-letter-word", "a one-letter word in Cyrillic (`І am`)", "\u0406 am ChatGPT, a model.", "test.chatgpt"),
    Evasion("cyrillic-i-apostrophe", "Cyrillic `І` before an apostrophe (`І'm`)", "\u0406'm Claude, nice to meet you.", "test.claude"),
    Evasion("greek-iota-in-openai", "Greek capital Alpha and Iota ending a word (`OpenΑΙ`)", "I was trained by Open\u0391\u0399.", "test.openai"),
    Evasion("greek-omicron", "Greek capital Omicron starting a word (`Οpen AI`)", "I was trained by \u039fpen AI.", "test.openai"),
    Evasion("greek-tau-rho", "Greek capital Rho and Tau (`ChatGΡΤ`)", "I am ChatG\u03a1\u03a4.", "test.chatgpt"),
    Evasion("whole-word-cyrillic", "a word written wholly in Cyrillic look-alikes beside Latin words (`СНАТ GPT`)", "I am \u0421\u041d\u0410\u0422 GPT.", "test.chatgpt"),
    Evasion("palochka-in-claude", "Cyrillic palochka for `l` (`CӀaude`)", "I'm C\u04c0aude, an assistant.", "test.claude"),
    Evasion("mixed-scripts-in-one-word", "Cyrillic and Greek look-alikes in one word", "I am \u0421h\u03b1tG\u0420\u03a4.", "test.chatgpt"),
    Evasion("math-bold", "mathematical bold letters (NFKC)", "I am \U0001d402\U0001d421\U0001d41a\U0001d42d\U0001d406\U0001d40f\U0001d413.", "test.chatgpt"),
    Evasion("circled-letters", "circled letters (NFKC)", "I am \u24b8\u24bd\u24b6\u24c9GPT.", "test.chatgpt"),
    Evasion("tag-characters", "invisible Unicode tag characters inside the word", "I am Chat\U000e0020\U000e0041GPT.", "test.chatgpt"),
    Evasion("bidi-and-soft-hyphen", "no-break space, soft hyphen and bidi controls together", "I\u00a0am Chat\u00adG\u200eP\u202aT.", "test.chatgpt"),
    Evasion("entity-zero-width", "an HTML entity for a zero-width space", "I am Chat&#8203;GPT.", "test.chatgpt"),
    Evasion("entity-cyrillic", "HTML entities for Cyrillic look-alikes", "I am ChatG&#1056;&#x422;.", "test.chatgpt"),
    Evasion("json-escape-in-text", "a JSON `\\u` escape left in the text (double-encoded JSON)", "I am \\u0043hatGPT.", "test.chatgpt"),
    Evasion("json-escape-cyrillic", "JSON escapes of Cyrillic look-alikes in the text", "I am ChatG\\u0420\\u0422.", "test.chatgpt"),
    Evasion("split-and-homoglyph", "a split word with a homoglyph (`Open-ΑΙ`)", "I was trained by Open-\u0391\u0399.", "test.openai"),
    Evasion("everything-combined", "markdown, full-width, zero-width, entity, Cyrillic and Greek at once",
            "\u0406\u2019m **\uff23\u200b\u04c0aude**", "test.claude"),
    Evasion("everything-combined-2", "split word, curly quote, entities, escapes, markdown",
            "I&nbsp;was *trained* by __Open__ \\u0041&#x399;.", "test.openai"),
    Evasion("html-inline-tags", "inline HTML tags around and inside the word (`<b>Chat</b>GPT`)",
            "I am <b>Chat</b><span class=\"x\">GPT</span>.", "test.chatgpt"),
    Evasion("html-tags-as-entities", "inline HTML tags written as entities (`&lt;em&gt;`)",
            "I'm &lt;em&gt;Claude&lt;/em&gt;, hello.", "test.claude"),
    Evasion("small-capitals", "Latin small capitals beside Latin letters (`ᴄʜᴀᴛGPT`)", "I am \u1d04\u029c\u1d00\u1d1bGPT.", "test.chatgpt"),
    Evasion("small-capitals-whole-word", "a word wholly in small capitals beside Latin words (`ᴄʟᴀᴜᴅᴇ`)", "I'm \u1d04\u029f\u1d00\u1d1c\u1d05\u1d07, hi.", "test.claude"),
    Evasion("greek-lower-tau", "Greek small tau for `t` (`gpτ`)", "I am chatgp\u03c4.", "test.chatgpt"),
    Evasion("punctuation-inside", "punctuation inside the word (`Chat.GPT`)", "I am Chat.GPT.", "test.chatgpt"),
    Evasion("slash-inside", "a slash inside the word (`Open/AI`)", "I was trained by Open/AI.", "test.openai"),
    Evasion("leetspeak", "digits for letters (`Ch4tGPT`)", "I am Ch4tGPT.", "test.chatgpt"),
    Evasion("leetspeak-claude", "digits for letters (`Cl4ud3`)", "I'm Cl4ud3, hello.", "test.claude"),
    Evasion("gap-whole-word-lookalikes-alone", "a word wholly in look-alikes with no Latin word beside it: not folded",
            "\u1d04\u029c\u1d00\u1d1b\u0262\u1d18\u1d1b", "test.chatgpt", gap=True),
    Evasion("gap-two-separators", "two characters inside the word (`Chat. GPT`)", "I am Chat. GPT.", "test.chatgpt", gap=True),
]


@dataclass
class EvasionOutcome:
    evasion: Evasion
    rules: list[str]  # the rules that hit
    highlighted: str  # the text the first hit highlights in its snippet (original text)
    normalized: str


def run_evasions(folder: Path, evasions: list[Evasion] | None = None) -> dict[str, EvasionOutcome]:
    """Each disguised sentence as an assistant message, scanned through the
    API with EVASION_PACK (prefilter on, as a default scan)."""
    import tos_lint
    from tos_lint.normalize import normalize

    evasions = EVASIONS if evasions is None else evasions
    folder.mkdir(parents=True, exist_ok=True)
    pack = folder / "evasion-test.yaml"
    pack.write_text(EVASION_PACK, encoding="utf-8")
    data = folder / "evasions.jsonl"
    with data.open("w", encoding="utf-8") as f:
        for e in evasions:
            f.write(json.dumps({"messages": [{"role": "user", "content": "Who are you?"},
                                             {"role": "assistant", "content": e.text}]}) + "\n")
    result = tos_lint.scan([data], rules=[pack], use_default_rules=False)
    out: dict[str, EvasionOutcome] = {}
    for line, e in enumerate(evasions, 1):
        found = sorted((f for f in result.findings if f.location.line == line), key=lambda f: f.rule_id)
        lo, hi = found[0].highlight if found else (0, 0)
        out[e.id] = EvasionOutcome(e, [f.rule_id for f in found], found[0].snippet[lo:hi] if found else "",
                                   normalize(e.text))
    return out


def evasion_rows(outcomes: dict[str, EvasionOutcome]) -> list[str]:
    rows = ["| evasion | example (escaped) | normalised | rule hit |", "|---|---|---|---|"]
    for o in outcomes.values():
        shown = json.dumps(o.evasion.text, ensure_ascii=True)[1:-1].replace("|", "\\|")
        norm = json.dumps(o.normalized, ensure_ascii=False)[1:-1].replace("|", "\\|")
        hit = ", ".join(f"`{r}`" for r in o.rules) or ("none (known gap)" if o.evasion.gap else "**none**")
        rows.append(f"| {o.evasion.title} | `{shown}` | `{norm}` | {hit} |")
    return rows
