"""Rule-pack validation: every error names the file, the rule id and the key."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import tos_lint
from tos_lint.errors import PackError, PackErrors
from tos_lint.packs import load_packs
from tos_lint.selftest import run_pack_examples
from tests.helpers import assert_no_traceback, rule, run_cli, write_jsonl, write_pack

PROVIDERS = {"openai", "anthropic", "google", "unknown"}


def errors_of(paths: list[Path], providers: set[str] | None = PROVIDERS) -> list[PackError]:
    with pytest.raises(PackErrors) as info:
        load_packs(paths, providers)
    assert info.value.errors
    return info.value.errors


def one_error(path: Path, providers: set[str] | None = PROVIDERS) -> PackError:
    errors = errors_of([path], providers)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def assert_names(err: PackError, path: Path, rule_id: str | None, key: str | None) -> None:
    text = str(err)
    assert str(path) in text
    assert err.path == str(path)
    if rule_id is not None:
        assert err.rule_id == rule_id
        assert rule_id in text
    if key is not None:
        assert err.key is not None and err.key.startswith(key), err.key
        assert key in text


def test_valid_pack_loads(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "ok.yaml", [rule("ok.one", [{"phrase": "I am ChatGPT"}], roles=["assistant"])])
    [pack] = load_packs([path], PROVIDERS)
    [r] = pack.rules
    assert r.id == "ok.one"
    assert r.provider == "openai"
    assert r.severity.label == "high"
    assert r.roles == ("assistant",)
    assert pack.sha256 and len(pack.sha256) == 64


def test_unknown_rule_key(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.unknown-key", [{"phrase": "a b c"}], colour="red")])
    assert_names(one_error(path), path, "x.unknown-key", "colour")


def test_unknown_pack_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"pack": "p", "version": 1, "rulez": [], "rules": []}))
    assert_names(one_error(path), path, None, "rulez")


def test_missing_examples(tmp_path: Path) -> None:
    doc = rule("x.no-examples", [{"phrase": "a b c"}])
    del doc["examples"]
    path = write_pack(tmp_path / "p.yaml", [doc])
    assert_names(one_error(path), path, "x.no-examples", "examples")


@pytest.mark.parametrize("examples", [
    {"match": ["I am ChatGPT"]},
    {"match": [], "no_match": ["hello"]},
    {"match": ["I am ChatGPT"], "no_match": []},
])
def test_empty_or_missing_example_list(tmp_path: Path, examples: dict[str, Any]) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.examples", [{"phrase": "a b c"}], examples=examples)])
    assert_names(one_error(path), path, "x.examples", "examples")


@pytest.mark.parametrize("severity", ["severe", "HIGHEST", 3, None])
def test_bad_severity(tmp_path: Path, severity: Any) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.severity", [{"phrase": "a b c"}], severity=severity)])
    assert_names(one_error(path), path, "x.severity", "severity")


@pytest.mark.parametrize("confidence", [1.5, -0.1, "high", True])
def test_bad_confidence(tmp_path: Path, confidence: Any) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.confidence", [{"phrase": "a b c"}], confidence=confidence)])
    assert_names(one_error(path), path, "x.confidence", "confidence")


def test_bad_role(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.role", [{"phrase": "a b c"}], roles=["assistant", "robot"])])
    assert_names(one_error(path), path, "x.role", "roles")


def test_bad_rule_id(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("Bad Id!", [{"phrase": "a b c"}])])
    err = one_error(path)
    assert_names(err, path, None, "id")


def test_unknown_provider(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.provider", [{"phrase": "a b c"}], provider="acme-ai")])
    err = one_error(path)
    assert_names(err, path, "x.provider", "provider")
    assert "acme-ai" in str(err)


def test_unknown_provider_against_the_real_registry(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.provider", [{"phrase": "a b c"}], provider="acme-ai")])
    with pytest.raises(PackErrors) as info:
        tos_lint.scan([str(tmp_path)], rules=[path], use_default_rules=False)
    assert "acme-ai" in str(info.value)


def test_duplicate_rule_id_in_one_pack(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [
        rule("x.dup", [{"phrase": "a b c"}]),
        rule("x.dup", [{"phrase": "d e f"}]),
    ])
    assert_names(one_error(path), path, "x.dup", "id")


def test_duplicate_rule_id_across_packs(tmp_path: Path) -> None:
    first = write_pack(tmp_path / "first.yaml", [rule("x.dup", [{"phrase": "a b c"}])], name="first")
    second = write_pack(tmp_path / "second.yaml", [rule("x.dup", [{"phrase": "d e f"}])], name="second")
    errors = errors_of([first, second])
    assert len(errors) == 1
    assert errors[0].rule_id == "x.dup"
    assert errors[0].key == "id"
    text = str(errors[0])
    assert "second.yaml" in text and "first.yaml" in text


def test_duplicate_pack_name(tmp_path: Path) -> None:
    first = write_pack(tmp_path / "a.yaml", [rule("a.one", [{"phrase": "a b c"}])], name="same")
    second = write_pack(tmp_path / "b.yaml", [rule("b.one", [{"phrase": "d e f"}])], name="same")
    errors = errors_of([first, second])
    assert any(e.key == "pack" and "same" in str(e) for e in errors)


@pytest.mark.parametrize("regex", [
    pytest.param(r"(?<=a)b", id="lookbehind"),
    pytest.param(r"(?<!a)b", id="negative-lookbehind"),
    pytest.param(r"a(?=b)", id="lookahead"),
    pytest.param(r"(a)\1", id="back-reference"),
    pytest.param(r"(?P<x>a)(?P=x)", id="named-back-reference"),
    pytest.param(r"[z-a]", id="bad-range"),
    pytest.param(r"(unclosed", id="unbalanced"),
])
def test_unsupported_regex_is_refused_at_load(tmp_path: Path, regex: str) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.regex", [{"regex": regex}])])
    assert_names(one_error(path), path, "x.regex", "match.any[0].regex")


def test_unsupported_regex_in_unless_is_refused(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.unless", [{"phrase": "I am ChatGPT"}], unless=[{"regex": r"(?<!not )x"}])])
    assert_names(one_error(path), path, "x.unless", "unless[0]")


def test_unsupported_field_regex_is_refused(tmp_path: Path) -> None:
    doc = rule("x.field", [{"field": {"key": "model", "regex": r"(gpt)\1"}}],
               examples={"match": [{"text": "a", "model": "gptgpt"}], "no_match": [{"text": "a"}]})
    path = write_pack(tmp_path / "p.yaml", [doc])
    assert_names(one_error(path), path, "x.field", "match.any[0].field")


@pytest.mark.parametrize("key", ["/a/~2", "/a~", "/~x/b"])
def test_field_pointer_with_an_invalid_escape_is_refused(tmp_path: Path, key: str) -> None:
    """RFC 6901 has `~0` and `~1` only: any other `~` names a field no record has."""
    path = write_pack(tmp_path / "p.yaml", [rule("x.ptr", [{"field": {"key": key, "exists": True}}],
                                                  examples={"match": [{"a": 1}], "no_match": [{"b": 1}]})])
    error = one_error(path)
    assert_names(error, path, "x.ptr", "match.any[0].field.key")
    assert f"invalid JSON pointer {key!r}" in str(error)


def test_field_pointer_with_valid_escapes_loads(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.ptr", [{"field": {"key": "/a~1b/~0c", "exists": True}}],
                                                  examples={"match": [{"a/b": {"~c": 1}}], "no_match": [{"b": 1}]})])
    [pack] = load_packs([path], {"openai"})
    assert pack.rules[0].items[0].key == "/a~1b/~0c"


def _fingerprint_rule(rule_id: str, unless: list[dict[str, Any]]) -> dict[str, Any]:
    return rule(rule_id, [{"field": {"key": "system_fingerprint", "prefix": "fp_"}}], unless=unless,
                examples={"match": [{"text": "a", "system_fingerprint": "fp_1"}], "no_match": [{"text": "a"}]})


def test_field_rule_with_a_field_condition_loads(tmp_path: Path) -> None:
    condition = {"field": {"key": "model", "regex": "(?i)^grok"}}
    path = write_pack(tmp_path / "p.yaml", [_fingerprint_rule("x.field-unless", [condition])])
    [pack] = load_packs([path], PROVIDERS)
    [cond] = pack.rules[0].field_conditions
    assert (cond.kind, cond.key, cond.op, cond.operand) == ("field", "model", "regex", "(?i)^grok")


@pytest.mark.parametrize(("condition", "key"), [
    pytest.param({"field": {"key": "model", "prefix": "grok"}, "where": "segment"}, "unless[0].where", id="where"),
    pytest.param({"field": {"key": "model", "prefix": "grok"}, "window": 10}, "unless[0].window", id="window"),
    pytest.param({"field": {"key": "model", "prefix": "grok", "exists": True}}, "unless[0].field", id="two-ops"),
    pytest.param({"field": {"key": "model", "regex": r"(grok)\1"}}, "unless[0].field.regex", id="bad-regex"),
])
def test_bad_field_condition_is_refused(tmp_path: Path, condition: dict[str, Any], key: str) -> None:
    path = write_pack(tmp_path / "p.yaml", [_fingerprint_rule("x.field-unless", [condition])])
    assert_names(one_error(path), path, "x.field-unless", key)


@pytest.mark.parametrize("doc", [
    pytest.param(rule("x.kinds", [{"phrase": "I am ChatGPT"}], unless=[{"phrase": "not"}, {"field": {"key": "model", "prefix": "grok"}}]),
                 id="field-condition-on-a-text-rule"),
    pytest.param(_fingerprint_rule("x.kinds", [{"field": {"key": "model", "prefix": "grok"}}, {"phrase": "grok"}]),
                 id="phrase-condition-on-a-field-rule"),
])
def test_condition_of_the_other_kind_is_refused(tmp_path: Path, doc: dict[str, Any]) -> None:
    path = write_pack(tmp_path / "p.yaml", [doc])
    err = one_error(path)
    assert_names(err, path, "x.kinds", "unless")
    assert err.key == "unless" and "unless[1]" in str(err)


@pytest.mark.parametrize(("requires", "key"), [
    pytest.param([], "requires", id="empty"),
    pytest.param({"phrase": "who are you"}, "requires", id="not-a-list"),
    pytest.param([{"phrase": "who are you", "where": "elsewhere"}], "requires[0].where", id="bad-where"),
    pytest.param([{"regex": r"(?<!not )x"}], "requires[0]", id="bad-regex"),
    pytest.param([{"field": {"key": "model", "prefix": "gpt"}}], "requires", id="field-condition-on-a-text-rule"),
])
def test_bad_requires_block_is_refused(tmp_path: Path, requires: Any, key: str) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.requires", [{"phrase": "I am ChatGPT"}], requires=requires)])
    assert_names(one_error(path), path, "x.requires", key)


@pytest.mark.parametrize(("requires", "key"), [
    pytest.param([{"holds_text": False}], "requires[0].holds_text", id="not-true"),
    pytest.param([{"holds_text": True, "where": "prompt"}], "requires[0].where", id="with-a-placement"),
    pytest.param([{"holds_text": True, "field": {"key": "a", "exists": True}}], "requires[0]", id="two-kinds"),
])
def test_bad_holds_text_condition_is_refused(tmp_path: Path, requires: Any, key: str) -> None:
    doc = rule("x.text", [{"field": {"key": "model", "prefix": "gpt"}}], requires=requires,
               examples={"match": [{"model": "gpt-4", "output": "Hi there."}], "no_match": [{"model": "x"}]})
    path = write_pack(tmp_path / "p.yaml", [doc])
    assert_names(one_error(path), path, "x.text", key)


def test_holds_text_on_a_text_rule_is_refused(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.text", [{"phrase": "I am ChatGPT"}], requires=[{"holds_text": True}])])
    err = one_error(path)
    assert_names(err, path, "x.text", "requires")
    assert "holds_text condition" in str(err)


def test_holds_text_loads_on_a_field_rule(tmp_path: Path) -> None:
    doc = rule("x.text", [{"field": {"key": "model", "prefix": "gpt"}}], requires=[{"holds_text": True}],
               examples={"match": [{"model": "gpt-4", "output": "Hi there."}], "no_match": [{"model": "gpt-4"}]})
    [pack] = load_packs([write_pack(tmp_path / "p.yaml", [doc])], PROVIDERS)
    assert pack.rules[0].text_blocks == {"requires": "any"}


def test_holds_text_output_wants_text_outside_prompt_turns(tmp_path: Path) -> None:
    request = {"model": "gpt-4", "messages": [{"role": "system", "content": "Be brief."},
                                              {"role": "user", "content": "Hello there."}]}
    doc = rule("x.text", [{"field": {"key": "model", "prefix": "gpt"}}], requires=[{"holds_text": "output"}],
               examples={"match": [{**request, "messages": [*request["messages"], {"role": "assistant", "content": "Hi."}]}],
                         "no_match": [request]})
    [pack] = load_packs([write_pack(tmp_path / "p.yaml", [doc])], PROVIDERS)
    assert pack.rules[0].text_blocks == {"requires": "output"}
    assert [r.passed for r in run_pack_examples(pack)] == [True, True]
    bad = write_pack(tmp_path / "bad.yaml", [{**doc, "requires": [{"holds_text": "yes"}]}])
    err = one_error(bad)
    assert_names(err, bad, "x.text", "requires[0].holds_text")
    assert "must be true or output" in str(err)


@pytest.mark.parametrize("phrase", ["\0", "word " * 20_000], ids=["matches-only-empty-text", "too-long"])
def test_a_phrase_the_engine_refuses_names_rule_and_key(tmp_path: Path, phrase: str) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.phrase", [{"phrase": phrase}])])
    err = one_error(path)
    assert_names(err, path, "x.phrase", "match.any[0].phrase")
    assert "linear-time regex engine" in str(err)


def test_requires_block_loads_with_its_placements(tmp_path: Path) -> None:
    requires = [{"phrase": "who are you", "where": "prompt"}, {"regex": "assistant", "window": 10}]
    path = write_pack(tmp_path / "p.yaml", [rule("x.requires", [{"phrase": "I am ChatGPT"}], requires=requires)])
    [pack] = load_packs([path], PROVIDERS)
    assert [(c.kind, c.where, c.window) for c in pack.rules[0].requires] == [("phrase", "prompt", 60), ("regex", "window", 10)]


def test_mixing_field_and_text_items_is_refused(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.mixed", [{"phrase": "a b c"}, {"field": {"key": "model", "exists": True}}])])
    assert_names(one_error(path), path, "x.mixed", "match")


def test_match_item_with_two_kinds_is_refused(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [rule("x.two", [{"phrase": "a b c", "regex": "abc"}])])
    assert_names(one_error(path), path, "x.two", "match.any[0]")


def test_all_errors_are_reported_together(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "p.yaml", [
        rule("x.one", [{"phrase": "a b c"}], severity="bad"),
        rule("x.two", [{"regex": r"(?<=a)b"}]),
        rule("x.three", [{"phrase": "a b c"}], colour="red"),
    ])
    errors = errors_of([path])
    assert {(e.rule_id, (e.key or "").split(".")[0]) for e in errors} >= {
        ("x.one", "severity"), ("x.two", "match"), ("x.three", "colour"),
    }


def test_yaml_python_tag_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(
        "pack: evil\nversion: 1\nrules:\n"
        "  - id: evil.one\n    provider: openai\n    severity: high\n    confidence: 0.5\n"
        f"    message: !!python/object/apply:os.system [\"touch {marker}\"]\n"
        "    match: {any: [{phrase: \"a b c\"}]}\n"
        "    examples: {match: [\"a b c\"], no_match: [\"x\"]}\n"
    )
    err = one_error(path)
    assert err.path == str(path)
    assert "python" in str(err)
    assert not marker.exists()


def test_duplicate_yaml_keys_name_file_rule_and_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "pack: dup\nversion: 1\nrules:\n"
        "  - id: dup.one\n    provider: openai\n    severity: high\n    severity: low\n    confidence: 0.5\n"
        "    message: m\n    match: {any: [{phrase: \"a b c\"}]}\n"
        "    examples: {match: [\"a b c\"], no_match: [\"x\"]}\n"
    )
    err = one_error(path)
    text = str(err)
    assert str(path) in text
    assert "severity" in text
    assert "line 7" in text
    assert "dup.one" in text, f"the duplicate key's rule is not named: {text}"


def test_duplicate_top_level_yaml_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("pack: a\npack: b\nversion: 1\nrules: []\n")
    err = one_error(path)
    assert str(path) in str(err) and "pack" in str(err)


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("pack: broken\nversion: 1\nrules:\n  - id: [unclosed\n")
    err = one_error(path)
    assert str(path) in str(err)
    assert "line" in str(err)


def test_pack_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n")
    err = one_error(path)
    assert str(path) in str(err)


def test_missing_pack_file(tmp_path: Path) -> None:
    err = one_error(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(err)


# --- command line -------------------------------------------------------------------

def test_rules_validate_reports_file_rule_and_key(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "bad.yaml", [rule("x.bad-sev", [{"phrase": "a b c"}], severity="severe")])
    proc = run_cli(["rules", "validate", str(path)], cwd=tmp_path)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    out = proc.stdout + proc.stderr
    assert "bad.yaml" in out and "x.bad-sev" in out and "severity" in out


def test_rules_validate_ok(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "good.yaml", [rule("x.good", [{"phrase": "I am ChatGPT"}])])
    proc = run_cli(["rules", "validate", str(path)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "good.yaml" in proc.stdout


def test_scan_with_bad_pack_exits_2(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "bad.yaml", [rule("x.regex", [{"regex": r"(?<=a)b"}])])
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "ab"}])
    proc = run_cli(["scan", str(data), "--no-default-rules", "--rules", str(path)], cwd=tmp_path)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert "bad.yaml" in proc.stderr and "x.regex" in proc.stderr


# --- no catastrophic backtracking -----------------------------------------------------

def test_nested_quantifier_compiles_and_does_not_hang(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "redos.yaml", [
        rule("x.redos", [{"regex": r"(a+)+$"}], examples={"match": ["aaa"], "no_match": ["bbb"]}),
        rule("x.redos2", [{"regex": r"^(a|aa)+b"}], examples={"match": ["aab"], "no_match": ["bbb"]}),
    ])
    load_packs([path], PROVIDERS)
    data = tmp_path / "evil.jsonl"
    data.write_text(json.dumps({"text": "a" * 100_000 + "!"}) + "\n" + json.dumps({"text": "a" * 50_000}) + "\n")
    started = time.perf_counter()
    result = tos_lint.scan([data], rules=[path], use_default_rules=False)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"scan took {elapsed:.1f}s"
    lines = sorted(f.location.line for f in result.findings if f.rule_id == "x.redos")
    assert lines == [2]  # `$` only after the all-'a' record


@pytest.mark.parametrize("keywords", ["chatgpt", [], ["chatgpt", " "], [3], ["\\b"], ["\\b-gpt"], ["\\Bchatgpt"],
                                      ["chat\\bgpt"], ["chatgpt\\b!"], ["\\b\\bchatgpt"]])
def test_keywords_must_be_a_non_empty_list_of_words(tmp_path: Path, keywords: Any) -> None:
    pack = write_pack(tmp_path / "kw.yaml", [rule("kw.bad", [{"phrase": "I am ChatGPT"}], keywords=keywords)])
    with pytest.raises(PackErrors) as caught:
        load_packs([pack], {"openai", "unknown"})
    assert "kw.bad" in str(caught.value) and "keywords" in str(caught.value)


def test_keywords_are_refused_on_a_field_rule(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "kw.yaml", [rule("kw.field", [{"field": {"key": "model", "prefix": "gpt-"}}],
                                                  keywords=["gpt"], examples={"match": [{"model": "gpt-4"}],
                                                                              "no_match": [{"model": "x"}]})])
    with pytest.raises(PackErrors, match="field rule"):
        load_packs([pack], {"openai", "unknown"})


def test_a_match_example_without_any_keyword_fails_the_rules_test(tmp_path: Path) -> None:
    from tos_lint.selftest import run_pack_examples

    pack = write_pack(tmp_path / "kw.yaml", [rule("kw.gap", [{"regex": r"i am (?:chatgpt|gpt-4)"}], keywords=["chatgpt"],
                                                  examples={"match": ["I am ChatGPT.", "I am GPT-4."],
                                                            "no_match": ["Hello."]})])
    results = {r.name: r.passed for r in run_pack_examples(load_packs([pack], {"openai", "unknown"})[0])}
    assert results == {"kw.gap:keywords[0]": False, "kw.gap:match[0]": True, "kw.gap:match[1]": False,
                       "kw.gap:no_match[0]": True}
