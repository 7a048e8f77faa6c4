"""`tos-lint rules eval`: labels files, per-rule precision, per-file figures,
dataset-level attribution from rule evidence."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from tests.helpers import REPO, rule, write_jsonl, write_pack
from tos_lint.attribution_evidence import (
    ATTRIBUTED, CONFLICTING, NONE, UNKNOWN, attribute_findings, attribute_scan,
)
from tos_lint.errors import UsageError
from tos_lint.evaluate import RIGHT, RIGHT_WEAK, evaluate, load_labels, worst_rules
from tos_lint.model import Finding, Location, Severity


# --- a user's pack, data and labels ---------------------------------------------------

def _chat(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "Tell me about yourself."},
                         {"role": "assistant", "content": text}]}


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "pack.yaml", [
        rule("test.chatgpt", [{"phrase": "I am ChatGPT"}], provider="openai", severity="high",
             confidence=0.9, evidence="self-id"),
        rule("test.claude", [{"phrase": "I am Claude"}], provider="anthropic", severity="high",
             confidence=0.9, evidence="self-id",
             examples={"match": ["I am Claude."], "no_match": ["Hello."]}),
        rule("test.mention", [{"phrase": "OpenAI"}], provider="openai", severity="low",
             confidence=0.3, evidence="mention",
             examples={"match": ["OpenAI makes models."], "no_match": ["Open the door."]}),
        rule("test.boilerplate", [{"phrase": "As an AI language model"}], provider="unknown",
             severity="medium", confidence=0.5, evidence="boilerplate",
             examples={"match": ["As an AI language model, I can't."], "no_match": ["Hello."]}),
        rule("test.never", [{"phrase": "zyzzyva quux"}], provider="google", severity="high",
             examples={"match": ["zyzzyva quux"], "no_match": ["Hello."]}),
    ], name="test-eval")


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    """Data in tmp_path and a labels file next to it; returns the labels file."""
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "openai.jsonl", [
        _chat("I am ChatGPT, made by OpenAI."),        # chatgpt + mention
        _chat("I am ChatGPT."),                        # chatgpt
        _chat("As an AI language model, I cannot."),   # generic boilerplate
        _chat("Here is a recipe for bread."),
    ])
    write_jsonl(data / "anthropic.jsonl", [
        _chat("I am Claude."),
        _chat("I am ChatGPT, or so I was told."),      # another provider's rule
        {"messages": [{"role": "assistant", "content": "I am Claude."}, {"role": "user", "content": "Sure?"},
                      {"role": "assistant", "content": "Yes, I am Claude."}]},  # two findings, one record
    ])
    human = tmp_path / "human"
    human.mkdir()
    write_jsonl(human / "people.jsonl", [
        {"text": "As an AI language model enthusiast, I wrote this myself."},  # medium
        {"text": "OpenAI released a model last year."},                      # low only
        {"text": "My grandmother's soup."}, {"text": "A walk in the park."}, {"text": "Tax forms."},
    ])
    (human / "table.parquet").write_bytes(b"not really parquet")  # unreadable: reported, not scanned
    negatives = tmp_path / "negatives"
    negatives.mkdir()
    (negatives / "identity.json").write_text(json.dumps([
        _chat("Am I ChatGPT? No. I am ChatGPT-free."), _chat("I am a helpful assistant."),
    ]), encoding="utf-8")
    misc = tmp_path / "misc" / "deep"
    misc.mkdir(parents=True)
    write_jsonl(misc / "other.jsonl", [_chat("I am ChatGPT.")])
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        "version: 1\n"
        "labels:\n"
        "  data/*.jsonl: unlabelled            # overridden below: the last key wins\n"
        "  data/openai.jsonl: {provider: openai}\n"
        "  data/anthropic.jsonl: {provider: anthropic, note: our Claude logs}\n"
        "  human/: human\n"
        "  negatives/*.json: hard-negative\n"
        "  misc/**/*.jsonl: {label: unlabelled, note: unknown origin}\n",
        encoding="utf-8",
    )
    return labels


def _rules(evaluation: Any) -> dict[str, Any]:
    return {r.rule_id: r for r in evaluation.rules}


def _files(evaluation: Any) -> dict[str, Any]:
    return {f.path: f for f in evaluation.files}


def test_labels_expand_globs_folders_and_last_key_wins(labelled: Path) -> None:
    labels = load_labels(labelled, providers={"openai", "anthropic", "google", "unknown"})
    got = {f.shown: f.label.display() for f in labels.files}
    assert got == {
        "data/anthropic.jsonl": "provider: anthropic",
        "data/openai.jsonl": "provider: openai",
        "human/people.jsonl": "human",
        "human/table.parquet": "human",
        "misc/deep/other.jsonl": "unlabelled",
        "negatives/identity.json": "hard-negative",
    }
    assert next(f for f in labels.files if f.shown == "data/anthropic.jsonl").label.note == "our Claude logs"


def test_precision_and_hits_per_rule(labelled: Path, pack: Path) -> None:
    ev = evaluate(labelled, rules=[pack], use_default_rules=False)
    rules = _rules(ev)

    chatgpt = rules["test.chatgpt"]
    assert (chatgpt.right_provider, chatgpt.other_provider, chatgpt.human, chatgpt.hard_negative, chatgpt.unlabelled) == (2, 1, 0, 1, 1)
    assert dict(chatgpt.other_by_provider) == {"anthropic": 1}
    assert chatgpt.precision == pytest.approx(2 / 4)  # unlabelled data is left out

    claude = rules["test.claude"]
    assert (claude.right_provider, claude.findings) == (2, 3)  # records, not findings
    assert claude.precision == 1.0

    mention = rules["test.mention"]
    assert (mention.right_provider, mention.human) == (1, 1)
    assert mention.precision == pytest.approx(0.5)

    # A provider-`unknown` rule is right on any provider's data, wrong on human data.
    boiler = rules["test.boilerplate"]
    assert (boiler.right_provider, boiler.other_provider, boiler.human) == (1, 0, 1)
    assert boiler.precision == pytest.approx(0.5)

    never = rules["test.never"]
    assert never.hits == 0 and never.precision is None
    # Worst rules: those with human / hard-negative hits first.
    assert [r.rule_id for r in worst_rules(ev)][:1] == ["test.chatgpt"]


def test_per_file_and_overall_figures(labelled: Path, pack: Path) -> None:
    ev = evaluate(labelled, rules=[pack], use_default_rules=False)
    files = _files(ev)

    openai = files["data/openai.jsonl"]
    assert (openai.records, openai.flagged) == (4, 3)
    assert (openai.flagged_at(Severity.MEDIUM), openai.flagged_at(Severity.HIGH)) == (3, 2)
    assert openai.top_rules[0] == ("test.chatgpt", 2)
    assert openai.right_provider_records == 2
    assert openai.attribution.primary == "openai" and openai.attribution.status == ATTRIBUTED
    assert openai.verdict == RIGHT

    anthropic = files["data/anthropic.jsonl"]
    assert anthropic.attribution.status == CONFLICTING
    assert anthropic.attribution.primary == "anthropic"
    assert "anthropic (strong: 2 records), openai (strong: 1 record) — conflicting" == anthropic.attribution.summary()
    # support(2 strong at 0.9) x share(1.8 / 2.7): below the confident threshold
    assert anthropic.attribution.confidence == pytest.approx(0.99 * 0.75 * (1.8 / 2.7))
    assert anthropic.verdict == RIGHT_WEAK

    unreadable = files["human/table.parquet"]
    assert unreadable.records == 0 and not unreadable.scanned and unreadable.input_issues

    o = ev.overall
    assert (o.human_records, o.human_flagged) == (5, 1)  # the low-only record is not flagged at >= medium
    assert o.human_share == pytest.approx(0.2)
    assert (o.hard_negative_records, o.hard_negative_flagged) == (2, 1)
    assert o.expected_files == 2 and o.expected_right == 1
    assert any("table.parquet" in p for p in o.not_scanned)
    goals = {g.name: g.met for g in ev.goals()}
    assert goals == {
        "human records flagged at >= medium": False,
        "hard-negative records flagged at >= medium": False,
        "provider files with fingerprints confidently attributed to their provider": False,
        "provider files confidently attributed to another provider": True,
    }
    doc = ev.to_dict()
    json.dumps(doc)  # serialisable
    assert doc["overall"]["human"] == {"records": 5, "flagged": 1, "share": 0.2}


def test_ignore_and_text_only_drop_rules(labelled: Path, pack: Path, tmp_path: Path) -> None:
    field_pack = write_pack(tmp_path / "fields.yaml", [
        rule("test.field", [{"field": {"key": "generator", "equals": "gpt-4"}}], provider="openai",
             evidence="api-artifact",
             examples={"match": [{"generator": "gpt-4", "text": "x"}], "no_match": [{"text": "x"}]}),
    ], name="test-fields")
    ev = evaluate(labelled, rules=[pack, field_pack], use_default_rules=False, ignore=("test.mention",), text_only=True)
    ids = {r.rule_id for r in ev.rules}
    assert "test.mention" not in ids and "test.field" not in ids and "test.chatgpt" in ids
    assert ev.text_only


# --- bad labels files -------------------------------------------------------------------

@pytest.mark.parametrize("body, key, message", [
    ("labels:\n  data/openai.jsonl: {provider: nosuch}\n", "data/openai.jsonl.provider", "unknown provider 'nosuch'"),
    ("labels:\n  data/openai.jsonl: humen\n", "data/openai.jsonl", "unknown label 'humen'"),
    ("labels:\n  data/openai.jsonl: {provider: unknown}\n", "data/openai.jsonl.provider", "use 'unlabelled'"),
    ("labels:\n  data/openai.jsonl: {provider: openai, colour: red}\n", "data/openai.jsonl.colour", "unknown key"),
    ("labels:\n  data/openai.jsonl: {provider: openai, label: human}\n", "data/openai.jsonl", "exactly one of"),
    ("labels:\n  data/openai.jsonl: {label: human, fingerprints: false}\n", "data/openai.jsonl.fingerprints", "only applies"),
    ("labels:\n  nothing/*.jsonl: human\n", "nothing/*.jsonl", "matches no file"),
    ("labels:\n  data/missing.jsonl: human\n", "data/missing.jsonl", "matches no file"),
    ("labels:\n  data/openai.jsonl: human\nextra: 1\n", "extra", "unknown key"),
    ("version: 2\nlabels:\n  data/openai.jsonl: human\n", "version", "must be 1"),
    ("root: no-such-folder\nlabels:\n  data/openai.jsonl: human\n", "root", "not a folder"),
    ("labels: []\n", "labels", "non-empty mapping"),
])
def test_bad_labels_file_names_file_and_key(labelled: Path, body: str, key: str, message: str) -> None:
    bad = labelled.parent / "bad.yaml"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        load_labels(bad)
    text = str(info.value)
    assert str(bad) in text
    assert f"key {key!r}" in text
    assert message in text


@pytest.mark.parametrize("body, message", [
    ("labls:\n  a: human\n", "must be a mapping with a 'labels' mapping"),
    ("labels:\n  a: human\n  a: human\n", "duplicate key"),
    ("labels: [unclosed\n", "invalid YAML"),
])
def test_bad_labels_file_structure(tmp_path: Path, body: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError, match="bad.yaml"):
        load_labels(bad)
    with pytest.raises(UsageError) as info:
        load_labels(bad)
    assert message in str(info.value)


def test_missing_labels_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read labels file"):
        load_labels(tmp_path / "nope.yaml")


# --- attribution from rule evidence -------------------------------------------------------

def _finding(provider: str, evidence: str, index: int, *, path: str = "d.jsonl", confidence: float = 0.9,
             rule_id: str | None = None, severity: Severity = Severity.HIGH) -> Finding:
    rid = rule_id or f"{provider}.{evidence}"
    return Finding(rule_id=rid, provider=provider, severity=severity, confidence=confidence, evidence=evidence,
                   message="m", location=Location(path, index + 1, None, "/text", f"r{index}"))


def test_strong_evidence_outweighs_weak_and_conflict_is_shown() -> None:
    findings = [_finding("openai", "self-id", i) for i in range(40)]
    findings += [_finding("openai", "mention", i, confidence=0.3) for i in range(5)]  # same records: still strong
    findings += [_finding("anthropic", "mention", 100 + i, confidence=0.3) for i in range(2)]
    [att] = attribute_findings(findings, {"d.jsonl": 500})
    assert att.summary() == "openai (strong: 40 records), anthropic (weak: 2 records) — conflicting"
    assert att.status == CONFLICTING and att.conflicting
    assert att.primary == "openai"
    openai, anthropic = att.providers
    assert openai.confidence > 0.9 and att.confident
    assert anthropic.confidence < 0.05
    assert openai.share_of_records == pytest.approx(40 / 500)
    d = att.to_dict()
    assert d["providers"][0]["strong_records"] == 40 and d["providers"][1]["strength"] == "weak"
    json.dumps(d)


def test_weak_evidence_alone_is_never_confident() -> None:
    weak_only = [_finding("openai", "mention", i, confidence=0.5) for i in range(300)]
    [att] = attribute_findings(weak_only, {"d.jsonl": 300})
    assert att.status == ATTRIBUTED and att.primary == "openai"
    assert att.confidence <= 0.4 and not att.confident
    assert att.summary() == "openai (weak: 300 records)"


def test_one_strong_record_is_an_anecdote_two_are_a_pattern() -> None:
    [one] = attribute_findings([_finding("openai", "self-id", 0)], {"d.jsonl": 800})
    [two] = attribute_findings([_finding("openai", "self-id", 0), _finding("openai", "api-artifact", 1)], {"d.jsonl": 800})
    assert not one.confident and one.confidence == pytest.approx(0.45)
    assert two.confident


def test_generic_boilerplate_is_unknown_never_guessed() -> None:
    findings = [_finding("unknown", "boilerplate", i, confidence=0.6) for i in range(50)]
    [att] = attribute_findings(findings, {"d.jsonl": 100})
    assert att.status == UNKNOWN
    assert att.primary is None and att.confidence == 0.0
    assert att.summary() == "unknown (generic: 50 records) — provider not determined"
    # With a named provider too, `unknown` is listed but never the primary.
    findings.append(_finding("openai", "self-id", 999))
    [att] = attribute_findings(findings, {"d.jsonl": 100})
    assert att.primary == "openai" and att.status == ATTRIBUTED
    assert att.summary() == "openai (strong: 1 record), unknown (generic: 50 records)"


def test_input_findings_are_not_evidence_and_files_without_findings_are_listed() -> None:
    issue = Finding(rule_id="tos-lint.input.malformed-json", provider="none", severity=Severity.MEDIUM,
                    confidence=1.0, evidence="input", message="bad line", location=Location("a.jsonl", 3, None, "", ""))
    result = attribute_scan([issue, _finding("google", "self-id", 0, path="b.jsonl")], {"a.jsonl": 10, "b.jsonl": 5})
    a, b = result.files
    assert (a.path, a.status, a.summary()) == ("a.jsonl", NONE, "no provider evidence")
    assert b.primary == "google"
    assert result.overall.records == 15 and result.overall.primary == "google"
    assert result.to_dict()["overall"]["path"] == "(all files)"


# --- command line ---------------------------------------------------------------------------

def _app() -> typer.Typer:
    from tos_lint.cli_eval import rules_eval

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    rules_app = typer.Typer()
    app.add_typer(rules_app, name="rules")
    rules_app.command("eval")(rules_eval)
    return app


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(_app(), ["rules", "eval", *args], env={"COLUMNS": "250"})


def test_cli_console_json_and_markdown(labelled: Path, pack: Path, tmp_path: Path) -> None:
    base = ["--labels", str(labelled), "--no-default-rules", "--rules", str(pack)]
    res = _invoke(*base)
    assert res.exit_code == 0, res.output
    for text in ("test.chatgpt", "data/openai.jsonl", "human records flagged at >= medium", "conflicting", "not scanned"):
        assert text in res.stdout

    res = _invoke(*base, "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    rules = {r["rule_id"]: r for r in doc["rules"]}
    assert rules["test.chatgpt"]["precision"] == 0.5
    assert rules["test.chatgpt"]["records"]["other_provider_by_label"] == {"anthropic": 1}
    assert doc["overall"]["hard_negative"] == {"records": 2, "flagged": 1}
    files = {f["path"]: f for f in doc["files"]}
    assert files["data/anthropic.jsonl"]["attribution"]["status"] == "conflicting"
    assert files["data/openai.jsonl"]["verdict"] == "right"

    out = tmp_path / "report" / "eval.md"
    res = _invoke(*base, "--format", "markdown", "--output", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "| `test.chatgpt` | openai | high | self-id | 2 | 1 (anthropic 1) | 0 | 1 | 1 | 0.50 |" in text

    res = _invoke(*base, "--check")
    assert res.exit_code == 1  # goals not met on this data


def test_cli_errors_exit_2_and_name_the_key(labelled: Path, pack: Path) -> None:
    bad = labelled.parent / "bad.yaml"
    bad.write_text("labels:\n  data/openai.jsonl: {provider: nosuch}\n", encoding="utf-8")
    res = _invoke("--labels", str(bad), "--no-default-rules", "--rules", str(pack))
    assert res.exit_code == 2
    assert "key 'data/openai.jsonl.provider'" in res.stderr and "Traceback" not in res.output
    res = _invoke("--labels", str(labelled), "--format", "sarif")
    assert res.exit_code == 2 and "--format" in res.stderr
    res = _invoke("--labels", str(labelled), "--no-default-rules")
    assert res.exit_code == 2 and "no rules" in res.stderr


@pytest.mark.parametrize("target", ["labels", "pack", "data"])
def test_cli_output_never_replaces_a_file_the_run_reads(labelled: Path, pack: Path, target: str) -> None:
    path = {"labels": labelled, "pack": pack, "data": labelled.parent / "data" / "openai.jsonl"}[target]
    before = path.read_bytes()
    res = _invoke("--labels", str(labelled), "--no-default-rules", "--rules", str(pack), "--output", str(path))
    assert res.exit_code == 2, res.output
    assert "refusing to overwrite" in res.stderr and str(path) in res.stderr
    assert path.read_bytes() == before


def test_eval_with_builtin_packs_on_sample_data(tmp_path: Path, builtin_ruleset: Any) -> None:
    """The built-in packs and a labels file pointing into the repository's own sample data."""
    labels = tmp_path / "labels.yaml"
    labels.write_text(yaml.safe_dump({
        "root": str(REPO / "sample_data"),
        "labels": {"clean/": "human", "hard_negatives.jsonl": "hard-negative", "openai_messages.jsonl": {"provider": "openai"}},
    }), encoding="utf-8")
    ev = evaluate(labels, ruleset=builtin_ruleset)
    files = _files(ev)
    assert files["openai_messages.jsonl"].attribution.primary == "openai"
    assert ev.overall.human_records > 0


# --- the corpora benchmark ---------------------------------------------------------------------

def test_rule_accuracy_skips_cleanly_without_corpora(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import load_script

    module = load_script("benchmarks/rule_accuracy.py")
    out = tmp_path / "doc.md"
    assert module.main(["--corpora", str(tmp_path / "absent"), "--output", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert not out.exists()


def test_corpora_labels_file_is_valid_against_the_registry() -> None:
    """The benchmark's labels file validates (its keys are checked against the
    corpora only where they exist)."""
    from tos_lint.registry import load_registry

    doc = yaml.safe_load((REPO / "benchmarks" / "corpora-labels.yaml").read_text(encoding="utf-8"))
    providers = set(load_registry().providers)
    for key, value in doc["labels"].items():
        if isinstance(value, dict) and "provider" in value:
            assert value["provider"] in providers, key
        elif isinstance(value, dict):
            assert value["label"] in ("human", "hard-negative", "unlabelled"), key
        else:
            assert value in ("human", "hard-negative", "unlabelled"), key
