"""The spool: a list bounded in memory, the rest on disk, same order and contents."""
from __future__ import annotations

import pickle
from typing import Any
import random

import pytest

from tos_lint import spool as spool_module
from tos_lint.spool import RowCodec, Spool


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 3 and merges of 2 runs at a time, so that a few dozen items
    take several chunks, runs and merge rounds."""
    monkeypatch.setattr(spool_module, "CHUNK", 3)
    monkeypatch.setattr(spool_module, "FAN_IN", 2)


@pytest.mark.parametrize("limit", [1, 2, 5, 7, 1000])
def test_holds_what_was_added_in_order(small_chunks: None, limit: int) -> None:
    s: Spool[int] = Spool(limit=limit)
    expected: list[int] = []
    for n in range(23):
        s.append(n)
        expected.append(n)
    more = list(range(100, 140))
    s.extend(more)
    s.extend(x for x in range(200, 211))
    expected += more + list(range(200, 211))
    assert list(s) == expected
    assert list(s) == expected  # iterated again: the same
    assert len(s) == len(expected)
    assert s.spilled == (limit < len(expected))
    assert len(s._memory) < limit


def test_memory_stays_below_the_limit_while_adding(small_chunks: None) -> None:
    s: Spool[int] = Spool(limit=10)
    for n in range(1000):
        s.append(n)
        assert len(s._memory) < 10
    s.extend(list(range(5000)))
    assert len(s._memory) < 10 and len(s) == 6000


def test_indexing_and_slices_read_from_disk(small_chunks: None) -> None:
    items = [f"item {n}" for n in range(50)]
    s = Spool(items, limit=8)
    assert s.spilled
    for i in (0, 1, 7, 8, 30, 49, -1, -50):
        assert s[i] == items[i]
    assert s[3:12] == items[3:12]
    with pytest.raises(IndexError):
        s[50]
    with pytest.raises(IndexError):
        s[-51]


def test_equality_with_lists_and_spools(small_chunks: None) -> None:
    assert Spool() == []
    assert Spool([1, 2, 3], limit=2) == [1, 2, 3]
    assert Spool([1, 2, 3], limit=2) == Spool([1, 2, 3], limit=100)
    assert Spool([1, 2, 3], limit=2) != [1, 2]
    assert Spool([1, 2, 3], limit=2) != [1, 2, 4]
    assert not Spool() and Spool([0])


def test_two_iterations_may_interleave(small_chunks: None) -> None:
    s = Spool(range(40), limit=4)
    pairs = list(zip(s, s))
    assert pairs == [(n, n) for n in range(40)]


def test_extending_with_another_spool(small_chunks: None) -> None:
    a = Spool(range(30), limit=4)
    b = Spool(range(30, 45), limit=6)
    a.extend(b)
    assert list(a) == list(range(45))


@pytest.mark.parametrize("limit", [1, 3, 10, 64, 10_000])
def test_sort_is_a_stable_sort(small_chunks: None, limit: int) -> None:
    rng = random.Random(limit)
    items = [(rng.randrange(12), n) for n in range(300)]  # many equal keys
    s = Spool(items, limit=limit)
    s.sort(key=lambda item: item[0])
    assert list(s) == sorted(items, key=lambda item: item[0])
    assert len(s) == 300
    s.append((-1, -1))  # still a spool to add to
    assert list(s)[-1] == (-1, -1)


def test_sort_of_what_is_nearly_in_order(small_chunks: None) -> None:
    # a scan's findings: in order but for a few that came late
    items = list(range(200))
    items[50:60] = items[50:60][::-1]
    items.append(0)
    s = Spool(items, limit=16)
    s.sort(key=lambda n: n)
    assert list(s) == sorted(items)


def test_a_row_codec_writes_tuples_and_rebuilds_items(small_chunks: None) -> None:
    codec = RowCodec(lambda c: (c.real, c.imag), lambda row: complex(*row))
    items = [complex(n, -n) for n in range(20)]
    s = Spool(items, limit=4, codec=codec)
    assert s.spilled and list(s) == items


def test_pickled_it_carries_its_items(small_chunks: None) -> None:
    s = Spool(range(25), limit=4)
    copy = pickle.loads(pickle.dumps(s))
    assert list(copy) == list(range(25)) and copy.limit == 4


def test_close_removes_the_file(small_chunks: None) -> None:
    s = Spool(range(25), limit=4)
    handle = s._file
    assert handle is not None and not handle.closed
    s.close()
    assert handle.closed and len(s) == 0 and list(s) == []


class Calls:
    """Counts the calls of an object's method, still calling it."""

    def __init__(self, owner: Any, name: str):
        self.count = 0
        real = getattr(owner, name)

        def counted(*args: Any) -> Any:
            self.count += 1
            return real(*args)

        setattr(owner, name, counted)


def test_extending_with_a_spilled_spool_copies_its_chunks_as_written(small_chunks: None) -> None:
    codec = RowCodec(lambda n: (n,), lambda row: row[0])
    target = Spool(range(3), limit=5, codec=codec)
    source = Spool(range(3, 30), limit=4, codec=codec)
    loads = Calls(codec, "load")
    target.extend(source)
    assert loads.count == 0  # nothing decoded to be copied
    assert list(target) == list(range(30)) and len(target) == 30
    assert list(source) == list(range(3, 30))  # the source is left as it was


def test_an_order_known_while_adding_makes_sorting_free(small_chunks: None) -> None:
    s = Spool(limit=4, order=lambda n: n)
    s.extend([1, 2, 2, 5])
    for n in (8, 9, 13):
        s.append(n)
    reads = Calls(s, "_read")
    s.sort()
    assert reads.count == 0 and list(s) == [1, 2, 2, 5, 8, 9, 13]
    s.append(3)  # out of order: now sorting does the work
    s.sort()
    assert list(s) == [1, 2, 2, 3, 5, 8, 9, 13]


def test_sort_without_a_key_needs_an_order() -> None:
    with pytest.raises(TypeError):
        Spool([2, 1]).sort()
