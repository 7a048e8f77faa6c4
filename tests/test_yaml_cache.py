"""Parsed YAML is remembered by content in the compile cache; only what
JSON carries exactly is kept, and a document that fails never is."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tos_lint import yamlsafe
from tos_lint.packs import builtin_pack_paths
from tos_lint.yamlsafe import load_yaml, load_yaml_cached


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Count the real parses from here on."""
    calls: list[bytes] = []

    def counting(raw: Any) -> Any:
        calls.append(raw)
        return load_yaml(raw)

    monkeypatch.setattr(yamlsafe, "load_yaml", counting)
    return calls


def test_a_pack_is_parsed_once_then_read_from_the_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = builtin_pack_paths()[0].read_bytes()
    parses = _parses(monkeypatch)
    first = load_yaml_cached(raw)
    second = load_yaml_cached(raw)
    assert first == second == load_yaml(raw)
    assert len(parses) == 1


def test_changed_content_is_parsed_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _parses(monkeypatch)
    assert load_yaml_cached(b"a: 1\n") == {"a": 1}
    assert load_yaml_cached(b"a: 2\n") == {"a": 2}
    assert len(parses) == 2


def test_what_json_cannot_carry_is_not_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _parses(monkeypatch)
    raw = b"reviewed_on: 2024-05-01\n1: one\n"
    for _ in range(2):
        assert load_yaml_cached(raw) == {"reviewed_on": datetime.date(2024, 5, 1), 1: "one"}
    assert len(parses) == 2


@pytest.mark.parametrize("raw, kept", [
    (b"terms:\n- effective_date: 2024-05-01\n  name: x\n", True),
    (b"reviewed_at: 2024-05-01 10:30:00\n", False),  # a time: its ISO text is not how `str` writes it
    (b"1: one\nday: 2024-05-01\n", False),  # a key JSON cannot carry
])
def test_dates_as_text_are_kept_as_their_iso_text(cache: Path, monkeypatch: pytest.MonkeyPatch, raw: bytes, kept: bool) -> None:
    """The registry reads dates as text: for it, a document whose only
    difference through JSON is its dates is kept, and reads the same, dates
    as `str` writes them, the first time and every time after."""
    parses = _parses(monkeypatch)
    first = load_yaml_cached(raw, dates_as_text=True)
    second = load_yaml_cached(raw, dates_as_text=True)
    assert first == second
    assert len(parses) == (1 if kept else 2)
    if kept:
        assert first == {"terms": [{"effective_date": "2024-05-01", "name": "x"}]}
        assert load_yaml_cached(raw) == {"terms": [{"effective_date": datetime.date(2024, 5, 1), "name": "x"}]}


def test_a_document_that_fails_fails_every_time(cache: Path) -> None:
    for _ in range(2):
        with pytest.raises(yaml.YAMLError):
            load_yaml_cached(b"a: 1\na: 2\n")  # a duplicate key


def test_cache_files_are_written_whole_or_not_at_all(tmp_path: Path) -> None:
    from tos_lint.cache import write_atomically

    target = tmp_path / "c" / "entry.bin"
    assert write_atomically(target, b"head\n", b"body")
    assert target.read_bytes() == b"head\nbody"
    blocked = tmp_path / "c" / "taken"
    blocked.mkdir()  # a folder where the file should go: the rename fails
    assert not write_atomically(blocked, b"x")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["entry.bin", "taken"]  # no temporary left
    assert not write_atomically(target / "below", b"x")  # a file where a folder should be
