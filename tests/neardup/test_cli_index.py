"""`tos-lint index build|add|info`, through the typer app."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tos_lint.cli_index import index_app
from tos_lint.neardup.index import load_index

from .conftest import Words, write_jsonl


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(index_app, list(args))


@pytest.fixture
def refs(tmp_path: Path, words: Words) -> Path:
    rows = [{"id": f"a{i}", "instruction": "q", "output": words.text(100), "generator": g}
            for i, g in enumerate(["gpt-4o", "claude-3-opus", "vicuna-13b", "gemini-pro"] * 5)]
    return write_jsonl(tmp_path / "refs.jsonl", rows)


def test_build_info_add(tmp_path: Path, refs: Path, words: Words) -> None:
    out = tmp_path / "idx.tlx"
    res = run("build", str(refs), "--out", str(out), "--provider-field", "generator",
              "--provider-alias", "vicuna-13b=meta")
    assert res.exit_code == 0, res.output
    assert "20 references from 20 records" in res.output
    data = load_index(out)
    assert sorted(set(data.providers)) == ["anthropic", "google", "meta", "openai"]
    res = run("info", str(out), "--format", "json")
    doc = json.loads(res.output)
    assert doc["references"] == 20 and doc["params"]["bands"] == 14 and doc["providers"]["openai"] == 5
    more = write_jsonl(tmp_path / "more.json", [{"text": words.text(80)}])
    res = run("add", str(out), str(more), "--provider", "xai")
    assert res.exit_code == 0, res.output
    assert load_index(out).count == 21
    assert "references" in run("info", str(out)).output


def test_unmapped_provider_values_are_reported(tmp_path: Path, refs: Path) -> None:
    res = run("build", str(refs), "--out", str(tmp_path / "i.tlx"), "--provider-field", "generator")
    assert res.exit_code == 0
    assert "vicuna-13b (5)" in res.output and "--provider-alias" in res.output


@pytest.mark.parametrize("args, message", [
    (["--provider", "nosuch"], "unknown provider 'nosuch'"),
    ([], "exactly one of --provider"),
    (["--provider", "openai", "--provider-field", "generator"], "exactly one of --provider"),
    (["--provider", "openai", "--threshold", "0.05"], "no banding"),
    (["--provider", "openai", "--roles", "robot"], "unknown role"),
    (["--provider", "openai", "--provider-alias", "oops"], "NAME=PROVIDER_ID"),
    (["--provider", "openai", "--input-format", "nope"], "--input-format"),
])
def test_build_errors_exit_2(tmp_path: Path, refs: Path, args: list[str], message: str) -> None:
    res = run("build", str(refs), "--out", str(tmp_path / "i.tlx"), *args)
    assert res.exit_code == 2 and message in res.output


def test_add_refuses_other_parameters_and_bad_files(tmp_path: Path, refs: Path) -> None:
    out = tmp_path / "i.tlx"
    assert run("build", str(refs), "--out", str(out), "--provider", "openai").exit_code == 0
    res = run("add", str(out), str(refs), "--provider", "openai", "--char-ngrams", "5")
    assert res.exit_code == 2 and "built with word 3-grams" in res.output
    bad = tmp_path / "bad.tlx"
    bad.write_bytes(b"not an index at all, just some bytes that are long enough to have a preamble")
    for cmd in (["info", str(bad)], ["add", str(bad), str(refs), "--provider", "openai"],
                ["info", str(tmp_path / "missing.tlx")]):
        res = run(*cmd)
        assert res.exit_code == 2 and "tos-lint: error:" in res.output


def test_input_problems_are_reported_not_skipped_silently(tmp_path: Path, words: Words) -> None:
    path = tmp_path / "refs.jsonl"
    path.write_text(json.dumps({"output": words.text(60)}) + "\n{broken\n")
    res = run("build", str(path), "--out", str(tmp_path / "i.tlx"), "--provider", "openai")
    assert res.exit_code == 0 and "malformed-json" in res.output
