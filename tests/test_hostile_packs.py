"""Hostile rule packs and configuration files, beyond what
test_packs.py covers: Python tags refused through the command line (exit 2,
the file named, nothing executed) in packs, configs and allowlists; YAML
bombs (alias expansion, recursive aliases, nesting that crashed libyaml);
catastrophic-backtracking regexes on a megabyte of text; `unless` and
`examples` errors named with file, rule id and key.

Command-line runs go through `python -m tos_lint` a few at a time.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hostile_cases import HIT, cli_env
from tests.helpers import rule, write_pack
from tos_lint.config import load_config
from tos_lint.errors import PackErrors, UsageError
from tos_lint.packs import load_packs, regex_problem
from tos_lint.suppressions import load_suppressions
from tos_lint.yamlsafe import load_yaml

PROVIDERS = {"openai", "anthropic", "unknown"}


def cli(args: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tos_lint", *args], cwd=cwd, capture_output=True,
                          timeout=timeout, env=cli_env())
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    return proc.returncode, out, time.perf_counter() - started


def assert_clean_exit_2(code: int, out: str, *names: str) -> None:
    assert code == 2, out
    assert "Traceback" not in out and "internal error" not in out.lower(), out
    for name in names:
        assert name in out, (name, out)


# --- Python tags --------------------------------------------------------------------------

PYTHON_TAGS = [
    pytest.param("!!python/object/apply:os.system [\"touch {marker}\"]", id="object-apply"),
    pytest.param("!!python/object/new:os.system [\"touch {marker}\"]", id="object-new"),
    pytest.param("!!python/name:os.system", id="name"),
    pytest.param("!!python/module:os", id="module"),
    pytest.param("!!python/object:collections.OrderedDict {{}}", id="object"),
    pytest.param("!!binary aGVsbG8=", id="binary-is-not-a-string"),
]


def _evil_pack(path: Path, tag: str) -> Path:
    path.write_text(
        "pack: evil\nversion: 1\nrules:\n"
        "  - id: evil.one\n    provider: openai\n    severity: high\n    confidence: 0.5\n"
        f"    message: {tag}\n"
        "    match: {any: [{phrase: \"a b c\"}]}\n"
        "    examples: {match: [\"a b c\"], no_match: [\"x\"]}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("tag", PYTHON_TAGS)
def test_python_tags_are_refused_in_packs(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    path = _evil_pack(tmp_path / "evil.yaml", tag.format(marker=marker))
    with pytest.raises(PackErrors) as info:
        load_packs([path], PROVIDERS)
    assert str(path) in str(info.value)
    assert not marker.exists()


def _refused_in_config_and_allowlist(tmp_path: Path, value: str, entry: str, reason: str = "") -> None:
    """`value` as a config's `fail-on` and in an allowlist entry (`entry`,
    with `{value}` in it): each file refused, named, with `reason` after."""
    config = tmp_path / "tos-lint.yaml"
    config.write_text(f"fail-on: {value}\n", encoding="utf-8")
    with pytest.raises(UsageError, match=f"tos-lint.yaml{reason}"):
        load_config(config)
    allow = tmp_path / "allow.yaml"
    allow.write_text("version: 1\nentries:\n  - " + entry.format(value=value), encoding="utf-8")
    with pytest.raises(UsageError, match=f"allow.yaml{reason}"):
        load_suppressions(allow)


@pytest.mark.parametrize("tag", PYTHON_TAGS[:4])
def test_python_tags_are_refused_in_configs_and_allowlists(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    _refused_in_config_and_allowlist(tmp_path, tag.format(marker=marker), "rule: {value}\n    reason: x\n")
    assert not marker.exists()


@pytest.mark.parametrize("value", ["2027-02-30", "2027-13-01", "!!int abc", "!!float abc", "!!bool maybe"])
def test_values_the_yaml_constructor_cannot_build_are_pack_errors_at_their_line(tmp_path: Path, value: str) -> None:
    path = _evil_pack(tmp_path / "values.yaml", value)
    with pytest.raises(PackErrors) as info:
        load_packs([path], PROVIDERS)
    assert str(path) in str(info.value) and "line 8" in str(info.value) and "cannot read the value" in str(info.value)


@pytest.mark.parametrize("value", ["2027-02-30", "!!bool maybe"])
def test_values_the_yaml_constructor_cannot_build_in_configs_and_allowlists(tmp_path: Path, value: str) -> None:
    _refused_in_config_and_allowlist(tmp_path, value, "rule: x\n    reason: x\n    expires: {value}\n",
                                     ".*cannot read the value")


@pytest.mark.parametrize(("key", "value"), [("message", 42), ("message", ["a"]), ("tags", [1, 2]), ("tags", "one")])
def test_wrong_types_of_message_and_tags_are_refused(tmp_path: Path, key: str, value: Any) -> None:
    path = write_pack(tmp_path / "types.yaml", [rule("t.types", [{"phrase": "I am ChatGPT"}], **{key: value})])
    with pytest.raises(PackErrors) as info:
        load_packs([path], PROVIDERS)
    assert any(e.rule_id == "t.types" and e.key == key for e in info.value.errors)


# --- the command line on hostile packs and configs -----------------------------------------

def _billion_laughs(levels: int = 9) -> str:
    doc = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels + 1):
        doc += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    return doc


def _pack_with(extra_top: str, description: str) -> str:
    return f"{extra_top}pack: hostile\nversion: 1\ndescription: {description}\nrules: []\n"


HOSTILE_YAML = {
    "billion-laughs": _pack_with(_billion_laughs().replace("\nl", "\n_l").replace("l0:", "_l0:", 1), "*l9"),
    "recursive-alias": _pack_with("", "&a [*a]"),
    "deep-flow": _pack_with("", "[" * 100_000 + "]" * 100_000),
    "deep-block": _pack_with("", "\n  " + "- " * 100_000 + "x"),
    "unhashable-key": "pack: hostile\nversion: 1\nrules: []\n? [a, b]\n: c\n",
    "not-utf8": "pack: h\u00e9\nversion: 1\nrules: []\n",
}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, float]]:
    """Every command-line run of this file, a few at a time."""
    root = tmp_path_factory.mktemp("hostile-packs")
    data = root / "data.jsonl"
    data.write_bytes(HIT + b"\n")
    marker = root / "pwned"
    jobs: dict[str, tuple[list[str], Path]] = {}
    evil = _evil_pack(root / "evil.yaml", f"!!python/object/apply:os.system [\"touch {marker}\"]")
    jobs["python-tag-validate"] = (["rules", "validate", str(evil)], root)
    jobs["python-tag-scan"] = (["scan", str(data), "--isolated", "--no-default-rules", "--rules", str(evil)], root)
    cfg_dir = root / "cfg"
    cfg_dir.mkdir()
    (cfg_dir / "tos-lint.yaml").write_text(f"fail-on: !!python/object/apply:os.system [\"touch {marker}\"]\n")
    jobs["python-tag-config"] = (["scan", str(data), "--no-default-rules", "--rules", str(_ok_pack(root))], cfg_dir)
    for name, text in HOSTILE_YAML.items():
        path = root / f"{name}.yaml"
        path.write_bytes(text.encode("latin-1") if name == "not-utf8" else text.encode())
        jobs[f"yaml-{name}"] = (["rules", "validate", str(path)], root)
    deep_cfg = root / "deep-cfg"
    deep_cfg.mkdir()
    (deep_cfg / "tos-lint.yaml").write_text("include: " + "[" * 100_000 + "]" * 100_000 + "\n")
    jobs["yaml-deep-config"] = (["scan", str(data), "--no-default-rules", "--rules", str(_ok_pack(root))], deep_cfg)
    jobs["unless-examples"] = (["rules", "validate", str(_bad_unless_examples_pack(root))], root)
    redos, text = _redos_pack(root), root / "aaaa.jsonl"
    text.write_text(json.dumps({"text": "a" * (1 << 20)}) + "\n" + json.dumps({"text": "a" * (1 << 20) + "!"}) + "\n")
    jobs["redos-scan"] = (["scan", str(text), "--isolated", "--no-default-rules", "--rules", str(redos), "--format", "json"], root)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(cli, args, cwd) for name, (args, cwd) in jobs.items()}
        results = {name: f.result() for name, f in futures.items()}
    results["_marker"] = (int(marker.exists()), "", 0.0)
    results["_paths"] = (0, json.dumps({"evil": str(evil), "redos": str(redos), "root": str(root)}), 0.0)
    return results


def _ok_pack(root: Path) -> Path:
    return write_pack(root / "ok.yaml", [rule("ok.chatgpt", [{"phrase": "I am ChatGPT"}])])


def test_python_tag_pack_exits_2_naming_the_file(cli_runs: dict[str, Any]) -> None:
    for name in ("python-tag-validate", "python-tag-scan"):
        code, out, _ = cli_runs[name]
        assert_clean_exit_2(code, out, "evil.yaml", "python")
    code, out, _ = cli_runs["python-tag-config"]
    assert_clean_exit_2(code, out, "tos-lint.yaml")
    assert cli_runs["_marker"][0] == 0, "a Python tag was executed"


@pytest.mark.parametrize("name", list(HOSTILE_YAML) + ["deep-config"])
def test_hostile_yaml_exits_2_naming_the_file(cli_runs: dict[str, Any], name: str) -> None:
    """No hang, no memory blow-up, no segmentation fault (deep nesting
    crashed libyaml's composer): exit 2 with the file named."""
    code, out, elapsed = cli_runs[f"yaml-{name}"]
    assert_clean_exit_2(code, out, "tos-lint.yaml" if name == "deep-config" else f"{name}.yaml")
    assert elapsed < 60


def test_yaml_bombs_refused_by_the_loader() -> None:
    with pytest.raises(yaml.YAMLError, match="billion laughs"):
        load_yaml(_billion_laughs())
    with pytest.raises(yaml.YAMLError, match="recursive"):
        load_yaml("a: &a [*a]\n")
    with pytest.raises(yaml.YAMLError, match="nested too deeply"):
        load_yaml("a: " + "{b: " * 50_000 + "c" + "}" * 50_000)
    # legitimate sharing through aliases is fine
    assert load_yaml("a: &x [1, 2]\nb: *x\nc: *x\n") == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}
    assert load_yaml("a: " + "[" * 100 + "]" * 100) is not None


