"""Tabular inputs: Parquet, CSV / TSV, Arrow files of Hugging Face `datasets`
folders (`save_to_disk`) and the hub cache layout.

Every test makes its data with pyarrow or the csv module. The same records
are also written as JSONL: a tabular file must give the same findings (rule,
pointer, fingerprint) at the same place (row index = JSONL line - 1).
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tos_lint
from tests.helpers import CHATGPT_RULE_ID, assert_no_traceback, chatgpt_pack, run_cli, write_jsonl
from tos_lint import parallel, tabular
from tos_lint.engine import Engine, EngineOptions
from tos_lint.readers import FileStats, InputFile, RawRecord, ReadOptions, discover, read_records

HIT = "Hello! I am ChatGPT, a large language model trained by OpenAI."
CLEAN = "Photosynthesis turns light into chemical energy."


def chat(i: int, answer: str) -> dict[str, Any]:
    return {"id": f"r{i}", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": f"Question {i}: who are you?"},
        {"role": "assistant", "content": answer},
    ]}


def records(n: int = 12) -> list[dict[str, Any]]:
    return [chat(i, HIT if i % 4 == 1 else CLEAN) for i in range(n)]


def key(f: tos_lint.Finding) -> tuple[str, str, str, str]:
    return (f.rule_id, f.location.pointer, f.fingerprint, f.location.record_id)


def by_row(result: tos_lint.ScanResult) -> list[tuple[int | None, tuple[str, str, str, str]]]:
    """Findings keyed by 0-based row: a table's row index (CSV rows have a
    line too, where the row starts), or a JSONL line counted from 1."""
    out = []
    for f in result.findings:
        row = f.location.index if f.location.index is not None else f.location.line - 1
        out.append((row, key(f)))
    return sorted(out, key=repr)


def rule_hits(result: tos_lint.ScanResult) -> list[tuple[int | None, str]]:
    return sorted(((f.location.index, f.location.pointer) for f in result.findings
                   if not f.rule_id.startswith("tos-lint.input.")), key=repr)


def input_issues(result: tos_lint.ScanResult) -> list[tuple[str, int | None]]:
    return sorted(((f.rule_id.rsplit(".", 1)[-1], f.location.index) for f in result.findings
                   if f.rule_id.startswith("tos-lint.input.")), key=repr)


@pytest.fixture(scope="module", autouse=True)
def _compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each scan builds an engine (and its prefilter): compile once per module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOS_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("hsdb")))
        yield


@pytest.fixture()
def scan(builtin_ruleset):  # type: ignore[no-untyped-def]
    def run(*paths: Path | str, **kw: Any) -> tos_lint.ScanResult:
        return tos_lint.scan([str(p) for p in paths], ruleset=builtin_ruleset, jobs=kw.pop("jobs", 1), **kw)
    return run


@pytest.fixture()
def jsonl_result(tmp_path: Path, scan):  # type: ignore[no-untyped-def]
    return scan(write_jsonl(tmp_path / "same.jsonl", records()))


def table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as a table, the schema inferred from every row (as `datasets` does)."""
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(rows))])


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- Parquet -------------------------------------------------------------------

def test_parquet_nested_messages_give_the_jsonl_findings(tmp_path: Path, scan, jsonl_result) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "chat.parquet"
    data = table(records())
    assert pa.types.is_list(data.schema.field("messages").type)
    assert pa.types.is_struct(data.schema.field("messages").type.value_type)
    pq.write_table(data, path, row_group_size=5)
    result = scan(path)
    assert by_row(result) == by_row(jsonl_result)
    assert {f.location.index for f in result.findings} == {1, 5, 9}
    assert all(f.location.line is None and f.location.path == str(path) for f in result.findings)
    assert result.stats.records == 12 and result.stats.malformed == 0


