"""`tos-lint filter` on Parquet and Arrow inputs: copies in the input's own
format, schema, compression and row groups; every row in exactly one copy
(or reported); the quarantine copy says why; inputs untouched."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import force_split, invoke, rule, write_pack
from tests.test_filter import counts_line, no_temp_files

FINDINGS = "_tos_lint_findings"
HF_META = {b"huggingface": json.dumps({"info": {"features": {"id": {"dtype": "int64", "_type": "Value"}}}}).encode()}


def rows(n: int, flagged: set[int], long: set[int] = frozenset()) -> pa.Table:  # type: ignore[assignment]
    """`n` chat rows; those in `flagged` say "I am ChatGPT", those in `long` are 3 KB."""
    def answer(i: int) -> str:
        text = f"I am ChatGPT, answer {i}." if i in flagged else f"Paris, answer {i}."
        return text + " padding" * 400 if i in long else text

    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "messages": [[{"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": answer(i)}]
                     for i in range(n)],
        "score": pa.array([i / 2 for i in range(n)], pa.float32()),
    }).replace_schema_metadata(HF_META)


@pytest.fixture()
def proj(tmp_path: Path) -> Path:
    write_pack(tmp_path / "pack.yaml", [rule("test.chatgpt", [{"phrase": "I am ChatGPT"}])])
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    return tmp_path


def run_filter(proj: Path, monkeypatch: pytest.MonkeyPatch, *extra: Any) -> Any:
    return invoke(["filter", "data", "--clean-dir", "out/clean", "--quarantine-dir", "out/q", *extra], proj, monkeypatch)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_any(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    with path.open("rb") as f:
        if f.read(6) == b"ARROW1":
            return feather.read_table(path)
    with path.open("rb") as f:
        return ipc.open_stream(f).read_all()


@pytest.mark.parametrize("codec", ["zstd", "snappy", "none"])
def test_parquet_copies_keep_schema_compression_and_row_groups(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                                codec: str) -> None:
    table = rows(10, flagged={0, 3, 9})
    src = proj / "data" / "chat.parquet"
    pq.write_table(table, src, row_group_size=4, compression=codec)
    before = digest(src)
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert counts_line(res.stdout, "data/chat.parquet") == (10, 7, 3, 0)
    assert digest(src) == before
    clean, quarantine = pq.ParquetFile(proj / "out/clean/chat.parquet"), pq.ParquetFile(proj / "out/q/chat.parquet")
    assert clean.schema_arrow == table.schema and clean.schema_arrow.metadata == HF_META
    assert clean.read().column("id").to_pylist() == [1, 2, 4, 5, 6, 7, 8]
    assert clean.read().column("messages").to_pylist() == table.column("messages").take([1, 2, 4, 5, 6, 7, 8]).to_pylist()
    # input row groups 0-3, 4-7, 8-9 (0, 3 and 9 quarantined): each one's kept rows stay one row group
    assert [clean.metadata.row_group(i).num_rows for i in range(clean.metadata.num_row_groups)] == [2, 4, 1]
    expected = {"none": "UNCOMPRESSED"}.get(codec, codec.upper())
    assert clean.metadata.row_group(0).column(0).compression == expected
    q = quarantine.read()
    assert q.column("id").to_pylist() == [0, 3, 9]
    assert q.schema.names == ["id", "messages", "score", FINDINGS]
    notes = [json.loads(n) for n in q.column(FINDINGS).to_pylist()]
    assert [[f["rule_id"] for f in note] for note in notes] == [["test.chatgpt"]] * 3
    assert [note[0]["location"]["index"] for note in notes] == [0, 3, 9]
    features = json.loads(q.schema.metadata[b"huggingface"])["info"]["features"]
    assert features[FINDINGS] == {"dtype": "string", "_type": "Value"} and "id" in features
    no_temp_files(proj / "out")


@pytest.mark.parametrize("layout", ["stream", "file"])
def test_arrow_copies_keep_their_ipc_format(proj: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    table = rows(7, flagged={1, 6})
    src = proj / "data" / "cache.arrow"
    if layout == "file":
        feather.write_feather(table, src, compression="uncompressed")
    else:
        with ipc.new_stream(src, table.schema) as out:
            for batch in table.to_batches(max_chunksize=3):
                out.write_batch(batch)
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert counts_line(res.stdout, "data/cache.arrow") == (7, 5, 2, 0)
    for copy in (proj / "out/clean/cache.arrow", proj / "out/q/cache.arrow"):
        assert (copy.read_bytes()[:6] == b"ARROW1") == (layout == "file")
    assert read_any(proj / "out/clean/cache.arrow").equals(table.take([0, 2, 3, 4, 5]))
    q = read_any(proj / "out/q/cache.arrow")
    assert q.column("id").to_pylist() == [1, 6]
    assert q.drop_columns([FINDINGS]).equals(table.take([1, 6]))


def test_a_row_over_the_size_limit_is_quarantined_with_the_reason(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row the scan did not read is in no clean copy, yet never lost."""
    (proj / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\nmax-record-bytes: 1024\n",
                                        encoding="utf-8")
    pq.write_table(rows(5, flagged={0}, long={2}), proj / "data" / "t.parquet")
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert counts_line(res.stdout, "data/t.parquet") == (5, 3, 1, 1)
    assert f"1 row(s) not read are in the quarantine copy, with the reason under {FINDINGS}" in res.stdout
    q = pq.read_table(proj / "out/q/t.parquet")
    assert q.column("id").to_pylist() == [0, 2]
    assert json.loads(q.column(FINDINGS)[1].as_py())[0]["rule_id"] == "tos-lint.input.oversized-record"
    assert pq.read_table(proj / "out/clean/t.parquet").column("id").to_pylist() == [1, 3, 4]