# --- unless / examples errors named with file, rule id and key ------------------------------

BAD_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("u.where", {"unless": [{"phrase": "not me", "where": "nearby"}]}, "unless[0].where"),
    ("u.window-type", {"unless": [{"phrase": "not me", "window": "wide"}]}, "unless[0].window"),
    ("u.window-range", {"unless": [{"phrase": "not me", "window": 10**6}]}, "unless[0].window"),
    ("u.two-kinds", {"unless": [{"phrase": "not me", "regex": "not"}]}, "unless[0]"),
    ("u.no-kind", {"unless": [{"where": "segment"}]}, "unless[0]"),
    ("u.not-a-list", {"unless": {"phrase": "not me"}}, "unless"),
    ("u.unknown-key", {"unless": [{"phrase": "not me", "colour": "red"}]}, "unless[0]"),
    ("u.empty", {"unless": [{"phrase": "  "}]}, "unless[0].phrase"),
    ("u.bad-regex", {"unless": [{"regex": "(unclosed"}]}, "unless[0].regex"),
    ("e.not-a-mapping", {"examples": ["I am ChatGPT"]}, "examples"),
    ("e.unknown-key", {"examples": {"match": ["I am ChatGPT"], "no_match": ["hi"], "maybe": ["x"]}}, "examples"),
    ("e.number", {"examples": {"match": [42], "no_match": ["hi"]}}, "examples.match[0]"),
    ("e.blank", {"examples": {"match": ["I am ChatGPT"], "no_match": ["   "]}}, "examples.no_match[0]"),
    ("e.list-item", {"examples": {"match": [["I am ChatGPT"]], "no_match": ["hi"]}}, "examples.match[0]"),
]


