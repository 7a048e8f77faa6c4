"""Nothing lost, nothing changed.

Every command that reads data (`scan` in every output format, `filter`,
`baseline create`, `verify`, `rules validate`) runs through the real command
line over a folder of inputs (good and hostile files, a pack, a config, an
allowlist) that are made read-only first. Each run happens under a Python
audit hook that records any open for writing, rename, removal or change of
metadata of a path inside the input folder (forked workers inherit it). At
the end every input has the same SHA-256 and modification time as before and
the input folder holds exactly the same files; outputs that would overwrite
an input are refused with exit 2; `filter`'s counts add up.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.hostile_cases import HIT, cli_env
from tests.helpers import rule, write_pack

AUDIT = r"""
import os, sys
ROOT = os.path.realpath(os.environ["AUDIT_ROOT"]) + os.sep
LOG = os.open(os.environ["AUDIT_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
CHANGES = {"os.rename", "os.replace", "os.remove", "os.rmdir", "os.mkdir", "os.truncate", "os.chmod",
           "os.chown", "os.utime", "os.link", "os.symlink", "shutil.rmtree", "shutil.move", "shutil.copyfile"}

def _inside(path):
    if isinstance(path, int) or path is None:
        return False
    try:
        return (os.path.realpath(os.fsdecode(path)) + os.sep).startswith(ROOT)
    except Exception:
        return False

def _hook(event, args):
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & WRITE_FLAGS)
        if writing and _inside(path):
            os.write(LOG, f"{event} {path} {mode} {flags}\n".encode())
    elif event in CHANGES and any(_inside(a) for a in args if isinstance(a, (str, bytes, os.PathLike))):
        os.write(LOG, f"{event} {args!r}\n".encode())

sys.addaudithook(_hook)
sys.argv = ["tos-lint", *sys.argv[1:]]
from tos_lint.cli import main
main()
"""

RECORDS = [
    {"messages": [{"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": "I am ChatGPT, a model."}]},
    {"text": "A clean line about cooking rice."},
    {"instruction": "Name?", "output": "I am ChatGPT."},
]


def _jsonl(records: list[Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _make_inputs(root: Path) -> None:
    data = root / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.jsonl").write_bytes(_jsonl(RECORDS))
    (data / "b.jsonl.gz").write_bytes(gzip.compress(_jsonl(RECORDS)))
    (data / "c.json").write_text(json.dumps(RECORDS, indent=2))
    (data / "sub" / "d.jsonl.bz2").write_bytes(bz2.compress(_jsonl(RECORDS)))
    (data / "hostile.jsonl").write_bytes(
        HIT + b"\r\n" + b'{"text": "bad \xff", "n": NaN}\r\n' + b"[1, 2]\n" + b"[" * 5000 + b"]" * 5000 + b"\n"
        + b'{"broken\n' + b'{"n": 1e999, "text": "I am ChatGPT"}\n')
    cut = gzip.compress(HIT + b"\n" + _jsonl([{"text": f"filler {i} " * 20} for i in range(2000)]))
    (data / "cut.jsonl.gz").write_bytes(cut[: len(cut) // 2])
    (data / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + HIT + b"\n")
    write_pack(root / "pack.yaml", [rule("test.chatgpt", [{"phrase": "I am ChatGPT"}])])
    (root / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\nallowlist: [allow.yaml]\n")
    (root / "allow.yaml").write_text("version: 1\nentries:\n  - rule: test.nothing\n    reason: nothing\n")


def _snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _read_only(root: Path) -> None:
    for p in root.rglob("*"):
        p.chmod(0o444 if p.is_file() else 0o555)
    root.chmod(0o555)


def _writable(root: Path) -> None:
    root.chmod(0o755)
    for p in root.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)


def _run(args: list[str], root: Path, log: Path) -> tuple[int, str]:
    env = cli_env() | {"AUDIT_ROOT": str(root), "AUDIT_LOG": str(log)}
    proc = subprocess.run([sys.executable, "-c", AUDIT, *args], cwd=root, capture_output=True, timeout=300, env=env)
    return proc.returncode, proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("untouched")
    root, out = base / "inputs", base / "out"
    root.mkdir()
    out.mkdir()
    _make_inputs(root)
    (out / "link.jsonl").symlink_to(root / "data" / "a.jsonl")
    before = _snapshot(root)
    _read_only(root)
    logs = base / "logs"
    logs.mkdir()
    first = {
        "scan-console": ["scan", "data"],
        "scan-json": ["scan", "data", "--format", "json", "-o", str(out / "report.json")],
        "scan-sarif": ["scan", "data", "--format", "sarif", "-o", str(out / "report.sarif")],
        "scan-junit": ["scan", "data", "--format", "junit", "-o", str(out / "report.xml")],
        "scan-markdown-jobs-1": ["scan", "data", "--format", "markdown", "-o", str(out / "report.md"), "--jobs", "1"],
        "filter": ["filter", "data", "--clean-dir", str(out / "clean"), "--quarantine-dir", str(out / "quarantine")],
        "baseline": ["baseline", "create", "data", "-o", str(out / "baseline.json")],
        "rules-validate": ["rules", "validate", "pack.yaml"],
        "refuse-scan-output": ["scan", "data", "-o", "data/a.jsonl"],
        "refuse-scan-output-symlink": ["scan", "data", "-o", str(out / "link.jsonl")],
        "refuse-baseline-output": ["baseline", "create", "data", "-o", "data/sub/d.jsonl.bz2"],
        "refuse-filter-output": ["filter", "data", "--clean-dir", "data/clean", "--quarantine-dir", str(out / "q2")],
    }
    then = {
        "verify": ["verify", str(out / "report.json")],
        "scan-baseline": ["scan", "data", "--baseline", str(out / "baseline.json"), "--format", "json"],
        "report-html": ["report", str(out / "report.json"), "--format", "html", "-o", str(out / "report.html")],
        "refuse-report-over-its-result": ["report", str(out / "report.json"), "-o", str(out / "report.json")],
    }
    results: dict[str, tuple[int, str]] = {}
    try:
        for batch in (first, then):
            with ThreadPoolExecutor(max_workers=4) as pool:
                futures = {name: pool.submit(_run, args, root, logs / f"{name}.log") for name, args in batch.items()}
                results.update({name: f.result() for name, f in futures.items()})
        after = _snapshot(root)
    finally:
        _writable(root)
    audit = {p.stem: p.read_text() for p in logs.glob("*.log") if p.read_text()}
    return {"before": before, "after": after, "results": results, "audit": audit, "out": out, "root": root}


def test_every_input_is_byte_for_byte_unchanged(project: dict[str, Any]) -> None:
    assert project["after"].keys() == project["before"].keys(), "files appeared in or vanished from the inputs"
    for name, (digest, mtime, mode) in project["before"].items():
        now = project["after"][name]
        assert now[0] == digest, f"{name} changed"
        assert now[1] == mtime, f"{name} was touched"
        assert stat.S_IMODE(now[2]) == 0o444, f"{name}: mode changed"


def test_inputs_are_never_opened_for_writing(project: dict[str, Any]) -> None:
    assert project["audit"] == {}, project["audit"]


@pytest.mark.parametrize("name", ["scan-console", "scan-json", "scan-sarif", "scan-junit", "scan-markdown-jobs-1",
                                  "filter", "baseline", "rules-validate", "verify", "scan-baseline", "report-html"])
def test_commands_work_on_read_only_inputs(project: dict[str, Any], name: str) -> None:
    code, out = project["results"][name]
    assert "Traceback" not in out and "internal error" not in out.lower(), out
    assert code in (0, 1), out
    if name == "verify":
        assert code == 0, out


@pytest.mark.parametrize("name", ["refuse-scan-output", "refuse-scan-output-symlink", "refuse-baseline-output",
                                  "refuse-filter-output", "refuse-report-over-its-result"])
def test_outputs_that_are_inputs_are_refused(project: dict[str, Any], name: str) -> None:
    code, out = project["results"][name]
    assert code == 2, out
    assert "refus" in out, out
    assert "Traceback" not in out


def test_outputs_are_complete_and_leave_no_temporary_files(project: dict[str, Any]) -> None:
    out: Path = project["out"]
    report = json.loads((out / "report.json").read_text())
    assert {Path(i["path"]).name for i in report["manifest"]["inputs"]} >= {"a.jsonl", "hostile.jsonl", "cut.jsonl.gz"}
    for name in ("report.sarif", "report.xml", "report.md", "baseline.json", "report.html"):
        assert (out / name).stat().st_size > 0
    assert [p.name for p in out.rglob(".*")] == [], "temporary files left behind"


def test_filter_counts_add_up_over_hostile_inputs(project: dict[str, Any]) -> None:
    code, out = project["results"]["filter"]
    totals = [ln for ln in out.splitlines() if ln.startswith("total:")]
    assert totals, out
    import re

    for line in out.splitlines():
        m = re.search(r": in (\d+) = kept (\d+) \+ quarantined (\d+) \+ unreadable (\d+)", line)
        if m:
            n_in, kept, quarantined, unreadable = map(int, m.groups())
            assert n_in == kept + quarantined + unreadable, line
    hostile = next(ln for ln in out.splitlines() if "hostile.jsonl" in ln)
    # 6 lines: 3 records read (one with NaN and invalid UTF-8) + 3 reported unreadable
    assert "in 6 = kept 1 + quarantined 2 + unreadable 3" in hostile, hostile
    clean = project["out"] / "clean" / "hostile.jsonl"
    assert clean.read_bytes() == b'{"text": "bad \xff", "n": NaN}\r\n', "a kept line is copied byte for byte"
    # the truncated gzip file: its copies stop at the cut, and filter says so
    assert [ln for ln in out.splitlines() if "not read to its end" in ln] == [
        ln for ln in out.splitlines() if ln.startswith("data/cut.jsonl.gz: not read to its end (truncated-stream")], out
    assert "could not be read to the end" in out and code == 1


def test_scan_of_a_read_only_input_with_no_write_permission_anywhere(tmp_path: Path) -> None:
    """Run as an ordinary user where possible: then the kernel itself would
    refuse any write to the read-only inputs."""
    if os.geteuid() != 0:
        pytest.skip("already an ordinary user: the module fixture covers it")
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    root = tmp_path / "ro"
    root.mkdir()
    _make_inputs(root)
    before = _snapshot(root)
    _read_only(root)
    tmp_path.chmod(0o755)
    try:
        env = cli_env() | {"HOME": str(root)}
        command = [sys.executable, "-m", "tos_lint", "scan", "data", "--format", "json"]
        proc = subprocess.run(command, cwd=root, capture_output=True, timeout=300, env=env,
                              user=nobody.pw_uid, group=nobody.pw_gid)
    except PermissionError:
        pytest.skip("cannot switch user here")
    finally:
        _writable(root)
    if b"Permission denied" in proc.stderr and b"python" in proc.stderr.lower():
        pytest.skip("the interpreter is not readable by 'nobody'")
    assert proc.returncode in (0, 1), proc.stderr.decode()
    assert json.loads(proc.stdout)["summary"]["files"] == 7
    assert {k: v[0] for k, v in _snapshot(root).items()} == {k: v[0] for k, v in before.items()}


def test_the_audit_hook_sees_writes(tmp_path: Path) -> None:
    """Control: a command that does write inside the audited folder is caught."""
    root = tmp_path / "control"
    root.mkdir()
    log = tmp_path / "control.log"
    code, out = _run(["init", "--path", "written.yaml"], root, log)
    assert code == 0, out
    assert "written.yaml" in log.read_text()


def test_report_refuses_to_overwrite_a_scanned_input(tmp_path: Path) -> None:
    data = tmp_path / "a.jsonl"
    data.write_bytes(HIT + b"\n")
    before = data.read_bytes()
    result = tmp_path / "result.json"
    result.write_text(json.dumps({
        "findings": [], "summary": {"files": 1, "records": 1},
        "manifest": {"inputs": [{"path": "a.jsonl", "abspath": str(data), "sha256": hashlib.sha256(before).hexdigest()}]},
    }))
    code, out = _run(["report", str(result), "--format", "markdown", "-o", str(data)], tmp_path, tmp_path / "audit.log")
    assert data.read_bytes() == before, "the report overwrote a scanned input"
    assert code == 2, out
