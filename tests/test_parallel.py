"""`scan --jobs N`: the same findings, in the same order, with the same line
numbers as one job, also when large JSONL files are split into byte ranges
whose boundaries fall on, before, after and inside malformed lines."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import force_split, invoke, rule, write_pack

CHATGPT = "test.chatgpt"
MALFORMED = "tos-lint.input.malformed-json"
NOT_OBJECT = "tos-lint.input.not-an-object"
BAD_UTF8 = "tos-lint.input.invalid-utf8"


class Builder:
    """A JSONL file built line by line, with the findings each line must give."""

    def __init__(self, split: int):
        self.split = split
        self.buf = bytearray()
        self.line = 0
        self.expected: list[tuple[int, str]] = []
        self.n = 0

    def add(self, raw: bytes, *expect: str, newline: bool = True) -> None:
        self.line += 1
        self.buf += raw + (b"\n" if newline else b"")
        self.expected.extend((self.line, e) for e in expect)

    def flagged(self, pad: int = 0) -> bytes:
        self.n += 1
        return json.dumps({"id": f"f{self.n}", "text": "I am ChatGPT." + " " * pad}).encode()

    def pad_to(self, delta: int) -> None:
        """Add a clean line so that the next line starts `delta` bytes after
        a range boundary (negative: before it)."""
        here = len(self.buf)
        target = (here // self.split + 1) * self.split + delta
        while target - here - 1 < 10:
            target += self.split
        need = target - here - 1  # the padding line's length without its newline
        self.add(b'{"p":"' + b"x" * (need - 8) + b'"}')
        assert len(self.buf) == target

    def place(self, raw: bytes, *expect: str, where: str) -> None:
        """Put `raw` so that a boundary falls at its start, one byte before,
        one byte inside it, on its newline, or just after its newline."""
        deltas = {"start": 0, "before": 1, "inside": -1, "on-newline": -len(raw), "after-newline": -len(raw) - 1}
        self.pad_to(deltas[where])
        self.add(raw, *expect)


SPLIT = 64
PLACES = ["start", "before", "inside", "on-newline", "after-newline"]


def build_tricky(split: int = SPLIT) -> Builder:
    b = Builder(split)
    b.add(b'{"text": "hello"}')
    for where in PLACES:
        b.place(b'{"text": "broken', MALFORMED, where=where)
        b.place(b.flagged(), CHATGPT, where=where)
        b.place(b"[1, 2, 3]", NOT_OBJECT, where=where)
        b.place(b"", where=where)  # a blank line: nothing
        b.place(b'{"text": "crlf line"}\r', where=where)
        b.place('{"text": "I am ChatGPT, caf\u00e9"}'.encode("latin-1"), BAD_UTF8, CHATGPT, where=where)
    # lines longer than several ranges
    b.add(b'{"text": "' + b"y" * (3 * split) + b" unterminated", MALFORMED)
    b.add(b.flagged(pad=4 * split), CHATGPT)
    b.add(b"   ")  # whitespace only
    for i in range(30):  # a stretch of short mixed lines
        if i % 4 == 0:
            b.add(b.flagged(), CHATGPT)
        elif i % 4 == 1:
            b.add(b"{", MALFORMED)
        else:
            b.add(json.dumps({"i": i}).encode())
    b.add(b'{"text": "last, no newline', MALFORMED, newline=False)
    return b


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "pack.yaml", [rule(CHATGPT, [{"phrase": "I am ChatGPT"}])])


def scan(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, target: str, jobs: int) -> dict[str, Any]:
    res = invoke(["scan", target, "--no-default-rules", "--rules", pack, "--format", "json", "-j", jobs],
                 tmp_path, monkeypatch)
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    summary = {k: v for k, v in doc["summary"].items() if k != "seconds"}
    inputs = doc["manifest"]["inputs"]
    return {"findings": doc["findings"], "summary": summary, "files": doc["files"], "verdict": doc["verdict"],
            "inputs": inputs}


def units_for(path: Path, shown: str) -> int:
    import tos_lint.parallel
    from tos_lint.readers import InputFile

    return len(tos_lint.parallel.plan([InputFile(shown, path)], None, split=True))


def test_ground_truth_without_splitting(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = build_tricky()
    (tmp_path / "d.jsonl").write_bytes(bytes(b.buf))
    assert units_for(tmp_path / "d.jsonl", "d.jsonl") == 1
    doc = scan(tmp_path, pack, monkeypatch, "d.jsonl", 1)
    assert [(f["location"]["line"], f["rule_id"]) for f in doc["findings"]] == b.expected


@pytest.mark.parametrize("split", [SPLIT, 37, 101])
def test_split_file_same_findings_as_unsplit(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, split: int) -> None:
    b = build_tricky(SPLIT)
    (tmp_path / "d.jsonl").write_bytes(bytes(b.buf))
    reference = scan(tmp_path, pack, monkeypatch, "d.jsonl", 1)
    assert [(f["location"]["line"], f["rule_id"]) for f in reference["findings"]] == b.expected

    force_split(monkeypatch, split)
    assert units_for(tmp_path / "d.jsonl", "d.jsonl") >= len(b.buf) // split
    one = scan(tmp_path, pack, monkeypatch, "d.jsonl", 1)
    two = scan(tmp_path, pack, monkeypatch, "d.jsonl", 2)
    assert [(f["location"]["line"], f["rule_id"]) for f in one["findings"]] == b.expected
    assert comparable(one) == comparable(reference)
    assert comparable(two) == comparable(one)


def test_boundaries_really_hit_the_tricky_places() -> None:
    """Guard for the test data: every malformed line placed by `place` has a
    range boundary at the intended spot."""
    b = build_tricky()
    data = bytes(b.buf)
    starts = [0]
    for i, ch in enumerate(data):
        if ch == 0x0A:
            starts.append(i + 1)
    broken_starts = [s for s in starts if data[s:s + 16] == b'{"text": "broken']
    assert len(broken_starts) == len(PLACES)
    length = len(b'{"text": "broken')
    seen = set()
    for s in broken_starts:
        offset = (-s) % SPLIT  # bytes from the line's start to the next boundary
        if offset == 0:
            seen.add("start")
        elif offset == SPLIT - 1:
            seen.add("before")  # the boundary is on the previous line's newline
        elif offset < length:
            seen.add("inside")
        elif offset == length:
            seen.add("on-newline")
        elif offset == length + 1:
            seen.add("after-newline")
    assert seen == set(PLACES)


def test_many_files_keep_input_order(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name, seed in (("a.jsonl", 1), ("b.jsonl", 2), ("e.jsonl", 3)):
        b = build_tricky(SPLIT + seed)
        (data / name).write_bytes(bytes(b.buf))
    (data / "c.json").write_text(json.dumps([{"text": "I am ChatGPT."}, {"text": "ok"}, {"text": "I am ChatGPT!"}]),
                                 encoding="utf-8")
    (data / "d.jsonl.gz").write_bytes(gzip.compress(bytes(build_tricky().buf)))
    reference = scan(tmp_path, pack, monkeypatch, "data", 1)
    force_split(monkeypatch, 53)
    assert units_for(data / "d.jsonl.gz", "data/d.jsonl.gz") == 1  # compressed files are not split
    assert units_for(data / "c.json", "data/c.json") == 1  # nor are JSON arrays
    one = scan(tmp_path, pack, monkeypatch, "data", 1)
    two = scan(tmp_path, pack, monkeypatch, "data", 2)
    paths = [f["location"]["path"] for f in one["findings"]]
    assert paths == sorted(paths)  # grouped by file, in input order
    assert comparable(one) == comparable(reference)
    assert comparable(two) == comparable(reference)


def test_plan_covers_every_byte_once(tmp_path: Path) -> None:
    from tos_lint.parallel import plan
    from tos_lint.readers import InputFile

    path = tmp_path / "d.jsonl"
    path.write_bytes(bytes(build_tricky().buf))
    size = path.stat().st_size
    for split_bytes in (1, 7, 64, size - 1, size, size + 1):
        units = plan([InputFile("d.jsonl", path)], None, split=True, split_bytes=split_bytes)
        if split_bytes >= size:
            assert len(units) == 1 and not units[0].is_range
            continue
        assert units[0].start == 0 and units[-1].end == size
        assert all(a.end == b.start for a, b in zip(units, units[1:]))
        assert all(0 < u.end - u.start <= split_bytes for u in units)
    no_split = plan([InputFile("d.jsonl", path)], None, split=False, split_bytes=7)
    assert len(no_split) == 1 and not no_split[0].is_range


def test_run_units_directly_one_vs_two_jobs(tmp_path: Path, pack: Path) -> None:
    """The library path: plan with an explicit split size, run on 1 and 2 processes."""
    from tos_lint.api import load_ruleset
    from tos_lint.engine import Engine
    from tos_lint.parallel import plan, run_units
    from tos_lint.readers import InputFile

    b = build_tricky()
    path = tmp_path / "d.jsonl"
    path.write_bytes(bytes(b.buf))
    engine = Engine(load_ruleset([pack], use_default_rules=False))
    units = plan([InputFile("d.jsonl", path)], None, split=True, split_bytes=29)
    assert len(units) > 50
    results = {}
    for jobs in (1, 2):
        (merged,) = run_units(engine, units, jobs)
        results[jobs] = merged
        assert [(f.location.line, f.rule_id) for f in merged.findings] == b.expected
    assert [f.to_dict() for f in results[1].findings] == [f.to_dict() for f in results[2].findings]
    assert results[1].stats.records == results[2].stats.records
    assert results[1].stats.malformed == results[2].stats.malformed
    assert results[1].stats.bytes == results[2].stats.bytes == len(b.buf)


def test_workers_share_the_rules_databases_read_before_forking(tmp_path: Path, pack: Path) -> None:
    """Databases the cache holds are read at their first scan; with a pool,
    the scanning process reads them before forking, rather than each worker
    reading its own copy."""
    from tos_lint.api import load_ruleset
    from tos_lint.engine import Engine
    from tos_lint.matcher import CachedDatabase
    from tos_lint.parallel import plan, run_units
    from tos_lint.readers import InputFile

    b = build_tricky()
    path = tmp_path / "d.jsonl"
    path.write_bytes(bytes(b.buf))
    load_ruleset([pack], use_default_rules=False)  # in the cache from here on
    engine = Engine(load_ruleset([pack], use_default_rules=False))
    assert engine.ruleset.database is not None
    deferred = [db for db, _ in engine.ruleset.database.parts if isinstance(db, CachedDatabase)]
    assert deferred and not any(db.loaded for db in deferred)
    (merged,) = run_units(engine, plan([InputFile("d.jsonl", path)], None, split=True, split_bytes=29), 2)
    assert [(f.location.line, f.rule_id) for f in merged.findings] == b.expected
    assert all(db.loaded for db in deferred)


def test_jobs_zero_exits_2(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    res = invoke(["scan", "d.jsonl", "--no-default-rules", "--rules", pack, "-j", "0"], tmp_path, monkeypatch)
    assert res.exit_code == 2


def test_split_file_led_by_lines_strict_parsers_refuse(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each range reads the file's shape as the whole read does: JSON lines."""
    lead = [b'{"n": NaN}', b'{"t": "\xff"}', b'{"a": 1,}', b'{"a": 1}{"b": 2}', b'{"a": 1e999}', b'{"s": "\\ud800"}']
    b = Builder(SPLIT)
    for i in range(20):
        b.add(lead[i % len(lead)], *([MALFORMED] if i % len(lead) == 2 else [BAD_UTF8] if i % len(lead) == 1 else []))
    for _ in range(30):
        b.add(b.flagged(), CHATGPT)
    (tmp_path / "d.jsonl").write_bytes(bytes(b.buf))
    reference = scan(tmp_path, pack, monkeypatch, "d.jsonl", 1)
    force_split(monkeypatch, SPLIT)
    assert units_for(tmp_path / "d.jsonl", "d.jsonl") > 10
    for jobs in (1, 2):
        doc = scan(tmp_path, pack, monkeypatch, "d.jsonl", jobs)
        assert comparable(doc) == comparable(reference)
    wanted = [(line, rule) for line, rule in b.expected]
    got = [(f["location"]["line"], f["rule_id"]) for f in reference["findings"] if f["rule_id"] in (CHATGPT, MALFORMED, BAD_UTF8)]
    assert got == wanted
    assert reference["summary"]["records"] == 20 - 3 + 3 + 30  # the `{..}{..}` lines hold two each, the broken ones none