def _bad_unless_examples_pack(root: Path) -> Path:
    rules = [rule(rid, [{"phrase": "I am ChatGPT"}], **extra) for rid, extra, _ in BAD_RULES]
    rules.append(rule("u.field-with-unless", [{"field": {"key": "model", "exists": True}}],
                      unless=[{"phrase": "not me"}],
                      examples={"match": [{"text": "x", "model": "gpt"}], "no_match": [{"text": "x"}]}))
    return write_pack(root / "bad-unless.yaml", rules)


def test_unless_and_examples_errors_name_file_rule_and_key(cli_runs: dict[str, Any]) -> None:
    code, out, _ = cli_runs["unless-examples"]
    assert_clean_exit_2(code, out, "bad-unless.yaml")
    lines = out.splitlines()
    for rid, _, key in [*BAD_RULES, ("u.field-with-unless", None, "unless")]:
        assert any(f"rule {rid!r}" in ln and f"key {key!r}" in ln and "bad-unless.yaml" in ln for ln in lines), (rid, key, out)


# --- catastrophic backtracking ---------------------------------------------------------------

REDOS = [r"(a+)+$", r"^(a|aa)+$", r"(a*)*b", r"(a|a?)+$", r"(\w+\s?)*$", r"^(([a-z])+.)+[A-Z]([a-z])+$",
         r"(x+x+)+y", r"(.*a){20}", r"(?:a{1,100}){1,100}b"]


