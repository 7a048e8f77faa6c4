"""A shared index in Redis, so that a team and CI use one reference set.

Layout, under a key prefix (default `tos-lint:neardup`, chosen with the
URL's fragment, `redis://host:6379/0#team-refs`):

    PREFIX:meta               JSON: format version and index parameters
    PREFIX:segments           list of "SHA256HEX:CHUNKS", one per segment
    PREFIX:seg:SHA256HEX:I    bytes of chunk I of a segment

A segment is an ordinary index file (docs/index-format.md). `build`
replaces every segment with one; `add` appends a segment (RPUSH is atomic,
so team members can add at the same time) and merges all segments into one
once there are more than `MAX_SEGMENTS`.

Queries do not go to Redis per record: a scan downloads the segments once,
checks each against its SHA-256, keeps it in the local cache
(TOS_LINT_CACHE_DIR or ~/.cache/tos-lint/neardup) and memory-maps it. That
is much faster than one network round trip per lookup, and a cached
segment is never downloaded twice, since its name is its digest.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tos_lint.atomic import atomic_write
from tos_lint.errors import UsageError
from tos_lint.neardup.index import FORMAT_VERSION, IndexBuilder, IndexData, IndexParams, load_index, parse_index, serialize

DEFAULT_PREFIX = "tos-lint:neardup"
CHUNK_BYTES = 64 << 20  # well under Redis's 512 MB limit per string
MAX_SEGMENTS = 8
REDIS_SCHEMES = ("redis", "rediss", "unix")


def is_redis_location(location: str) -> bool:
    return urlsplit(location).scheme in REDIS_SCHEMES


@dataclass
class RedisIndex:
    """An index kept in Redis at `url`, under `prefix`."""

    url: str
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def from_location(cls, location: str) -> "RedisIndex":
        parts = urlsplit(location)
        prefix = parts.fragment or DEFAULT_PREFIX
        return cls(urlunsplit(parts._replace(fragment="")), prefix)

    def __post_init__(self) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - redis is a dependency
            raise UsageError("the 'redis' Python package is needed for a Redis index") from None
        self._redis = redis
        try:
            self.client = redis.Redis.from_url(self.url, socket_timeout=30, socket_connect_timeout=5)
        except ValueError as exc:
            raise UsageError(f"{self.url}: not a Redis URL: {exc}") from None

    @property
    def where(self) -> str:
        return f"{self.url}#{self.prefix}"

    # --- reading -----------------------------------------------------------------

    def params(self) -> IndexParams | None:
        raw = self._call(self.client.get, f"{self.prefix}:meta")
        if raw is None:
            return None
        try:
            meta = json.loads(raw)
        except ValueError:
            raise UsageError(f"{self.where}: corrupted index metadata") from None
        version = meta.get("format_version") if isinstance(meta, dict) else None
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise UsageError(f"{self.where}: index format version {version} is newer than this tos-lint reads "
                             f"(up to {FORMAT_VERSION}); upgrade tos-lint")
        params = IndexParams.from_json(meta.get("params"), self.where)
        params.check_supported()
        return params

    def segments(self) -> list[str]:
        return [s.decode() for s in self._call(self.client.lrange, f"{self.prefix}:segments", 0, -1)]

    def load(self) -> list[IndexData]:
        """Every segment, from the local cache or downloaded and checked."""
        params = self.params()
        if params is None:
            raise UsageError(f"{self.where}: no index here (build one with `tos-lint index build ... --out {self.where}`)")
        out = []
        for entry in self.segments():
            data = self._segment(entry)
            diff = params.differences(data.params)
            if diff:
                raise UsageError(f"{self.where}: segment {entry} was built with other parameters: " + "; ".join(diff))
            out.append(data)
        return out

    def _segment(self, entry: str) -> IndexData:
        digest, _, chunks = entry.partition(":")
        cached = _cache_path(digest)
        if cached is not None and cached.exists():
            try:
                return load_index(cached)
            except UsageError:  # a damaged cache entry: fetch the segment again
                cached.unlink(missing_ok=True)
        keys = [f"{self.prefix}:seg:{digest}:{i}" for i in range(int(chunks or 1))]
        parts = self._call(self.client.mget, keys)
        if any(p is None for p in parts):
            raise UsageError(f"{self.where}: segment {digest[:12]} is incomplete in Redis")
        blob = b"".join(parts)
        if hashlib.sha256(blob).hexdigest() != digest:
            raise UsageError(f"{self.where}: segment {digest[:12]} is corrupted (SHA-256 mismatch)")
        if cached is None:
            return parse_index(blob, f"{self.where} segment {digest[:12]}", verify=False)
        _write_atomic(cached, blob)
        return load_index(cached, verify=False)

    # --- writing -----------------------------------------------------------------

    def replace(self, data: IndexData) -> None:
        """Make `data` the whole index (what `index build` does)."""
        old = self.segments()
        entry, chunks = _chunks(data)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(f"{self.prefix}:meta", _meta(data.params))
            for key, blob in chunks.items():
                pipe.set(f"{self.prefix}:{key}", blob)
            pipe.delete(f"{self.prefix}:segments")
            pipe.rpush(f"{self.prefix}:segments", entry)
            for stale in old:
                if stale != entry:
                    pipe.delete(*_chunk_keys(self.prefix, stale))
            self._call(pipe.execute)

    def append(self, data: IndexData) -> None:
        """Add a segment (what `index add` does); merge when there are many."""
        params = self.params()
        if params is None:
            self.replace(data)
            return
        diff = params.differences(data.params)
        if diff:
            raise UsageError(f"{self.where}: the index was built with other parameters: " + "; ".join(diff))
        entry, chunks = _chunks(data)
        with self.client.pipeline(transaction=True) as pipe:
            for key, blob in chunks.items():
                pipe.set(f"{self.prefix}:{key}", blob)
            pipe.rpush(f"{self.prefix}:segments", entry)
            self._call(pipe.execute)
        if len(self.segments()) > MAX_SEGMENTS:
            self.compact()

    def compact(self) -> bool:
        """Merge all segments into one. Gives up (returns False) if someone
        changed the segment list meanwhile; their segment is not lost."""
        key = f"{self.prefix}:segments"
        with self.client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)
                entries = [e.decode() for e in pipe.lrange(key, 0, -1)]
                builder: IndexBuilder | None = None
                for entry in entries:
                    data = self._segment(entry)
                    builder = builder or IndexBuilder(data.params)
                    builder.extend(data)
                if builder is None:
                    return True
                merged, chunks = _chunks(builder.finish())
                pipe.multi()
                for k, blob in chunks.items():
                    pipe.set(f"{self.prefix}:{k}", blob)
                pipe.delete(key)
                pipe.rpush(key, merged)
                for stale in entries:
                    if stale != merged:
                        pipe.delete(*_chunk_keys(self.prefix, stale))
                pipe.execute()
                return True
            except self._redis.WatchError:
                return False
            except self._redis.RedisError as exc:
                raise UsageError(f"{self.where}: {exc}") from None

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self._redis.RedisError as exc:
            raise UsageError(f"{self.where}: {exc}") from None


def _meta(params: IndexParams) -> str:
    return json.dumps({"format_version": FORMAT_VERSION, "params": params.to_json()}, sort_keys=True)


def _chunks(data: IndexData) -> tuple[str, dict[str, bytes]]:
    """The segment's list entry and its chunks, keyed below the prefix."""
    blob = serialize(data)
    digest = hashlib.sha256(blob).hexdigest()
    pieces = [blob[i:i + CHUNK_BYTES] for i in range(0, len(blob), CHUNK_BYTES)] or [b""]
    return f"{digest}:{len(pieces)}", {f"seg:{digest}:{i}": p for i, p in enumerate(pieces)}


def _chunk_keys(prefix: str, entry: str) -> list[str]:
    digest, _, chunks = entry.partition(":")
    return [f"{prefix}:seg:{digest}:{i}" for i in range(int(chunks or 1))]


def _cache_path(digest: str) -> Path | None:
    from tos_lint.cache import cache_dir

    base = cache_dir()
    return None if base is None else base / "neardup" / f"{digest}.tlx"


def _write_atomic(path: Path, blob: bytes) -> None:
    with atomic_write(path) as out:
        out.write(blob)