def test_an_existing_findings_column_is_replaced(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Filtering a quarantine copy again: one findings column, today's."""
    table = rows(3, flagged={1}).append_column(FINDINGS, pa.array([7, 8, 9], pa.int64()))
    pq.write_table(table, proj / "data" / "again.parquet")
    assert run_filter(proj, monkeypatch).exit_code == 1
    q = pq.read_table(proj / "out/q/again.parquet")
    assert q.schema.names.count(FINDINGS) == 1 and q.schema.field(FINDINGS).type == pa.string()
    assert json.loads(q.column(FINDINGS)[0].as_py())[0]["rule_id"] == "test.chatgpt"
    assert pq.read_table(proj / "out/clean/again.parquet").column(FINDINGS).to_pylist() == [7, 9]


def test_clean_table_exits_0_and_a_rerun_removes_a_stale_quarantine(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = proj / "data" / "t.parquet"
    pq.write_table(rows(4, flagged={2}), src)
    assert run_filter(proj, monkeypatch).exit_code == 1
    assert (proj / "out/q/t.parquet").exists()
    pq.write_table(rows(4, flagged=set()), src)
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 0, res.output
    assert not (proj / "out/q/t.parquet").exists()
    assert pq.read_table(proj / "out/clean/t.parquet").num_rows == 4


def test_rows_of_a_parquet_file_split_for_parallel_scanning(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row indices are the file's, not the part's: each part's findings
    quarantine the right rows."""
    force_split(monkeypatch, 2000)
    pq.write_table(rows(60, flagged={5, 31, 58}), proj / "data" / "big.parquet", row_group_size=10)
    from tos_lint.tabular import parquet_row_group_ranges

    assert len(parquet_row_group_ranges(proj / "data" / "big.parquet", 2000)) > 1  # scanned in parts
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert pq.read_table(proj / "out/q/big.parquet").column("id").to_pylist() == [5, 31, 58]
    assert pq.read_table(proj / "out/clean/big.parquet").num_rows == 57


def write_table(path: Path, table: pa.Table) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        path.write_text("id,text\n" + "".join(f"{r['id']},\"{r['messages'][1]['content']}\"\n" for r in table.to_pylist()),
                        encoding="utf-8")


@pytest.mark.parametrize("name", ["t.parquet", "t.csv"])
def test_a_table_changed_between_scan_and_copy_is_not_copied(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                             name: str) -> None:
    src = proj / "data" / name
    write_table(src, rows(4, flagged=set()))
    assert run_filter(proj, monkeypatch).exit_code == 0
    assert (proj / "out/clean" / name).exists()
    import tos_lint.api as api

    real_run = api.run

    def run_then_rewrite(*args: Any, **kwargs: Any) -> Any:
        outcome = real_run(*args, **kwargs)
        write_table(src, rows(4, flagged={0, 1, 2, 3}))  # never judged
        return outcome

    monkeypatch.setattr(api, "run", run_then_rewrite)
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert f"data/{name}: changed-during-scan" in res.stdout
    assert not (proj / "out/clean" / name).exists() and not (proj / "out/q" / name).exists()
    no_temp_files(proj / "out")


def test_an_unreadable_table_gets_no_copy_and_fails_the_run(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pq.write_table(rows(4, flagged=set()), proj / "data" / "whole.parquet")
    pq.write_table(rows(4, flagged=set()), proj / "data" / "cut.parquet")
    assert run_filter(proj, monkeypatch).exit_code == 0  # copies of the file before it was cut: stale now
    (proj / "data" / "cut.parquet").write_bytes((proj / "data" / "whole.parquet").read_bytes()[:200])
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert "data/cut.parquet: not read (malformed-parquet: not a readable Parquet file" in res.stdout
    assert "no copy written" in res.stdout
    assert not (proj / "out/clean/cut.parquet").exists() and not (proj / "out/q/cut.parquet").exists()
    assert pq.read_table(proj / "out/clean/whole.parquet").num_rows == 4


def test_other_formats_are_refused_before_anything_is_written(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "data" / "t.csv").write_text("text\nI am ChatGPT\n", encoding="utf-8")
    (proj / "data" / "notes.txt").write_text("I am ChatGPT\n", encoding="utf-8")
    res = invoke(["filter", "data/t.csv", "data/notes.txt", "--clean-dir", "out/c", "--quarantine-dir", "out/q"],
                 proj, monkeypatch)
    assert res.exit_code == 2
    assert "data/notes.txt: filter writes JSON, JSONL, CSV, TSV, Parquet and Arrow only" in res.output
    assert not (proj / "out").exists()


# A CSV as spreadsheets write it: BOM, CRLF, a quoted field over two lines,
# a blank line, a stray quote, an LF-only line inside a quoted field, no
# newline at the end.
CSV_BYTES = (b'\xef\xbb\xbfid,text\r\n1,"hello\r\nworld"\r\n2,I am ChatGPT\r\n\r\n3,"bad "quote" here"\r\n'
             b'4,fine\r\n5,"I am ChatGPT,\nsecond line"\r\n6,last')


@pytest.mark.parametrize("codec", [None, "gz"])
def test_csv_rows_are_copied_byte_for_byte(proj: Path, monkeypatch: pytest.MonkeyPatch, codec: str | None) -> None:
    import gzip

    name = "t.csv.gz" if codec else "t.csv"
    pack, unpack = (gzip.compress, gzip.decompress) if codec else (bytes, bytes)
    (proj / "data" / name).write_bytes(pack(CSV_BYTES))
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert counts_line(res.stdout, f"data/{name}") == (6, 3, 2, 1)
    assert "1 row(s) not read are in the quarantine copy" in res.stdout
    clean = unpack((proj / "out/clean" / name).read_bytes())
    assert clean == b'\xef\xbb\xbfid,text\r\n1,"hello\r\nworld"\r\n4,fine\r\n6,last'
    quarantine = unpack((proj / "out/q" / name).read_bytes())
    import csv
    import io

    table = list(csv.reader(io.StringIO(quarantine.decode("utf-8-sig"), newline="")))
    assert table[0] == [FINDINGS, "id", "text"]
    held = [r for r in table[1:] if r]
    assert [r[1] for r in held] == ["2", "3", "5"]
    assert [json.loads(r[0])[0]["rule_id"] for r in held] == ["test.chatgpt", "tos-lint.input.malformed-csv", "test.chatgpt"]
    assert held[2][2] == "I am ChatGPT,\nsecond line"
    # without the added field, each quarantined row is the input's bytes
    assert quarantine.count(b"2,I am ChatGPT\r\n\r\n") == 1
    assert b',3,"bad "quote" here"\r\n' in quarantine


def test_tsv_filter_keeps_tabs_and_lf(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "data" / "t.tsv").write_bytes(b"id\ttext\n1\tI am ChatGPT\n2\tok\n")
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert (proj / "out/clean/t.tsv").read_bytes() == b"id\ttext\n2\tok\n"
    lines = (proj / "out/q/t.tsv").read_bytes().split(b"\n")
    assert lines[0] == FINDINGS.encode() + b"\tid\ttext" and lines[1].endswith(b'"\t1\tI am ChatGPT')


def test_a_utf16_csv_gets_no_copy(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "data" / "wide.csv").write_bytes("id,text\n1,I am ChatGPT\n".encode("utf-16"))
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert "data/wide.csv: not read (not-utf8: UTF-16" in res.stdout and "filter copies UTF-8 CSV only" in res.stdout
    assert not (proj / "out/clean/wide.csv").exists() and not (proj / "out/q/wide.csv").exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"a,b", b'"x\ny",z', b"", b'"q""r",s', b"\xff,t"]), max_size=12),
       st.sampled_from([b"\n", b"\r\n", b"\r"]), st.integers(1, 9))
def test_physical_lines_are_the_lines_csv_reads(cells: list[bytes], end: bytes, block: int) -> None:
    """Cut anywhere by the block size, the lines are those a text stream
    opened with newline="" gives csv.reader, and they join back to the bytes."""
    import io

    from tos_lint import filtering_csv

    data = end.join([b"h,k", *cells])
    filtering_csv_block = filtering_csv.BLOCK_SIZE
    try:
        filtering_csv.BLOCK_SIZE = block
        got = list(filtering_csv.physical_lines(io.BytesIO(data)))
    finally:
        filtering_csv.BLOCK_SIZE = filtering_csv_block
    assert b"".join(got) == data
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape", newline="")
    assert [g.decode("utf-8", "surrogateescape") for g in got] == list(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=40))
def test_row_runs_hold_the_same_rows_as_a_set(indices: list[int]) -> None:
    from tos_lint.filtering_tables import RowRuns

    ordered = sorted(indices)  # rows arrive in order; an index added twice counts once
    runs = RowRuns()
    for index in ordered:
        runs.add(index)
    assert [i for i in range(-2, 64) if i in runs] == sorted(set(ordered))
    assert len(runs.starts) == len({i for i in ordered if i - 1 not in ordered})


def test_rows_of_an_undecodable_row_group_are_in_neither_copy(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row group 1's pages are garbage: its rows are counted unreadable and
    named, the row groups before and after it are copied."""
    src = proj / "data" / "g.parquet"
    pq.write_table(rows(30, flagged={2, 25}), src, row_group_size=10)
    meta = pq.ParquetFile(src).metadata
    data = bytearray(src.read_bytes())
    for c in range(meta.num_columns):
        start = meta.row_group(1).column(c).data_page_offset
        data[start:start + 16] = b"\xab" * 16
    src.write_bytes(bytes(data))
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert counts_line(res.stdout, "data/g.parquet") == (30, 18, 2, 10)
    assert "data/g.parquet: part of it could not be read (malformed-parquet: row group 1" in res.stdout
    assert "those rows are in neither copy" in res.stdout
    assert pq.read_table(proj / "out/clean/g.parquet").column("id").to_pylist() == [
        i for i in [*range(10), *range(20, 30)] if i not in (2, 25)]
    assert pq.read_table(proj / "out/q/g.parquet").column("id").to_pylist() == [2, 25]