def test_parquet_nulls_from_schema_unification_are_dropped(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    """A key missing from some JSON records is a null column in Parquet: rows
    read back as the JSON they came from, so fingerprints match."""
    rows = [{"messages": [{"role": "assistant", "content": HIT, "name": "bot"}]},
            {"messages": [{"role": "assistant", "content": HIT}], "source": "web"}]
    pq.write_table(table(rows), tmp_path / "n.parquet")
    stats = FileStats()
    data = [r.data for r in read_records(InputFile("n", tmp_path / "n.parquet"), stats, ReadOptions()) if isinstance(r, RawRecord)]
    assert data == rows
    jsonl = scan(write_jsonl(tmp_path / "n.jsonl", rows))
    assert by_row(scan(tmp_path / "n.parquet")) == by_row(jsonl)


def test_parquet_messages_as_json_string_column(tmp_path: Path, scan, jsonl_result) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": r["id"], "messages": json.dumps(r["messages"])} for r in records()]
    pq.write_table(table(rows), tmp_path / "s.parquet")
    assert by_row(scan(tmp_path / "s.parquet")) == by_row(jsonl_result)


def test_parquet_other_shapes_and_types(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    data = pa.table({
        "prompt": ["Who made you?", "Hi"],
        "completion": [HIT, CLEAN],
        "score": pa.array([0.5, None]),
        "tags": pa.array([[("k", "v")], []], type=pa.map_(pa.string(), pa.string())),
        "blob": pa.array([b"\x00\x01", None]),
    })
    pq.write_table(data, tmp_path / "pc.parquet")
    result = scan(tmp_path / "pc.parquet")
    assert (0, "/completion") in rule_hits(result)
    assert input_issues(result) == []


def test_parquet_split_by_row_group_equals_whole_file(tmp_path: Path, builtin_ruleset) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.parquet"
    pq.write_table(table(records(200)), path, row_group_size=16)
    files, _ = discover([str(path)])
    units = parallel.plan(files, None, split=True, split_bytes=2048)
    assert len(units) > 3 and all(u.by == "row_groups" for u in units)
    assert [u.start for u in units] == sorted(u.start for u in units) and units[-1].end == 13
    engine = Engine(builtin_ruleset, EngineOptions())
    split = parallel.run_units(engine, units, jobs=2)
    whole = parallel.run_units(engine, parallel.plan(files, None, split=False), jobs=1)
    assert len(split) == len(whole) == 1
    assert [(f.location.index, key(f)) for f in split[0].findings] == [(f.location.index, key(f)) for f in whole[0].findings]
    assert split[0].stats.records == whole[0].stats.records == 200
    assert {f.location.index for f in split[0].findings} == {i for i in range(200) if i % 4 == 1}


def test_parquet_split_through_the_api_hashes_the_whole_file(tmp_path: Path, scan, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.parquet"
    pq.write_table(table(records(400)), path, row_group_size=10)
    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 1024)
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 4096)
    files, _ = discover([str(path)])
    assert len(parallel.plan(files, None, split=True)) > 1
    result = scan(path, jobs=2)
    assert result.stats.records == 400 and len(result.files) == 1
    assert result.files[0].stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted({f.location.index for f in result.findings}) == [i for i in range(400) if i % 4 == 1]


def test_parquet_is_hashed_for_the_manifest(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "h.parquet"
    pq.write_table(table(records(3)), path)
    result = scan(path)
    entry = result.manifest["inputs"][0]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["size"] == path.stat().st_size and entry["records"] == 3


def test_parquet_reads_only_the_columns_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a"], "text": [HIT], "embedding": [[0.1, 0.2]]}), path)
    options = ReadOptions(columns=tabular.columns_for_field_map({"assistant": ["text"]}))
    rows = [r.data for r in read_records(InputFile("c", path), FileStats(), options) if isinstance(r, RawRecord)]
    assert rows == [{"id": "a", "text": HIT}]


def test_parquet_leaves_columns_that_cannot_hold_text_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({
        "id": [7], "text": [HIT], "embedding": [[0.1, 0.2]], "score": [0.5], "ok": [True],
        "meta": [{"tags": ["x"], "n": 1}], "stats": [{"n": 1, "mean": 0.5}], "raw": [b"bytes may be text"],
    }), path)
    rows = [r.data for r in read_records(InputFile("e", path), FileStats(), ReadOptions()) if isinstance(r, RawRecord)]
    # the id column is read whatever its type; a struct with a string inside is text; binary may be (UTF-8: read as text)
    assert rows == [{"id": 7, "text": HIT, "meta": {"tags": ["x"], "n": 1}, "raw": "bytes may be text"}]
    # a field some rule reads is read whatever its type, at the top level or nested
    options = ReadOptions(field_names=frozenset({"score", "mean"}))
    rows = [r.data for r in read_records(InputFile("e", path), FileStats(), options) if isinstance(r, RawRecord)]
    assert set(rows[0]) == {"id", "text", "meta", "raw", "score", "stats"}


def test_field_rules_see_numeric_columns(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("""pack: temp
version: 1
rules:
  - id: temp.zero
    provider: openai
    severity: high
    confidence: 0.9
    message: temperature zero
    match:
      all:
        - field: {key: temperature, equals: 0}
    examples:
      match: [{temperature: 0}]
      no_match: [{temperature: 1}]
""")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "temperature": [0, 1], "embedding": [[0.1], [0.2]]}), path)
    result = tos_lint.scan([path], rules=[pack], use_default_rules=False, jobs=1)
    assert [(f.rule_id, f.location.index) for f in result.findings] == [("temp.zero", 0)]


