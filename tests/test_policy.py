"""Policy: statuses, provider stances, select / ignore, severity overrides, fail-on."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import builtin_findings, invoke, rule, write_jsonl, write_pack
from tos_lint.model import Finding, Location, Severity
from tos_lint.policy import Policy, Suppression, decide, rule_matches


def ex(text: str) -> dict[str, list[str]]:
    return {"match": [text], "no_match": ["Nothing here."]}


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "pack.yaml", [
        rule("openai.self-id.x", [{"phrase": "I am ChatGPT"}], severity="high"),
        rule("openai.mention.y", [{"phrase": "OpenAI"}], severity="low", examples=ex("OpenAI")),
        rule("openaix.z", [{"phrase": "Zorblax"}], severity="high", examples=ex("Zorblax")),
        rule("deepseek.self-id.t", [{"phrase": "I am DeepSeek"}], provider="deepseek", severity="high",
             examples=ex("I am DeepSeek")),
    ])


RECORDS = [
    {"text": "I am ChatGPT, trained by OpenAI."},  # openai.self-id.x (high) + openai.mention.y (low)
    {"text": "I am DeepSeek."},                     # deepseek.self-id.t (high), provider deepseek
    {"text": "Zorblax."},                           # openaix.z (high), provider openai
    {"text": "A clean record."},
]


def scan(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, records: list[dict[str, Any]] | None = None,
         *extra: Any) -> tuple[int, dict[str, Any]]:
    write_jsonl(tmp_path / "data.jsonl", RECORDS if records is None else records)
    res = invoke(["scan", "data.jsonl", "--no-default-rules", "--rules", pack, "--format", "json", "-j", "1", *extra],
                 tmp_path, monkeypatch)
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {f["rule_id"]: f["status"] for f in doc["findings"]}


def config(tmp_path: Path, text: str) -> None:
    (tmp_path / "tos-lint.yaml").write_text(text, encoding="utf-8")


# --- stances ---------------------------------------------------------------------------

def test_default_statuses(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, doc = scan(tmp_path, pack, monkeypatch)
    assert code == 1
    assert statuses(doc) == {
        "openai.self-id.x": "fail", "openai.mention.y": "pass", "openaix.z": "fail", "deepseek.self-id.t": "review",
    }
    counts = doc["verdict"]["statuses"]
    assert (counts["fail"], counts["pass"], counts["review"]) == (2, 1, 1)
    assert doc["verdict"]["failing"] == 2 and doc["verdict"]["exit_code"] == 1


def test_deepseek_is_permissive_so_review_and_exit_0(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tos_lint.registry import load_registry

    assert load_registry().providers["deepseek"].classification == "permissive"
    code, doc = scan(tmp_path, pack, monkeypatch, [{"text": "I am DeepSeek."}] * 3)
    assert code == 0
    assert [f["status"] for f in doc["findings"]] == ["review"] * 3
    assert doc["verdict"]["failing"] == 0


def test_deepseek_forbid_in_config_fails(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config(tmp_path, "providers: {deepseek: forbid}\n")
    code, doc = scan(tmp_path, pack, monkeypatch, [{"text": "I am DeepSeek."}])
    assert code == 1
    assert statuses(doc) == {"deepseek.self-id.t": "fail"}


def test_allow_stance_counts_but_does_not_report(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config(tmp_path, "providers: {openai: allow}\n")
    code, doc = scan(tmp_path, pack, monkeypatch)
    assert code == 0
    assert statuses(doc) == {"deepseek.self-id.t": "review"}
    assert doc["verdict"]["statuses"]["allowed"] == 3


def test_review_stance_for_a_forbidding_provider_never_fails(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config(tmp_path, "providers: {openai: review}\nfail-on: info\n")
    code, doc = scan(tmp_path, pack, monkeypatch)
    assert code == 0
    assert set(statuses(doc).values()) == {"review"}


def test_default_stance_follows_registry_classification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One rule per registry provider: `forbids-competing` fails, anything else is review."""
    from tos_lint.registry import load_registry

    providers = load_registry().providers
    rules = [rule(f"p.{pid}", [{"phrase": f"zqx {pid} marker"}], provider=pid, examples=ex(f"zqx {pid} marker"))
             for pid in providers]
    pack = write_pack(tmp_path / "all.yaml", rules)
    code, doc = scan(tmp_path, pack, monkeypatch, [{"text": f"zqx {pid} marker"} for pid in providers])
    expected = {f"p.{pid}": "fail" if p.classification == "forbids-competing" else "review"
                for pid, p in providers.items()}
    assert statuses(doc) == expected
    assert "fail" in expected.values() and "review" in expected.values()
    assert code == 1


# --- select / ignore -------------------------------------------------------------------

