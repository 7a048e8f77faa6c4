"""A scan that finds more than a spool keeps in memory writes the rest to
disk (`tos_lint.spool`). Every report must be the one a scan holding them
all in memory gives, on one core or several, and the memory a scan holds
must not grow with the number of its findings."""
from __future__ import annotations

import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chatgpt_pack, invoke, write_jsonl
from tos_lint import api, attribution_evidence, spool
from tos_lint.config import Config
from tos_lint.reporters import json_format
from tos_lint.spool import Spool

FORMATS = ["json", "jsonl", "sarif", "junit", "markdown", "console", "github", "html"]


def make_data(root: Path) -> Path:
    """Files with many findings, an unreadable line, a record that ignores
    its rule, a file the allowlist covers, and a clean one."""
    data = root / "data"
    data.mkdir()
    records: list[Any] = [{"id": f"a{i}", "text": f"I am ChatGPT, answer {i}."} for i in range(40)]
    records[7] = {"id": "a7", "text": "I am ChatGPT.", "_tos_lint": {"ignore": ["test"], "reason": "quoted"}}
    records[9] = {"id": "a9", "text": "nothing to see"}
    path = write_jsonl(data / "a.jsonl", records)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(20, '{"id": "broken", "text": ')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_jsonl(data / "b.jsonl", [{"text": f"I am ChatGPT (b {i}). I am ChatGPT again."} for i in range(15)])
    write_jsonl(data / "c.jsonl", [{"text": "a clean record"}] * 5)
    (root / "allow.yaml").write_text(
        'version: 1\nentries:\n  - rule: test.chatgpt\n    paths: ["data/b.jsonl"]\n    reason: licensed\n',
        encoding="utf-8")
    return data


def report(root: Path, fmt: str, jobs: int, monkeypatch: pytest.MonkeyPatch) -> str:
    out = root / f"report-{fmt}-{jobs}.out"
    result = invoke(["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(root),
                     "--allowlist", "allow.yaml", "--format", fmt, "--output", out, "--jobs", jobs], root, monkeypatch)
    assert result.exit_code == 1, result.output
    return out.read_text(encoding="utf-8")


def _steady(text: str) -> str:
    """The report without what differs from run to run: times and durations."""
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "TIME", text)
    text = re.sub(r"\d\d:\d\d:\d\d", "TIME", text)
    text = re.sub(r'("seconds": |time=")[0-9.]+', r"\1 N", text)
    return re.sub(r"\b\d+\.\d+ ?s\b", "N s", text)


class SpillCount:
    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.spills = 0
        real = Spool._spill

        def counted(spool: Spool[Any]) -> None:
            self.spills += 1
            real(spool)

        monkeypatch.setattr(Spool, "_spill", counted)


def small_spools(monkeypatch: pytest.MonkeyPatch) -> SpillCount:
    monkeypatch.setattr(spool, "SPOOL_LIMIT", 4)
    monkeypatch.setattr(spool, "CHUNK", 3)
    monkeypatch.setattr(spool, "FAN_IN", 2)
    monkeypatch.setattr(attribution_evidence, "OPEN_RECORDS", 3)
    return SpillCount(monkeypatch)


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_report_is_the_same_when_findings_are_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            jobs: int) -> None:
    make_data(tmp_path)
    in_memory = {fmt: report(tmp_path, fmt, jobs, monkeypatch) for fmt in FORMATS}
    doc = json.loads(in_memory["json"])
    statuses = doc["summary"]["statuses"] if "statuses" in doc["summary"] else doc["verdict"]["statuses"]
    assert {"fail", "suppressed"} <= {s for s, n in statuses.items() if n}, "the data must give several statuses"
    assert len(doc["findings"]) > 3 * 4
    counted = small_spools(monkeypatch)
    for fmt in FORMATS:
        assert _steady(report(tmp_path, fmt, jobs, monkeypatch)) == _steady(in_memory[fmt]), fmt
    assert counted.spills > len(FORMATS)


def test_a_baseline_made_from_findings_on_disk_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_data(tmp_path)
    (tmp_path / "tos-lint.yaml").write_text(f"default-rules: false\nrules: [{chatgpt_pack(tmp_path)}]\n", encoding="utf-8")

    def baseline(name: str) -> Any:
        result = invoke(["baseline", "create", "data", "--output", name], tmp_path, monkeypatch)
        assert result.exit_code == 0  # the unreadable line is medium: below the gate
        assert "1 input problem(s)" in result.output
        return json.loads((tmp_path / name).read_text(encoding="utf-8"))["findings"]

    in_memory = baseline("in-memory.json")
    counted = small_spools(monkeypatch)
    assert baseline("spilled.json") == in_memory and len(in_memory) > 40
    assert counted.spills


