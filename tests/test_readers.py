"""Readers: every container and compression, and every way a file can be broken.

Each test scans through the public API with a one-rule pack ("I am ChatGPT")
so that a record that is read shows up as a finding at a known place, and a
bad line shows up as a `tos-lint.input.*` finding.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
from pathlib import Path
from typing import Any

import pytest
import zstandard

import tos_lint
from tos_lint import readers
from tests.helpers import CHATGPT_RULE_ID, assert_no_traceback, chatgpt_pack, run_cli, write_jsonl

HIT = "I am ChatGPT, a language model."
CLEAN = "The sky is blue."


def scan(tmp_path: Path, *paths: Path | str, **kw: Any) -> tos_lint.ScanResult:
    pack = chatgpt_pack(tmp_path)
    return tos_lint.scan([str(p) for p in paths], rules=[pack], use_default_rules=False, **kw)


def hits(result: tos_lint.ScanResult) -> list[tuple[int | None, int | None, str]]:
    return sorted(
        ((f.location.line, f.location.index, f.location.pointer) for f in result.findings if f.rule_id == CHATGPT_RULE_ID),
        key=repr,
    )


def issues(result: tos_lint.ScanResult) -> list[tuple[str, int | None, int | None]]:
    return sorted(
        ((f.rule_id, f.location.line, f.location.index) for f in result.findings if f.rule_id.startswith("tos-lint.input.")),
        key=repr,
    )


def messages(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": text}]}


RECORDS = [messages(CLEAN), messages(HIT), {"text": CLEAN}, {"text": HIT}]
EXPECTED_HITS = [(2, None, "/messages/1/content"), (4, None, "/text")]


COMPRESSORS = {"gz": gzip.compress, "zst": lambda b: zstandard.ZstdCompressor().compress(b), "bz2": bz2.compress,
               "xz": lzma.compress}


def jsonl_bytes(records: list[Any]) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


# --- containers ----------------------------------------------------------------------

def test_jsonl(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    result = scan(tmp_path, path)
    assert hits(result) == EXPECTED_HITS
    assert issues(result) == []
    assert result.stats.records == 4


def test_json_array_uses_index_locations(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(RECORDS, indent=2))
    result = scan(tmp_path, path)
    assert hits(result) == [(None, 1, "/messages/1/content"), (None, 3, "/text")]
    assert result.stats.records == 4


def test_json_array_non_object_element_is_reported_by_index(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"text": CLEAN}, 42, {"text": HIT}]))
    result = scan(tmp_path, path)
    assert hits(result) == [(None, 2, "/text")]
    assert issues(result) == [("tos-lint.input.not-an-object", None, 1)]


def test_single_pretty_printed_object(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(messages(HIT), indent=4))
    result = scan(tmp_path, path)
    assert [p for _, _, p in hits(result)] == ["/messages/1/content"]
    assert issues(result) == []
    assert result.stats.records == 1


@pytest.mark.parametrize(("suffix", "compress"), [
    (".gz", gzip.compress),
    (".zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    (".bz2", bz2.compress),
    (".xz", lzma.compress),
])
def test_compressed_jsonl(tmp_path: Path, suffix: str, compress: Any) -> None:
    path = tmp_path / f"d.jsonl{suffix}"
    path.write_bytes(compress(jsonl_bytes(RECORDS)))
    result = scan(tmp_path, path)
    assert hits(result) == EXPECTED_HITS
    assert issues(result) == []


def test_compressed_json_array(tmp_path: Path) -> None:
    path = tmp_path / "d.json.gz"
    path.write_bytes(gzip.compress(json.dumps(RECORDS).encode()))
    result = scan(tmp_path, path)
    assert hits(result) == [(None, 1, "/messages/1/content"), (None, 3, "/text")]


def test_directory_of_mixed_compressions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes([{"text": HIT}])))
    (data / "b.jsonl.xz").write_bytes(lzma.compress(jsonl_bytes([{"text": HIT}])))
    (data / "c.jsonl.bz2").write_bytes(bz2.compress(jsonl_bytes([{"text": HIT}])))
    result = scan(tmp_path, data)
    assert sorted(Path(f.location.path).name for f in result.findings) == ["a.jsonl.gz", "b.jsonl.xz", "c.jsonl.bz2"]


# --- encodings and line endings ------------------------------------------------------

def test_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl_bytes(RECORDS))
    result = scan(tmp_path, path)
    assert hits(result) == EXPECTED_HITS
    assert issues(result) == []


@pytest.mark.parametrize("ending, splittable", [(b"\r\n", True), (b"\r", False)], ids=["CRLF", "lone CR"])
def test_line_endings(tmp_path: Path, ending: bytes, splittable: bool) -> None:
    path = tmp_path / "endings.jsonl"
    path.write_bytes(jsonl_bytes(RECORDS).replace(b"\n", ending))
    result = scan(tmp_path, path)
    assert hits(result) == EXPECTED_HITS
    assert issues(result) == []
    # lone-CR files are never split at LF into byte ranges
    assert readers.is_plain_jsonl(path) == splittable


MIXED_ENDINGS = (b'{"text": "x"}\n' + json.dumps({"text": HIT}).encode() + b"\r" + json.dumps({"text": CLEAN}).encode()
                 + b"\r\r" + json.dumps(messages(HIT)).encode() + b"\r\n" + b'{"text": "broken\r' + b'{"text": "y"}\n'
                 + json.dumps({"text": HIT}).encode() + b"\n")


def test_lone_cr_endings_later_in_an_lf_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line that fails to parse and holds lone CRs is read as the lines
    those CRs end, each at the LF line it sits on; the lines after keep
    their numbers, whole or split into byte ranges (--jobs)."""
    from tests.helpers import force_split

    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED_ENDINGS)
    expected_hits = [(2, None, "/messages/1/content"), (2, None, "/text"), (4, None, "/text")]
    result = scan(tmp_path, path, jobs=1)
    assert hits(result) == expected_hits
    assert issues(result) == [("tos-lint.input.malformed-json", 3, None)]
    assert result.stats.records == 6
    force_split(monkeypatch, 16)
    split = scan(tmp_path, path, jobs=2)
    assert (hits(split), issues(split), split.stats.records) == (expected_hits, issues(result), 6)


def test_no_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonl_bytes(RECORDS).rstrip(b"\n"))
    result = scan(tmp_path, path)
    assert hits(result) == EXPECTED_HITS


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    result = scan(tmp_path, path)
    assert result.findings == []
    assert result.stats.records == 0
    assert result.stats.files == 1