# --- a file that changes while it is scanned in ranges ---------------------------------

def _ranged(tmp_path: Path, pack: Path) -> tuple[Any, list[Any], Path]:
    from tos_lint.api import load_ruleset
    from tos_lint.engine import Engine
    from tos_lint.parallel import plan
    from tos_lint.readers import InputFile

    b = build_tricky()
    path = tmp_path / "d.jsonl"
    path.write_bytes(bytes(b.buf))
    engine = Engine(load_ruleset([pack], use_default_rules=False))
    units = plan([InputFile("d.jsonl", path)], None, split=True, split_bytes=200)
    assert len(units) > 5 and all(u.planned is not None for u in units)
    return engine, units, path


def _shorten(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:150])


def _replace(path: Path) -> None:
    other = path.with_suffix(".new")
    other.write_bytes(path.read_bytes())
    other.replace(path)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("change, code", [
    (_shorten, "changed-during-scan"), (_replace, "changed-during-scan"), (Path.unlink, "unreadable"),
    (lambda p: p.open("ab").write(b'{"text": "I am ChatGPT."}\n'), "changed-during-scan"),
], ids=["truncated", "replaced", "deleted", "appended"])
def test_a_file_changed_between_planning_and_reading_its_ranges_is_reported_once(
        tmp_path: Path, pack: Path, jobs: int, change: Any, code: str) -> None:
    """Before, the ranges past a cut silently read nothing (exit 0), and a
    deleted file ended the scan with an internal error (FileNotFoundError)."""
    from tos_lint.parallel import run_units

    engine, units, path = _ranged(tmp_path, pack)
    change(path)
    (merged,) = run_units(engine, units, jobs)
    found = [f for f in merged.findings if f.rule_id == f"tos-lint.input.{code}"]
    assert len(found) == 1, [f.rule_id for f in merged.findings]
    assert found[0].location.path == "d.jsonl" and found[0].location.line is None
    if code == "unreadable":
        assert "deleted or moved during the scan" in found[0].message
        assert merged.stats.sha256 == ""  # nothing to hash: the manifest says so, the scan goes on


