"""Changed-only scans (`--staged`, `--since REV`): `tos_lint.gitdiff` on
temporary git repositories, and the line numbers the scan reports."""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator
from unittest import mock

import pytest
from hypothesis import given, settings, strategies as st

import tos_lint.gitdiff as gitdiff
from tos_lint.errors import UsageError
from tos_lint.gitdiff import changed_lines
from tests.helpers import TOS_LINT, assert_no_traceback, chatgpt_pack

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed; changed-only scans need it")


def records(*names: str) -> list[str]:
    return [json.dumps({"messages": [{"role": "user", "content": f"q {n}"}, {"role": "assistant", "content": f"answer {n}"}]}) for n in names]


FIVE = records("a", "b", "c", "d", "e")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def write(path: Path, lines: list[str], newline_at_end: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" if newline_at_end and lines else ""), encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository, the working directory for the test."""
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Test\n\temail = test@example.com\n[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for name, value in (("user.name", "Test"), ("user.email", "test@example.com"), ("commit.gpgsign", "false")):
        git(root, "config", name, value)  # also where GIT_CONFIG_GLOBAL is not supported (git < 2.32)
    monkeypatch.chdir(root)
    return root


def commit_all(root: Path, message: str = "c") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def key(path: Path) -> Path:
    return path.resolve()


# --- which lines ---------------------------------------------------------------------

def test_staged_modified_line(repo: Path) -> None:
    data = write(repo / "data.jsonl", FIVE)
    commit_all(repo)
    write(data, FIVE[:2] + records("C") + FIVE[3:])
    git(repo, "add", "data.jsonl")
    assert changed_lines(["data.jsonl"], staged=True) == {key(data): frozenset({3})}


def test_inserted_and_appended_lines_get_their_new_numbers(repo: Path) -> None:
    data = write(repo / "data.jsonl", FIVE)
    commit_all(repo)
    write(data, records("new0") + FIVE[:3] + records("new4") + FIVE[3:] + records("new7"))
    git(repo, "add", "data.jsonl")
    assert changed_lines(["."], staged=True) == {key(data): frozenset({1, 5, 8})}


def test_deleted_lines_only_leave_nothing_to_scan(repo: Path) -> None:
    data = write(repo / "data.jsonl", FIVE)
    commit_all(repo)
    write(data, FIVE[:1] + FIVE[3:])
    git(repo, "add", "data.jsonl")
    assert changed_lines(["data.jsonl"], staged=True) == {}


def test_unstaged_only_changes_are_not_staged_changes(repo: Path) -> None:
    data = write(repo / "data.jsonl", FIVE)
    commit_all(repo)
    write(data, FIVE + records("unstaged"))
    assert changed_lines(["data.jsonl"], staged=True) == {}


def test_unstaged_edits_on_a_staged_file_are_included_with_a_warning(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The scan reads the file on disk, so its line numbers are the disk's."""
    data = write(repo / "data.jsonl", FIVE)
    commit_all(repo)
    write(data, FIVE + records("staged"))
    git(repo, "add", "data.jsonl")
    write(data, records("unstaged") + FIVE + records("staged"))
    assert changed_lines(["data.jsonl"], staged=True) == {key(data): frozenset({1, 7})}
    assert "data.jsonl has unstaged changes" in capsys.readouterr().err


def test_since_revision_covers_commits_and_the_working_tree(repo: Path) -> None:
    data = write(repo / "data.jsonl", FIVE)
    first = commit_all(repo)
    write(data, FIVE[:1] + records("B") + FIVE[2:] + records("f"))
    commit_all(repo)
    write(data, FIVE[:1] + records("B") + FIVE[2:3] + records("D") + FIVE[4:] + records("f"))
    assert changed_lines(["data.jsonl"], since=first) == {key(data): frozenset({2, 4, 6})}
    assert changed_lines(["data.jsonl"], since="HEAD") == {key(data): frozenset({4})}
    assert changed_lines(["data.jsonl"], since="HEAD~1") == {key(data): frozenset({2, 4, 6})}


def test_new_file_is_scanned_whole(repo: Path) -> None:
    write(repo / "keep.jsonl", FIVE)
    commit_all(repo)
    new = write(repo / "sub" / "new.jsonl", FIVE)
    git(repo, "add", "sub/new.jsonl")
    assert changed_lines(["."], staged=True) == {key(new): None}


def test_first_commit_of_a_repository(repo: Path) -> None:
    data = write(repo / "data.jsonl", FIVE)
    git(repo, "add", "data.jsonl")
    assert changed_lines(["data.jsonl"], staged=True) == {key(data): None}


def test_renamed_file_counts_only_its_changed_lines(repo: Path) -> None:
    many = records(*"abcdefghij")
    write(repo / "old.jsonl", many)
    commit_all(repo)
    git(repo, "mv", "old.jsonl", "new.jsonl")
    assert changed_lines(["new.jsonl"], staged=True) == {}  # a pure rename adds nothing
    new = write(repo / "new.jsonl", many[:4] + records("E") + many[5:])
    git(repo, "add", "new.jsonl")
    # pre-commit passes only the new name; the rename is still paired
    assert changed_lines(["new.jsonl"], staged=True) == {key(new): frozenset({5})}


def test_json_arrays_objects_and_compressed_files_are_scanned_whole(repo: Path) -> None:
    array = repo / "alpaca.json"
    array.write_text(json.dumps([{"instruction": "a", "output": "b"}], indent=1))
    obj = repo / "one.json"
    obj.write_text(json.dumps({"text": "a"}, indent=1))
    packed = repo / "chat.jsonl.gz"
    packed.write_bytes(gzip.compress("\n".join(FIVE).encode(), mtime=0))
    sneaky = repo / "gz-content.jsonl"  # compressed bytes under a plain name
    sneaky.write_bytes(gzip.compress("\n".join(FIVE).encode(), mtime=0))
    brackets = repo / "array-content.jsonl"
    brackets.write_text("[\n" + ",\n".join(FIVE) + "\n]\n")
    commit_all(repo)
    array.write_text(json.dumps([{"instruction": "a", "output": "b"}, {"instruction": "c", "output": "d"}], indent=1))
    obj.write_text(json.dumps({"text": "b"}, indent=1))
    packed.write_bytes(gzip.compress("\n".join(FIVE[:4]).encode(), mtime=0))
    sneaky.write_bytes(gzip.compress("\n".join(FIVE[:4]).encode(), mtime=0))
    brackets.write_text("[\n" + ",\n".join(FIVE[:4]) + "\n]\n")
    git(repo, "add", "-A")
    expected = {key(p): None for p in (array, obj, packed, sneaky, brackets)}
    assert changed_lines(["."], staged=True) == expected


def test_files_git_filters_are_scanned_whole(repo: Path) -> None:
    """With a `filter` attribute (Git LFS, ...) the blob is not what is on disk."""
    data = write(repo / "data.jsonl", FIVE)
    (repo / ".gitattributes").write_text("*.jsonl filter=lfs diff=lfs merge=lfs -text\n")
    commit_all(repo)
    write(data, FIVE + records("f"))
    git(repo, "add", "data.jsonl")
    assert changed_lines(["data.jsonl"], staged=True) == {key(data): None}


def test_files_above_git_big_file_threshold_are_still_diffed_by_line(repo: Path) -> None:
    """git would call these binary ("Binary files differ"); we stream them."""
    git(repo, "config", "core.bigFileThreshold", "1k")
    many = records(*(str(i) for i in range(500)))
    data = write(repo / "data.jsonl", many)
    commit_all(repo)
    write(data, many[:250] + records("changed") + many[251:])
    git(repo, "add", "data.jsonl")
    assert changed_lines(["data.jsonl"], staged=True) == {key(data): frozenset({251})}


def test_no_newline_at_end_of_file(repo: Path) -> None:
    data = write(repo / "data.jsonl", FIVE, newline_at_end=False)
    commit_all(repo)
    write(data, FIVE + records("f"), newline_at_end=False)
    git(repo, "add", "data.jsonl")
    assert changed_lines(["data.jsonl"], staged=True) == {key(data): frozenset({6})}


def test_folders_select_the_files_under_them(repo: Path) -> None:
    inside = write(repo / "data" / "a.jsonl", FIVE)
    outside = write(repo / "other" / "b.jsonl", FIVE)
    commit_all(repo)
    write(inside, FIVE + records("f"))
    write(outside, FIVE + records("f"))
    git(repo, "add", "-A")
    assert changed_lines(["data"], staged=True) == {key(inside): frozenset({6})}
    assert changed_lines(["data/a.jsonl", "other"], staged=True) == {key(inside): frozenset({6}), key(outside): frozenset({6})}
    assert changed_lines([str(repo / "other" / "b.jsonl")], staged=True) == {key(outside): frozenset({6})}


def test_edits_too_far_apart_for_memory_scan_the_whole_file(repo: Path) -> None:
    many = records(*(str(i) for i in range(400)))
    data = write(repo / "data.jsonl", many)
    commit_all(repo)
    write(data, records("first") + many[1:-1] + records("last", "appended"))
    git(repo, "add", "data.jsonl")
    assert changed_lines(["data.jsonl"], staged=True) == {key(data): frozenset({1, 400, 401})}
    with mock.patch.object(gitdiff, "MIDDLE_MAX", 4096):
        assert changed_lines(["data.jsonl"], staged=True) == {key(data): None}


def test_large_middles_are_diffed_by_git(repo: Path) -> None:
    many = records(*(str(i) for i in range(300)))
    data = write(repo / "data.jsonl", many)
    commit_all(repo)
    edited = records("first") + many[1:100] + records("x") + many[100:200] + many[201:] + records("last")
    write(data, edited)
    git(repo, "add", "data.jsonl")
    expected = {key(data): frozenset({1, 101, 301})}
    with mock.patch.object(gitdiff, "DIFFLIB_MAX_LINES", 10):
        assert changed_lines(["data.jsonl"], staged=True) == expected
    assert changed_lines(["data.jsonl"], staged=True) == expected


# --- errors ------------------------------------------------------------------------------

def test_outside_a_repository(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    write(lonely / "d.jsonl", FIVE)
    with mock.patch.dict(os.environ, {"GIT_CEILING_DIRECTORIES": str(tmp_path)}):
        with pytest.raises(UsageError, match="not inside a git work tree"):
            changed_lines([str(lonely / "d.jsonl")], staged=True)


def test_bad_revision(repo: Path) -> None:
    write(repo / "d.jsonl", FIVE)
    commit_all(repo)
    with pytest.raises(UsageError, match="--since no-such-branch: not a commit"):
        changed_lines(["d.jsonl"], since="no-such-branch")
    with pytest.raises(UsageError, match="not a git revision"):
        changed_lines(["d.jsonl"], since="--output=/tmp/x")


def test_stdin_and_missing_paths_are_refused(repo: Path) -> None:
    with pytest.raises(UsageError, match="stdin"):
        changed_lines(["-"], staged=True)
    with pytest.raises(UsageError, match="no such file"):
        changed_lines(["missing.jsonl"], staged=True)


# --- the scan: real line numbers, exit codes -----------------------------------------------

@pytest.fixture(scope="module")
def compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tos-lint-cache")


def tos_lint(cwd: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TOS_LINT_CACHE_DIR=str(cache), COLUMNS="200")
    env.pop("TOS_LINT_DEBUG", None)
    proc = subprocess.run([str(TOS_LINT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert_no_traceback(proc)
    return proc


def chat(answer: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": "who?"}, {"role": "assistant", "content": answer}]})


def test_scan_staged_reports_the_real_line(repo: Path, compile_cache: Path, tmp_path: Path) -> None:
    pack = chatgpt_pack(tmp_path)
    old_hit = chat("I am ChatGPT, from an old commit.")
    data = write(repo / "data" / "chat.jsonl", [old_hit] + FIVE)
    commit_all(repo)
    write(data, [old_hit] + FIVE[:2] + records("new clean") + FIVE[2:4] + [chat("Sure. I am ChatGPT.")] + FIVE[4:])
    git(repo, "add", "-A")
    args = ["scan", "--isolated", "--no-default-rules", "--rules", str(pack), "--format", "json"]
    proc = tos_lint(repo, compile_cache, *args, "--staged", "data")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["location"]["path"], f["location"]["line"]) for f in doc["findings"]] == [("data/chat.jsonl", 7)]
    assert doc["summary"]["records"] == 2  # the two added lines, not the file
    # The whole file has the old finding at line 1 too.
    full = json.loads(tos_lint(repo, compile_cache, *args, "data").stdout)
    assert sorted(f["location"]["line"] for f in full["findings"]) == [1, 7]
    # --since HEAD sees the same change; after committing, nothing is left.
    since = json.loads(tos_lint(repo, compile_cache, *args, "--since", "HEAD", "data").stdout)
    assert [f["location"]["line"] for f in since["findings"]] == [7]
    commit_all(repo)
    clean = tos_lint(repo, compile_cache, *args, "--staged", "data")
    assert clean.returncode == 0 and json.loads(clean.stdout)["findings"] == []


def test_scan_usage_errors_exit_2(repo: Path, compile_cache: Path, tmp_path: Path) -> None:
    write(repo / "d.jsonl", FIVE)
    commit_all(repo)
    proc = tos_lint(repo, compile_cache, "scan", "--isolated", "--since", "nope", "d.jsonl")
    assert proc.returncode == 2 and "--since nope: not a commit" in proc.stderr, proc.stderr
    proc = tos_lint(repo, compile_cache, "scan", "--isolated", "--staged", "-")
    assert proc.returncode == 2 and "stdin" in proc.stderr, proc.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere / "d.jsonl", FIVE)
    env_ceiling = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    with mock.patch.dict(os.environ, env_ceiling):
        proc = tos_lint(elsewhere, compile_cache, "scan", "--isolated", "--staged", "d.jsonl")
    assert proc.returncode == 2 and "not inside a git work tree" in proc.stderr, proc.stderr


# --- the trimming engine, without git --------------------------------------------------------

def changes_of(old: bytes, new: bytes) -> frozenset[int] | None:
    with tempfile.TemporaryFile() as f:
        f.write(new)
        f.flush()
        # `cat-file --batch` follows a blob with a newline: the engine must stop at the size.
        middle = gitdiff.trim(io.BytesIO(old + b"\n"), len(old), f, len(new))
    return None if middle is None else gitdiff.middle_changes(middle)


def is_subsequence(small: list[bytes], big: list[bytes]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


LINES = st.lists(st.sampled_from([b"{}", b'{"a":1}', b'{"a":2}', b'{"b":"xyz"}', b"", b"x"]), max_size=25)


@given(old=LINES, new=LINES, old_eol=st.booleans(), new_eol=st.booleans(),
       block=st.integers(1, 12), difflib_lines=st.sampled_from([0, 2000]))
@settings(max_examples=400, deadline=None)
def test_trim_never_misses_a_new_line(old: list[bytes], new: list[bytes], old_eol: bool, new_eol: bool,
                                      block: int, difflib_lines: int) -> None:
    """Whatever the edit and the block size, the lines not reported form a
    subsequence of the old file: no added or changed line goes unscanned;
    and identical files report nothing."""
    old_b = b"\n".join(old) + (b"\n" if old and old_eol else b"")
    new_b = b"\n".join(new) + (b"\n" if new and new_eol else b"")
    with mock.patch.object(gitdiff, "BLOCK", block), mock.patch.object(gitdiff, "DIFFLIB_MAX_LINES", difflib_lines):
        found = changes_of(old_b, new_b)
    assert found is not None
    new_lines, old_lines = gitdiff._split_lines(new_b), gitdiff._split_lines(old_b)
    assert all(1 <= n <= len(new_lines) for n in found)
    assert is_subsequence([line for n, line in enumerate(new_lines, 1) if n not in found], old_lines)
    if old_b == new_b:
        assert found == frozenset()


@pytest.mark.parametrize(("old", "new", "expected"), [
    (b"a\nb\nc\n", b"a\nB\nc\n", {2}),
    (b"a\nb\nc\n", b"a\nb\nc\nd\n", {4}),
    (b"a\nb\nc\n", b"z\na\nb\nc\n", {1}),
    (b"a\nb\nc\n", b"a\nc\n", set()),
    (b"ab\n", b"a\n", {1}),          # a byte deleted inside a line
    (b"axb\nc\n", b"b\nc\n", {1}),   # a line shortened at its start
    (b"ac\n", b"abc\n", {1}),        # a byte inserted inside a line
    (b"a", b"a\nb\n", {2}),          # old file without a final newline
    (b"", b"a\nb\n", {1, 2}),
    (b"a\nb\n", b"", set()),
    (b"a\na\na\n", b"a\na\na\na\n", {4}),
])
def test_trim_examples(old: bytes, new: bytes, expected: set[int]) -> None:
    for block in (1, 2, 3, 1 << 20):
        with mock.patch.object(gitdiff, "BLOCK", block):
            assert changes_of(old, new) == frozenset(expected), (old, new, block)


def test_parse_hunks() -> None:
    diff = b"diff --git a/x b/x\n@@ -3 +3 @@\n-a\n+b\n@@ -7,0 +8,2 @@\n+c\n+d\n@@ -10,2 +11,0 @@\n-e\n-f\n"
    assert gitdiff.parse_hunks(diff) == [3, 8, 9]
