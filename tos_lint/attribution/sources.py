"""Which records of a file the attribution reads, and the text it takes from each.

A dataset-level answer needs a few hundred records, not all of them, so a
file is sampled down to `max_records`:

* a plain (uncompressed) JSONL file larger than the sample is read at
  `max_records` evenly spaced byte offsets: seek, skip to the next line
  start, read one line. Cost does not grow with the file's size.
* anything else (compressed files, JSON arrays, stdin, small files) is read
  through the project's streaming readers, and a deterministic reservoir
  keeps `max_records` records of it.

The text of a record is its assistant segments (as the format adapters find
them), joined; records without any are counted but not used.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import orjson

from tos_lint.adapters import adapt, own_id
from tos_lint.readers import FileStats, InputFile, InputIssue, ReadOptions, read_input
from tos_lint.sampling import file_name

_PLAIN_JSONL_HEAD = 1 << 16
_MAGICS = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"BZh", b"\xfd7zXZ\x00")


@dataclass
class SampledRecord:
    text: str
    line: int | None = None
    index: int | None = None
    offset: int | None = None  # byte offset of the line, for seek-sampled files
    record_id: str | None = None

    def where(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("line", "index", "offset", "record_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass
class FileSample:
    path: str
    records: list[SampledRecord] = field(default_factory=list)
    records_read: int = 0  # records parsed (all of them, or the seek sample)
    without_text: int = 0  # read, but no assistant text
    unreadable: int = 0  # lines or rows that could not be read as records
    sampled: bool = False
    estimated_records: int | None = None  # for seek-sampled files: size / mean line length
    problem: str | None = None  # why reading stopped: nothing read (unsupported format, ...) or part (a cut stream)


def record_text(data: Any, roles: Sequence[str] = ("assistant",), force_format: str | None = None,
                field_map: dict[str, list[str]] | None = None) -> str:
    _, segments = adapt(data, force_format, field_map)
    return "\n\n".join(s.text for s in segments if s.role in roles and s.text.strip())


def sample_file(inp: InputFile, max_records: int | None, roles: Sequence[str] = ("assistant",),
                force_format: str | None = None, field_map: dict[str, list[str]] | None = None,
                seed: int = 0) -> FileSample:
    sample = FileSample(inp.path)
    if max_records is not None and inp.fs_path is not None and inp.problem is None:
        plan = _seek_plan(inp, max_records)
        if plan is not None:
            sample.sampled, sample.estimated_records = True, plan[1]
            _seek_sample(inp, plan[0], sample, roles, force_format, field_map)
            return sample
    _stream_sample(inp, max_records, sample, roles, force_format, field_map, seed)
    return sample


def _seek_plan(inp: InputFile, max_records: int) -> tuple[list[int], int] | None:
    """Evenly spaced byte offsets and the estimated number of records, if
    the file is plain JSONL clearly larger than the sample; None otherwise."""
    assert inp.fs_path is not None
    try:
        size = inp.fs_path.stat().st_size
        with open(inp.fs_path, "rb") as fh:
            head = fh.read(_PLAIN_JSONL_HEAD)
    except OSError:
        return None
    if any(head.startswith(m) for m in _MAGICS) or not head.lstrip().startswith(b"{"):
        return None
    first, sep, _ = head.partition(b"\n")
    if not sep:
        return None
    try:
        if not isinstance(orjson.loads(first), dict):
            return None
    except orjson.JSONDecodeError:
        return None  # a pretty-printed object, not JSONL
    lines_in_head = max(head.count(b"\n"), 1)
    estimate = size * lines_in_head / max(len(head), 1)
    if estimate < 2 * max_records:
        return None
    step = size / max_records
    return [int(i * step) for i in range(max_records)], round(estimate)


def _seek_sample(inp: InputFile, offsets: list[int], sample: FileSample, roles: Sequence[str],
                 force_format: str | None, field_map: dict[str, list[str]] | None) -> None:
    assert inp.fs_path is not None
    seen: set[int] = set()
    with open(inp.fs_path, "rb") as fh:
        for offset in offsets:
            fh.seek(offset)
            if offset:
                fh.readline()  # finish the line the offset fell into
            start = fh.tell()
            if start in seen:  # two offsets inside one long line
                continue
            seen.add(start)
            line = fh.readline()
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError:
                sample.unreadable += 1
                continue
            sample.records_read += 1
            _keep(sample, data, roles, force_format, field_map, offset=start)


def _keep(sample: FileSample, data: Any, roles: Sequence[str], force_format: str | None,
          field_map: dict[str, list[str]] | None, **where: Any) -> None:
    text = record_text(data, roles, force_format, field_map) if isinstance(data, dict) else ""
    if text:
        sample.records.append(SampledRecord(text, record_id=own_id(data), **where))
    else:
        sample.without_text += 1


def _stream_sample(inp: InputFile, max_records: int | None, sample: FileSample, roles: Sequence[str],
                   force_format: str | None, field_map: dict[str, list[str]] | None, seed: int) -> None:
    """All records, or a reservoir of `max_records` of those with text."""
    rng = random.Random(f"{seed}:{file_name(inp.path)}")  # the same sample wherever the file sits
    stats = FileStats()
    seen = 0
    for item in _records(inp, stats):
        if isinstance(item, InputIssue):
            if item.final:  # reading stopped here: what was sampled is not the whole file
                sample.problem = item.message
            continue
        sample.records_read += 1
        text = record_text(item.data, roles, force_format, field_map)
        if not text:
            sample.without_text += 1
            continue
        rec = SampledRecord(text, line=item.line, index=item.index, record_id=own_id(item.data))
        seen += 1
        if max_records is None or len(sample.records) < max_records:
            sample.records.append(rec)
        else:
            j = rng.randrange(seen)
            if j < max_records:
                sample.records[j] = rec
    # the reader's count: notes on a record it still read (invalid UTF-8,
    # a repeated key) or on a whole file (its encoding) are not lost records
    sample.unreadable = stats.malformed
    if max_records is not None and seen > max_records:
        sample.sampled = True
        sample.records.sort(key=lambda r: (r.line or 0, r.index or 0))


def _records(inp: InputFile, stats: FileStats) -> Iterator[Any]:
    yield from read_input(inp, stats, ReadOptions())

