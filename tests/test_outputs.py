"""Outputs that cannot be written: a folder in the way, no permission, a
full disk, an input. Each is one line naming the option and the path, exit
2, never an internal error, and nothing is replaced."""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import as_ordinary_user, assert_no_traceback, chatgpt_pack, invoke, write_jsonl
from tests.hostile_cases import cli_env


@pytest.fixture()
def proj(tmp_path: Path) -> Path:
    chatgpt_pack(tmp_path, "pack.yaml")
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\n", encoding="utf-8")
    write_jsonl(tmp_path / "good.jsonl", [{"text": "I am ChatGPT, hello there friend, how are you today?"}])
    (tmp_path / "outdir").mkdir()
    (tmp_path / "afile").write_text("x")
    return tmp_path


def _report(proj: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    res = invoke(["scan", "good.jsonl", "-f", "json", "-o", "rep.json"], proj, monkeypatch)
    assert res.exit_code == 1, res.output
    return proj / "rep.json"


def _usage_error(res: Any, message: str) -> None:
    assert res.exit_code == 2, res.output
    assert f"tos-lint: error: {message}" in res.output, res.output
    assert "internal error" not in res.output


@pytest.mark.parametrize("command", [
    ["scan", "good.jsonl", "-f", "json", "-o", "outdir"],
    ["baseline", "create", "good.jsonl", "-o", "outdir"],
    ["report", "rep.json", "-f", "html", "-o", "outdir"],
])
def test_output_that_is_a_directory(proj: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    _report(proj, monkeypatch)
    _usage_error(invoke(command, proj, monkeypatch), "--output outdir: is a directory")


def test_index_out_that_is_a_directory(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(["index", "build", "good.jsonl", "--provider", "openai", "-o", "outdir"], proj, monkeypatch)
    _usage_error(res, "--out outdir: is a directory")


def test_index_build_refuses_to_overwrite_its_input(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = hashlib.sha256((proj / "good.jsonl").read_bytes()).hexdigest()
    res = invoke(["index", "build", "good.jsonl", "--provider", "openai", "-o", "good.jsonl"], proj, monkeypatch)
    _usage_error(res, "--out good.jsonl is one of the inputs; refusing to overwrite it")
    assert hashlib.sha256((proj / "good.jsonl").read_bytes()).hexdigest() == before


@pytest.mark.parametrize(("args", "what"), [
    (["scan", "good.jsonl", "--config", "tos-lint.yaml", "-o", "tos-lint.yaml"], "configuration file"),
    (["scan", "good.jsonl", "-o", "pack.yaml"], "rule pack"),
    (["scan", "good.jsonl", "--baseline", "b.json", "-o", "b.json"], "baseline (--baseline)"),
    (["scan", "good.jsonl", "--allowlist", "allow.yaml", "-o", "allow.yaml"], "allowlist (--allowlist)"),
    (["scan", "good.jsonl", "--waivers", "./allow.yaml", "-o", "allow.yaml"], "waiver file (--waivers)"),
    (["baseline", "create", "good.jsonl", "-o", "pack.yaml"], "rule pack"),
])
def test_output_onto_a_file_the_run_reads_is_refused(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                     args: list[str], what: str) -> None:
    (proj / "allow.yaml").write_text("version: 1\nentries: []\n", encoding="utf-8")
    invoke(["baseline", "create", "good.jsonl", "-o", "b.json"], proj, monkeypatch)
    before = {p.name: p.read_bytes() for p in proj.iterdir() if p.is_file()}
    output = args[args.index("-o") + 1]
    _usage_error(invoke(args, proj, monkeypatch), f"--output {output} is the {what} this run reads; refusing to overwrite it")
    assert {p.name: p.read_bytes() for p in proj.iterdir() if p.is_file()} == before


def test_output_onto_a_hidden_file_is_refused_only_when_it_is_read(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "data").mkdir()
    write_jsonl(proj / "data" / ".h.jsonl", [{"text": "I am ChatGPT."}])
    before = (proj / "data" / ".h.jsonl").read_bytes()
    res = invoke(["scan", "data", "--hidden", "-f", "json", "-o", "data/.h.jsonl"], proj, monkeypatch)
    _usage_error(res, "--output data/.h.jsonl is one of the inputs; refusing to overwrite it")
    assert (proj / "data" / ".h.jsonl").read_bytes() == before
    res = invoke(["scan", "data", "-f", "json", "-o", "data/.h.jsonl"], proj, monkeypatch)  # not read: a plain output
    assert res.exit_code == 0 and (proj / "data" / ".h.jsonl").read_bytes() != before, res.output


def test_regenerating_the_configured_baseline_is_allowed(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`baseline create` replaces the baseline the configuration names: it does not read it."""
    with (proj / "tos-lint.yaml").open("a", encoding="utf-8") as f:
        f.write("baseline: b.json\n")
    for _ in range(2):
        res = invoke(["baseline", "create", "good.jsonl", "-o", "b.json"], proj, monkeypatch)
        assert res.exit_code == 0 and "wrote 1 fingerprint(s) to b.json" in res.output, res.output


def test_the_built_in_packs_are_files_a_run_reads() -> None:
    from tos_lint.cli_common import _files_read
    from tos_lint.config import Config
    from tos_lint.packs import builtin_pack_paths

    read = {path for _, path in _files_read(Config())}
    assert {str(p) for p in builtin_pack_paths()} <= read
    assert {path for _, path in _files_read(Config(default_rules=False))} == set()


@pytest.mark.parametrize("clean", ["afile", "afile/sub"])
def test_filter_clean_dir_that_is_a_file(proj: Path, monkeypatch: pytest.MonkeyPatch, clean: str) -> None:
    res = invoke(["filter", "good.jsonl", "--clean-dir", clean, "--quarantine-dir", "q"], proj, monkeypatch)
    _usage_error(res, f"--clean-dir {clean}: " + ("not a directory" if clean == "afile" else "afile is not a directory"))
    assert (proj / "afile").read_text() == "x" and not (proj / "q").exists()


def _full_device() -> Path:
    full = Path("/dev/full")
    if not (full.exists() and stat.S_ISCHR(full.stat().st_mode)):
        pytest.skip("no /dev/full here")
    return full


def test_scan_output_to_a_full_disk(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _usage_error(invoke(["scan", "good.jsonl", "-o", str(_full_device())], proj, monkeypatch),
                 "--output /dev/full: cannot write: No space left on device")


@pytest.mark.parametrize("command", [
    ["baseline", "create", "good.jsonl", "-o", "pipe"],
    ["index", "build", "good.jsonl", "--provider", "openai", "-o", "pipe"],
])
def test_special_file_is_not_replaced_by_a_renamed_file(proj: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """These outputs are written to a new file renamed over the path: over a
    device or a FIFO, that would replace it (a FIFO here: were the check
    missing, no real device would be lost)."""
    os.mkfifo(proj / "pipe")
    option = "--out" if command[0] == "index" else "--output"
    _usage_error(invoke(command, proj, monkeypatch), f"{option} pipe: not a regular file; refusing to replace it")
    assert stat.S_ISFIFO((proj / "pipe").stat().st_mode)


@pytest.fixture()
def read_only(proj: Path) -> Any:
    folder = proj / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize(("args", "message"), [
    (["scan", "good.jsonl", "-o", "ro/x.json"], "--output ro/x.json: permission denied (cannot create files in ro)"),
    (["scan", "good.jsonl", "-o", "ro/sub/x.json"], "--output ro/sub/x.json: permission denied (cannot create files in ro)"),
    (["filter", "good.jsonl", "--clean-dir", "ro/c", "--quarantine-dir", "q"],
     "--clean-dir ro/c: permission denied (cannot create files in ro)"),
])
def test_output_in_a_read_only_folder(proj: Path, read_only: Path, args: list[str], message: str) -> None:
    prefix = as_ordinary_user(read_only)
    proc = subprocess.run([*prefix, sys.executable, "-m", "tos_lint", *args], cwd=proj, capture_output=True,
                          text=True, timeout=120, env=cli_env())
    assert_no_traceback(proc)
    assert proc.returncode == 2, proc.stderr
    assert f"tos-lint: error: {message}" in proc.stderr
    assert list(read_only.iterdir()) == []


def test_a_device_output_is_still_written_in_place(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(["scan", "good.jsonl", "-f", "json", "-o", "/dev/null"], proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    assert "\"findings\"" not in res.stdout  # the report went to the device, not stdout


# --- the mode of what is written ------------------------------------------------------------
# Outputs are written to a temporary file renamed into place; each must still
# get the mode any new file gets (0666 less the umask), or keep the mode of the
# file it replaces, not the 0600 of a private temporary file.

WRITTEN = [
    pytest.param(["scan", "good.jsonl", "-f", "json", "-o", "out/rep.json"], "out/rep.json", id="scan-output"),
    pytest.param(["report", "rep.json", "-f", "html", "-o", "out/rep.html"], "out/rep.html", id="report-output"),
    pytest.param(["baseline", "create", "good.jsonl", "-o", "out/base.json"], "out/base.json", id="baseline"),
    pytest.param(["filter", "good.jsonl", "--clean-dir", "out/c", "--quarantine-dir", "out/q"], "out/q/good.jsonl",
                 id="filter-copy"),
    pytest.param(["index", "build", "good.jsonl", "--provider", "openai", "-o", "out/refs.tlidx"], "out/refs.tlidx",
                 id="index"),
    pytest.param(["rules", "eval", "--labels", "labels.yaml", "-f", "markdown", "-o", "out/eval.md"], "out/eval.md",
                 id="eval-output"),
]


@pytest.fixture()
def umask_027() -> Any:
    old = os.umask(0o027)
    yield
    os.umask(old)


def _write_output(proj: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    (proj / "labels.yaml").write_text("labels:\n  good.jsonl: {provider: openai}\n", encoding="utf-8")
    if args[0] == "report":
        _report(proj, monkeypatch)
    res = invoke(args, proj, monkeypatch)
    assert res.exit_code in (0, 1), res.output


@pytest.mark.parametrize(("args", "written"), WRITTEN)
def test_a_new_output_gets_the_mode_of_a_new_file(proj: Path, monkeypatch: pytest.MonkeyPatch, umask_027: None,
                                                   args: list[str], written: str) -> None:
    _write_output(proj, monkeypatch, args)
    assert stat.S_IMODE((proj / written).stat().st_mode) == 0o640
    assert [p.name for p in (proj / written).parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(("args", "written"), WRITTEN)
def test_a_replaced_output_keeps_its_mode(proj: Path, monkeypatch: pytest.MonkeyPatch, umask_027: None,
                                          args: list[str], written: str) -> None:
    old = proj / written
    old.parent.mkdir(parents=True)
    old.write_text("old\n")
    old.chmod(0o604)
    _write_output(proj, monkeypatch, args)
    assert old.read_bytes() != b"old\n"
    assert stat.S_IMODE(old.stat().st_mode) == 0o604


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    from tos_lint.atomic import atomic_write

    path = tmp_path / "out.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as stream:
        stream.write("half a")
        raise RuntimeError("the writer failed")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize(("command", "option"), [
    (["init", "--path"], "--path"),
    (["attribute", "good.jsonl", "-o"], "--output"),
])
def test_init_and_attribute_outputs_that_cannot_be_written(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                           command: list[str], option: str) -> None:
    _usage_error(invoke([*command, "outdir"], proj, monkeypatch), f"{option} outdir: is a directory")
    _usage_error(invoke([*command, "afile/x"], proj, monkeypatch), f"{option} afile/x: afile is not a directory")
    assert (proj / "afile").read_text() == "x"
    res = invoke([*command, "new/sub/out.txt"], proj, monkeypatch)  # a missing folder is made
    assert res.exit_code == 0, res.output
    assert (proj / "new" / "sub" / "out.txt").stat().st_size > 0


def test_init_onto_a_device_is_refused_and_attribute_says_the_disk_is_full(proj: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    full = str(_full_device())
    _usage_error(invoke(["init", "--force", "--path", full], proj, monkeypatch),
                 f"--path {full}: not a regular file; refusing to replace it")
    _usage_error(invoke(["attribute", "good.jsonl", "-o", full], proj, monkeypatch),
                 f"--output {full}: cannot write: No space left on device")


def test_a_report_to_a_closed_pipe_ends_quietly_with_the_runs_exit_code(proj: Path) -> None:
    """`tos-lint scan ... | head -1`: the reader goes away; the gate's exit
    code still says whether the data failed, with nothing on stderr."""
    script = "set -o pipefail; \"$0\" -m tos_lint scan good.jsonl -f json | head -c 1 >/dev/null"
    proc = subprocess.run(["bash", "-c", script, sys.executable], cwd=proj, env=cli_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr == "", proc.stderr
