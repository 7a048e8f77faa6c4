"""A list that keeps a bounded number of items in memory and the rest on disk.

A scan of hundreds of GB can find millions of things; holding each in
memory until the report is written would make the scan's memory grow with
its input. A `Spool` keeps up to `limit` items in memory; past that it
writes them, in chunks, to an unnamed temporary file (in `TMPDIR`, removed
by the system when the spool is closed or the process ends) and reads them
back each time it is iterated. A scan with fewer items never touches disk.

Items go in at the end and come out in that order, as often as asked.
`sort` orders them by a key, in memory when they fit and by merging sorted
runs from disk when they do not, so memory stays bounded either way.
"""
from __future__ import annotations

import heapq
import pickle
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Iterator, Protocol, TypeVar, overload

from tos_lint.errors import ScanAborted

T = TypeVar("T")

# Items held in memory before a spool writes them out. About 1 KB each for
# findings: a few tens of MB per spool whatever the scan's size.
SPOOL_LIMIT = 20_000
CHUNK = 1_000  # items per piece written (and read back) at a time
FAN_IN = 32  # sorted runs merged at once: at most this many chunks in memory


class Codec(Protocol[T]):
    """How a chunk of items is written and read back."""

    def dump(self, items: list[T]) -> bytes: ...

    def load(self, data: bytes) -> list[T]: ...


class PickleCodec:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, PickleCodec)

    def __hash__(self) -> int:
        return hash(PickleCodec)

    def dump(self, items: list[Any]) -> bytes:
        return pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, data: bytes) -> list[Any]:
        return pickle.loads(data)  # noqa: S301 - our own temporary file, written by this process


class RowCodec(Generic[T]):
    """Items written as plain tuples: pickling a tuple of strings and numbers
    takes a tenth of the time pickling a dataclass does."""

    def __init__(self, to_row: Callable[[T], tuple[Any, ...]], from_row: Callable[[tuple[Any, ...]], T]):
        self.to_row, self.from_row = to_row, from_row

    def __eq__(self, other: object) -> bool:  # a copy (sent from a worker) writes the same
        return isinstance(other, RowCodec) and (self.to_row, self.from_row) == (other.to_row, other.from_row)

    def __hash__(self) -> int:
        return hash((self.to_row, self.from_row))

    def dump(self, items: list[T]) -> bytes:
        to_row = self.to_row
        return pickle.dumps([to_row(item) for item in items], protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, data: bytes) -> list[T]:
        from_row = self.from_row
        return [from_row(row) for row in pickle.loads(data)]  # noqa: S301 - see PickleCodec


@dataclass(frozen=True, slots=True)
class _Chunk:
    offset: int
    size: int
    count: int