def test_blank_line_is_skipped_and_line_numbers_stay_physical(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b'{"text": "x"}\n\n   \n' + json.dumps({"text": HIT}).encode() + b"\n")
    result = scan(tmp_path, path)
    assert hits(result) == [(4, None, "/text")]
    # a blank line is skipped, or at most an info-level note
    assert all(f.severity.label == "info" for f in result.findings if f.rule_id.startswith("tos-lint.input."))


def test_invalid_utf8_line_is_reported_and_the_rest_scanned(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    bad = b'{"text": "I am ChatGPT \xff\xfe broken"}'
    path.write_bytes(jsonl_bytes([{"text": CLEAN}]) + bad + b"\n" + jsonl_bytes([{"text": HIT}]))
    result = scan(tmp_path, path)
    assert ("tos-lint.input.invalid-utf8", 2, None) in issues(result)
    assert (3, None, "/text") in hits(result)


def test_truncated_line_then_more_records(tmp_path: Path) -> None:
    path = tmp_path / "trunc.jsonl"
    path.write_bytes(b'{"text": "I am Chat\n' + jsonl_bytes([{"text": HIT}]))
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.malformed-json", 1, None)]
    assert hits(result) == [(2, None, "/text")]


def test_truncated_middle_line(tmp_path: Path) -> None:
    path = tmp_path / "trunc.jsonl"
    path.write_bytes(jsonl_bytes([{"text": CLEAN}]) + b'{"text": "I am Chat\n' + jsonl_bytes([{"text": HIT}]))
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.malformed-json", 2, None)]
    assert hits(result) == [(3, None, "/text")]


def test_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "trunc.jsonl"
    path.write_bytes(jsonl_bytes([{"text": HIT}]) + b'{"text": "I am Cha')
    result = scan(tmp_path, path)
    assert hits(result) == [(1, None, "/text")]
    assert issues(result) == [("tos-lint.input.malformed-json", 2, None)]


@pytest.mark.parametrize("line", [b"[1, 2, 3]", b'"just a string"', b"42", b"null", b"true"])
def test_non_object_line_is_reported(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonl_bytes([{"text": CLEAN}]) + line + b"\n" + jsonl_bytes([{"text": HIT}]))
    result = scan(tmp_path, path)
    codes = issues(result)
    assert len(codes) == 1
    assert codes[0][0].startswith("tos-lint.input.")
    assert codes[0][1] == 2
    assert hits(result) == [(3, None, "/text")]
    assert result.stats.malformed == 1


def test_trailing_garbage_after_object(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "I am ChatGPT"} trailing\n' + jsonl_bytes([{"text": HIT}]))
    result = scan(tmp_path, path)
    assert [c[1] for c in issues(result)] == [1]
    assert hits(result) == [(2, None, "/text")]


def test_input_findings_carry_path_and_code(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"{oops\n")
    result = scan(tmp_path, path)
    [finding] = result.findings
    assert finding.location.path == str(path)
    assert finding.rule_id == "tos-lint.input.malformed-json"
    assert finding.message


# --- broken streams and limits ---------------------------------------------------------

def _truncated_gzip(tmp_path: Path) -> Path:
    records = [{"text": HIT}] + [{"id": i, "text": f"filler record {i} " + "lorem ipsum " * 8} for i in range(3000)]
    blob = gzip.compress(jsonl_bytes(records))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: int(len(blob) * 0.6)])
    return path


def test_truncated_gzip_is_a_finding(tmp_path: Path) -> None:
    path = _truncated_gzip(tmp_path)
    result = scan(tmp_path, path)
    codes = [c for c, _, _ in issues(result)]
    assert codes == ["tos-lint.input.truncated-stream"]


def test_truncated_gzip_still_scans_the_records_before_the_cut(tmp_path: Path) -> None:
    """The first record sits well before the cut: it can be decompressed, so
    it must be scanned, not dropped along with the unreadable tail."""
    path = _truncated_gzip(tmp_path)
    result = scan(tmp_path, path)
    assert hits(result) == [(1, None, "/text")]
    assert result.stats.records > 0


def test_truncated_gzip_via_cli_has_no_traceback(tmp_path: Path) -> None:
    path = _truncated_gzip(tmp_path)
    pack = chatgpt_pack(tmp_path)
    proc = run_cli(["scan", str(path), "--no-default-rules", "--rules", str(pack), "--format", "json"], cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1)
    doc = json.loads(proc.stdout)
    assert "tos-lint.input.truncated-stream" in {f["rule_id"] for f in doc["findings"]}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_trailing_garbage_after_the_stream_is_reported_as_such(tmp_path: Path, kind: str) -> None:
    """Not a cut: every record of the stream is scanned, and the finding says
    that data follows the end of the stream, and from which byte."""
    blob = COMPRESSORS[kind](jsonl_bytes(RECORDS))
    path = tmp_path / f"d.jsonl.{kind}"
    path.write_bytes(blob + b"GARBAGE, not compressed data\n")
    result = scan(tmp_path, path)
    assert hits(result) == EXPECTED_HITS
    [issue] = [f for f in result.findings if f.rule_id.startswith("tos-lint.input.")]
    assert issue.rule_id == "tos-lint.input.trailing-data"
    name = {"gz": "gzip", "zst": "zstd", "bz2": "bzip2", "xz": "xz"}[kind]
    assert f"trailing data after the end of the {name} stream, from byte {len(blob)} of the file" in issue.message


@pytest.mark.parametrize("kind", ["gz", "xz"])
def test_zero_padding_after_the_stream_is_no_problem(tmp_path: Path, kind: str) -> None:
    """As gzip and xz themselves accept it (a tape's or a tar's padding)."""
    path = tmp_path / f"d.jsonl.{kind}"
    path.write_bytes(COMPRESSORS[kind](jsonl_bytes(RECORDS)) + b"\x00" * 1000)
    result = scan(tmp_path, path)
    assert hits(result) == EXPECTED_HITS and issues(result) == []


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_a_member_whose_magic_straddles_two_reads_is_read(kind: str) -> None:
    """The next member's magic number cut across two compressed chunks is
    still a member, not trailing data."""
    import io

    first, second = COMPRESSORS[kind](jsonl_bytes(RECORDS)), COMPRESSORS[kind](jsonl_bytes([{"text": HIT}]))

    class Small(readers.DecompressedStream):
        CHUNK = len(first) + 1

    stream = Small(io.BytesIO(first + second), kind, readers.DecompressLimits())
    assert stream.read() == jsonl_bytes(RECORDS) + jsonl_bytes([{"text": HIT}])