def test_a_parquet_file_replaced_between_planning_and_reading_its_row_groups_is_reported_once(tmp_path: Path, pack: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tos_lint.api import load_ruleset
    from tos_lint.engine import Engine
    from tos_lint.parallel import plan, run_units
    from tos_lint.readers import InputFile

    path = tmp_path / "d.parquet"
    rows = pa.table({"text": [f"row {i} " + "words " * 40 for i in range(300)]})
    pq.write_table(rows, path, row_group_size=20)
    units = plan([InputFile("d.parquet", path)], None, split=True, split_bytes=4096)
    assert len(units) > 3 and all(u.by == "row_groups" and u.planned is not None for u in units)
    pq.write_table(rows.slice(0, 100), tmp_path / "new.parquet", row_group_size=20)
    (tmp_path / "new.parquet").replace(path)
    (merged,) = run_units(Engine(load_ruleset([pack], use_default_rules=False)), units, 1)
    changed = [f for f in merged.findings if f.rule_id == "tos-lint.input.changed-during-scan"]
    assert len(changed) == 1 and "another file was put in its place" in changed[0].message


def test_an_unchanged_file_read_in_ranges_has_no_such_finding(tmp_path: Path, pack: Path) -> None:
    from tos_lint.parallel import run_units

    engine, units, _ = _ranged(tmp_path, pack)
    (merged,) = run_units(engine, units, 2)
    assert not [f for f in merged.findings if f.rule_id in ("tos-lint.input.changed-during-scan", "tos-lint.input.unreadable")]


def test_a_killed_worker_aborts_the_scan_with_a_message(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: "internal error: BrokenProcessPool". The out-of-memory killer
    ends a worker with SIGKILL: the scan stops with exit 2 and says so."""
    import os
    import signal

    import tos_lint.parallel

    real = tos_lint.parallel.scan_unit

    def killed_on_the_third_range(engine: Any, unit: Any) -> Any:
        if unit.start > 0 and unit.start // (unit.end - unit.start) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(engine, unit)

    b = build_tricky()
    (tmp_path / "d.jsonl").write_bytes(bytes(b.buf))
    force_split(monkeypatch, SPLIT)
    monkeypatch.setattr(tos_lint.parallel, "scan_unit", killed_on_the_third_range)
    res = invoke(["scan", "d.jsonl", "--no-default-rules", "--rules", pack, "--format", "json", "-j", "2"],
                 tmp_path, monkeypatch)
    assert res.exit_code == 2
    assert "a worker process ended abruptly" in res.output and "d.jsonl bytes" in res.output
    assert "internal error" not in res.output.lower()