class Spool(Generic[T]):
    """An append-only sequence, bounded in memory, iterable any number of times."""

    def __init__(self, items: Iterable[T] = (), *, limit: int | None = None, codec: Codec[T] | None = None,
                 order: Callable[[T], Any] | None = None):
        """`order`: the key items are usually added in; `sort` with it is
        free when they were (its key is taken of each item added)."""
        self.limit = max(1, limit if limit is not None else SPOOL_LIMIT)
        self.codec: Codec[T] = codec if codec is not None else PickleCodec()
        self.order = order
        self._last: Any = None  # the order key of the last item added
        self._in_order = True
        self._memory: list[T] = []
        self._chunks: list[_Chunk] = []
        self._file: Any = None  # the temporary file, made at the first spill
        self._end = 0  # where the next chunk is written
        self._on_disk = 0
        self.extend(items)

    # -- adding
    def append(self, item: T) -> None:
        if self.order is not None:
            self._track(item)
        self._memory.append(item)
        if len(self._memory) >= self.limit:
            self._spill()

    def _track(self, item: T) -> None:
        assert self.order is not None
        key = self.order(item)
        if self._in_order and self._last is not None and key < self._last:
            self._in_order = False
        self._last = key

    def extend(self, items: Iterable[T]) -> None:
        if isinstance(items, Spool):
            self._extend_with_spool(items)
        elif isinstance(items, list):
            self._add_list(items)
        else:
            for item in items:
                self.append(item)

    def _extend_with_spool(self, other: "Spool[T]") -> None:
        if not other._chunks or other.codec != self.codec or self.order is not None:
            for items in other._chunk_lists():
                self._add_list(items)
            return
        # Its chunks are copied as written, not read back item by item: what
        # this spool holds in memory goes out first, to keep the order.
        self._spill()
        for chunk in list(other._chunks):
            self._write_bytes(other._read_bytes(chunk), chunk.count)
        self._add_list(list(other._memory))

    def _add_list(self, items: list[T]) -> None:
        # the caller holds the list already: taking it whole, then writing
        # it out, holds no item more than it did
        if self.order is not None:
            for item in items:
                self._track(item)
        self._memory.extend(items)
        if len(self._memory) >= self.limit:
            self._spill()

    def _spill(self) -> None:
        memory, self._memory = self._memory, []
        self._write_run(memory)

    def _write(self, items: list[T]) -> None:
        self._write_bytes(self.codec.dump(items), len(items))

    def _write_bytes(self, data: bytes, count: int) -> None:
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="tos-lint-")
            # seek, then write or read, in one call: iterations of a spool
            # interleave only between calls (os.pread is not on every system)
            self._file.seek(self._end)
            self._file.write(data)
            self._file.flush()  # a full disk is reported here, not at some later read
        except OSError as exc:
            raise ScanAborted(f"cannot write the findings held past memory to a temporary file in "
                              f"{tempfile.gettempdir()}: {exc.strerror or exc}; free space there, or set TMPDIR "
                              "to a folder with room") from None
        self._chunks.append(_Chunk(self._end, len(data), count))
        self._end += len(data)
        self._on_disk += count

    # -- reading
    def _read(self, chunk: _Chunk) -> list[T]:
        return self.codec.load(self._read_bytes(chunk))

    def _read_bytes(self, chunk: _Chunk) -> bytes:
        self._file.seek(chunk.offset)
        return self._file.read(chunk.size)

    def _chunk_lists(self) -> Iterator[list[T]]:
        """The items in order, a list at a time (the last, what is in memory now)."""
        for chunk in list(self._chunks):
            yield self._read(chunk)
        if self._memory:
            yield list(self._memory)

    def __iter__(self) -> Iterator[T]:
        for items in self._chunk_lists():
            yield from items

    def __len__(self) -> int:
        return self._on_disk + len(self._memory)

    def __bool__(self) -> bool:
        return len(self) > 0

    @property
    def spilled(self) -> bool:
        """Whether some items are on disk."""
        return bool(self._chunks)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return list(self)[index] if self._chunks else self._memory[index]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError("spool index out of range")
        for chunk in self._chunks:
            if position < chunk.count:
                return self._read(chunk)[position]
            position -= chunk.count
        return self._memory[position]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Spool, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"Spool({len(self)} items, {self._on_disk} on disk)"

    # -- ordering
    def sort(self, key: Callable[[T], Any] | None = None) -> None:
        """Order the items by `key` (default: `order`), stably, as `list.sort` would."""
        key = key or self.order
        if key is None:
            raise TypeError("Spool.sort needs a key, or a spool made with one (order=)")
        if key is self.order and self._in_order:
            return
        if not self._chunks:
            self._memory.sort(key=key)
        elif not self._items_in_order(key):  # a pass that reads, where it can spare two that write
            self._sort_on_disk(key)
        self._in_order = key is self.order
        if self._in_order and self:
            self._last = key(self[-1])

    def _sort_on_disk(self, key: Callable[[T], Any]) -> None:
        scratch: Spool[T] = Spool(limit=self.limit, codec=self.codec)
        runs = scratch._sorted_runs(self._chunk_lists(), key)
        self.close()
        while len(runs) > FAN_IN:  # merged in rounds: never more than FAN_IN chunks read at once
            runs = [scratch._write_run(scratch._merged(runs[i:i + FAN_IN], key)) for i in range(0, len(runs), FAN_IN)]
        self.extend(scratch._merged(runs, key))
        scratch.close()

    def _items_in_order(self, key: Callable[[T], Any]) -> bool:
        items = iter(self)
        last = key(next(items))
        for item in items:
            current = key(item)
            if current < last:
                return False
            last = current
        return True

    def _sorted_runs(self, lists: Iterable[list[T]], key: Callable[[T], Any]) -> list[list[_Chunk]]:
        """The items cut in runs of `limit`, each sorted and written here.
        Equal keys keep their order: within a run by a stable sort, across
        runs by `heapq.merge`, which takes from the earlier run first."""
        runs: list[list[_Chunk]] = []
        run: list[T] = []
        for items in lists:
            run.extend(items)
            while len(run) >= self.limit:
                runs.append(self._write_run(sorted(run[:self.limit], key=key)))
                del run[:self.limit]
        if run:
            runs.append(self._write_run(sorted(run, key=key)))
        return runs

    def _write_run(self, items: Iterable[T]) -> list[_Chunk]:
        first = len(self._chunks)
        part: list[T] = []
        for item in items:
            part.append(item)
            if len(part) >= CHUNK:
                self._write(part)
                part = []
        if part:
            self._write(part)
        return self._chunks[first:]

    def _merged(self, runs: list[list[_Chunk]], key: Callable[[T], Any]) -> Iterator[T]:
        return heapq.merge(*(self._run_items(run) for run in runs), key=key)

    def _run_items(self, run: list[_Chunk]) -> Iterator[T]:
        for chunk in run:
            yield from self._read(chunk)

    # -- lifetime
    def close(self) -> None:
        """Remove the file on disk now (it goes anyway when the process ends)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._chunks, self._memory, self._on_disk, self._end = [], [], 0, 0
        self._last, self._in_order = None, True

    def __reduce__(self) -> tuple[Any, ...]:
        # sent to another process (a worker's results) as its items: the
        # temporary file is this process's own
        return (_rebuilt, (list(self), self.limit, self.codec, self.order))


def _rebuilt(items: list[T], limit: int, codec: Codec[T], order: Callable[[T], Any] | None) -> Spool[T]:
    return Spool(items, limit=limit, codec=codec, order=order)