@pytest.mark.parametrize(("args", "kept"), [
    (["--select", "openai"], {"openai.self-id.x", "openai.mention.y"}),
    (["--select", "openai."], {"openai.self-id.x", "openai.mention.y"}),
    (["--select", "openai.self-id"], {"openai.self-id.x"}),
    (["--select", "openai.self-id.x", "--select", "deepseek"], {"openai.self-id.x", "deepseek.self-id.t"}),
    (["--ignore", "openai"], {"openaix.z", "deepseek.self-id.t"}),
    (["--ignore", "openai.mention"], {"openai.self-id.x", "openaix.z", "deepseek.self-id.t"}),
    (["--ignore", "openai.men"], {"openai.self-id.x", "openai.mention.y", "openaix.z", "deepseek.self-id.t"}),
    (["--select", "openai", "--ignore", "openai.self-id.x"], {"openai.mention.y"}),
])
def test_select_and_ignore_by_whole_dotted_parts(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch,
                                                  args: list[str], kept: set[str]) -> None:
    code, doc = scan(tmp_path, pack, monkeypatch, None, *args)
    assert set(statuses(doc)) == kept
    assert doc["verdict"]["statuses"]["ignored"] == 4 - len(kept)
    assert code == (1 if kept & {"openai.self-id.x", "openaix.z"} else 0)


@pytest.mark.parametrize(("value", "hint"), [
    ("open", "did you mean 'openai'?"), ("openai.self", "did you mean 'openai.self-id'?"),
    ("opnai", "did you mean 'openai'?"), ("", "an empty value"),
])
def test_select_that_matches_no_rule_exits_2_naming_it(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch,
                                                       value: str, hint: str) -> None:
    """A typo would otherwise turn every rule off and pass the gate."""
    (tmp_path / "data.jsonl").write_text('{"text": "I am ChatGPT."}\n', encoding="utf-8")
    res = invoke(["scan", "data.jsonl", "--no-default-rules", "--rules", pack, "--select", "openai", "--select", value],
                 tmp_path, monkeypatch)
    assert res.exit_code == 2, res.output
    assert f"select: {value!r}" in res.stderr and "matches no rule id" in res.stderr and hint in res.stderr


