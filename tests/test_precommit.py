"""The pre-commit hook, driven through the real `pre-commit` framework.

A temporary git data repository installs our hook (`.pre-commit-hooks.yaml`)
as a `repo: local` hook with `language: system` pointed at this virtualenv's
`tos-lint`, so nothing is installed from the network; id, entry, files and
the other keys are read from our manifest, so the test follows it. Commits
then go through `git commit` and the installed git hook, as a user's would.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO, TOS_LINT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed; the pre-commit hook needs it")

CHATGPT = "I'm ChatGPT, a large language model trained by OpenAI."
OTHER_CHATGPT = "Hello! I am ChatGPT, an AI assistant made by OpenAI."
DATA = "data/chat.jsonl"


def chat(question: str, answer: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})


CLEAN = [chat("What is 2 + 2?", "4."), chat("Name a prime.", "7 is prime.")]


class DataRepo:
    """A git repository with our hook installed by `pre-commit install`."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root = root
        self.env = env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(args, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def write(self, rel: str, lines: list[str]) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    def commit(self, message: str, *extra: str) -> tuple[int, str]:
        """`git commit`, which runs the installed pre-commit hook; its exit
        code and output (git sends a hook's output to stderr)."""
        proc = self.git("commit", "-m", message, *extra, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").stdout)


def local_hook_config() -> dict[str, Any]:
    """Our published hook as a `repo: local` hook running this checkout."""
    manifest = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = dict(next(h for h in manifest if h["id"] == "tos-lint"))
    program, _, args = hook["entry"].partition(" ")
    assert program == "tos-lint", hook["entry"]
    hook["entry"] = f"{TOS_LINT} {args}"  # this virtualenv's tos-lint, wherever it lives
    hook["language"] = "system"  # no environment to build, no network
    return {"repos": [{"repo": "local", "hooks": [hook]}]}


@pytest.fixture(scope="module")
def compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compiled-rules cache shared by this module's hook runs only."""
    return tmp_path_factory.mktemp("tos-lint-cache")


@pytest.fixture
def repo(tmp_path: Path, compile_cache: Path) -> DataRepo:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Test\n\temail = test@example.com\n[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n")
    env = dict(os.environ)
    env.update({
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_CONFIG_GLOBAL": str(gitconfig),  # no user hooksPath, signing or templates
        "GIT_CONFIG_NOSYSTEM": "1",
        "PRE_COMMIT_COLOR": "never",
        "TOS_LINT_CACHE_DIR": str(compile_cache),
    })
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(var, None)
    root = tmp_path / "data-repo"
    root.mkdir()
    data = DataRepo(root, env)
    data.git("init", "-q")
    for key, value in (("user.name", "Test"), ("user.email", "test@example.com"), ("commit.gpgsign", "false")):
        data.git("config", key, value)  # also where GIT_CONFIG_GLOBAL is not supported (git < 2.32)
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(local_hook_config(), sort_keys=False), encoding="utf-8")
    data.run(sys.executable, "-m", "pre_commit", "install")
    data.write(DATA, CLEAN)
    data.git("add", ".")
    assert data.commit("clean data", "--no-verify")[0] == 0
    return data


def test_commit_adding_a_fingerprinted_record_is_blocked(repo: DataRepo) -> None:
    repo.write(DATA, CLEAN + [chat("Who are you?", CHATGPT)])
    repo.git("add", DATA)
    code, out = repo.commit("add a distilled record")
    assert code != 0, out
    assert repo.commits() == 1, "the commit went through"
    assert "Failed" in out and "hook id: tos-lint" in out, out
    # The console report names the file, then the record's line in it.
    assert DATA in out, out
    assert any(line.split()[:2] == ["3", "high"] for line in out.splitlines()), out
    assert "openai.self-id" in out and "ChatGPT" in out, out


def test_clean_commit_passes(repo: DataRepo) -> None:
    repo.write(DATA, CLEAN + [chat("Capital of France?", "Paris.")])
    repo.git("add", DATA)
    code, out = repo.commit("add a clean record")
    assert code == 0, out
    assert "tos-lint" in out and "Passed" in out, out  # the hook ran
    assert repo.commits() == 2


def test_existing_findings_outside_the_change_do_not_block(repo: DataRepo) -> None:
    """Only what the commit adds is scanned: a record committed before the
    hook was installed (with --no-verify here) does not block later commits."""
    repo.write(DATA, [chat("Who are you?", CHATGPT)] + CLEAN)
    repo.git("add", DATA)
    assert repo.commit("legacy record", "--no-verify")[0] == 0
    repo.write(DATA, [chat("Who are you?", CHATGPT)] + CLEAN + [chat("Capital of Spain?", "Madrid.")])
    repo.git("add", DATA)
    code, out = repo.commit("add a clean record next to an old finding")
    assert code == 0, out


def test_baseline_lets_a_reviewed_record_through(repo: DataRepo) -> None:
    reviewed = chat("Who are you?", CHATGPT)
    repo.write(DATA, CLEAN + [reviewed])
    repo.git("add", DATA)
    assert repo.commit("blocked")[0] != 0
    # A reviewer accepts today's findings: a baseline of their fingerprints,
    # named in the repository's tos-lint.yaml.
    created = repo.run(str(TOS_LINT), "baseline", "create", DATA, "--output", ".tos-lint-baseline.json")
    assert "fingerprint" in created.stdout, created.stdout
    baseline = json.loads((repo.root / ".tos-lint-baseline.json").read_text(encoding="utf-8"))
    assert baseline["findings"] and CHATGPT not in json.dumps(baseline)  # hashes, never the text
    (repo.root / "tos-lint.yaml").write_text("baseline: .tos-lint-baseline.json\n", encoding="utf-8")
    repo.git("add", "tos-lint.yaml", ".tos-lint-baseline.json")
    code, out = repo.commit("reviewed: accepted in the baseline")
    assert code == 0, out
    # The baseline covers that record only: a new fingerprinted record still fails,
    # and the reviewed one, moved to another line, still passes.
    repo.write(DATA, [reviewed] + CLEAN + [chat("What are you?", OTHER_CHATGPT)])
    repo.git("add", DATA)
    code, out = repo.commit("another distilled record")
    assert code != 0, out
    assert any(line.split()[:2] == ["4", "high"] for line in out.splitlines()), out
    repo.write(DATA, [reviewed] + CLEAN)
    repo.git("add", DATA)
    assert repo.commit("move the reviewed record")[0] == 0


def test_commit_all_uses_the_index_being_committed(repo: DataRepo) -> None:
    """`git commit -a` commits through a temporary index (GIT_INDEX_FILE)."""
    repo.write(DATA, CLEAN + [chat("Who are you?", CHATGPT)])
    code, out = repo.commit("commit -a", "-a")
    assert code != 0, out
    assert any(line.split()[:2] == ["3", "high"] for line in out.splitlines()), out


def test_unstaged_edits_do_not_shift_reported_lines(repo: DataRepo) -> None:
    """pre-commit stashes unstaged edits before the hook runs, so the line
    reported is the staged file's line."""
    repo.write(DATA, CLEAN + [chat("Who are you?", CHATGPT)])
    repo.git("add", DATA)
    repo.write(DATA, [chat("Unstaged?", "Yes.")] * 5 + CLEAN + [chat("Who are you?", CHATGPT)])
    code, out = repo.commit("staged finding, unstaged edits on top")
    assert code != 0, out
    assert any(line.split()[:2] == ["3", "high"] for line in out.splitlines()), out
    assert (repo.root / DATA).read_text(encoding="utf-8").count("Unstaged?") == 5  # restored


def test_manifest_is_valid_and_selects_data_files() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(REPO / ".pre-commit-hooks.yaml"))}
    hook = hooks["tos-lint"]
    assert (hook["entry"], hook["language"], hook["require_serial"]) == ("tos-lint scan --staged", "python", True)
    assert hooks["tos-lint-full"]["stages"] == ["manual"]
    files = re.compile(hook["files"])
    for name in ("data/chat.jsonl", "x.ndjson", "y.jl", "alpaca.json", "big.jsonl.zst", "DUMP.JSONL.GZ", "a.json.xz"):
        assert files.search(name), name
    for name in ("README.md", "tos-lint.yaml", "x.jsonl.bak", "x.parquet", "x.csv.gz"):
        assert not files.search(name), name
