"""Where indexes live: a file path or a Redis URL, handled alike.

A location is a path (`refs.tlx`) or a Redis URL with an optional key
prefix as its fragment (`redis://localhost:6379/0#team-refs`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tos_lint.errors import UsageError
from tos_lint.neardup.index import IndexBuilder, IndexData, load_index, write_index
from tos_lint.neardup.redis_store import RedisIndex, is_redis_location


def open_indexes(locations: Sequence[str | Path]) -> list[IndexData]:
    """Every index (or Redis segment) at the given locations."""
    out: list[IndexData] = []
    for loc in locations:
        loc = str(loc)
        if is_redis_location(loc):
            out.extend(RedisIndex.from_location(loc).load())
        elif not Path(loc).exists():
            raise UsageError(f"{loc}: no such index file")
        else:
            out.append(load_index(loc))
    return out


def save(location: str | Path, data: IndexData) -> None:
    """Write `data` as the whole index at `location` (replacing it)."""
    loc = str(location)
    if is_redis_location(loc):
        RedisIndex.from_location(loc).replace(data)
    else:
        write_index(data, loc)


def merged(location: str | Path) -> IndexData:
    """The index at `location` as one (a Redis index may have segments)."""
    parts = open_indexes([location])
    if len(parts) == 1:
        return parts[0]
    builder = IndexBuilder(parts[0].params)
    for part in parts:
        builder.extend(part)
    return builder.finish()