def test_ignore_that_matches_no_rule_is_a_warning(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data.jsonl").write_text('{"text": "I am ChatGPT."}\n', encoding="utf-8")
    res = invoke(["scan", "data.jsonl", "--no-default-rules", "--rules", pack, "--ignore", "openai.self-id.y",
                  "--ignore", "tos-lint.input"], tmp_path, monkeypatch)
    assert res.exit_code == 1
    assert res.stderr.splitlines() == ["tos-lint: warning: --ignore / ignore: 'openai.self-id.y' matches no rule id "
                                       "(did you mean 'openai.self-id.x'?); it ignores nothing"]


def test_no_rules_at_all_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate would check nothing and pass."""
    (tmp_path / "data.jsonl").write_text('{"text": "I am ChatGPT."}\n', encoding="utf-8")
    for args in (["--no-default-rules"], []):
        if not args:
            config(tmp_path, "default-rules: false\n")
        res = invoke(["scan", "data.jsonl", *args], tmp_path, monkeypatch)
        assert res.exit_code == 2 and "no rules to run" in res.stderr, res.output


def test_select_in_config_file(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config(tmp_path, "select: [deepseek]\nignore: []\n")
    code, doc = scan(tmp_path, pack, monkeypatch)
    assert code == 0
    assert set(statuses(doc)) == {"deepseek.self-id.t"}


def test_input_findings_survive_select_but_can_be_ignored(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data.jsonl").write_text('{"text": "I am ChatGPT."}\n{not json\n', encoding="utf-8")
    args = ["scan", "data.jsonl", "--no-default-rules", "--rules", pack, "--format", "json", "-j", "1", "--select", "deepseek"]
    doc = json.loads(invoke(args, tmp_path, monkeypatch).stdout)
    assert [(f["rule_id"], f["location"]["line"]) for f in doc["findings"]] == [("tos-lint.input.malformed-json", 2)]
    for selector in ("tos-lint.input", "tos-lint.input.malformed-json", "tos-lint"):
        doc = json.loads(invoke([*args, "--ignore", selector], tmp_path, monkeypatch).stdout)
        assert doc["findings"] == []
        assert doc["verdict"]["statuses"]["ignored"] == 2


def test_input_findings_follow_fail_on_whatever_the_stances(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data.jsonl").write_text('{"text": "fine"}\n[1, 2]\n', encoding="utf-8")
    config(tmp_path, "providers: {openai: allow, unknown: allow}\n")
    args = ["scan", "data.jsonl", "--no-default-rules", "--rules", pack, "--format", "json", "-j", "1"]
    res = invoke(args, tmp_path, monkeypatch)  # medium < high
    assert res.exit_code == 0
    assert statuses(json.loads(res.stdout)) == {"tos-lint.input.not-an-object": "pass"}
    res = invoke([*args, "--fail-on", "medium"], tmp_path, monkeypatch)
    assert res.exit_code == 1
    assert statuses(json.loads(res.stdout)) == {"tos-lint.input.not-an-object": "fail"}


# --- severity and fail-on --------------------------------------------------------------

def test_severity_override_raises_a_finding_to_failing(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [{"text": "An article about OpenAI."}]
    code, doc = scan(tmp_path, pack, monkeypatch, records)
    assert code == 0 and statuses(doc) == {"openai.mention.y": "pass"}
    config(tmp_path, "severity: {openai.mention: critical}\n")
    code, doc = scan(tmp_path, pack, monkeypatch, records)
    assert code == 1
    assert [(f["rule_id"], f["severity"], f["status"]) for f in doc["findings"]] == [("openai.mention.y", "critical", "fail")]


def test_severity_override_by_prefix_lowers_to_pass(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config(tmp_path, "severity: {openai: info}\n")
    code, doc = scan(tmp_path, pack, monkeypatch, [{"text": "I am ChatGPT."}, {"text": "Zorblax"}])
    assert code == 1  # openaix.z is not under the `openai` prefix
    got = {f["rule_id"]: (f["severity"], f["status"]) for f in doc["findings"]}
    assert got == {"openai.self-id.x": ("info", "pass"), "openaix.z": ("high", "fail")}


def test_severity_override_partial_part_does_not_apply(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config(tmp_path, "severity: {openai.self: info}\n")
    code, doc = scan(tmp_path, pack, monkeypatch, [{"text": "I am ChatGPT."}])
    assert code == 1
    assert doc["findings"][0]["severity"] == "high"


@pytest.mark.parametrize("text", [
    "severity:\n  openai: info\n  openai.self-id.x: critical\n",
    "severity:\n  openai.self-id.x: critical\n  openai: info\n",
])
def test_most_specific_severity_override_wins(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """A prefix sets a default and a full rule id refines it, in whichever
    order the file lists them (as with select / ignore, order is not meaning)."""
    config(tmp_path, text)
    code, doc = scan(tmp_path, pack, monkeypatch, [{"text": "I am ChatGPT, trained by OpenAI."}])
    got = {f["rule_id"]: f["severity"] for f in doc["findings"]}
    assert got == {"openai.self-id.x": "critical", "openai.mention.y": "info"}
    assert code == 1


@pytest.mark.parametrize(("fail_on", "code"), [("info", 1), ("low", 1), ("medium", 0), ("high", 0), ("never", 0)])
def test_fail_on_threshold(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, fail_on: str, code: int) -> None:
    got, doc = scan(tmp_path, pack, monkeypatch, [{"text": "OpenAI"}], "--fail-on", fail_on)
    assert got == code
    assert doc["findings"][0]["status"] == ("fail" if code else "pass")


def test_fail_on_never_with_critical_findings(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config(tmp_path, "severity: {openai: critical}\n")
    code, doc = scan(tmp_path, pack, monkeypatch, None, "--fail-on", "never")
    assert code == 0
    assert doc["verdict"]["statuses"]["fail"] == 0 and doc["verdict"]["statuses"]["pass"] == 3


# --- decide(), unit level ---------------------------------------------------------------

def finding(rule_id: str, provider: str = "openai", severity: Severity = Severity.HIGH, fp: str = "f" * 32,
            path: str = "data/a.jsonl", detail: dict[str, Any] | None = None) -> Finding:
    return Finding(rule_id=rule_id, provider=provider, severity=severity, confidence=0.9, evidence="self-id",
                   message="m", location=Location(path, 1, None, "/text", "r1"), fingerprint=fp, detail=detail or {})


CLASSES = {"openai": "forbids-competing", "deepseek": "permissive"}


@pytest.mark.parametrize(("selector", "rule_id", "expected"), [
    ("openai", "openai.self-id.chatgpt", True),
    ("openai.", "openai.self-id.chatgpt", True),
    ("openai.self-id.chatgpt", "openai.self-id.chatgpt", True),
    ("open", "openai.self-id.chatgpt", False),
    ("openai.self", "openai.self-id.chatgpt", False),
    ("openai.self-id.chatgpt.x", "openai.self-id.chatgpt", False),
    ("openai", "openaix.z", False),
])
def test_rule_matches(selector: str, rule_id: str, expected: bool) -> None:
    assert rule_matches(rule_id, selector) is expected


def test_status_precedence() -> None:
    sup = Suppression(reason="ok", fingerprint="b" * 32)
    policy = Policy(ignore=("x.ignored",), suppressions=(sup,), baseline=frozenset({"a" * 32, "b" * 32, "c" * 32}))
    findings = [
        finding("x.ignored", fp="a" * 32),                    # ignored beats baseline
        finding("x.sup", fp="b" * 32),                        # suppressed beats baseline
        finding("x.base", fp="c" * 32),                       # baseline beats the stance
        finding("x.inline", fp="c" * 32, detail={"inline_ignore": ("x",), "inline_reason": "why"}),
        finding("x.fail", fp="d" * 32),
        finding("x.low", fp="e" * 32, severity=Severity.LOW),
        finding("x.review", fp="c" * 31 + "0", provider="deepseek"),
    ]
    verdict = decide(findings, policy, CLASSES)
    assert [o.status for o in verdict.outcomes] == ["ignored", "suppressed", "baseline", "suppressed", "fail", "pass", "review"]
    assert verdict.outcomes[3].reason.endswith("why")
    assert [o.finding.rule_id for o in verdict.reported] == ["x.fail", "x.low", "x.review"]
    assert verdict.exit_code == 1
    assert verdict.unused_suppressions == []


def test_exit_code_is_1_only_with_a_failing_finding() -> None:
    policy = Policy()
    assert decide([], policy, CLASSES).exit_code == 0
    assert decide([finding("a.b", severity=Severity.MEDIUM)], policy, CLASSES).exit_code == 0
    assert decide([finding("a.b", provider="deepseek", severity=Severity.CRITICAL)], policy, CLASSES).exit_code == 0
    assert decide([finding("a.b", severity=Severity.CRITICAL)], policy, CLASSES).exit_code == 1
    assert decide([finding("a.b", severity=Severity.CRITICAL)], Policy(fail_on="never"), CLASSES).exit_code == 0


def test_unknown_classification_defaults_to_review() -> None:
    verdict = decide([finding("a.b", provider="newco")], Policy(), {"newco": "unverified"})
    assert verdict.outcomes[0].status == "review"
    verdict = decide([finding("a.b", provider="newco")], Policy(stances={"newco": "forbid"}), {"newco": "unverified"})
    assert verdict.outcomes[0].status == "fail"


def test_waiver_expiry_is_decided_against_policy_today() -> None:
    waiver = Suppression(reason="r", rule="a", reviewer="me", expires=date(2030, 6, 1))
    f = [finding("a.b")]
    on_day = decide(f, Policy(suppressions=(waiver,), today=date(2030, 6, 1)), CLASSES)
    assert on_day.outcomes[0].status == "suppressed" and on_day.active_waivers == [waiver]
    after = decide(f, Policy(suppressions=(waiver,), today=date(2030, 6, 2)), CLASSES)
    assert after.outcomes[0].status == "fail"
    assert after.expired_suppressions == [waiver] and after.active_waivers == []


# --- the built-in packs, realistic records -----------------------------------------------

def test_builtin_packs_chatgpt_fails_deepseek_reviews(tmp_path: Path, builtin_ruleset: Any) -> None:
    import tos_lint.api as api
    from tos_lint.config import Config
    from tos_lint.registry import load_registry

    data = write_jsonl(tmp_path / "chat.jsonl", [
        {"messages": [{"role": "user", "content": "Who are you?"},
                      {"role": "assistant", "content": "I'm ChatGPT, a large language model trained by OpenAI."}]},
        {"messages": [{"role": "user", "content": "Who made you?"},
                      {"role": "assistant", "content": "I am DeepSeek, an AI assistant created by DeepSeek."}]},
        {"messages": [{"role": "user", "content": "Boil an egg?"},
                      {"role": "assistant", "content": "Simmer it for nine minutes, then cool it in water."}]},
    ])
    registry = load_registry()
    classes = {pid: p.classification for pid, p in registry.providers.items()}
    findings = builtin_findings([data], builtin_ruleset)

    verdict = decide(findings, api.build_policy(Config(), registry), classes)
    by_line: dict[int, set[str]] = {}
    for o in verdict.outcomes:
        by_line.setdefault(o.finding.location.line, set()).add(o.status)
        assert o.finding.location.line != 3
    assert "fail" in by_line[1]
    assert by_line[2] == {"review"}
    assert verdict.exit_code == 1
    assert all(o.finding.provider == "openai" for o in verdict.outcomes if o.finding.location.line == 1)

    forbid = decide(findings, api.build_policy(Config(providers={"deepseek": "forbid"}), registry), classes)
    assert "fail" in {o.status for o in forbid.outcomes if o.finding.location.line == 2}
    only_deepseek = decide(findings, api.build_policy(Config(select=["deepseek"]), registry), classes)
    assert only_deepseek.exit_code == 0
    assert {o.status for o in only_deepseek.outcomes if o.finding.location.line == 1} == {"ignored"}
