"""Configuration files: validation, discovery, pyproject, precedence of the command line.

Most runs call the command line in-process (typer's CliRunner, with the
working directory changed); discovery from a sub-folder also runs the real
executable with `cwd=`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_no_traceback, invoke, rule, run_cli, write_jsonl, write_pack

CHATGPT = "I am ChatGPT, a model."


def chatgpt_pack(path: Path) -> Path:
    return write_pack(path, [rule("test.chatgpt", [{"phrase": "I am ChatGPT"}])])


def claude_pack(path: Path) -> Path:
    return write_pack(path, [rule("test.claude", [{"phrase": "I am Claude"}], provider="anthropic",
                                  examples={"match": ["I am Claude."], "no_match": ["Hi."]})])


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A folder with a pack and one record that the pack flags (high, openai)."""
    chatgpt_pack(tmp_path / "pack.yaml")
    write_jsonl(tmp_path / "data.jsonl", [{"text": CHATGPT}, {"text": "clean"}])
    return tmp_path


def scan_args(root: Path, *extra: Any) -> list[Any]:
    return ["scan", root / "data.jsonl", "--no-default-rules", "--rules", root / "pack.yaml",
            "--format", "json", "-j", "1", *extra]


# --- validation ---------------------------------------------------------------------

def test_without_config_the_finding_fails(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 1
    assert [f["rule_id"] for f in json.loads(res.stdout)["findings"]] == ["test.chatgpt"]


def test_unknown_key_exits_2_and_names_file_and_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("fial-on: never\n", encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 2
    assert "fial-on" in res.stderr
    assert "tos-lint.yaml" in res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize(("text", "key"), [
    ("select: 5\n", "select"),
    ("default-rules: 'yes'\n", "default-rules"),
    ("fail-on: extreme\n", "fail-on"),
    ("severity: {test.chatgpt: huge}\n", "severity"),
    ("severity: [high]\n", "severity"),
    ("providers: {openai: block}\n", "providers"),
    ("max-record-bytes: big\n", "max-record-bytes"),
    ("max-record-bytes: true\n", "max-record-bytes"),
    ("rules: [1, 2]\n", "rules"),
    ("ignore: {a: b}\n", "ignore"),
    ("field-map: {robot: [text]}\n", "field-map"),
    ("field-map: {assistant: [/a/~2]}\n", "field-map"),
    ("input-format: no-such-format\n", "input-format"),
    ("baseline: 3\n", "baseline"),
])
def test_wrong_type_exits_2_and_names_key(project: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str) -> None:
    (project / "tos-lint.yaml").write_text(text, encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 2, res.output
    assert key in res.stderr
    assert "tos-lint.yaml" in res.stderr


def test_unknown_provider_in_stances_exits_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("providers: {no-such-provider: forbid}\n", encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 2
    assert "no-such-provider" in res.stderr


@pytest.mark.parametrize("text", ["- a\n- b\n", "fail-on: [unclosed\n", "fail-on: high\nfail-on: low\n"])
def test_not_a_mapping_or_invalid_yaml_exits_2(project: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    (project / "tos-lint.yaml").write_text(text, encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 2
    assert "tos-lint.yaml" in res.stderr


def test_keys_accept_underscores(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("fail_on: never\nmax_record_bytes: 4096\n", encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["verdict"]["fail_on"] == "never"
    assert doc["manifest"]["options"]["max_record_bytes"] == 4096


@pytest.mark.parametrize(("name", "text", "keys"), [
    ("tos-lint.yaml", "fail_on: never\nfail-on: low\n", ("fail_on", "fail-on")),
    ("tos-lint.yaml", "max-record-bytes: 4096\nselect: [test]\nmax_record_bytes: 8192\n",
     ("max-record-bytes", "max_record_bytes")),
    ("pyproject.toml", '[tool.tos-lint]\nfail-on = "never"\nfail_on = "low"\n', ("fail-on", "fail_on")),
])
def test_a_key_in_both_spellings_exits_2_naming_both(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                     name: str, text: str, keys: tuple[str, str]) -> None:
    """Neither value silently wins: the file and both spellings are named."""
    (project / name).write_text(text, encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 2, res.output
    first, second = keys
    assert f"tos-lint: error: {project / name}: keys {first!r} and {second!r} are the same key written two ways" \
        in res.stderr, res.stderr
    assert res.stdout == ""


def test_empty_config_file_means_defaults(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("# nothing\n", encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 1
    assert json.loads(res.stdout)["verdict"]["fail_on"] == "high"


# --- discovery ------------------------------------------------------------------------

def _nested_project(tmp_path: Path) -> tuple[Path, Path]:
    """root/tos-lint.yaml names a pack by a path relative to itself; data sits in root/a/b."""
    root = tmp_path / "root"
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    (root / "packs").mkdir()
    chatgpt_pack(root / "packs" / "pack.yaml")
    (root / "tos-lint.yaml").write_text(
        "default-rules: false\nrules: [packs/pack.yaml]\nfail-on: critical\n", encoding="utf-8")
    write_jsonl(deep / "data.jsonl", [{"text": CHATGPT}])
    return root, deep


def test_config_discovered_upward_from_cwd_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, deep = _nested_project(tmp_path)
    proc = run_cli(["scan", "data.jsonl", "--format", "json", "-j", "1"], cwd=deep)
    assert_no_traceback(proc)
    # the pack came from the config (path relative to the config file), and
    # fail-on: critical turned the high finding into a pass
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["rule_id"], f["status"]) for f in doc["findings"]] == [("test.chatgpt", "pass")]
    assert doc["verdict"]["fail_on"] == "critical"
    assert doc["manifest"]["options"]["path"] == str(root / "tos-lint.yaml")

    isolated = invoke(["scan", "data.jsonl", "--isolated", "--no-default-rules", "--rules",
                       root / "packs" / "pack.yaml", "--format", "json", "-j", "1"], deep, monkeypatch)
    assert isolated.exit_code == 1
    assert json.loads(isolated.stdout)["verdict"]["fail_on"] == "high"


@pytest.mark.parametrize("name", ["tos-lint.yaml", ".tos-lint.yaml", "tos-lint.yml", ".tos-lint.yml"])
def test_every_config_name_is_discovered(project: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    sub = project / "x" / "y"
    sub.mkdir(parents=True)
    (project / name).write_text("fail-on: never\n", encoding="utf-8")
    res = invoke(scan_args(project), sub, monkeypatch)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["verdict"]["fail_on"] == "never"


def test_nearest_config_wins(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = project / "sub"
    sub.mkdir()
    (project / "tos-lint.yaml").write_text("fail-on: never\n", encoding="utf-8")
    (sub / "tos-lint.yaml").write_text("fail-on: low\n", encoding="utf-8")
    res = invoke(scan_args(project), sub, monkeypatch)
    assert json.loads(res.stdout)["verdict"]["fail_on"] == "low"
    assert res.exit_code == 1
    res = invoke(scan_args(project), project, monkeypatch)
    assert json.loads(res.stdout)["verdict"]["fail_on"] == "never"
    assert res.exit_code == 0


def test_no_config_anywhere_means_defaults(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tos_lint.config import find_config

    assert find_config(project) is None  # nothing above tmp_path either
    res = invoke(scan_args(project), project, monkeypatch)
    assert json.loads(res.stdout)["manifest"]["options"]["path"] is None


def test_explicit_config_is_used_and_beats_discovery(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("fail-on: high\n", encoding="utf-8")
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "custom-name.yaml").write_text("fail-on: never\n", encoding="utf-8")
    res = invoke([*scan_args(project), "--config", elsewhere / "custom-name.yaml"], project, monkeypatch)
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["verdict"]["fail_on"] == "never"
    assert doc["manifest"]["options"]["path"] == str(elsewhere / "custom-name.yaml")


def test_explicit_config_paths_are_relative_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    claude_pack(conf / "claude.yaml")
    (conf / "custom.yaml").write_text("default-rules: false\nrules: [claude.yaml]\n", encoding="utf-8")
    write_jsonl(tmp_path / "d.jsonl", [{"text": "I am Claude."}])
    res = invoke(["scan", "d.jsonl", "--config", "conf/custom.yaml", "--format", "json", "-j", "1"], tmp_path, monkeypatch)
    assert res.exit_code == 1, res.output
    assert [f["rule_id"] for f in json.loads(res.stdout)["findings"]] == ["test.claude"]


def test_missing_explicit_config_exits_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke([*scan_args(project), "--config", project / "nope.yaml"], project, monkeypatch)
    assert res.exit_code == 2
    assert "nope.yaml" in res.stderr


def test_isolated_ignores_even_a_broken_config(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("not-a-key: 1\n", encoding="utf-8")
    assert invoke(scan_args(project), project, monkeypatch).exit_code == 2
    res = invoke([*scan_args(project), "--isolated"], project, monkeypatch)
    assert res.exit_code == 1
    assert json.loads(res.stdout)["manifest"]["options"]["path"] is None


@pytest.mark.parametrize("command", [
    ["scan", "data.jsonl"],
    ["baseline", "create", "data.jsonl", "-o", "base.json"],
    ["filter", "data.jsonl", "--clean-dir", "c", "--quarantine-dir", "q"],
])
def test_config_and_isolated_together_is_a_usage_error(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                       command: list[str]) -> None:
    """`--isolated` reads no configuration file: the file `--config` names
    would be ignored without a word, so the pair is refused, naming both."""
    (project / "custom.yaml").write_text("fail-on: never\n", encoding="utf-8")
    res = invoke([*command, "--config", "custom.yaml", "--isolated"], project, monkeypatch)
    assert res.exit_code == 2, res.output
    assert "tos-lint: error: --config custom.yaml cannot be used with --isolated" in res.stderr, res.stderr
    assert res.stdout == ""
    assert sorted(p.name for p in project.iterdir()) == ["custom.yaml", "data.jsonl", "pack.yaml"]


# --- pyproject.toml -------------------------------------------------------------------

def test_pyproject_section_is_read(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.tos-lint]\nfail-on = "never"\nignore = ["test.other"]\n', encoding="utf-8")
    sub = project / "pkg"
    sub.mkdir()
    res = invoke(scan_args(project), sub, monkeypatch)
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["verdict"]["fail_on"] == "never"
    assert doc["manifest"]["options"]["ignore"] == ["test.other"]
    assert doc["manifest"]["options"]["path"] == str(project / "pyproject.toml")


def test_pyproject_unknown_key_exits_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "pyproject.toml").write_text('[tool.tos-lint]\nfailon = "never"\n', encoding="utf-8")
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 2
    assert "failon" in res.stderr
    assert "pyproject.toml" in res.stderr


def test_pyproject_without_section_is_passed_over(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("fail-on: never\n", encoding="utf-8")
    sub = project / "pkg"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[project]\nname = "pkg"\n[tool.black]\nline-length = 100\n', encoding="utf-8")
    res = invoke(scan_args(project), sub, monkeypatch)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["manifest"]["options"]["path"] == str(project / "tos-lint.yaml")


def test_nearer_pyproject_section_beats_parent_yaml(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("fail-on: never\n", encoding="utf-8")
    sub = project / "pkg"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.tos-lint]\nfail-on = "low"\n', encoding="utf-8")
    res = invoke(scan_args(project), sub, monkeypatch)
    assert res.exit_code == 1
    assert json.loads(res.stdout)["verdict"]["fail_on"] == "low"


# --- the command line overrides the file ------------------------------------------------

def test_cli_fail_on_overrides_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("fail-on: never\n", encoding="utf-8")
    assert invoke(scan_args(project), project, monkeypatch).exit_code == 0
    res = invoke([*scan_args(project), "--fail-on", "high"], project, monkeypatch)
    assert res.exit_code == 1
    assert json.loads(res.stdout)["verdict"]["fail_on"] == "high"


def test_cli_select_replaces_file_select(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tos-lint.yaml").write_text("select: [tos-lint]\n", encoding="utf-8")  # the tool's own findings only
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["verdict"]["statuses"]["ignored"] == 1
    res = invoke([*scan_args(project), "--select", "test"], project, monkeypatch)
    assert res.exit_code == 1
    assert json.loads(res.stdout)["verdict"]["statuses"]["ignored"] == 0


def test_cli_rules_add_to_file_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chatgpt_pack(tmp_path / "a.yaml")
    claude_pack(tmp_path / "b.yaml")
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [a.yaml]\n", encoding="utf-8")
    write_jsonl(tmp_path / "d.jsonl", [{"text": CHATGPT}, {"text": "I am Claude."}])
    res = invoke(["scan", "d.jsonl", "--format", "json", "-j", "1"], tmp_path, monkeypatch)
    assert sorted(f["rule_id"] for f in json.loads(res.stdout)["findings"]) == ["test.chatgpt"]
    res = invoke(["scan", "d.jsonl", "--rules", "b.yaml", "--format", "json", "-j", "1"], tmp_path, monkeypatch)
    assert sorted(f["rule_id"] for f in json.loads(res.stdout)["findings"]) == ["test.chatgpt", "test.claude"]


def test_cli_no_default_rules_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chatgpt_pack(tmp_path / "a.yaml")
    (tmp_path / "tos-lint.yaml").write_text("rules: [a.yaml]\n", encoding="utf-8")
    write_jsonl(tmp_path / "d.jsonl", [{"text": CHATGPT}])
    res = invoke(["scan", "d.jsonl", "--no-default-rules", "--format", "json", "-j", "1"], tmp_path, monkeypatch)
    doc = json.loads(res.stdout)
    assert [p["path"] for p in doc["packs"]] == [str(tmp_path / "a.yaml")]


# --- init -------------------------------------------------------------------------------

def test_init_writes_a_config_that_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tos_lint.config import Config, load_config

    res = invoke(["init"], tmp_path, monkeypatch)
    assert res.exit_code == 0
    written = tmp_path / "tos-lint.yaml"
    text = written.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#")
    config = load_config(written)
    defaults = Config(path=str(written))
    assert config == defaults  # the starter file is all defaults

    again = invoke(["init"], tmp_path, monkeypatch)
    assert again.exit_code == 2
    assert written.read_text(encoding="utf-8") == text
    written.write_text("fail-on: never\n", encoding="utf-8")
    forced = invoke(["init", "--force"], tmp_path, monkeypatch)
    assert forced.exit_code == 0
    assert written.read_text(encoding="utf-8") == text


def test_init_config_is_picked_up_by_scan(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke(["init"], project, monkeypatch).exit_code == 0
    res = invoke(scan_args(project), project, monkeypatch)
    assert res.exit_code == 1
    assert json.loads(res.stdout)["manifest"]["options"]["path"] == str(project / "tos-lint.yaml")