def test_oversized_record_is_reported_and_later_lines_read(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    big = {"text": "I am ChatGPT " + "y" * 5000}
    write_jsonl(path, [{"text": CLEAN}, big, {"text": HIT}, {"text": HIT}])
    result = scan(tmp_path, path, max_record_bytes=1024)
    assert issues(result) == [("tos-lint.input.oversized-record", 2, None)]
    assert hits(result) == [(3, None, "/text"), (4, None, "/text")]


def test_oversized_record_spanning_read_blocks(tmp_path: Path) -> None:
    """A record bigger than the reader's block (1 MiB) and than the limit."""
    path = tmp_path / "huge.jsonl"
    huge = {"text": "z" * (3 << 20)}
    write_jsonl(path, [{"text": HIT}, huge, {"text": HIT}])
    result = scan(tmp_path, path, max_record_bytes=1 << 20)
    assert issues(result) == [("tos-lint.input.oversized-record", 2, None)]
    assert hits(result) == [(1, None, "/text"), (3, None, "/text")]


def test_unsupported_extension_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "table.tar"  # CSV, Parquet and Arrow are read: see test_tabular.py
    path.write_text("prompt,completion\nhi,I am ChatGPT\n")
    result = scan(tmp_path, path)
    assert [c for c, _, _ in issues(result)] == ["tos-lint.input.unsupported-format"]
    assert result.findings[0].location.path == str(path)


def test_unsupported_file_in_directory_is_reported_not_skipped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "a.jsonl", [{"text": HIT}])
    (data / "b.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    result = scan(tmp_path, data)
    by_path = {Path(f.location.path).name: f.rule_id for f in result.findings}
    assert by_path == {"a.jsonl": CHATGPT_RULE_ID, "b.zip": "tos-lint.input.unsupported-format"}


# --- discovery ---------------------------------------------------------------------------

def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    write_jsonl(root / "top.jsonl", [{"text": HIT}])
    write_jsonl(root / "sub" / "mid.jsonl", [{"text": HIT}])
    (root / "sub" / "deeper" / "low.json").write_text(json.dumps([{"text": HIT}]))
    (root / "sub" / "deeper" / "skipme.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes([{"text": HIT}])))
    (root / "notes.md").write_text("I am ChatGPT")
    write_jsonl(root / ".hidden" / "secret.jsonl", [{"text": HIT}])
    return root


def _names(result: tos_lint.ScanResult) -> list[str]:
    return sorted({Path(f.location.path).name for f in result.findings})


def test_directory_recursion(tmp_path: Path) -> None:
    result = scan(tmp_path, _tree(tmp_path))
    assert _names(result) == ["low.json", "mid.jsonl", "skipme.jsonl.gz", "top.jsonl"]
    assert result.stats.files == 4


def test_include_and_exclude(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert _names(scan(tmp_path, root, include=["*.jsonl"])) == ["mid.jsonl", "top.jsonl"]
    assert _names(scan(tmp_path, root, exclude=["*.gz", "*/deeper/*"])) == ["mid.jsonl", "top.jsonl"]
    assert _names(scan(tmp_path, root, include=["*.json*"], exclude=["top.*"])) == ["low.json", "mid.jsonl", "skipme.jsonl.gz"]


def test_cli_include_exclude(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    pack = chatgpt_pack(tmp_path)
    proc = run_cli(["scan", str(root), "--no-default-rules", "--rules", str(pack), "--format", "json",
                    "--include", "*.jsonl*", "--exclude", "*.gz"], cwd=tmp_path)
    assert_no_traceback(proc)
    doc = json.loads(proc.stdout)
    assert sorted(Path(f["location"]["path"]).name for f in doc["findings"]) == ["mid.jsonl", "top.jsonl"]


def test_stdin(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    data = jsonl_bytes(RECORDS)
    proc = run_cli(["scan", "-", "--no-default-rules", "--rules", str(pack), "--format", "json"], cwd=tmp_path, input=data)
    assert_no_traceback(proc)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    got = sorted((f["location"]["line"], f["location"]["pointer"]) for f in doc["findings"])
    assert got == [(2, "/messages/1/content"), (4, "/text")]


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_stdin_is_decompressed(tmp_path: Path, kind: str) -> None:
    """`zcat`-free piping: compressed bytes on stdin are told by their magic
    number, as a compressed file is, and read, not called a binary file."""
    pack = chatgpt_pack(tmp_path)
    data = COMPRESSORS[kind](jsonl_bytes(RECORDS))
    proc = run_cli(["scan", "-", "--no-default-rules", "--rules", str(pack), "--format", "json"], cwd=tmp_path, input=data)
    assert_no_traceback(proc)
    doc = json.loads(proc.stdout)
    assert sorted((f["location"]["line"], f["location"]["pointer"]) for f in doc["findings"]) == [
        (2, "/messages/1/content"), (4, "/text")]
    assert doc["summary"]["records"] == 4


def test_nonexistent_path_exits_2_with_message(tmp_path: Path) -> None:
    proc = run_cli(["scan", str(tmp_path / "nope.jsonl"), "--no-default-rules", "--rules", str(chatgpt_pack(tmp_path))],
                   cwd=tmp_path)
    assert proc.returncode == 2
    assert "nope.jsonl" in proc.stderr
    assert_no_traceback(proc)


def test_nonexistent_path_api_raises_usage_error(tmp_path: Path) -> None:
    from tos_lint.errors import UsageError

    with pytest.raises(UsageError, match="nope"):
        scan(tmp_path, tmp_path / "nope.jsonl")


# --- the start of a file: blank runs, stray NULs, broken first lines, CR ends --------

BLOCK = readers.BLOCK_SIZE


@pytest.mark.parametrize("blank", [b"\n", b" ", b"\r\n", b" \n\t"])
@pytest.mark.parametrize("suffix, compress", [("", lambda b: b), (".gz", gzip.compress), (".xz", lzma.compress)])
def test_blank_run_longer_than_a_block_before_the_records(tmp_path: Path, blank: bytes, suffix: str, compress: Any) -> None:
    """The shape of a file is judged from its first block: a block of white
    space alone must not make the file read as empty."""
    lead = blank * (BLOCK // len(blank) + 7)
    path = tmp_path / f"lead.jsonl{suffix}"
    path.write_bytes(compress(lead + jsonl_bytes(RECORDS)))
    result = scan(tmp_path, path)
    first = lead.count(b"\n") + 1
    assert hits(result) == [(first + 1, None, "/messages/1/content"), (first + 3, None, "/text")]
    assert result.stats.records == 4


def test_blank_run_after_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n" * (2 * BLOCK) + jsonl_bytes([{"text": HIT}]))
    assert hits(scan(tmp_path, path)) == [(2 * BLOCK + 1, None, "/text")]


def test_blank_run_before_a_json_array(tmp_path: Path) -> None:
    path = tmp_path / "lead.json"
    path.write_bytes(b" " * (2 * BLOCK) + json.dumps(RECORDS).encode())
    result = scan(tmp_path, path)
    assert hits(result) == [(None, 1, "/messages/1/content"), (None, 3, "/text")]


def test_blank_run_on_stdin(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    data = b"\n" * (BLOCK + 1) + jsonl_bytes([{"text": HIT}])
    proc = run_cli(["scan", "-", "--no-default-rules", "--rules", str(pack), "--format", "json"], cwd=tmp_path, input=data)
    assert_no_traceback(proc)
    assert [f["location"]["line"] for f in json.loads(proc.stdout)["findings"]] == [BLOCK + 2]


def test_blank_run_reads_the_same_whole_or_in_ranges(tmp_path: Path) -> None:
    """Large files are split across workers: the range reader and the whole
    reader must find the same records at the same lines (--jobs changes nothing)."""
    path = tmp_path / "lead.jsonl"
    path.write_bytes(b"\n" * (2 * BLOCK) + jsonl_bytes(RECORDS))
    whole = [(r.line, r.data) for r in readers.read_records(readers.InputFile(str(path), path), readers.FileStats(), readers.ReadOptions())]
    ranged = [(r.line, r.data) for r in readers.read_jsonl_range(path, 0, path.stat().st_size, readers.FileStats(), readers.ReadOptions())]
    assert readers.is_plain_jsonl(path)
    assert whole == ranged == [(2 * BLOCK + n, r) for n, r in enumerate(RECORDS, 1)]


def test_one_nul_in_the_first_line_costs_that_line_only(tmp_path: Path) -> None:
    path = tmp_path / "nul.jsonl"
    path.write_bytes(b'{"text": "a\x00b"}\n' + jsonl_bytes([{"text": CLEAN}] * 5000 + [{"text": HIT}]))
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.malformed-json", 1, None)]
    assert hits(result) == [(5002, None, "/text")]
    assert result.stats.records == 5001


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16,  # an image
    bytes(range(256)) * 64,
    __import__("random").Random(3).randbytes(1 << 16),
    b"\x00" * 5000,
])
def test_binary_data_named_jsonl_is_still_binary(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "blob.jsonl"
    path.write_bytes(data)
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.binary-file", None, None)]
    assert result.stats.records == 0


def test_nul_heavy_first_line_of_json_lines_is_not_binary(tmp_path: Path) -> None:
    """Many NULs in the first line, but the lines after it are JSON objects."""
    path = tmp_path / "nuls.jsonl"
    path.write_bytes(b'{"text": "' + b"\x00" * 300 + b'"}\n' + jsonl_bytes([{"text": HIT}]))
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.malformed-json", 1, None)]
    assert hits(result) == [(2, None, "/text")]


def test_stray_nul_in_a_short_file_without_a_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "short.jsonl"
    path.write_bytes(b'{"a": "\x00"}\n' + json.dumps({"text": HIT}).encode())
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.malformed-json", 1, None)]
    assert hits(result) == [(2, None, "/text")]


def test_truncated_gzip_array_named_jsonl_keeps_the_elements_before_the_cut(tmp_path: Path) -> None:
    """A cut is not a sign of JSON lines: the array is read up to it, as before."""
    data = gzip.compress(json.dumps([{"text": HIT}] + [{"text": f"x{i}"} for i in range(20_000)], indent=2).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 6 // 10])
    result = scan(tmp_path, path)
    assert hits(result) == [(None, 0, "/text")]
    assert [code for code, _, _ in issues(result)] == ["tos-lint.input.truncated-stream"]

@pytest.mark.parametrize("suffix, compress", [(".jsonl", lambda b: b), (".ndjson", lambda b: b), (".jsonl.gz", gzip.compress)])
@pytest.mark.parametrize("first", [b"[1,2", b"[", b'[{"text": "x"},'])
def test_jsonl_named_file_with_a_broken_array_first_line_is_read_line_by_line(
        tmp_path: Path, suffix: str, compress: Any, first: bytes) -> None:
    """A file named as JSON lines is read as one JSON array only when it is
    one complete document; otherwise its first line must not swallow the others."""
    path = tmp_path / f"d{suffix}"
    path.write_bytes(compress(first + b"\n" + jsonl_bytes(RECORDS)))
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.malformed-json", 1, None)]
    assert hits(result) == [(n + 1, None, p) for n, _, p in EXPECTED_HITS]


def test_jsonl_named_file_holding_a_broken_pretty_array(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"[\n" + jsonl_bytes([{"text": CLEAN}, {"text": HIT}]) + b"]\n")  # commas missing
    result = scan(tmp_path, path)
    assert issues(result) == [("tos-lint.input.malformed-json", 1, None), ("tos-lint.input.malformed-json", 4, None)]
    assert hits(result) == [(3, None, "/text")]


@pytest.mark.parametrize("body", [
    json.dumps(RECORDS, indent=2).encode(),  # pretty-printed
    b"[" + b",\n".join(json.dumps(r).encode() for r in RECORDS) + b"]\n",  # one element a line
    b'[\n{"text": "x", "n": NaN},\n' + b",\n".join(json.dumps(r).encode() for r in RECORDS) + b"\n]\n",
])
def test_jsonl_named_file_holding_a_whole_json_array_is_read_as_one(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(body)
    result = scan(tmp_path, path)
    offset = 1 if b"NaN" in body else 0
    assert hits(result) == [(None, 1 + offset, "/messages/1/content"), (None, 3 + offset, "/text")]


def _scan_stdin(tmp_path: Path, data: bytes) -> tuple[list[Any], list[Any]]:
    """(hits, issues) of `scan -` with `data` piped in, in the form of `hits` and `issues`."""
    pack = chatgpt_pack(tmp_path)
    proc = run_cli(["scan", "-", "--no-default-rules", "--rules", str(pack), "--format", "json"], cwd=tmp_path, input=data)
    assert_no_traceback(proc)
    found = [(f["rule_id"], f["location"]) for f in json.loads(proc.stdout)["findings"]]
    return (sorted(((loc["line"], loc["index"], loc["pointer"]) for rule, loc in found if rule == CHATGPT_RULE_ID), key=repr),
            sorted(((rule, loc["line"], loc["index"]) for rule, loc in found if rule.startswith("tos-lint.input.")), key=repr))


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress], ids=["plain", "gzip"])
@pytest.mark.parametrize("first", [b"[1,2", b"[", b'[{"text": "x"},'])
def test_stdin_with_a_broken_array_first_line_is_read_line_by_line(tmp_path: Path, compress: Any, first: bytes) -> None:
    """Standard input is read as a `.jsonl` file is (it is kept aside to be
    read twice): the broken first line is reported and every later record read."""
    got_hits, got_issues = _scan_stdin(tmp_path, compress(first + b"\n" + jsonl_bytes(RECORDS)))
    assert got_issues == [("tos-lint.input.malformed-json", 1, None)]
    assert got_hits == [(n + 1, None, p) for n, _, p in EXPECTED_HITS]


@pytest.mark.parametrize("body", [
    json.dumps(RECORDS, indent=2).encode(),
    b"[" + b",\n".join(json.dumps(r).encode() for r in RECORDS) + b"]\n",
    b'[\n{"text": "x", "n": NaN},\n' + b",\n".join(json.dumps(r).encode() for r in RECORDS) + b"\n]\n",
], ids=["pretty", "one-element-a-line", "nan"])
def test_stdin_holding_a_whole_json_array_is_read_as_one(tmp_path: Path, body: bytes) -> None:
    """Past NaN too: the kept copy is read again, as a file would be."""
    got_hits, got_issues = _scan_stdin(tmp_path, body)
    offset = 1 if b"NaN" in body else 0
    assert got_hits == [(None, 1 + offset, "/messages/1/content"), (None, 3 + offset, "/text")]
    assert got_issues == ([("tos-lint.input.nonstandard-json", None, 0)] if offset else [])


def test_json_named_file_with_a_broken_array_first_line_stays_an_array(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(b"[1,2\n" + jsonl_bytes(RECORDS))
    result = scan(tmp_path, path)
    assert ("tos-lint.input.malformed-json", None, 2) in issues(result)


@pytest.mark.parametrize("name, body, expected", [
    ("one.json", b'{\r  "text": "I am ChatGPT",\r  "n": 1\r}\r', [(1, None, "/text")]),
    ("arr.json", b'[\r{"text": "x"},\r{"text": "I am ChatGPT"}\r]\r', [(None, 1, "/text")]),
])
def test_lone_cr_line_endings_in_json_documents(tmp_path: Path, name: str, body: bytes, expected: list[Any]) -> None:
    path = tmp_path / name
    path.write_bytes(body)
    result = scan(tmp_path, path)
    assert hits(result) == expected
    assert issues(result) == []


# --- lines no rule can hit: validated without being built ---------------------------

# Lines where a fast validator and orjson could disagree: each must get
# orjson's verdict (a record, a lenient read, or an issue) whether or not
# the line may hold a hit.
EDGE_LINES = [
    b'{"a": 1}',
    b'  {"a": 1}  ',
    b'\xef\xbb\xbf{"a": 1}',  # byte-order mark: orjson refuses it
    b'{"a": 123456789012345678901234567890}',  # beyond 64 bits: orjson reads it
    b'{"a": 18446744073709551616}',
    b'{"a": -9223372036854775809}',
    b'{"a": 1e400}',
    b'{"a": NaN}',
    b'{"a": "\\ud800"}',  # lone surrogate
    b'{"a": "\xff"}',  # invalid UTF-8
    b'{"a": "\xed\xa0\x80"}',  # an encoded surrogate
    b'{"a": "tab\there"}',
    b'{"a": 1,}',
    b'{"a": 1} x',
    b'{"a": 1}\x00',
    b'[1, 2]',
    b'"text"',
    b'{"a": ' + b'[' * 1023 + b']' * 1023 + b'}',
    b'{"a": ' + b'[' * 1100 + b']' * 1100 + b'}',
    b'{"a": 1, "a": 2}',
    b'\t',
]


def _read_all(data: bytes, keep_nothing: bool) -> tuple[list[Any], readers.FileStats]:
    stats = readers.FileStats()
    options = readers.ReadOptions(line_filter=(lambda line: False) if keep_nothing else None)
    out = list(readers.read_jsonl_blocks(iter([data]), stats, options))
    return [(o.code, o.line) if isinstance(o, readers.InputIssue) else ("record", o.line) for o in out], stats


@pytest.mark.parametrize("line", EDGE_LINES, ids=lambda b: repr(b[:24]))
def test_a_line_no_rule_can_hit_gets_the_same_verdict(line: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'{"first": 1}\n' + line + b'\n{"last": 1}\n'
    fast_out, fast = _read_all(data, keep_nothing=True)
    monkeypatch.setattr(readers, "object_validator", lambda: (lambda line: False))
    slow_out, slow = _read_all(data, keep_nothing=True)
    assert fast_out == slow_out
    assert (fast.records, fast.malformed, fast.prefiltered) == (slow.records, slow.malformed, slow.prefiltered)
    kept_out, kept = _read_all(data, keep_nothing=False)
    # what the filter drops is counted as prefiltered; issues are the same
    assert [o for o in fast_out if o[0] != "record"] == [o for o in kept_out if o[0] != "record"]
    assert fast.records == kept.records == fast.prefiltered + len([o for o in fast_out if o[0] == "record"])


def test_the_validator_refuses_what_orjson_refuses() -> None:
    is_object = readers.object_validator()
    assert is_object(b'{"a": [1, {"b": "c"}]}')
    for line in (b'{"a": 1,}', b'{"a": "\xff"}', b'[1]', b'\xef\xbb\xbf{}', b'{"a": "\\ud800"}', b'{"a": 1} x'):
        assert not is_object(line), line


@pytest.mark.parametrize("data, plain", [
    (b'{"a": 1}\n{"a": 2}\n', True),
    (b'[1, 2]\n{"a": 2}\n', True),  # JSONL whose first line holds an array
    (b'[{"a": 1},\n {"a": 2}]\n', False),  # a JSON array
    (b'{\n  "a": 1,\n  "b": 2\n}\n', False),  # one pretty-printed object
    (b'\xef\xbb\xbf{"a": 1}\n', False),  # a byte-order mark: read whole, never from an offset
    (gzip.compress(b'{"a": 1}\n'), False),
    (zstandard.ZstdCompressor().compress(b'{"a": 1}\n'), False),
    (b"\n" * (readers.BLOCK_SIZE + 1) + b'{"a": 1}\n', True),  # blank lines past the first block
    (b'{"a": "\x00"}\n{"a": 2}\n', True),  # a stray NUL: its line is malformed, the file is JSONL
    (b'{"a": 1}\r{"a": 2}\r', False),  # CR line ends: not splittable at LF
])
def test_is_plain_jsonl(tmp_path: Path, data: bytes, plain: bool) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(data)
    assert readers.is_plain_jsonl(path) is plain


# --- a file's shape: lines strict parsers refuse, at the start of JSON lines ---------

# Lines a JSONL file is read past one by one, though no strict parser reads
# them: (the line, the finding each gets, the records each holds). A file
# that starts with them is JSON lines all the same, not one broken object.
LENIENT_LINES = {
    "nan": (b'{"text": "x", "n": NaN}', "nonstandard-json", 1),
    "infinity": (b'{"text": "x", "n": -Infinity}', "nonstandard-json", 1),
    "beyond-a-double": (b'{"text": "x", "n": 1e999}', "nonstandard-json", 1),
    "lone-surrogate": (b'{"text": "x \\ud800"}', "nonstandard-json", 1),
    "invalid-utf8": (b'{"text": "x \xff"}', "invalid-utf8", 1),
    "trailing-comma": (b'{"text": "x",}', "malformed-json", 0),
    "single-quotes": (b"{'text': 'x'}", "malformed-json", 0),
    "two-objects": (b'{"text": "x"}{"text": "y"}', "nonstandard-json", 2),
    "lone-cr": (b'{"text": "x"}\r{"text": "y"}', None, 2),
}


def _led_by(kind: str, count: int, tail: bool = True) -> tuple[bytes, list[Any], list[Any], int]:
    """`count` lines of `kind`, then (with `tail`) three records: (data,
    issues, hits, records) expected."""
    line, code, per_line = LENIENT_LINES[kind]
    data = (line + b"\n") * count + (jsonl_bytes([{"text": HIT}, {"text": CLEAN}, {"text": HIT}]) if tail else b"")
    expected_issues = [(f"tos-lint.input.{code}", n, None) for n in range(1, count + 1)] if code else []
    expected_hits = [(count + 1, None, "/text"), (count + 3, None, "/text")] if tail else []
    records = per_line * count + (3 if tail else 0)
    return data, sorted(expected_issues, key=repr), sorted(expected_hits, key=repr), records


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
@pytest.mark.parametrize("count, tail", [(2, True), (8, True), (20, True), (2, False), (20, False)])
@pytest.mark.parametrize("kind", sorted(LENIENT_LINES))
def test_a_file_led_by_lines_strict_parsers_refuse_is_read_line_by_line(
        tmp_path: Path, kind: str, count: int, tail: bool, suffix: str) -> None:
    """Before, a `{` file none of whose first 8 lines was strict JSON was read
    as one pretty-printed object: one malformed-json, no record, exit 0."""
    data, expected_issues, expected_hits, records = _led_by(kind, count, tail)
    path = tmp_path / f"d{suffix}"
    path.write_bytes(data)
    result = scan(tmp_path, path)
    assert issues(result) == expected_issues
    assert hits(result) == expected_hits
    assert result.stats.records == records
    assert readers.is_plain_jsonl(path)  # so a large one is split across workers by line


@pytest.mark.parametrize("kind", sorted(LENIENT_LINES))
def test_stdin_led_by_lines_strict_parsers_refuse_is_read_line_by_line(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, expected_issues, _, records = _led_by(kind, 8)
    monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": io.BytesIO(data)})())
    stats = readers.FileStats()
    out = list(readers.read_records(readers.InputFile("<stdin>", None), stats, readers.ReadOptions()))
    got_issues = [(f"tos-lint.input.{o.code}", o.line, o.index) for o in out if isinstance(o, readers.InputIssue)]
    assert sorted(got_issues, key=repr) == expected_issues
    assert [o.line for o in out if isinstance(o, readers.RawRecord) and o.data["text"] == HIT] == [9, 11]
    assert stats.records == records


@pytest.mark.parametrize("data", [
    b'{\n  "text": "I am ChatGPT, a language model."\n}\n',
    b'{"id": 1, "answers": [\n  "hi",\n  "I am ChatGPT, a language model."\n]}\n',
    b'  {  \n"text": "I am ChatGPT, a language model.", "n": NaN\n}\n',
], ids=["brace-alone", "first-line-opens-an-array", "nan"])
def test_a_pretty_printed_object_is_still_one_record(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(data)
    result = scan(tmp_path, path)
    assert result.stats.records == 1
    assert len(hits(result)) == 1
    assert not readers.is_plain_jsonl(path)


def test_filter_and_index_build_read_a_file_led_by_nan_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import invoke

    data, _, _, records = _led_by("nan", 10)
    (tmp_path / "d.jsonl").write_bytes(data)
    chatgpt_pack(tmp_path)
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [chatgpt.yaml]\n", encoding="utf-8")
    res = invoke(["filter", "d.jsonl", "--clean-dir", "clean", "--quarantine-dir", "q"], tmp_path, monkeypatch)
    assert res.exit_code == 1, res.output
    assert f"in {records} = kept {records - 2} + quarantined 2 + unreadable 0" in res.output
    assert (tmp_path / "clean" / "d.jsonl").read_bytes().count(b"NaN") == 10  # copied byte for byte
    res = invoke(["index", "build", "d.jsonl", "--provider", "openai", "--out", "refs.tlidx"], tmp_path, monkeypatch)
    assert res.exit_code == 0, res.output
    assert f"from {records} records" in res.output


# --- concatenated JSON: values written one after another -------------------------------

def _pretty(records: list[Any], between: str = "\n") -> bytes:
    return between.join(json.dumps(r, indent=2) for r in records).encode() + b"\n"


@pytest.mark.parametrize("data, lines", [
    (b"".join(json.dumps(r).encode() for r in RECORDS), [1, 1, 1, 1]),  # `{..}{..}` on one line
    (_pretty(RECORDS), [1, 13, 25, 28]),  # as `jq .` writes several objects
    (_pretty(RECORDS, between=""), [1, 12, 23, 25]),  # `}{` with no new line between them
], ids=["one-line", "pretty", "pretty-no-newline"])
def test_concatenated_objects_in_a_json_file_are_each_read(tmp_path: Path, data: bytes, lines: list[int]) -> None:
    """Before, a `.json` file of objects one after another gave no record and exit 0."""
    path = tmp_path / "d.json"
    path.write_bytes(data)
    result = scan(tmp_path, path)
    assert result.stats.records == 4
    assert issues(result) == [("tos-lint.input.nonstandard-json", 1, None)]
    assert hits(result) == [(lines[1], None, "/messages/1/content"), (lines[3], None, "/text")]


def test_concatenated_values_then_garbage(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(_pretty([{"text": HIT}]) + b"42\n" + _pretty([{"text": HIT, "text ": 1}]) + b"garbage\n" + _pretty([{"text": HIT}]))
    result = scan(tmp_path, path)
    assert hits(result) == [(1, None, "/text"), (5, None, "/text")]
    assert issues(result) == [("tos-lint.input.malformed-json", 9, None), ("tos-lint.input.nonstandard-json", 1, None),
                              ("tos-lint.input.not-an-object", 4, None)]


def test_repeated_keys_in_concatenated_objects_are_read(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(b'{"text": "x"}{"text": "I am ChatGPT, a model.", "text": "clean"}')
    result = scan(tmp_path, path)
    assert ("tos-lint.input.duplicate-key", 1, None) in issues(result)
    assert hits(result) == [(1, None, "/text")]


def test_filter_copies_each_concatenated_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import invoke

    (tmp_path / "d.json").write_bytes(_pretty(RECORDS))
    chatgpt_pack(tmp_path)
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [chatgpt.yaml]\n", encoding="utf-8")
    res = invoke(["filter", "d.json", "--clean-dir", "clean", "--quarantine-dir", "q"], tmp_path, monkeypatch)
    assert "in 4 = kept 2 + quarantined 2 + unreadable 0" in res.output
    clean = [json.loads(line) for line in (tmp_path / "clean" / "d.json").read_bytes().splitlines()]
    assert clean == [RECORDS[0], RECORDS[2]]


# --- concatenated JSON over the record size limit: read value by value ------------------

def _dump(n: int, hits: set[int], big: dict[int, int]) -> tuple[bytes, list[int]]:
    """`n` objects pretty-printed one after another (as `jq .` writes them),
    the phrase in those at `hits`, a text of `big[i]` bytes (the phrase too)
    in object i; and the line each starts on."""
    parts, lines, line = [], [], 1
    for i in range(n):
        text = HIT if i in hits else CLEAN
        record = {"id": i, "text": text + " x" * (big[i] // 2) if i in big else text, "filler": "lorem ipsum " * 8}
        part = json.dumps(record, indent=2) + "\n"
        parts.append(part)
        lines.append(line)
        line += part.count("\n")
    return "".join(parts).encode(), lines


@pytest.mark.parametrize("compression", ["plain", "gz", "zst"])
def test_concatenated_json_over_the_limit_is_read_value_by_value(tmp_path: Path, compression: str) -> None:
    """Before, a file of concatenated JSON larger than --max-record-bytes was
    one oversized-record finding and nothing in it was scanned."""
    n = 30_000
    data, lines = _dump(n, hits={0, n // 2 + 1, n - 1}, big={n // 2: 3 << 19})
    assert len(data) > 5 << 20
    path = tmp_path / ("d.json" if compression == "plain" else f"d.json.{compression}")
    path.write_bytes(data if compression == "plain" else COMPRESSORS[compression](data))
    result = scan(tmp_path, path, max_record_bytes=1 << 20)
    assert issues(result) == [("tos-lint.input.nonstandard-json", 1, None),
                              ("tos-lint.input.oversized-record", lines[n // 2], None)]  # 1.5 MB: not held, not scanned
    assert hits(result) == sorted(((lines[i], None, "/text") for i in (0, n // 2 + 1, n - 1)), key=repr)
    assert (result.stats.records, result.stats.malformed) == (n - 1, 1)


def _tricky_values() -> bytes:
    """Concatenated JSON of every kind a value can take, read whole or in
    blocks: what a block may cut (multi-byte characters, escapes, brackets
    and quotes in strings, numbers, words, `}{`), what is read leniently
    (NaN, big numbers, lone surrogates), repeated keys, values that are not
    objects, nesting at the depth limit; the phrase in some; garbage last."""
    pretty = [json.dumps(v, indent=2, ensure_ascii=False) for v in (
        {"text": HIT, "note": "é我😀 \\ \" } ] { [ \u2028"},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": HIT}]},
        {"text": CLEAN, "n": float("nan"), "big": 10 ** 30, "inf": float("inf")},
    )]
    parts = [
        pretty[0], "\n", pretty[1], pretty[2],  # `}{`: two on one line
        '\n{\n  "text": "x",\n  "text": "I am ChatGPT, a model."\n}\n',  # a repeated key
        "12345678901234567890\n-1.5e-7 true null NaN -Infinity \"string\" [1, [2]]\n",
        '{\n  "text": "\\ud800 ' + HIT + '"\n}',
        '{\n  "deep": ' + "[" * 1000 + "]" * 1000 + "\n}\n",
    ]
    block = "".join(parts)
    return (block * 40 + "\n{\n  \"text\": \"I am ChatGPT\"\n}\ngarbage {\n").encode()


@pytest.mark.parametrize("block", [64, 1000, 4096])
def test_concatenated_json_streamed_reads_as_the_whole_text_does(tmp_path: Path, block: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Read whole (under the limit) and streamed in small blocks (over it),
    the same text gives the same findings, records and lines. Before, the
    streamed reading was one oversized-record finding."""
    path = tmp_path / "d.json"
    path.write_bytes(_tricky_values())

    def read(max_record_bytes: int) -> tuple[list[tuple[Any, ...]], tuple[int, int]]:
        result = scan(tmp_path, path, max_record_bytes=max_record_bytes)
        found = [(f.rule_id, f.location.line, f.location.index, f.location.pointer, f.message) for f in result.findings]
        return found, (result.stats.records, result.stats.malformed)

    whole = read(64 << 20)
    monkeypatch.setattr(readers, "BLOCK_SIZE", block)
    streamed = read(8 << 10)
    assert streamed == whole
    assert whole[1] == (241, 321)  # 6 objects and 8 other values in each of 40 repeats, one more object; the garbage
    assert ("tos-lint.input.malformed-json", whole[0][-1][1]) == (whole[0][-1][0], len(path.read_bytes().splitlines()))


@pytest.mark.parametrize("block", [64, 4096])
def test_concatenated_values_over_the_limit_are_passed_over_wherever_blocks_end(
        tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A value over the limit is reported at its line and skipped, whether
    read whole within a block or passed over across many, and the values
    after it are read; the one over the limit that holds the phrase is not scanned."""
    data, lines = _dump(300, hits={0, 6, 150, 299}, big={5: 3000, 150: 20_000, 151: 2100})
    path = tmp_path / "d.json"
    path.write_bytes(data)
    monkeypatch.setattr(readers, "BLOCK_SIZE", block)
    result = scan(tmp_path, path, max_record_bytes=2048)
    assert issues(result) == sorted([("tos-lint.input.nonstandard-json", 1, None)] + [
        ("tos-lint.input.oversized-record", lines[i], None) for i in (5, 150, 151)], key=repr)
    assert hits(result) == sorted(((lines[i], None, "/text") for i in (0, 6, 299)), key=repr)
    assert (result.stats.records, result.stats.malformed) == (297, 3)


def test_concatenated_json_over_the_limit_that_changes_while_it_is_read_is_reported(tmp_path: Path) -> None:
    """Before, its first item was the file's one oversized-record finding."""
    data, _ = _dump(10_000, hits=set(), big={})
    assert len(data) > readers.BLOCK_SIZE  # (a file within one block is read whole, whatever the limit)
    path = tmp_path / "d.json"
    path.write_bytes(data)
    reading = readers.read_records(readers.InputFile("d.json", path), readers.FileStats(),
                                   readers.ReadOptions(max_record_bytes=64 << 10))
    notice, first = next(reading), next(reading)
    path.open("ab").write(data[:1000])
    rest = list(reading)
    assert isinstance(notice, readers.InputIssue) and notice.code == "nonstandard-json"
    assert isinstance(first, readers.RawRecord) and first.line == 1
    assert all(isinstance(r, readers.RawRecord) for r in rest[:9999])
    issue = rest[-1]
    assert isinstance(issue, readers.InputIssue) and issue.code == "changed-during-scan" and issue.final


# --- byte-order marks inside a file (`cat` of files that start with one) ---------------

@pytest.mark.parametrize("keep_nothing", [False, True], ids=["matched", "prefiltered"])
def test_a_byte_order_mark_starting_a_line_inside_the_file_is_skipped(keep_nothing: bool) -> None:
    bom = b"\xef\xbb\xbf"
    data = bom + jsonl_bytes(RECORDS) + bom + jsonl_bytes(RECORDS) + bom + b'{"text": "x", "n": NaN}\n'
    out, stats = _read_all(data, keep_nothing)
    assert out == [("record", n) for n in range(1, 9) if not keep_nothing] + [("nonstandard-json", 9), ("record", 9)]
    assert (stats.records, stats.malformed) == (9, 0)


def test_a_byte_order_mark_inside_a_split_file(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    half = jsonl_bytes(RECORDS)
    path.write_bytes(half + b"\xef\xbb\xbf" + half)
    result = scan(tmp_path, path)
    assert hits(result) == sorted(EXPECTED_HITS + [(n + 4, i, p) for n, i, p in EXPECTED_HITS], key=repr)
    assert issues(result) == []
    ranged = list(readers.read_jsonl_range(path, len(half), path.stat().st_size, readers.FileStats(), readers.ReadOptions()))
    assert [(r.line, r.data) for r in ranged] == [(n, r) for n, r in enumerate(RECORDS, 1)]


# --- zstd skippable frames (pzstd, the seekable format) ---------------------------------

def _skippable(payload: bytes, magic: int = 0x184D2A50) -> bytes:
    return magic.to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload


@pytest.mark.parametrize("layout", ["first", "between-frames", "last", "magic-5f"])
def test_zstd_skippable_frames_are_passed_over(tmp_path: Path, layout: str) -> None:
    """Before, a file that starts with one was reported binary-file and not read."""
    z = zstandard.ZstdCompressor()
    one, two = jsonl_bytes(RECORDS[:2]), jsonl_bytes(RECORDS[2:])
    blob = {"first": _skippable(b"seek") + z.compress(one) + z.compress(two),
            "between-frames": z.compress(one) + _skippable(b"x" * 100) + z.compress(two),
            "last": z.compress(one) + z.compress(two) + _skippable(b""),
            "magic-5f": _skippable(b"\x00" * 9, 0x184D2A5F) + z.compress(one + two)}[layout]
    path = tmp_path / "d.jsonl.zst"
    path.write_bytes(blob)
    result = scan(tmp_path, path)
    assert issues(result) == []
    assert hits(result) == EXPECTED_HITS
    assert readers.compression_of(path) == "zst"
    plain = tmp_path / "d.jsonl"
    plain.write_bytes(blob)
    assert not readers.is_plain_jsonl(plain)  # never split at byte offsets of compressed data


# --- a file that changes while it is read --------------------------------------------

def _touch(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def _rename_over(path: Path) -> None:
    (path.parent / "new.jsonl").write_bytes(path.read_bytes())
    (path.parent / "new.jsonl").replace(path)


@pytest.mark.parametrize("change, what", [
    (lambda p: p.write_bytes(p.read_bytes()[:10]), "its size went from"),
    (lambda p: p.open("ab").write(jsonl_bytes(RECORDS)), "its size went from"),
    (_rename_over, "another file was put in its place"),
    (Path.unlink, "it was deleted"),
    (_touch, "it was written to"),
], ids=["truncated", "appended", "replaced", "deleted", "rewritten"])
def test_a_file_that_changes_while_it_is_read_is_reported(tmp_path: Path, change: Any, what: str) -> None:
    """Before, records cut or added meanwhile were lost or half read without a word."""
    path = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    reading = readers.read_records(readers.InputFile("d.jsonl", path), readers.FileStats(), readers.ReadOptions())
    first = next(reading)
    change(path)
    rest = list(reading)
    assert isinstance(first, readers.RawRecord) and all(isinstance(r, readers.RawRecord) for r in rest[:-1])
    issue = rest[-1]
    assert isinstance(issue, readers.InputIssue) and issue.code == "changed-during-scan" and issue.final
    assert what in issue.message and issue.line is None


def test_an_unchanged_file_or_a_fifo_has_no_such_finding(tmp_path: Path) -> None:
    import threading

    path = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(jsonl_bytes(RECORDS)))
    writer.start()
    for inp in (readers.InputFile("d.jsonl", path), readers.InputFile("pipe.jsonl", fifo)):
        out = list(readers.read_records(inp, readers.FileStats(), readers.ReadOptions()))
        assert [type(o) for o in out] == [readers.RawRecord] * 4
    writer.join()



def test_a_streaming_parser_error_given_as_bytes_is_shown_as_text() -> None:
    # the C parser gives its message as bytes when the text it quotes is not UTF-8
    error = ValueError(b'lexical error: invalid bytes in UTF8 string.\n  {"text": "h\xe9llo"}\n  (right here) ---^\n')
    assert readers._parser_error(error) == 'lexical error: invalid bytes in UTF8 string. {"text": "h\ufffdllo"} (right here) ---^'
