"""The command line: exit codes, output formats, report files, sub-commands."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tos_lint
from tests.helpers import REPO, SAMPLE_DATA, assert_no_traceback, rule, run_cli, write_jsonl, write_pack

SEVERITIES = {"info", "low", "medium", "high", "critical"}


@pytest.fixture()
def severity_pack(tmp_path: Path) -> Path:
    """A high rule ("I am ChatGPT") and a low rule ("OpenAI")."""
    return write_pack(tmp_path / "sev.yaml", [
        rule("test.high", [{"phrase": "I am ChatGPT"}], severity="high"),
        rule("test.low", [{"phrase": "OpenAI"}], severity="low",
             examples={"match": ["OpenAI makes models."], "no_match": ["Open the door."]}),
    ])


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "data.jsonl", [
        {"messages": [{"role": "user", "content": "Who are you?"},
                      {"role": "assistant", "content": "I am ChatGPT, made by OpenAI."}]},
        {"text": "A clean line about cooking rice."},
        {"text": "An article that mentions OpenAI once."},
    ])


def scan_cli(tmp_path: Path, pack: Path, *args: str, input: bytes | None = None) -> Any:
    return run_cli(["scan", *args, "--no-default-rules", "--rules", str(pack)], cwd=tmp_path, input=input)


# --- exit codes -----------------------------------------------------------------------

def test_exit_1_on_high_finding_by_default(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    proc = scan_cli(tmp_path, severity_pack, str(data))
    assert_no_traceback(proc)
    assert proc.returncode == 1
    assert "test.high" in proc.stdout


def test_exit_0_when_clean(tmp_path: Path, severity_pack: Path) -> None:
    clean = write_jsonl(tmp_path / "clean.jsonl", [{"text": "Nothing to see."}, {"text": "Still nothing."}])
    proc = scan_cli(tmp_path, severity_pack, str(clean))
    assert_no_traceback(proc)
    assert proc.returncode == 0


def test_fail_on_never_exits_0_despite_findings(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    proc = scan_cli(tmp_path, severity_pack, str(data), "--fail-on", "never", "--format", "json")
    assert proc.returncode == 0
    assert len(json.loads(proc.stdout)["findings"]) >= 2


def test_fail_on_threshold(tmp_path: Path, severity_pack: Path) -> None:
    low_only = write_jsonl(tmp_path / "low.jsonl", [{"text": "An article that mentions OpenAI once."}])
    assert scan_cli(tmp_path, severity_pack, str(low_only), "--fail-on", "high").returncode == 0
    assert scan_cli(tmp_path, severity_pack, str(low_only), "--fail-on", "medium").returncode == 0
    assert scan_cli(tmp_path, severity_pack, str(low_only), "--fail-on", "low").returncode == 1
    assert scan_cli(tmp_path, severity_pack, str(low_only), "--fail-on", "info").returncode == 1


@pytest.mark.parametrize("args", [
    pytest.param(["--format", "xml"], id="bad-format"),
    pytest.param(["--fail-on", "sometimes"], id="bad-fail-on"),
    pytest.param(["--input-format", "parquet-ish"], id="bad-input-format"),
])
def test_usage_errors_exit_2(tmp_path: Path, severity_pack: Path, data: Path, args: list[str]) -> None:
    proc = scan_cli(tmp_path, severity_pack, str(data), *args)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert proc.stderr.strip()


def test_unknown_option_exits_2(tmp_path: Path, data: Path) -> None:
    proc = run_cli(["scan", str(data), "--no-such-option"], cwd=tmp_path)
    assert proc.returncode == 2


def test_version(tmp_path: Path) -> None:
    proc = run_cli(["--version"], cwd=tmp_path)
    assert proc.returncode == 0
    assert tos_lint.__version__ in proc.stdout


# --- formats --------------------------------------------------------------------------

def _check_finding_schema(f: dict[str, Any]) -> None:
    for key in ("rule_id", "provider", "severity", "confidence", "message", "location"):
        assert key in f, key
    assert isinstance(f["rule_id"], str) and f["rule_id"]
    assert isinstance(f["provider"], str) and f["provider"]
    assert f["severity"] in SEVERITIES
    assert isinstance(f["confidence"], (int, float)) and 0 <= f["confidence"] <= 1
    assert isinstance(f["message"], str) and f["message"]
    loc = f["location"]
    for key in ("path", "line", "index", "pointer"):
        assert key in loc, key
    assert isinstance(loc["path"], str) and loc["path"]
    assert loc["line"] is None or loc["index"] is None  # a line in JSONL, an index in an array
    for key in ("line", "index"):
        assert loc[key] is None or (isinstance(loc[key], int) and loc[key] >= 0)
    assert isinstance(loc["pointer"], str)


def test_json_format_schema(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    proc = scan_cli(tmp_path, severity_pack, str(data), "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert isinstance(doc["findings"], list)
    for f in doc["findings"]:
        _check_finding_schema(f)
    got = sorted((f["rule_id"], f["location"]["line"], f["location"]["pointer"]) for f in doc["findings"])
    assert got == [
        ("test.high", 1, "/messages/1/content"),
        ("test.low", 1, "/messages/1/content"),
        ("test.low", 3, "/text"),
    ]
    assert all(f["location"]["path"] == str(data) for f in doc["findings"])
    assert all(f["provider"] == "openai" for f in doc["findings"])


def test_json_format_array_file_uses_index(tmp_path: Path, severity_pack: Path) -> None:
    path = tmp_path / "arr.json"
    path.write_text(json.dumps([{"text": "clean"}, {"text": "I am ChatGPT."}]))
    doc = json.loads(scan_cli(tmp_path, severity_pack, str(path), "--format", "json").stdout)
    [f] = doc["findings"]
    _check_finding_schema(f)
    assert f["location"]["index"] == 1
    assert f["location"]["line"] is None


def test_jsonl_format(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    proc = scan_cli(tmp_path, severity_pack, str(data), "--format", "jsonl")
    assert proc.returncode == 1
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 3
    for row in rows:
        _check_finding_schema(row)
    as_json = json.loads(scan_cli(tmp_path, severity_pack, str(data), "--format", "json").stdout)
    assert sorted(r["fingerprint"] for r in rows) == sorted(f["fingerprint"] for f in as_json["findings"])


def test_console_format_shows_location_rule_and_provider(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    proc = scan_cli(tmp_path, severity_pack, str(data))
    assert proc.returncode == 1
    assert "data.jsonl" in proc.stdout
    assert "test.high" in proc.stdout and "openai" in proc.stdout
    assert "legal advice" in proc.stdout.lower()


def test_output_file(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    out = tmp_path / "reports" / "report.json"
    proc = scan_cli(tmp_path, severity_pack, str(data), "--format", "json", "--output", str(out))
    assert proc.returncode == 1
    assert out.exists()
    doc = json.loads(out.read_text())
    assert len(doc["findings"]) == 3
    assert '"findings"' not in proc.stdout


def test_output_refuses_to_overwrite_an_input(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    before = data.read_bytes()
    proc = scan_cli(tmp_path, severity_pack, str(data), "--format", "json", "--output", str(data))
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert data.read_bytes() == before


def test_output_refuses_to_overwrite_an_input_given_by_another_spelling(tmp_path: Path, severity_pack: Path, data: Path) -> None:
    before = data.read_bytes()
    other = tmp_path / "." / "sub" / ".." / data.name
    (tmp_path / "sub").mkdir()
    proc = scan_cli(tmp_path, severity_pack, data.name, "--format", "json", "--output", str(other))
    assert proc.returncode == 2
    assert data.read_bytes() == before


# --- sub-commands -------------------------------------------------------------------

def test_providers(tmp_path: Path) -> None:
    proc = run_cli(["providers"], cwd=tmp_path)
    assert proc.returncode == 0
    assert_no_traceback(proc)
    for provider in ("openai", "anthropic", "google"):
        assert provider in proc.stdout


def test_providers_json(tmp_path: Path) -> None:
    proc = run_cli(["providers", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    by_id = {p["id"]: p for p in doc["providers"]}
    assert "openai" in by_id
    assert by_id["openai"]["classification"] in ("forbids-competing", "conditional", "permissive", "unverified")
    terms = by_id["openai"]["terms"]
    assert terms and all(t["url"].startswith("http") for t in terms)
    assert "legal advice" in doc["disclaimer"].lower()


def test_rules_list_on_a_pack(tmp_path: Path, severity_pack: Path) -> None:
    proc = run_cli(["rules", "list", str(severity_pack)], cwd=tmp_path)
    assert proc.returncode == 0
    assert "test.high" in proc.stdout and "test.low" in proc.stdout


def test_rules_list_shows_messages_as_written_not_as_markup(tmp_path: Path) -> None:
    message = "[INST] ... [/INST] and [bold]not bold[/bold]"
    pack = write_pack(tmp_path / "marks.yaml", [rule("test.marks", [{"phrase": "I am ChatGPT"}], message=message)])
    proc = run_cli(["rules", "list", str(pack)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert message in proc.stdout


def test_rules_list_of_the_built_in_packs(tmp_path: Path) -> None:
    proc = run_cli(["rules", "list"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "[/INST]" in proc.stdout  # in a built-in template rule's message


def test_rules_test_passing_pack(tmp_path: Path, severity_pack: Path) -> None:
    proc = run_cli(["rules", "test", str(severity_pack)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout
    assert "0 failed" in proc.stdout


def test_rules_test_failing_pack(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "wrong.yaml", [
        rule("test.wrong", [{"phrase": "I am ChatGPT"}],
             examples={"match": ["I am Claude."], "no_match": ["I am ChatGPT."]}),
        rule("test.right", [{"phrase": "OpenAI"}],
             examples={"match": ["By OpenAI."], "no_match": ["Open AIr."]}),
    ])
    proc = run_cli(["rules", "test", str(pack)], cwd=tmp_path)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert "test.wrong:match[0]" in proc.stdout
    assert "test.wrong:no_match[0]" in proc.stdout
    assert "test.right" not in proc.stdout.replace("2 passed", "")
    assert "2 passed" in proc.stdout and "2 failed" in proc.stdout


def test_rules_test_object_examples(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "obj.yaml", [
        rule("test.field", [{"field": {"key": "generator", "prefix": "gpt-"}}],
             examples={"match": [{"instruction": "x", "output": "y", "generator": "gpt-4o"}],
                       "no_match": [{"instruction": "x", "output": "y", "generator": "llama-3"}]}),
        rule("test.assistant-only", [{"phrase": "I am ChatGPT"}], roles=["assistant"],
             examples={"match": [{"messages": [{"role": "assistant", "content": "I am ChatGPT."}]}],
                       "no_match": [{"messages": [{"role": "user", "content": "I am ChatGPT."}]}]}),
    ])
    proc = run_cli(["rules", "test", str(pack)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "4 passed" in proc.stdout


# --- the sample corpus ----------------------------------------------------------------

def test_scan_sample_data_console(tmp_path: Path) -> None:
    proc = run_cli(["scan", "sample_data/"], cwd=REPO)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    assert "malformed.jsonl" in proc.stdout


@pytest.fixture(scope="module")
def sample_scan(builtin_ruleset: Any) -> Any:
    """One scan of the whole sample folder, shared by the tests below."""
    return tos_lint.scan([SAMPLE_DATA], ruleset=builtin_ruleset)


def _in(result: Any, name: str) -> list[Any]:
    return [f for f in result.findings if Path(f.location.path).as_posix().endswith(name)]


def test_sample_malformed_lines_are_input_findings(sample_scan: Any) -> None:
    findings = _in(sample_scan, "malformed.jsonl")
    inputs = [f for f in findings if f.rule_id.startswith("tos-lint.input.")]
    bad_lines = sorted(f.location.line for f in inputs if f.severity.label != "info")
    assert bad_lines == [2, 4, 5, 7]
    # line 6 is blank: skipped, or reported at info at most
    assert all(f.location.line == 6 for f in inputs if f.severity.label == "info")
    # reading went on past the bad lines
    line8 = [f for f in findings if f.location.line == 8 and f.provider == "openai"]
    assert line8 and any(f.location.pointer == "/messages/1/content" for f in line8)
    assert not [f for f in findings if f.location.line in (1, 3, 9)]


@pytest.mark.parametrize("name", ["clean/recipes.jsonl", "clean/math_qa.json"])
def test_sample_clean_files_have_no_findings(sample_scan: Any, name: str) -> None:
    per_file = {Path(r.path).as_posix(): r for r in sample_scan.files}
    [stats] = [r.stats for p, r in per_file.items() if p.endswith(name)]
    assert stats.records == 6
    assert [(f.rule_id, f.location.line, f.location.index) for f in _in(sample_scan, name)] == []


def test_sample_hard_negatives_have_nothing_at_medium_or_above(sample_scan: Any) -> None:
    loud = [(f.rule_id, f.location.line) for f in _in(sample_scan, "hard_negatives.jsonl")
            if f.severity.label not in ("info", "low")]
    assert loud == []


def test_sample_data_every_file_is_read(sample_scan: Any) -> None:
    assert sample_scan.stats.files == 14
    assert sample_scan.stats.records == 102
    assert sample_scan.stats.malformed == 4
    assert not [f for f in sample_scan.findings if f.rule_id.startswith("tos-lint.input.")
                and not f.location.path.endswith("malformed.jsonl")]