def test_prefilter_does_not_change_parquet_findings(tmp_path: Path, builtin_ruleset) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.parquet"
    rows = records(40) + [{"text": CLEAN}] * 20 + [{"text": "Ｉ am ＣｈａｔＧＰＴ"}, {"text": "I am Chat\u200bGPT"}]
    pq.write_table(table(rows), path)
    inp = InputFile(str(path), path)
    on = Engine(builtin_ruleset, EngineOptions()).scan_file(inp)
    off = Engine(builtin_ruleset, EngineOptions(prefilter=False)).scan_file(inp)
    assert [key(f) for f in on.findings] == [key(f) for f in off.findings]
    assert on.stats.prefiltered >= 20 and on.stats.records == off.stats.records == 62


def test_corrupt_parquet_is_reported(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.parquet").write_bytes(b"PAR1\x00\x00PAR1")
    result = scan(tmp_path / "bad.parquet")
    assert input_issues(result) == [("malformed-parquet", None)]


def test_corrupt_row_group_is_reported_and_reading_goes_on(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rg.parquet"
    rows = [chat(i, f"{HIT} {i} " + "filler words " * 50) for i in range(30)]
    pq.write_table(table(rows), path, row_group_size=10, compression="zstd")
    meta = pq.ParquetFile(path).metadata
    column = meta.row_group(1).column(meta.num_columns - 1)  # the answers
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    raw = bytearray(path.read_bytes())
    for i in range(start + 20, start + column.total_compressed_size - 4):
        raw[i] ^= 0x5A  # garble the second row group's compressed data
    path.write_bytes(bytes(raw))
    result = scan(path)
    assert input_issues(result) == [("malformed-parquet", 10)]
    assert {i for i, _ in rule_hits(result)} == set(range(10)) | set(range(20, 30))
    assert result.stats.records == 20 and result.stats.malformed == 10


# --- CSV / TSV -----------------------------------------------------------------

def test_csv_messages_as_json_and_python_literals(tmp_path: Path, scan, jsonl_result) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for i, r in enumerate(records()):
        msgs = r["messages"]
        cell = json.dumps(msgs) if i % 3 == 0 else repr(msgs) if i % 3 == 1 else "[" + "\n ".join(map(repr, msgs)) + "]"
        rows.append([r["id"], cell])  # the third form: pandas' str() of a numpy array of dicts
    path = write_csv(tmp_path / "chat.csv", ["id", "messages"], rows)
    result = scan(path)
    assert by_row(result) == by_row(jsonl_result)
    assert result.stats.records == 12


def test_tsv_and_sharegpt_conversations(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    conv = [{"from": "human", "value": "who are you?"}, {"from": "gpt", "value": HIT}]
    path = write_csv(tmp_path / "c.tsv", ["id", "conversations"],
                     [["a", json.dumps(conv)], ["b", json.dumps(conv[:1])]], delimiter="\t")
    result = scan(path)
    assert (0, "/conversations/1/value") in rule_hits(result)
    assert all(i == 0 for i, _ in rule_hits(result))


def test_csv_plain_columns_multiline_fields_and_gzip(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    plain = write_csv(tmp_path / "pc.csv", ["prompt", "completion"],
                      [["hi", f"Line one.\n{HIT}\nLine three, with a comma."], ["hey", CLEAN]])
    gz = tmp_path / "pc.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, gz):
        result = scan(path)
        assert {i for i, _ in rule_hits(result)} == {0}, path
        assert result.stats.records == 2
        assert result.files[0].stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_findings_carry_the_line_their_row_starts_on(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    """A reviewer opens the file at the row: quoted fields that span lines
    and blank lines move the rows after them down."""
    path = tmp_path / "lines.csv"
    path.write_text(
        "prompt,completion\n"                                # line 1: header
        f'"a\nprompt over\nthree lines","{HIT}"\n'            # lines 2-4: row 0
        "\n"                                                 # line 5: blank
        f'hi,"first line\n{HIT}"\n'                          # lines 6-7: row 1
        "x,y,z\n"                                            # line 8: row 2, three fields
        f'hey,"{HIT}"\n',                                    # line 9: row 3
        encoding="utf-8", newline="")
    result = scan(path)
    rows = {(f.location.index, f.location.line) for f in result.findings}
    assert rows == {(0, 2), (1, 6), (2, 8), (3, 9)}
    assert [f.location.line for f in result.findings if f.rule_id == "tos-lint.input.malformed-csv"] == [8]


def test_malformed_csv_rows_are_reported_with_their_row(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_bytes(
        b"id,messages\n"
        + b'a,"[{""role"": ""assistant"", ""content"": ""' + HIT.encode() + b'""}]"\n'  # row 0: fine
        + b"b,x,y\n"  # row 1: three fields
        + b"c,[not a list\n"  # row 2: messages column that does not parse: reported, still scanned
        + b'd,"' + b"z" * 3000 + b'"\n'  # row 3: over the field limit
        + b'e,"[{""role"": ""assistant"", ""content"": ""\xff I am ChatGPT""}]"\n'  # row 4: invalid UTF-8, scanned
        + b'f,"unclosed I am ChatGPT\n'  # row 5: an unclosed quote to the end
    )
    result = scan(path, max_record_bytes=2048)
    assert input_issues(result) == [
        ("invalid-utf8", 4), ("malformed-csv", 1), ("malformed-csv", 5), ("malformed-field", 2), ("oversized-record", 3),
    ]
    assert {i for i, _ in rule_hits(result)} == {0, 4}
    assert result.stats.records == 3 and result.stats.malformed == 3


def _read(path: Path, **options: Any) -> tuple[list[Any], list[tuple[str, int | None, int | None]]]:
    """The rows read from `path` (index, data) and its problems (code, line, index)."""
    items = list(read_records(InputFile(path.name, path), FileStats(), ReadOptions(**options)))
    rows = [(r.index, r.data) for r in items if isinstance(r, RawRecord)]
    return rows, [(i.code, i.line, i.index) for i in items if not isinstance(i, RawRecord)]


def test_csv_repeated_and_blank_column_names_keep_every_column(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text(f'text,text,text#2\n"{HIT}",b,c\n', encoding="utf-8")
    (tmp_path / "blank.csv").write_text(f',,\n"{HIT}",a,b\n', encoding="utf-8")
    assert _read(tmp_path / "dup.csv") == ([(0, {"text": HIT, "text#2": "b", "text#2#2": "c"})], [])
    assert _read(tmp_path / "blank.csv") == ([(0, {"": HIT, "#2": "a", "#3": "b"})], [])


def test_parquet_and_arrow_repeated_column_names_keep_every_column(tmp_path: Path) -> None:
    import pyarrow.feather as feather

    data = pa.Table.from_arrays([pa.array([HIT]), pa.array([1.5]), pa.array(["y"])], names=["text", "n", "text"])
    pq.write_table(data, tmp_path / "dup.parquet")
    feather.write_feather(data, tmp_path / "dup.arrow")
    for name in ("dup.parquet", "dup.arrow"):
        # the float column cannot hold text and is left on disk; both text columns are read
        assert _read(tmp_path / name) == ([(0, {"text": HIT, "text#2": "y"})], []), name


@pytest.mark.parametrize("codec, bom", [("utf-16", True), ("utf-16-le", False), ("utf-32", True)])
def test_csv_in_utf16_or_utf32_is_reported_and_read_converted(tmp_path: Path, codec: str, bom: bool) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(f'id,text\n1,"{HIT} 日本"\n2,x\n'.encode(codec))
    rows, issues = _read(path)
    assert issues == [("not-utf8", None, None)]
    assert rows == [(0, {"id": "1", "text": f"{HIT} 日本"}), (1, {"id": "2", "text": "x"})]


def test_parquet_rows_over_max_record_bytes_are_reported_not_scanned(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": ["small", "a " * 3000 + HIT, "small too"]}), path)
    rows, issues = _read(path, max_record_bytes=2048)
    assert issues == [("oversized-record", None, 1)]
    assert [i for i, _ in rows] == [0, 2]
    assert len(_read(path)[0]) == 3  # under the default limit: every row


def test_parquet_binary_values_are_read_as_text_when_utf8_else_reported(tmp_path: Path) -> None:
    path = tmp_path / "bin.parquet"
    pq.write_table(pa.table({
        "text": pa.array([HIT.encode(), b"\x89PNG\r\n\x1a\n", b"\xff\xd8"], pa.binary()),
        "meta": [{"note": b"fine"}, {"note": b"\xff"}, {"note": b"\xfe"}],
    }), path)
    rows, issues = _read(path)
    assert rows == [(0, {"text": HIT, "meta": {"note": "fine"}}), (1, {"meta": {}}), (2, {"meta": {}})]
    # once per column that holds bytes that are not text, at the first row that does
    assert issues == [("binary-field", None, 1), ("binary-field", None, 1)]


def test_bytes_that_are_not_text_are_named_by_their_column() -> None:
    row = {"text": b"\xff", "turns": [{"image": b"\x89PNG", "value": b"fine"}, None, b"ok"], 3: {"": {"x": b"\xfe"}},
           "meta": {"note": "kept", "none": None}}
    undecoded: dict[str, None] = {}
    decoded = tabular._decoded(row, None, undecoded)
    assert decoded == {"turns": [{"value": "fine"}, None, "ok"], 3: {"": {}}, "meta": {"note": "kept"}}
    # keys from the top joined by '/', list positions left out, in the order met
    assert list(undecoded) == ["text", "turns/image", "3//x"]


def test_a_stray_quote_costs_its_line_not_the_rows_after_it(tmp_path: Path) -> None:
    path = tmp_path / "stray.tsv"
    path.write_text(f'id\ttext\n1\t"quoted start\n2\t{HIT}\n3\t{HIT}\n', encoding="utf-8")
    rows, issues = _read(path)
    assert issues == [("malformed-csv", 2, 0)]
    assert rows == [(1, {"id": "2", "text": HIT}), (2, {"id": "3", "text": HIT})]
    # text after a closing quote: the same; a well-quoted field over several lines is one row
    path = tmp_path / "stray.csv"
    path.write_text(f'id,text\n1,"open\n2,"x"y\n3,"{HIT}\nsecond line"\n', encoding="utf-8")
    rows, issues = _read(path)
    assert issues == [("malformed-csv", 2, 0), ("malformed-csv", 3, 1)]
    assert rows == [(2, {"id": "3", "text": f"{HIT}\nsecond line"})]


def test_csv_with_only_a_header_or_empty(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "h.csv").write_text("id,text\n")
    (tmp_path / "e.csv").write_text("")
    result = scan(tmp_path / "h.csv", tmp_path / "e.csv")
    assert result.findings == [] and result.stats.records == 0


# --- Hugging Face `datasets` folders ---------------------------------------------------

def save_to_disk_like(folder: Path, rows: list[dict[str, Any]], shards: int = 2) -> list[Path]:
    """What `Dataset.save_to_disk` writes: Arrow IPC *stream* shards, state.json, dataset_info.json."""
    folder.mkdir(parents=True)
    data = table(rows)
    per = -(-len(rows) // shards)
    files = []
    for s in range(shards):
        name = f"data-{s:05d}-of-{shards:05d}.arrow"
        with pa.OSFile(str(folder / name), "wb") as sink, pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data.slice(s * per, per), max_chunksize=3)
        files.append(folder / name)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": f.name} for f in files], "_fingerprint": "x"}))
    (folder / "dataset_info.json").write_text(json.dumps({"description": f"distilled: {HIT}", "features": {}}))
    return files


def test_save_to_disk_folder_scans_its_arrow_shards(tmp_path: Path, scan, jsonl_result) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ds"
    train = save_to_disk_like(root / "train", records(), shards=2)
    save_to_disk_like(root / "test", records(4), shards=1)
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    files, _ = discover([str(root)])
    assert [Path(f.path).name for f in files] == ["data-00000-of-00001.arrow", "data-00000-of-00002.arrow", "data-00001-of-00002.arrow"]
    result = scan(root)
    assert all(f.location.path.endswith(".arrow") for f in result.findings)  # no metadata scanned
    shard_rows = {str(train[0]): 0, str(train[1]): 6}
    train_found = sorted((shard_rows[f.location.path] + f.location.index, key(f))
                         for f in result.findings if f.location.path in shard_rows)
    assert train_found == by_row(jsonl_result)
    assert result.stats.records == 16


def test_arrow_file_format_and_hash(tmp_path: Path, scan, jsonl_result) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "chat.feather"
    data = table(records())
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
        writer.write_table(data, max_chunksize=5)
    result = scan(path)
    assert by_row(result) == by_row(jsonl_result)
    assert result.files[0].stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_arrow_stream_is_hashed_in_one_pass(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    [path] = save_to_disk_like(tmp_path / "one", records(5), shards=1)
    result = scan(path)
    assert result.files[0].stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.files[0].stats.size == path.stat().st_size


def test_truncated_arrow_stream_is_reported(tmp_path: Path, scan) -> None:  # type: ignore[no-untyped-def]
    [path] = save_to_disk_like(tmp_path / "t", records(9), shards=1)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) * 2 // 3])
    result = scan(path)
    [issue] = input_issues(result)
    assert issue[0] == "malformed-arrow" and issue[1] in (3, 6)
    assert {i for i, _ in rule_hits(result)} == {1, 5} & set(range(issue[1]))


def hub_tree(root: Path) -> Path:
    """`hub/datasets--org--chat/{blobs,refs,snapshots}` with two revisions, and a model repo."""
    repo = root / "hub" / "datasets--org--chat"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    old_blob = repo / "blobs" / "1111"
    pq.write_table(table(records(4)), old_blob)
    new_blob = repo / "blobs" / "2222"
    pq.write_table(table(records()), new_blob)
    readme = repo / "blobs" / "3333"
    readme.write_text(f"---\nlicense: mit\n---\n{HIT}\n")
    for rev, blob in (("aaaa", old_blob), ("bbbb", new_blob)):
        snap = repo / "snapshots" / rev
        (snap / "data").mkdir(parents=True)
        os.symlink(os.path.relpath(blob, snap / "data"), snap / "data" / "train-00000-of-00001.parquet")
        os.symlink(os.path.relpath(readme, snap), snap / "README.md")
    (repo / "refs" / "main").write_text("bbbb")
    model = root / "hub" / "models--org--bot" / "snapshots" / "cccc"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"note": HIT}))
    return root / "hub"


def test_hub_cache_scans_the_current_snapshot_only(tmp_path: Path, scan, jsonl_result) -> None:  # type: ignore[no-untyped-def]
    hub = hub_tree(tmp_path)
    files, _ = discover([str(hub)])
    assert [f.path for f in files] == [str(hub / "datasets--org--chat" / "snapshots" / "bbbb" / "data" / "train-00000-of-00001.parquet")]
    assert by_row(scan(hub)) == by_row(jsonl_result)


def test_hub_cache_without_a_ref_scans_every_snapshot(tmp_path: Path) -> None:
    hub = hub_tree(tmp_path)
    (hub / "datasets--org--chat" / "refs" / "main").unlink()
    files, _ = discover([str(hub / "datasets--org--chat")])
    assert [Path(f.path).parts[-3] for f in files] == ["aaaa", "bbbb"]


def test_json_named_like_hf_metadata_is_scanned_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"text": HIT}))
    files, _ = discover([str(tmp_path)])
    assert [Path(f.path).name for f in files] == ["state.json"]


# --- command line --------------------------------------------------------------

def test_cli_scans_parquet_and_csv(tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    pq.write_table(table([{"text": "I am ChatGPT."}]), tmp_path / "d.parquet")
    write_csv(tmp_path / "d.csv", ["text"], [["fine"], ["I am ChatGPT."]])
    proc = run_cli(["scan", "--no-default-rules", "--rules", str(pack), "--format", "json",
                    str(tmp_path / "d.parquet"), str(tmp_path / "d.csv")], cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    found = sorted((Path(f["location"]["path"]).name, f["location"]["index"]) for f in json.loads(proc.stdout)["findings"]
                   if f["rule_id"] == CHATGPT_RULE_ID)
    assert found == [("d.csv", 1), ("d.parquet", 0)]
