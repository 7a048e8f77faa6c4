"""Paths that are not plain files: FIFOs, dangling and looping symlinks,
folders that cannot be listed. Each is reported with its path as
`tos-lint.input.unreadable` and the run goes on; none is opened, none hangs
the run or ends it with an internal error."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tos_lint
from tests.helpers import CHATGPT_RULE_ID, as_ordinary_user, assert_no_traceback, chatgpt_pack, invoke, run_cli, write_jsonl
from tests.hostile_cases import cli_env
from tos_lint.errors import UsageError

HIT = "I am ChatGPT, a language model."
UNREADABLE = "tos-lint.input.unreadable"


def _folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "a.jsonl", [{"text": HIT}])
    return data


def _by_name(result: tos_lint.ScanResult) -> dict[str, tuple[str, str]]:
    return {Path(f.location.path).name: (f.rule_id, f.message) for f in result.findings}


def _scan(tmp_path: Path, *paths: Path) -> tos_lint.ScanResult:
    return tos_lint.scan([str(p) for p in paths], rules=[chatgpt_pack(tmp_path)], use_default_rules=False, jobs=1)


def test_fifo_in_a_folder_is_reported_not_opened(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    os.mkfifo(data / "pipe.jsonl")
    (data / "link.jsonl").symlink_to("pipe.jsonl")
    # no writer ever opens the FIFO: a scan that opened it would wait forever
    proc = run_cli(["scan", str(data), "--isolated", "--no-default-rules", "--rules", str(chatgpt_pack(tmp_path)),
                    "-f", "json", "-q"], cwd=tmp_path, timeout=60)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    got = {Path(f["location"]["path"]).name: (f["rule_id"], f["message"]) for f in json.loads(proc.stdout)["findings"]}
    assert got["a.jsonl"][0] == CHATGPT_RULE_ID
    for name in ("pipe.jsonl", "link.jsonl"):
        assert got[name][0] == UNREADABLE and "not a regular file (a FIFO)" in got[name][1], got


def test_dangling_and_looping_symlinks_in_a_folder_are_reported(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    (data / "dangling.jsonl").symlink_to(tmp_path / "gone.jsonl")
    (data / "loop.jsonl").symlink_to("loop.jsonl")
    got = _by_name(_scan(tmp_path, data))
    assert got["a.jsonl"][0] == CHATGPT_RULE_ID
    assert got["dangling.jsonl"] == (UNREADABLE, f"dangling symlink to {tmp_path / 'gone.jsonl'}; not scanned")
    assert got["loop.jsonl"][0] == UNREADABLE and "symlink loop" in got["loop.jsonl"][1]


def _linked_folders(tmp_path: Path) -> Path:
    """data/ holds a folder, a symlink to a folder outside it, a second link
    to its own folder and a link back up to itself (a loop)."""
    data = _folder(tmp_path)
    for folder in (tmp_path / "outside" / "deep", data / "real"):
        folder.mkdir(parents=True)
    write_jsonl(tmp_path / "outside" / "deep" / "x.jsonl", [{"text": HIT}])
    write_jsonl(data / "real" / "y.jsonl", [{"text": HIT}])
    (data / "linked").symlink_to(tmp_path / "outside")
    (data / "again").symlink_to("real")
    (data / "real" / "up").symlink_to("..")
    return data


def test_a_symlinked_folder_is_followed_and_each_real_file_scanned_once(tmp_path: Path) -> None:
    """As a symlinked file in a folder is read, so is a symlinked folder: its
    files are scanned at their path through the link; a loop or a second
    link to a folder already walked adds nothing, and nothing is unreadable."""
    data = _linked_folders(tmp_path)
    result = _scan(tmp_path, data)
    got = sorted((str(Path(f.location.path).relative_to(tmp_path)), f.rule_id) for f in result.findings)
    assert got == [("data/a.jsonl", CHATGPT_RULE_ID), ("data/linked/deep/x.jsonl", CHATGPT_RULE_ID),
                   ("data/real/y.jsonl", CHATGPT_RULE_ID)]


def test_filter_copies_a_symlinked_folder_at_its_path_through_the_link(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _linked_folders(tmp_path)
    chatgpt_pack(tmp_path, "pack.yaml")
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\n", encoding="utf-8")
    res = invoke(["filter", "data", "--clean-dir", "out/c", "--quarantine-dir", "out/q"], tmp_path, monkeypatch)
    assert res.exit_code == 1, res.output
    copies = sorted(str(p.relative_to(tmp_path / "out" / "q")) for p in (tmp_path / "out" / "q").rglob("*.jsonl"))
    assert copies == ["a.jsonl", "linked/deep/x.jsonl", "real/y.jsonl"]


def _with_bad_links(proj: Path) -> None:
    write_jsonl(proj / "data" / "a.jsonl", [{"text": HIT}, {"text": "fine"}])
    (proj / "data" / "dangling.jsonl").symlink_to(proj / "gone.jsonl")
    (proj / "data" / "loop.jsonl").symlink_to("loop.jsonl")
    chatgpt_pack(proj, "pack.yaml")
    (proj / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\n", encoding="utf-8")


def test_filter_reports_bad_links_and_filters_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    _with_bad_links(tmp_path)
    res = invoke(["filter", "data", "--clean-dir", "out/c", "--quarantine-dir", "out/q"], tmp_path, monkeypatch)
    assert res.exit_code == 1, res.output
    assert "data/a.jsonl: in 2 = kept 1 + quarantined 1 + unreadable 0" in res.output
    assert "data/dangling.jsonl: not read (unreadable: dangling symlink to" in res.output
    assert "data/loop.jsonl: not read (unreadable: symlink loop" in res.output
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == ["a.jsonl", "a.jsonl"]


def test_baseline_create_goes_past_bad_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    _with_bad_links(tmp_path)
    res = invoke(["baseline", "create", "data", "-o", "base.json"], tmp_path, monkeypatch)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "base.json").is_file()


def test_symlink_loop_named_on_the_command_line_says_so(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(UsageError, match=r"a: symlink loop"):
        _scan(tmp_path, tmp_path / "a")
    (tmp_path / "c").symlink_to("gone.jsonl")
    with pytest.raises(UsageError, match=r"c: dangling symlink to gone.jsonl"):
        _scan(tmp_path, tmp_path / "c")


# --- folders that cannot be listed ------------------------------------------------------

@pytest.fixture()
def locked(tmp_path: Path) -> Any:
    folder = tmp_path / "data" / "locked"
    folder.mkdir(parents=True)
    write_jsonl(folder / "x.jsonl", [{"text": HIT}])
    write_jsonl(tmp_path / "data" / "open.jsonl", [{"text": "fine"}])
    folder.chmod(0)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("target", ["data", "data/locked"])
def test_unlistable_folder_is_reported(tmp_path: Path, locked: Path, target: str) -> None:
    prefix = as_ordinary_user(locked)
    command = [*prefix, sys.executable, "-m", "tos_lint", "scan", target, "--isolated", "--no-default-rules",
               "--rules", str(chatgpt_pack(tmp_path)), "-f", "json", "-q"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=cli_env())
    assert_no_traceback(proc)
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["location"]["path"], f["rule_id"]) for f in findings] == [("data/locked", UNREADABLE)], findings
    assert "cannot list this folder: Permission denied" in findings[0]["message"]


# --- file names that are not UTF-8 ------------------------------------------------------

BAD_NAME = os.fsdecode(b"bad\xff.jsonl")  # the byte 0xFF, as Python hands it over (a lone surrogate)
SHOWN = "bad\\xff.jsonl"


def _bad_name_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / BAD_NAME, [{"text": HIT}])
    return data


@pytest.mark.parametrize("fmt", ["console", "json", "jsonl", "sarif", "junit", "github", "markdown", "html"])
def test_a_file_name_that_is_not_utf8_is_shown_escaped_in_every_format(tmp_path: Path, fmt: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _bad_name_folder(tmp_path)
    got = invoke(["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path),
                  "-f", fmt, "-o", "out.txt", "-q"], tmp_path, monkeypatch)
    assert got.exit_code == 1, got.output
    text = (tmp_path / "out.txt").read_text(encoding="utf-8")  # strict: the report is UTF-8
    expected = {"json": "data/bad\\\\xff.jsonl", "jsonl": "data/bad\\\\xff.jsonl", "sarif": "data/bad%FF.jsonl",
                "markdown": "data/bad\\\\xff.jsonl"}.get(fmt, "data/" + SHOWN)
    assert expected in text


def test_a_report_on_a_file_name_that_is_not_utf8_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _bad_name_folder(tmp_path)
    invoke(["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path),
            "-f", "json", "-o", "r.json", "-q"], tmp_path, monkeypatch)
    [entry] = json.loads((tmp_path / "r.json").read_text())["manifest"]["inputs"]
    assert entry["abspath"] == str(tmp_path.resolve() / "data" / SHOWN)
    got = invoke(["verify", "r.json"], tmp_path, monkeypatch)
    assert got.exit_code == 0 and "ok" in got.output, got.output


def test_filter_and_attribute_take_a_file_name_that_is_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _bad_name_folder(tmp_path)
    got = invoke(["filter", "data", "--isolated", "--clean-dir", "clean", "--quarantine-dir", "q"], tmp_path, monkeypatch)
    assert got.exit_code == 1 and f"data/{SHOWN}: in 1 = kept 0 + quarantined 1" in got.output, got.output
    [copy] = (tmp_path / "q").iterdir()
    assert copy.name == BAD_NAME  # written under the file's own bytes
    assert json.loads(copy.read_bytes())["_tos_lint_findings"][0]["location"]["path"] == f"data/{SHOWN}"
    got = invoke(["attribute", "data", "-f", "json"], tmp_path, monkeypatch)
    assert got.exit_code == 0 and json.loads(got.output)["files"][0]["path"] == f"data/{SHOWN}"


# --- paths given: empty, standard input twice, the same file twice ----------------------

def test_an_empty_path_is_a_usage_error_not_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path)
    got = invoke(["scan", "", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path)],
                 tmp_path / "data", monkeypatch)
    assert got.exit_code == 2 and "'' (an empty path) is not a file or folder" in got.stderr, got.output


def test_standard_input_given_twice_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(["scan", "-", "-", "--isolated", "--no-default-rules", "--rules", str(chatgpt_pack(tmp_path))],
                   cwd=tmp_path, input=json.dumps({"text": HIT}).encode() + b"\n")
    assert_no_traceback(proc)
    assert proc.returncode == 2 and "'-' (standard input) is given more than once" in proc.stderr


def test_a_file_reached_twice_is_scanned_once_under_its_first_path(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data = _folder(tmp_path)
    (data / "link.jsonl").symlink_to("a.jsonl")
    monkeypatch.chdir(tmp_path)
    result = _scan(tmp_path, Path("data/a.jsonl"), Path("data"), Path("./data/a.jsonl"), Path("data/link.jsonl"))
    assert [r.path for r in result.files] == ["data/a.jsonl"]
    assert (result.stats.records, len(result.findings)) == (1, 1)


# --- hidden files and folders -------------------------------------------------------------

def _with_hidden(tmp_path: Path) -> Path:
    data = _folder(tmp_path)
    write_jsonl(data / ".h.jsonl", [{"text": HIT}])
    (data / ".cache").mkdir()
    write_jsonl(data / ".cache" / "x.jsonl", [{"text": HIT}])
    (data / ".git").mkdir()
    write_jsonl(data / ".git" / "y.jsonl", [{"text": HIT}])
    (data / ".gitignore").write_text("*.tmp\n")  # not data: not counted
    return data


def test_hidden_paths_are_counted_and_listed_not_scanned_silently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_hidden(tmp_path)
    args = ["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path), "-j", "1"]
    doc = json.loads(invoke([*args, "-f", "json"], tmp_path, monkeypatch).stdout)
    assert [f["location"]["path"] for f in doc["findings"]] == ["data/a.jsonl"]
    assert doc["summary"]["hidden_skipped"] == 2
    assert doc["manifest"]["hidden_skipped"] == ["data/.cache", "data/.h.jsonl"]
    console = invoke(args, tmp_path, monkeypatch).stdout
    assert "hidden, not scanned  2 (names starting with '.'; --hidden scans them)" in console


def test_hidden_option_scans_hidden_paths_but_never_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_hidden(tmp_path)
    doc = json.loads(invoke(["scan", "data", "--hidden", "--isolated", "--no-default-rules", "--rules",
                             chatgpt_pack(tmp_path), "-j", "1", "-f", "json"], tmp_path, monkeypatch).stdout)
    assert sorted(f["location"]["path"] for f in doc["findings"]) == ["data/.cache/x.jsonl", "data/.h.jsonl", "data/a.jsonl"]
    assert doc["summary"]["hidden_skipped"] == 0
    (tmp_path / "tos-lint.yaml").write_text("hidden: true\n", encoding="utf-8")
    got = invoke(["filter", "data", "--clean-dir", "c", "--quarantine-dir", "q"], tmp_path, monkeypatch)
    assert sorted(p.relative_to(tmp_path / "q").as_posix() for p in (tmp_path / "q").rglob("*.jsonl")) == \
        [".cache/x.jsonl", ".h.jsonl", "a.jsonl"], got.output


def _with_other_files(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "a.jsonl", [{"text": HIT}])
    for name in ("b.jsonl.1", "c.bak", "noext"):
        write_jsonl(data / name, [{"text": HIT}])
    (data / "README.md").write_text("# notes\n", encoding="utf-8")
    return data


def test_files_no_reader_knows_are_counted_and_listed_not_skipped_silently(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _with_other_files(tmp_path)
    args = ["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path), "-j", "1"]
    doc = json.loads(invoke([*args, "-f", "json"], tmp_path, monkeypatch).stdout)
    assert [f["location"]["path"] for f in doc["findings"]] == ["data/a.jsonl"]
    assert doc["summary"]["unknown_type_skipped"] == 4
    assert doc["manifest"]["unknown_type_skipped"] == ["data/README.md", "data/b.jsonl.1", "data/c.bak", "data/noext"]
    console = invoke(args, tmp_path, monkeypatch).stdout
    assert "other files, not scanned" in console and "data/README.md, data/b.jsonl.1, data/c.bak, ..." in console
    markdown = invoke([*args, "-f", "markdown"], tmp_path, monkeypatch).stdout
    assert "4 other file(s) were not scanned" in markdown


def test_an_include_glob_that_spells_out_a_name_reads_those_files(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _with_other_files(tmp_path)
    base = ["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path), "-j", "1", "-f", "json"]
    doc = json.loads(invoke([*base, "--include", "*.bak", "--include", "*.jsonl.[0-9]"], tmp_path, monkeypatch).stdout)
    assert sorted(f["location"]["path"] for f in doc["findings"]) == ["data/b.jsonl.1", "data/c.bak"]
    # a glob that selects a folder selects its data files, not its README
    doc = json.loads(invoke([*base, "--include", "data/*"], tmp_path, monkeypatch).stdout)
    assert [f["location"]["path"] for f in doc["findings"]] == ["data/a.jsonl"]
    assert doc["summary"]["unknown_type_skipped"] == 4


def test_jsonlines_is_a_json_lines_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonlines", [{"text": HIT}])
    doc = json.loads(invoke(["scan", "data", "--isolated", "--no-default-rules", "--rules", chatgpt_pack(tmp_path),
                             "-j", "1", "-f", "json"], tmp_path, monkeypatch).stdout)
    assert [f["location"]["path"] for f in doc["findings"]] == ["data/a.jsonlines"]
    assert doc["summary"]["unknown_type_skipped"] == 0


def test_filter_says_which_files_it_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_other_files(tmp_path)
    (tmp_path / "tos-lint.yaml").write_text(f"default-rules: false\nrules: [{chatgpt_pack(tmp_path)}]\n", encoding="utf-8")
    got = invoke(["filter", "data", "--clean-dir", "c", "--quarantine-dir", "q"], tmp_path, monkeypatch)
    assert "4 other file(s) in the folders given are in neither copy" in got.stderr
