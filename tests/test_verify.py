"""The audit manifest in JSON reports, and `tos-lint verify REPORT`."""
from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import force_split, invoke, rule, write_jsonl, write_pack


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def proj(tmp_path: Path) -> Path:
    write_pack(tmp_path / "pack.yaml", [rule("test.chatgpt", [{"phrase": "I am ChatGPT"}])])
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "a.jsonl", [{"text": "I am ChatGPT."}, {"text": "clean"}, {"text": "also clean"}])
    (data / "b.jsonl.gz").write_bytes(gzip.compress(b'{"text": "gz clean"}\n{"text": "gz two"}\n'))
    (data / "c.json").write_text(json.dumps([{"text": "x"}, {"text": "y"}]), encoding="utf-8")
    return tmp_path


def make_report(proj: Path, monkeypatch: pytest.MonkeyPatch, *extra: Any, name: str = "report.json") -> Path:
    res = invoke(["scan", "data", "--no-default-rules", "--rules", "pack.yaml", "--format", "json", "-o", name,
                  "-j", "1", *extra], proj, monkeypatch)
    assert res.exit_code in (0, 1), res.output
    return proj / name


def verify(report: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    return invoke(["verify", report], cwd, monkeypatch)


def test_manifest_describes_inputs_packs_registry_options_times(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = make_report(proj, monkeypatch, "--fail-on", "medium")
    manifest = json.loads(report.read_text())["manifest"]
    inputs = {e["path"]: e for e in manifest["inputs"]}
    assert set(inputs) == {"data/a.jsonl", "data/b.jsonl.gz", "data/c.json"}
    for shown, entry in inputs.items():
        path = proj / shown
        assert entry["abspath"] == str(path.resolve())
        assert entry["size"] == path.stat().st_size
        assert entry["sha256"] == sha256(path)  # of the file as stored (compressed for .gz)
    assert (inputs["data/a.jsonl"]["records"], inputs["data/b.jsonl.gz"]["records"], inputs["data/c.json"]["records"]) == (3, 2, 2)

    (pack,) = manifest["packs"]
    assert pack["sha256"] == sha256(proj / "pack.yaml") and pack["rules"] == 1
    assert manifest["registry"]["sha256"] == sha256(Path(manifest["registry"]["path"]))
    assert manifest["options"]["fail_on"] == "medium"
    assert manifest["options"]["default_rules"] is False
    assert manifest["tool"]["name"] == "tos-lint"
    started = datetime.fromisoformat(manifest["started_at"])
    finished = datetime.fromisoformat(manifest["finished_at"])
    assert started.tzinfo is not None and started <= finished


def test_unchanged_inputs_verify(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = make_report(proj, monkeypatch)
    res = verify(report, proj, monkeypatch)
    assert res.exit_code == 0, res.output
    assert res.stdout.count("ok") >= 3
    # from another working directory too
    elsewhere = proj.parent / (proj.name + "-elsewhere")
    elsewhere.mkdir()
    assert verify(report, elsewhere, monkeypatch).exit_code == 0


def test_same_size_edit_is_detected(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = make_report(proj, monkeypatch)
    path = proj / "data" / "a.jsonl"
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"clean", b"CLEAN", 1))
    assert path.stat().st_size == len(raw)
    res = verify(report, proj, monkeypatch)
    assert res.exit_code == 1
    statuses = {line.split()[1]: line.split()[0] for line in res.stdout.splitlines() if line.startswith(("ok", "changed"))}
    assert statuses == {"data/a.jsonl": "changed", "data/b.jsonl.gz": "ok", "data/c.json": "ok"}


def test_appended_record_is_detected(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = make_report(proj, monkeypatch)
    with (proj / "data" / "c.json").open("a", encoding="utf-8") as f:
        f.write("\n")
    res = verify(report, proj, monkeypatch)
    assert res.exit_code == 1
    assert "changed" in res.stdout and "data/c.json" in res.stdout


def test_removed_input_is_detected(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = make_report(proj, monkeypatch)
    (proj / "data" / "b.jsonl.gz").unlink()
    res = verify(report, proj, monkeypatch)
    assert res.exit_code == 1
    assert any(line.startswith("missing") and "data/b.jsonl.gz" in line for line in res.stdout.splitlines())


@pytest.mark.parametrize("kind", ["FIFO", "folder"])
def test_input_replaced_by_a_fifo_or_folder_is_not_called_missing(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   kind: str) -> None:
    """It exists but is not a regular file: said so, and never opened (a
    FIFO opened for reading would wait for a writer forever)."""
    import os

    report = make_report(proj, monkeypatch)
    path = proj / "data" / "b.jsonl.gz"
    path.unlink()
    if kind == "FIFO":
        os.mkfifo(path)
    else:
        path.mkdir()
    res = verify(report, proj, monkeypatch)
    assert res.exit_code == 1
    [line] = [ln for ln in res.stdout.splitlines() if "data/b.jsonl.gz" in ln]
    assert line.startswith("not-a-file") and f"exists but is not a regular file (a {kind}); not read" in line, line


def test_restored_input_verifies_again(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = make_report(proj, monkeypatch)
    path = proj / "data" / "a.jsonl"
    original = path.read_bytes()
    path.write_bytes(original + b'{"text": "more"}\n')
    assert verify(report, proj, monkeypatch).exit_code == 1
    path.write_bytes(original)
    assert verify(report, proj, monkeypatch).exit_code == 0


def test_manifest_of_a_split_file_hashes_the_whole_file(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tos_lint.parallel

    force_split(monkeypatch, 40)
    big = proj / "data" / "a.jsonl"
    write_jsonl(big, [{"text": f"line {i} " + ("I am ChatGPT." if i % 5 == 0 else "ok")} for i in range(50)])
    from tos_lint.readers import InputFile

    units = tos_lint.parallel.plan([InputFile("data/a.jsonl", big)], None, split=True)
    assert len(units) > 10  # really split
    report = make_report(proj, monkeypatch)
    (entry,) = [e for e in json.loads(report.read_text())["manifest"]["inputs"] if e["path"] == "data/a.jsonl"]
    assert entry["sha256"] == sha256(big) and entry["size"] == big.stat().st_size
    assert entry["records"] == 50
    assert verify(report, proj, monkeypatch).exit_code == 0


def test_truncated_input_is_still_hashed_whole(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = proj / "data" / "b.jsonl.gz"
    broken.write_bytes(broken.read_bytes()[:-12])
    report = make_report(proj, monkeypatch)
    (entry,) = [e for e in json.loads(report.read_text())["manifest"]["inputs"] if e["path"] == "data/b.jsonl.gz"]
    assert entry["sha256"] == sha256(broken)
    assert verify(report, proj, monkeypatch).exit_code == 0


# --- reports without a manifest ------------------------------------------------------------

def test_report_without_manifest_exits_2(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = make_report(proj, monkeypatch)
    doc = json.loads(report.read_text())
    del doc["manifest"]
    stripped = proj / "stripped.json"
    stripped.write_text(json.dumps(doc), encoding="utf-8")
    res = verify(stripped, proj, monkeypatch)
    assert res.exit_code == 2
    assert "manifest" in res.stderr


@pytest.mark.parametrize("content", ["{}", "[]", '{"manifest": {"inputs": "nope"}}', "not json", ""])
def test_not_a_report_exits_2(proj: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    (proj / "r.json").write_text(content, encoding="utf-8")
    res = verify(proj / "r.json", proj, monkeypatch)
    assert res.exit_code == 2
    assert "r.json" in res.stderr


def test_jsonl_report_cannot_be_verified(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(["scan", "data", "--no-default-rules", "--rules", "pack.yaml", "--format", "jsonl", "-o", "r.jsonl",
                  "-j", "1"], proj, monkeypatch)
    assert res.exit_code == 1
    assert verify(proj / "r.jsonl", proj, monkeypatch).exit_code == 2


def test_missing_report_exits_2(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = verify(proj / "nope.json", proj, monkeypatch)
    assert res.exit_code == 2
