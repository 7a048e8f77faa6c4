"""Hostile and broken inputs, each through the real command
line: `python -m tos_lint scan FILE --format json`.

Every case of `tests/hostile_cases.py` must end with exit code 0 or 1 (never
2, never a traceback), report exactly the expected `tos-lint.input.*`
findings with the file and the line or array index, and still scan the
records around the damage. The same outcomes generate the catalogue in
docs/robustness.md; `test_catalogue_in_docs_is_current` keeps it honest.

The rest of the file checks the readers' limits below the command line: the
decompression-bomb cap with a lowered ratio and size, memory per read call,
concatenated members and frames, and byte ranges of a file with a huge line.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.hostile_cases import CASES, HIT, REPO, Case, Outcome, catalogue_rows, issues_match, run_all, scan_command, write_pack
from tos_lint.readers import (
    DecompressedStream, DecompressLimits, FileStats, InputFile, InputIssue, RawRecord, ReadOptions,
    read_jsonl_range, read_records,
)

DOC = REPO / "docs" / "robustness.md"
BEGIN, END = "<!-- BEGIN hostile-inputs (tools/robustness_catalogue.py) -->", "<!-- END hostile-inputs -->"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return run_all(tmp_path_factory.mktemp("hostile"), workers=4)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_through_the_cli(outcomes: dict[str, Outcome], case: Case) -> None:
    o = outcomes[case.id]
    for stream in (o.stdout, o.stderr):
        assert "Traceback" not in stream, stream[-2000:]
        assert "internal error" not in stream.lower(), stream[-2000:]
    assert o.returncode in (0, 1), f"exit {o.returncode}: data problems must never exit 2\n{o.stderr[-2000:]}"
    assert o.report is not None, f"no JSON report on stdout: {o.stdout[:500]!r} {o.stderr[-1000:]!r}"
    assert issues_match(case.issues, o.issues()), (case.issues, o.issues())
    assert o.hits() == sorted(case.hits, key=repr), "records around the damage must still be scanned"
    assert o.returncode == case.exit_code
    for f in o.input_findings():
        assert f["location"]["path"] == ("<stdin>" if case.stdin else str(o.path))
        assert f["message"] and f["severity"] == "medium"
        code = f["rule_id"].removeprefix("tos-lint.input.")
        if code not in ("binary-file", "unsupported-format", "unreadable", "not-utf8"):  # about the whole file
            assert f["location"]["line"] is not None or f["location"]["index"] is not None, f
    if case.records is not None:
        assert o.report["summary"]["records"] == case.records
    if case.max_rss_mb is not None:
        assert o.rss_mb is not None and o.rss_mb < case.max_rss_mb, \
            f"peak memory {o.rss_mb:.0f} MiB above a tiny scan's (limit {case.max_rss_mb} MiB)"


def test_catalogue_in_docs_is_current(outcomes: dict[str, Outcome]) -> None:
    """docs/robustness.md holds the table these outcomes generate; run
    `python tools/robustness_catalogue.py` to rewrite it."""
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{DOC} lacks the generated section"
    current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip().splitlines()
    assert current == catalogue_rows(outcomes), "run: python tools/robustness_catalogue.py"


def test_hostile_stream_on_stdin(tmp_path: Path) -> None:
    """The same problems arriving on stdin: CRLF, invalid UTF-8, NaN, a
    number beyond a double, a line that is not an object; every line found."""
    data = (b'{"text": "I am ChatGPT"}\r\n{"text": "bad \xff", "n": NaN}\r\n[1]\r\n'
            b'{"n": 1e999, "text": "I am ChatGPT"}\r\n')
    pack = write_pack(tmp_path)
    command = [*scan_command(Path("-"), pack)]
    import subprocess

    from tests.hostile_cases import cli_env

    proc = subprocess.run(command, cwd=tmp_path, input=data, capture_output=True, timeout=300, env=cli_env())
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    got = sorted((f["rule_id"], f["location"]["line"]) for f in doc["findings"])
    assert got == [
        ("test.chatgpt", 1), ("test.chatgpt", 4),
        ("tos-lint.input.invalid-utf8", 2), ("tos-lint.input.nonstandard-json", 2),
        ("tos-lint.input.nonstandard-json", 4), ("tos-lint.input.not-an-object", 3),
    ]
    assert all(f["location"]["path"] == "<stdin>" for f in doc["findings"])


def test_binary_stream_on_stdin(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    import subprocess

    from tests.hostile_cases import cli_env

    proc = subprocess.run(scan_command(Path("-"), pack), cwd=tmp_path, input=bytes(range(256)) * 8,
                          capture_output=True, timeout=300, env=cli_env())
    assert proc.returncode == 0, proc.stderr
    assert [f["rule_id"] for f in json.loads(proc.stdout)["findings"]] == ["tos-lint.input.binary-file"]


# --- the readers' limits -----------------------------------------------------------------

def _read(path: Path, **options: Any) -> tuple[list[RawRecord], list[InputIssue], FileStats]:
    stats = FileStats()
    items = list(read_records(InputFile(str(path), path), stats, ReadOptions(**options)))
    return [i for i in items if isinstance(i, RawRecord)], [i for i in items if isinstance(i, InputIssue)], stats


def _newline_bomb(mib: int) -> bytes:
    return HIT + b"\n" + b"\n" * (mib << 20) + HIT + b"\n"


def test_gzip_bomb_with_a_lowered_ratio(tmp_path: Path) -> None:
    """A 17 MiB file that compresses about 10 times is read whole under the
    default cap (1000 times) and stopped, past 16 MiB, under a cap of 5 (the
    reader's `DecompressLimits`)."""
    lines = b"".join(b'{"id": %d, "text": "the same filler text again and again"}\n' % i for i in range(300_000))
    path = tmp_path / "dense.jsonl.gz"
    path.write_bytes(gzip.compress(HIT + b"\n" + lines + HIT + b"\n", 1))
    records, issues, stats = _read(path, limits=DecompressLimits(max_ratio=5))
    assert [i.code for i in issues] == ["decompression-bomb"]
    assert "5 times" in issues[0].message and issues[0].line == stats.records + 1
    assert 0 < len(records) < 300_002  # those before the cap were read; the last one never is
    records, issues, _ = _read(path)
    assert issues == [] and len(records) == 300_002


def test_bomb_stopped_by_total_size(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(_newline_bomb(8)))
    records, issues, _ = _read(path, limits=DecompressLimits(max_bytes=4 << 20))
    assert [i.code for i in issues] == ["decompression-bomb"]
    assert "limit of 4194304 bytes" in issues[0].message
    assert len(records) == 1


# --- the decompression caps from the command line and the configuration ------------------

BOMB_MIB = 24  # past the 16 MiB the ratio is judged after: about 1000 times from 24 kB


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The phrase, 24 MiB of newlines, the phrase: a small gzip bomb."""
    folder = tmp_path_factory.mktemp("bomb")
    path = folder / "data" / "bomb.jsonl.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(_newline_bomb(BOMB_MIB), 9))
    write_pack(folder)
    return path


def _scan_bomb(bomb: Path, monkeypatch: pytest.MonkeyPatch, *args: str, config: str | None = None) -> Any:
    """`scan` in-process from the bomb's project folder, with a config file or none."""
    from tests.helpers import invoke

    project = bomb.parent.parent
    (project / "tos-lint.yaml").unlink(missing_ok=True)
    if config is not None:
        (project / "tos-lint.yaml").write_text(config, encoding="utf-8")
    pack = project / "hostile-test.yaml"
    return invoke(["scan", bomb, "--no-default-rules", "--rules", pack, "--format", "json", *args], project, monkeypatch)


def _codes_and_lines(result: Any) -> list[tuple[str, Any]]:
    return sorted((f["rule_id"], f["location"]["line"]) for f in json.loads(result.stdout)["findings"])


def test_gzip_bomb_refused_by_default(bomb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = _scan_bomb(bomb, monkeypatch)
    found = _codes_and_lines(res)
    assert [c for c, _ in found] == ["test.chatgpt", "tos-lint.input.decompression-bomb"]
    assert "--max-expansion" in json.loads(res.stdout)["findings"][-1]["message"]


@pytest.mark.parametrize(("args", "config"), [
    pytest.param(["--max-expansion", "100000"], None, id="option"),
    pytest.param([], "max-expansion: 100000\n", id="config"),
    pytest.param([], "max_expansion: .inf\n", id="config-no-cap"),
    pytest.param(["--max-expansion", "100000"], "max-expansion: 2\n", id="option-overrides-config"),
])
def test_gzip_bomb_read_whole_when_the_cap_is_raised(bomb: Path, monkeypatch: pytest.MonkeyPatch,
                                                     args: list[str], config: str | None) -> None:
    res = _scan_bomb(bomb, monkeypatch, *args, config=config)
    assert res.exit_code == 1, res.output
    last = (BOMB_MIB << 20) + 2  # the phrase behind the bomb
    assert _codes_and_lines(res) == [("test.chatgpt", 1), ("test.chatgpt", last)]


@pytest.mark.parametrize(("args", "config"), [
    pytest.param(["--max-expansion", "100000", "--max-decompressed-bytes", "1048576"], None, id="option"),
    pytest.param([], "max-expansion: 100000\nmax-decompressed-bytes: 1048576\n", id="config"),
])
def test_total_size_cap_from_option_and_config(bomb: Path, monkeypatch: pytest.MonkeyPatch,
                                               args: list[str], config: str | None) -> None:
    res = _scan_bomb(bomb, monkeypatch, *args, config=config)
    found = json.loads(res.stdout)["findings"]
    assert [f["rule_id"] for f in found] == ["test.chatgpt", "tos-lint.input.decompression-bomb"]
    assert "limit of 1048576 bytes" in found[-1]["message"]


@pytest.mark.parametrize(("args", "named"), [
    (["--max-expansion", "0"], "--max-expansion"),
    (["--max-expansion", "0.5"], "--max-expansion"),
    (["--max-expansion", "nan"], "--max-expansion"),
    (["--max-expansion", "lots"], "--max-expansion"),
    (["--max-decompressed-bytes", "10"], "--max-decompressed-bytes"),
    (["--max-decompressed-bytes", "-5"], "--max-decompressed-bytes"),
    (["--max-decompressed-bytes", "1GB"], "--max-decompressed-bytes"),
    # beyond the 64-bit integers of the JSON report's manifest: refused up front, not after the scan
    (["--max-decompressed-bytes", str(10**23)], "--max-decompressed-bytes"),
    (["--max-record-bytes", str(10**23)], "--max-record-bytes"),
    (["--max-record-bytes", "5"], "--max-record-bytes"),
])
def test_bad_cap_options_exit_2_naming_the_option(bomb: Path, monkeypatch: pytest.MonkeyPatch,
                                                   args: list[str], named: str) -> None:
    res = _scan_bomb(bomb, monkeypatch, *args)
    assert res.exit_code == 2, res.output
    assert named in res.output and "Traceback" not in res.output
    assert "internal error" not in res.output


def test_largest_byte_limit_is_accepted(bomb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = _scan_bomb(bomb, monkeypatch, "--max-record-bytes", str(2**63 - 1), "--max-decompressed-bytes", str(2**63 - 1))
    assert res.exit_code == 1, res.output
    assert json.loads(res.stdout)["manifest"]["options"]["max_record_bytes"] == 2**63 - 1


@pytest.mark.parametrize(("text", "key"), [
    ("max-expansion: 0\n", "max-expansion"),
    ("max-expansion: big\n", "max-expansion"),
    ("max-expansion: true\n", "max-expansion"),
    ("max_expansion: .nan\n", "max_expansion"),
    ("max-decompressed-bytes: 10GB\n", "max-decompressed-bytes"),
    ("max-decompressed-bytes: 1.5e9\n", "max-decompressed-bytes"),
    ("max-decompressed-bytes: 100\n", "max-decompressed-bytes"),
    ("max-decompresed-bytes: 4096\n", "max-decompresed-bytes"),
    (f"max-decompressed-bytes: {10**23}\n", "max-decompressed-bytes"),
    (f"max-record-bytes: {10**23}\n", "max-record-bytes"),
])
def test_bad_cap_keys_exit_2_naming_the_key(bomb: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str) -> None:
    res = _scan_bomb(bomb, monkeypatch, config=text)
    assert res.exit_code == 2, res.output
    assert f"'{key}'" in res.stderr and "tos-lint.yaml" in res.stderr


def test_filter_reads_with_the_configured_caps(bomb: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`filter` reads its inputs twice (scan, then copy), both times under
    the configured caps; a file it cannot read to the end is reported and
    fails the run (exit 1, a data problem) instead of leaving a short clean
    copy that looks complete."""
    from tests.helpers import invoke

    project = bomb.parent.parent
    args = ["filter", bomb.parent, "--clean-dir", tmp_path / "clean", "--quarantine-dir", tmp_path / "q"]
    (project / "tos-lint.yaml").write_text("max-expansion: 100000\nfail-on: never\n", encoding="utf-8")
    res = invoke(args, project, monkeypatch)
    assert res.exit_code == 0, res.output
    assert gzip.decompress((tmp_path / "clean" / "bomb.jsonl.gz").read_bytes()).count(b"ChatGPT") == 2
    (project / "tos-lint.yaml").write_text("fail-on: never\n", encoding="utf-8")
    res = invoke(args, project, monkeypatch)
    (project / "tos-lint.yaml").unlink()
    assert res.exit_code == 1, res.output
    assert "not read to its end (decompression-bomb" in res.stdout
    assert "could not be read to the end" in res.stderr


@pytest.mark.parametrize("kind", ["gz", "zst", "bz2", "xz"])
def test_decompression_holds_little_memory_per_read(kind: str) -> None:
    """However far a stream expands, one read holds at most a few MiB."""
    payload = _newline_bomb(64)
    blob = {"gz": lambda b: gzip.compress(b, 9), "zst": lambda b: zstandard.ZstdCompressor().compress(b),
            "bz2": bz2.compress, "xz": lambda b: lzma.compress(b, preset=0)}[kind](payload)
    stream = DecompressedStream(io.BytesIO(blob), kind, DecompressLimits(max_ratio=1e9))
    total = peak = 0
    while chunk := stream.read(1 << 20):
        total += len(chunk)
        peak = max(peak, len(stream.pending))
    assert total == len(payload)
    assert peak < 40 << 20, f"{kind}: {peak >> 20} MiB held at once"


@pytest.mark.parametrize("kind", ["gz", "zst", "bz2", "xz"])
def test_concatenated_members_and_frames_are_all_read(tmp_path: Path, kind: str) -> None:
    compress = {"gz": gzip.compress, "zst": lambda b: zstandard.ZstdCompressor().compress(b),
                "bz2": bz2.compress, "xz": lzma.compress}[kind]
    path = tmp_path / f"multi.jsonl.{kind}"
    path.write_bytes(compress(HIT + b"\n" + b'{"text": "x"}\n' * 5000) + compress(HIT + b"\n"))
    records, issues, stats = _read(path)
    assert issues == []
    assert stats.records == 5002 and len(records) == 5002


def test_byte_ranges_of_a_file_with_a_huge_line(tmp_path: Path) -> None:
    """Split across workers, a file with a line larger than the limit gives
    the same records and one oversized-record finding, wherever the cuts fall."""
    path = tmp_path / "ranges.jsonl"
    lines = [HIT, b'{"text": "' + b"z" * 300_000 + b'"}', HIT, b'{"text": "short"}']
    path.write_bytes(b"\n".join(lines) + b"\n")
    size = path.stat().st_size
    whole = [(i.line, type(i).__name__) for i in read_jsonl_range(path, 0, size, FileStats(), ReadOptions(max_record_bytes=4096))]
    for cuts in ([0, 5, size], [0, 100, 150_000, 300_010, size], [0, 300_050, size]):
        got = []
        for start, end in zip(cuts, cuts[1:]):
            offset = path.read_bytes()[:start].count(b"\n")
            if start and path.read_bytes()[start - 1:start] != b"\n":
                offset += 1  # the range starts inside a line, which belongs to the range before
            for item in read_jsonl_range(path, start, end, FileStats(), ReadOptions(max_record_bytes=4096)):
                got.append((item.line + offset, type(item).__name__))
        assert got == whole, cuts
    assert whole == [(1, "RawRecord"), (2, "InputIssue"), (3, "RawRecord"), (4, "RawRecord")]


@pytest.mark.parametrize("kind", ["binary", "array", "pretty-object"])
def test_ranges_of_a_file_that_is_not_jsonl(tmp_path: Path, kind: str) -> None:
    """Large files are planned into byte ranges by name: one that is not
    JSONL is read whole by its first range, exactly as `read_records` reads
    it, and its other ranges are empty."""
    body = {
        "binary": bytes(range(256)) * 4096,
        "array": json.dumps([{"text": "I am ChatGPT"}] + [{"text": "x" * 50}] * 20_000, indent=2).encode(),
        "pretty-object": json.dumps({"text": "I am ChatGPT", "meta": ["y" * 50] * 20_000}, indent=2).encode(),
    }[kind]
    path = tmp_path / "named.jsonl"
    path.write_bytes(body)
    records, issues, _ = _read(path)
    size = path.stat().st_size
    cuts = [0, size // 3, 2 * size // 3, size]
    got = [item for start, end in zip(cuts, cuts[1:])
           for item in read_jsonl_range(path, start, end, FileStats(), ReadOptions())]
    assert [i for i in got if isinstance(i, InputIssue)] == issues
    assert [(r.line, r.index, r.data) for r in got if isinstance(r, RawRecord)] == [(r.line, r.index, r.data) for r in records]
    assert len(records) == {"binary": 0, "array": 20_001, "pretty-object": 1}[kind]
