"""Line maps (tos_lint/linemap.py): the cached digests that let a
changed-only scan find the changed lines of a large file without reading
its old version out of git. Whatever the edit, the map path must report
exactly what the streaming path reports, and derive the same map of the
new version as one built from scratch."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tos_lint.gitdiff as gitdiff
import tos_lint.linemap as linemap
from tos_lint import api
from tests.test_gitdiff import FIVE, changes_of, is_subsequence, commit_all, git, key, records, repo, write  # noqa: F401 (fixture)

LINES = st.lists(st.sampled_from([b"{}", b'{"a":1}', b'{"a":2}', b'{"b":"xyz"}', b"", b"x", b"\r"]), max_size=30)


def join(lines: list[bytes], eol: bool) -> bytes:
    return b"\n".join(lines) + (b"\n" if lines and eol else b"")


def same_map(a: linemap.LineMap, b: linemap.LineMap) -> bool:
    return (a.size == b.size and a.final_newline == b.final_newline
            and all(np.array_equal(x, y) for x, y in ((a.head, b.head), (a.tail, b.tail), (a.ends, b.ends), (a.hashes, b.hashes))))


def map_changes(old: bytes, new: bytes, tmp: Path) -> tuple[frozenset[int], tuple[int, int, int], linemap.MapMiddle]:
    (tmp / "old").write_bytes(old)
    (tmp / "new").write_bytes(new)
    found = linemap.compare(linemap.build(tmp / "old"), tmp / "new")
    changed = gitdiff.ChangedLines(found.first_line + j for j in gitdiff._changed_indices(found.old_keys, found.new_keys))
    return changed, (found.start, found.end, found.first_line), found


@given(old=LINES, new=LINES, old_eol=st.booleans(), new_eol=st.booleans(), block=st.integers(1, 12), chunk=st.integers(1, 9))
@settings(max_examples=400, deadline=None)
def test_map_path_agrees_with_the_streaming_path(tmp_path_factory: pytest.TempPathFactory, old: list[bytes], new: list[bytes],
                                                 old_eol: bool, new_eol: bool, block: int, chunk: int) -> None:
    old_b, new_b = join(old, old_eol), join(new, new_eol)
    tmp = tmp_path_factory.mktemp("lm")
    with mock.patch.object(linemap, "BLOCK", block), mock.patch.object(linemap, "CHUNK", chunk):
        changed, (start, end, first), found = map_changes(old_b, new_b, tmp)
        assert same_map(found.new_map, linemap.build(tmp / "new"))
    # Both paths diff a window around the change; windows of different widths
    # may align repeated lines differently, so what must hold is what makes
    # the scan safe: every line not reported is an old line, in order.
    new_lines, old_lines = gitdiff._split_lines(new_b), gitdiff._split_lines(old_b)
    assert is_subsequence([line for n, line in enumerate(new_lines, 1) if n not in changed], old_lines)
    # the same number of changed lines, unless repeated lines (in either
    # file) let a narrower window pair them differently
    assert len(changed) == len(changes_of(old_b, new_b)) or len(set(old_lines)) < len(old_lines) \
        or len(set(new_lines)) < len(new_lines)
    if old_b == new_b:
        assert changed == frozenset()
    # the span is whole lines of the new file, and holds every changed line
    assert start == 0 or new_b[start - 1:start] == b"\n"
    assert end == len(new_b) or new_b[end - 1:end] == b"\n"
    assert first == new_b[:start].count(b"\n") + 1
    assert all(first <= n <= first + new_b[start:end].count(b"\n") for n in changed)


@pytest.mark.parametrize(("old", "new", "expected"), [
    (b"a\nb\nc\n", b"a\nB\nc\n", {2}),
    (b"a\nb\nc\n", b"a\nb\nc\nd\n", {4}),
    (b"a\nb\nc\n", b"z\na\nb\nc\n", {1}),
    (b"a\nb\nc\n", b"a\nc\n", set()),
    (b"a", b"a\nb\n", {2}),
    (b"", b"a\nb\n", {1, 2}),
    (b"a\nb\n", b"", set()),
    (b"a\na\na\n", b"a\na\na\na\n", {4}),
])
def test_map_examples(tmp_path: Path, old: bytes, new: bytes, expected: set[int]) -> None:
    for block in (1, 2, 3, 1 << 20):
        with mock.patch.object(linemap, "BLOCK", block):
            assert map_changes(old, new, tmp_path)[0] == frozenset(expected), (old, new, block)


# --- the cache ---------------------------------------------------------------------------

@pytest.fixture
def map_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Line maps on for files of any size, in a temporary cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(cache))
    monkeypatch.setattr(linemap, "MIN_BYTES", 0)
    monkeypatch.setattr(linemap, "BLOCK", 64)
    yield cache / "linemaps"


def test_store_and_load_round_trip(map_cache: Path, tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", records(*"abcdefgh"))
    built = linemap.build(data)
    oid = "ab" * 20
    linemap.store(oid, built)
    loaded = linemap.load(oid)
    assert loaded is not None and same_map(loaded, built)
    assert linemap.load("cd" * 20) is None  # another blob


def test_damaged_or_foreign_maps_are_ignored(map_cache: Path, tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", records(*"abcdefgh"))
    oid = "ab" * 20
    linemap.store(oid, linemap.build(data))
    path = map_cache / f"{oid}.lmap"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert linemap.load(oid) is None  # checksum
    linemap.store(oid, linemap.build(data))
    path.rename(map_cache / f"{'cd' * 20}.lmap")
    assert linemap.load("cd" * 20) is None  # a map names its blob
    path.write_bytes(b"not a map")
    assert linemap.load(oid) is None
    assert linemap.load("../../etc/passwd") is None


def test_old_maps_are_pruned(map_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linemap, "KEEP", 3)
    built = linemap.build(write(tmp_path / "d.jsonl", FIVE))
    for i in range(5):
        linemap.store(f"{i + 1:040x}", built)
    assert len(list(map_cache.glob("*.lmap"))) == 3


# --- with git: the second commit never inflates the old blob ----------------------------------

def no_blob_reading() -> mock._patch:  # type: ignore[type-arg]
    return mock.patch.object(gitdiff, "_blob", side_effect=AssertionError("the old blob was read"))


def test_staged_scans_keep_maps_for_the_next_commit(repo: Path, map_cache: Path) -> None:
    many = records(*(str(i) for i in range(60)))
    data = write(repo / "data.jsonl", many)
    git(repo, "add", "data.jsonl")
    assert gitdiff.changed_lines(["data.jsonl"], staged=True) == {key(data): None}  # new: scanned whole, map kept
    commit_all(repo)
    assert len(list(map_cache.glob("*.lmap"))) == 1

    edits = [many[:20] + records("x") + many[21:],                       # a line changed
             many[:20] + records("x") + many[21:40] + records("y", "z") + many[40:],  # lines inserted
             records("first") + many[1:20] + records("x") + many[21:]]   # the first line changed
    expected = [{21}, {41, 42}, {1}]
    for edit, lines in zip(edits, expected):
        write(data, edit)
        git(repo, "add", "data.jsonl")
        with no_blob_reading():
            found = gitdiff.changed_lines(["data.jsonl"], staged=True)
        assert found == {key(data): frozenset(lines)}
        start, end, first = found[key(data)].span  # type: ignore[union-attr]
        text = data.read_bytes()
        assert first == text[:start].count(b"\n") + 1 and text[end - 1:end] == b"\n"
        commit_all(repo)  # the map of this version was kept: the next edit compares against it


def test_without_a_map_the_old_blob_is_read_and_the_result_is_the_same(repo: Path, map_cache: Path) -> None:
    many = records(*(str(i) for i in range(60)))
    data = write(repo / "data.jsonl", many)
    commit_all(repo)  # committed without a scan: no map
    write(data, many[:30] + records("x") + many[31:])
    git(repo, "add", "data.jsonl")
    assert gitdiff.changed_lines(["data.jsonl"], staged=True) == {key(data): frozenset({31})}
    # that scan kept the staged version's map; HEAD's blob still has none
    with no_blob_reading(), pytest.raises(AssertionError, match="old blob"):
        gitdiff.changed_lines(["data.jsonl"], staged=True)


def test_no_map_is_kept_for_a_file_with_unstaged_changes(repo: Path, map_cache: Path) -> None:
    data = write(repo / "data.jsonl", FIVE)
    git(repo, "add", "data.jsonl")
    write(data, FIVE + records("unstaged"))
    gitdiff.changed_lines(["data.jsonl"], staged=True)
    assert not list(map_cache.glob("*.lmap"))  # the file on disk is not the staged blob


def test_scan_reads_only_the_span_and_reports_real_lines(repo: Path, map_cache: Path, tmp_path: Path) -> None:
    from tests.helpers import chatgpt_pack

    many = records(*(str(i) for i in range(80)))
    data = write(repo / "data.jsonl", many)
    git(repo, "add", "data.jsonl")
    gitdiff.changed_lines(["data.jsonl"], staged=True)
    commit_all(repo)
    hit = json.dumps({"messages": [{"role": "user", "content": "who?"}, {"role": "assistant", "content": "I am ChatGPT."}]})
    write(data, many[:50] + [hit] + many[51:])
    git(repo, "add", "data.jsonl")
    with no_blob_reading():
        changed = gitdiff.changed_lines(["data.jsonl"], staged=True)
    result = api.scan(["data.jsonl"], rules=[chatgpt_pack(tmp_path)], use_default_rules=False, changed=changed, jobs=1)
    assert [(f.location.line, f.location.path) for f in result.findings] == [(51, "data.jsonl")]
    assert result.stats.records == 1  # one line read, not the file
    entry = result.manifest["inputs"][0]
    assert entry["sha256"] is None and entry["size"] == data.stat().st_size  # not hashed: said so


def test_since_keeps_maps_of_files_git_has_hashed(repo: Path, map_cache: Path) -> None:
    many = records(*(str(i) for i in range(60)))
    data = write(repo / "data.jsonl", many)
    first = commit_all(repo)
    write(data, many[:10] + records("x") + many[11:])
    second = commit_all(repo)
    assert gitdiff.changed_lines(["data.jsonl"], since=first) == {key(data): frozenset({11})}  # reads the blob, keeps a map
    write(data, many[:10] + records("x") + many[11:50] + records("y") + many[51:])
    commit_all(repo)
    with no_blob_reading():
        assert gitdiff.changed_lines(["data.jsonl"], since=second) == {key(data): frozenset({51})}