def _redos_pack(root: Path) -> Path:
    rules = [rule(f"redos.r{i}", [{"regex": rx}], examples={"match": ["x"], "no_match": ["y"]})
             for i, rx in enumerate(REDOS) if regex_problem(rx) is None]
    rules.append(rule("redos.unless", [{"phrase": "aaaa"}], unless=[{"regex": r"(a|a?)+$", "where": "segment"}]))
    return write_pack(root / "redos.yaml", rules)


def test_backtracking_regexes_are_compiled_linear_or_refused() -> None:
    """Each is accepted by the linear-time engine (so it cannot backtrack)
    or refused at load with a reason; none reaches a backtracking engine."""
    assert [rx for rx in REDOS if regex_problem(rx) is not None] == []
    for refused in (r"a{100000}", r"(a)\1", r"(?=a)a"):
        problem = regex_problem(refused)
        assert problem and "linear-time" in problem, (refused, problem)


def test_backtracking_regexes_scan_a_megabyte_quickly(cli_runs: dict[str, Any]) -> None:
    """`(a+)+$` and friends over 1 MiB of 'a' (and 'a' then '!', the classic
    worst case): the scan ends in seconds and finds the anchored match."""
    code, out, elapsed = cli_runs["redos-scan"]
    assert code == 1, out[-2000:]
    doc = json.loads(out[: out.rindex("}") + 1])
    found = {(f["rule_id"], f["location"]["line"]) for f in doc["findings"]}
    assert ("redos.r0", 1) in found and ("redos.r0", 2) not in found  # `$` only after the all-'a' record
    assert elapsed < 60, f"{elapsed:.1f}s"


def test_placing_an_error_in_a_deep_document_fails_cleanly() -> None:
    """A pack that failed to load is composed again to name the rule at the
    error's line: a document nested 100,000 levels deep must fail that the
    same clean way (some PyYAML versions report the depth with a line, so
    the second pass is reached), never with a RecursionError."""
    from tos_lint.packs import _rule_at
    from tos_lint.yamlsafe import compose_yaml

    deep = HOSTILE_YAML["deep-flow"].encode()
    with pytest.raises(yaml.YAMLError):
        compose_yaml(deep)
    assert _rule_at(deep, 2) == (None, None)