def _peak_of_scan(root: Path, records: int, limit: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Peak bytes allocated by a scan of `records` records, each with two
    findings, and its JSON report, with spools of `limit` items."""
    data = root / f"data-{records}"
    data.mkdir()
    write_jsonl(data / "d.jsonl", ({"id": f"r{i}", "messages": [{"role": "user", "content": f"Are you ChatGPT ({i})? I am ChatGPT."},
                                                              {"role": "assistant", "content": "Yes: I am ChatGPT."}]}
                                   for i in range(records)))
    monkeypatch.setattr(spool, "SPOOL_LIMIT", limit)
    monkeypatch.setattr(attribution_evidence, "OPEN_RECORDS", min(limit, attribution_evidence.OPEN_RECORDS))
    config = Config(rules=[str(chatgpt_pack(root))], default_rules=False)
    tracemalloc.start()
    try:
        result, verdict = api.run([data], config, jobs=1)
        with (root / "report.json").open("w", encoding="utf-8") as out:
            json_format.render(result, verdict, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.findings) == 2 * records
    return peak


def test_memory_held_does_not_grow_with_the_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api.load_ruleset([chatgpt_pack(tmp_path)], use_default_rules=False)  # compiled and cached before measuring
    unbounded = _peak_of_scan(tmp_path, 6000, 10**9, monkeypatch) - _peak_of_scan(tmp_path, 2000, 10**9, monkeypatch)
    bounded = _peak_of_scan(tmp_path, 6003, 200, monkeypatch) - _peak_of_scan(tmp_path, 2003, 200, monkeypatch)
    # 8,000 more findings held cost some MB; on disk, next to nothing
    assert unbounded > 2_000_000, "the measure must see findings held in memory"
    assert bounded < unbounded / 10, (bounded, unbounded)


def test_no_room_for_findings_on_disk_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    make_data(tmp_path)
    small_spools(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))  # where TMPDIR would point
    out = tmp_path / "report.json"
    result = invoke(["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path),
                     "--format", "json", "--output", out, "--jobs", "1"], tmp_path, monkeypatch)
    assert result.exit_code == 2
    assert "cannot write the findings held past memory to a temporary file in" in result.output
    assert "no-such-folder" in result.output and "TMPDIR" in result.output
    assert "Traceback" not in result.output and not out.exists()


# --- filter: each record's failing findings taken as the copy reaches it ----------------------

def _filter_outputs(root: Path, out: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    (root / "tos-lint.yaml").write_text(f"default-rules: false\nrules: [{chatgpt_pack(root)}]\n", encoding="utf-8")
    result = invoke(["filter", "data", "--allowlist", "allow.yaml", "--clean-dir", f"{out}/clean",
                     "--quarantine-dir", f"{out}/quarantine"], root, monkeypatch)
    assert result.exit_code == 1, result.output  # the unreadable line is kept aside, and says so
    return {str(p.relative_to(root / out)): p.read_bytes() for p in sorted((root / out).rglob("*")) if p.is_file()}


def test_filter_copies_the_same_with_findings_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data(tmp_path)
    (data / "t.csv").write_text("id,text\n1,I am ChatGPT.\n2,plain\n3,\"I am ChatGPT, again\"\n", encoding="utf-8")
    # two records on one line (a lone CR ends the first): both are at line 1
    (data / "cr.jsonl").write_bytes(b'{"text": "hello"}\r{"text": "I am ChatGPT."}\n{"text": "fine"}\n')
    in_memory = _filter_outputs(tmp_path, "in-memory", monkeypatch)
    assert {"clean/a.jsonl", "quarantine/a.jsonl", "clean/t.csv", "quarantine/t.csv", "quarantine/cr.jsonl"} <= set(in_memory)
    counted = small_spools(monkeypatch)
    assert _filter_outputs(tmp_path, "spilled", monkeypatch) == in_memory
    assert counted.spills


def _verdict_of(root: Path) -> Any:
    from tos_lint.policy import Policy, decide

    result = api.scan([root / "data"], rules=[chatgpt_pack(root)], use_default_rules=False, jobs=1)
    return decide(result.findings, Policy(), {"openai": "forbids-competing"})


def test_failing_records_are_taken_in_order_and_a_verdict_in_another_order_is_mapped(tmp_path: Path) -> None:
    from tos_lint.filtering import FailingRecords
    from tos_lint.policy import Verdict

    make_data(tmp_path)
    verdict = _verdict_of(tmp_path)
    paths = [str(tmp_path / "data" / name) for name in ("a.jsonl", "b.jsonl", "c.jsonl")]  # as the scan shows them
    assert {o.finding.location.path for o in verdict.outcomes} <= set(paths)
    asked = [(line, None) for line in range(1, 45)]

    def answers(failing: FailingRecords) -> list[Any]:
        out = []
        for path in paths:
            lookup = failing.of_file(path)
            out.append([(at, [f.fingerprint for f in lookup(*at) or []]) for at in asked])
        return out

    in_order = FailingRecords(verdict, paths)
    assert in_order._map is None  # streamed: nothing held by record
    expected = answers(in_order)
    assert sum(bool(found) for file in expected for _, found in file) > 30
    shuffled = Verdict(list(reversed(list(verdict.outcomes))), verdict.fail_on)
    mapped = FailingRecords(shuffled, paths)
    assert mapped._map is not None
    got = answers(mapped)
    # the same records fail, each with the same findings (their order within a record aside)
    assert [[(at, sorted(found)) for at, found in file] for file in got] == \
        [[(at, sorted(found)) for at, found in file] for file in expected]
