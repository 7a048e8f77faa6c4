"""The near-duplicate index: parameters, contents, and its file format.

The format is documented in docs/index-format.md. In short: a 64-byte
preamble (magic, format version, lengths, SHA-256 of everything after the
preamble), a JSON header (parameters, small tables, and where each array
is), then little-endian numpy arrays at 64-byte aligned offsets. Loading
maps the file and wraps the arrays with `np.frombuffer`: nothing in the file
is ever executed or unpickled, and nothing is copied until it is used.
"""
from __future__ import annotations

import hashlib
import json
import mmap
import os
import stat
import struct
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tos_lint.atomic import atomic_write
from tos_lint.errors import UsageError
from tos_lint.neardup.lsh import Banding, BandTable, band_keys, choose_banding
from tos_lint.neardup.minhash import SCHEMES, MinHasher
from tos_lint.neardup.shingles import HASH_NAME, NORMALIZER_VERSION, ShingleSpec
from tos_lint.neardup.signing import frequent_shingles, keep_mask

MAGIC = b"TLNDIDX\x00"
FORMAT_VERSION = 1
PREAMBLE = struct.Struct("<8sIIQQ32s")  # magic, version, flags, header length, file length, sha256
ALIGN = 64
_DTYPES = {"<u1", "<u2", "<u4", "<u8"}  # the only array types a valid file holds
_NO_POSITION = 0  # line / item are stored +1, so 0 means "none"
MAX_SHINGLE_N = 32  # longer shingles are near-unique: two texts would share none


@dataclass(frozen=True)
class IndexParams:
    """Everything that decides how a text is signed and matched. Two indexes
    can be merged, or queried with one signature, only if these agree."""

    num_perm: int = 128
    seed: int = 1
    scheme: str = "affine32"
    shingle_kind: str = "word"
    shingle_n: int = 3
    normalizer: str = NORMALIZER_VERSION
    hash: str = HASH_NAME
    strip_prompt: bool = True  # drop shingles the answer shares with its own prompt
    min_shingles: int = 20  # shorter texts are neither indexed nor queried
    threshold: float = 0.4  # Jaccard similarity a match must reach
    fn_budget: float = 0.1  # allowed LSH miss rate for a pair at the threshold
    bands: int = 14
    rows: int = 2
    roles: tuple[str, ...] = ("assistant",)

    @classmethod
    def design(cls, *, threshold: float = 0.4, fn_budget: float = 0.1, max_bands: int = 16,
               num_perm: int = 128, **kwargs: Any) -> "IndexParams":
        """Parameters with the banding chosen from threshold and budget."""
        try:
            banding = choose_banding(threshold, fn_budget, num_perm, max_bands)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        params = cls(num_perm=num_perm, threshold=threshold, fn_budget=fn_budget,
                     bands=banding.bands, rows=banding.rows, **kwargs)
        params.check_supported()
        return params

    @property
    def shingles(self) -> ShingleSpec:
        return ShingleSpec(self.shingle_kind, self.shingle_n)

    @property
    def banding(self) -> Banding:
        return Banding(self.bands, self.rows)

    def signing_key(self) -> tuple[Any, ...]:
        """What must agree for one query signature to serve two indexes."""
        return (self.num_perm, self.seed, self.scheme, self.shingle_kind, self.shingle_n,
                self.normalizer, self.hash, self.strip_prompt, self.min_shingles)

    def check_supported(self) -> None:
        """Refuse parameters this version cannot reproduce at query time."""
        problems = []
        if self.normalizer != NORMALIZER_VERSION:
            problems.append(f"normalizer {self.normalizer!r} (this version has {NORMALIZER_VERSION!r})")
        if self.hash != HASH_NAME:
            problems.append(f"shingle hash {self.hash!r} (this version has {HASH_NAME!r})")
        if self.scheme not in SCHEMES:
            problems.append(f"MinHash scheme {self.scheme!r}")
        if self.shingle_kind not in ("word", "char") or not 1 <= self.shingle_n <= MAX_SHINGLE_N:
            problems.append(f"shingles {self.shingle_kind}/{self.shingle_n}")
        if self.bands * self.rows > self.num_perm or self.bands < 1 or self.rows < 1:
            problems.append(f"banding {self.bands}x{self.rows} for {self.num_perm} permutations")
        if problems:
            raise UsageError("index parameters not supported by this version of tos-lint: " + "; ".join(problems))

    def differences(self, other: "IndexParams") -> list[str]:
        return [f"{f.name}: {getattr(self, f.name)!r} vs {getattr(other, f.name)!r}"
                for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["roles"] = list(self.roles)
        return out

    @classmethod
    def from_json(cls, doc: Any, where: str) -> "IndexParams":
        if not isinstance(doc, dict):
            raise UsageError(f"{where}: index header has no parameters")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(doc) - set(known))
        if unknown:
            raise UsageError(f"{where}: index uses parameters this version does not know: {', '.join(unknown)}")
        try:
            values = {k: (tuple(v) if k == "roles" else v) for k, v in doc.items()}
            params = cls(**values)
        except TypeError as exc:
            raise UsageError(f"{where}: invalid index parameters: {exc}") from None
        return params


@dataclass
class Reference:
    """Where a matched reference came from, for a finding's detail."""

    row: int
    id: str
    provider: str
    label: str  # the provider field's raw value (e.g. a model name), or ""
    source: str  # path, with :line or [index] when known


@dataclass
class IndexData:
    """The arrays of an index (in memory while building, mapped when loaded)."""

    params: IndexParams
    table: BandTable
    providers: list[str]
    labels: list[str]
    sources: list[str]
    provider_code: np.ndarray  # (n,) uint16 into providers
    label_code: np.ndarray  # (n,) uint16 into labels
    source_code: np.ndarray  # (n,) uint32 into sources
    line: np.ndarray  # (n,) uint32, line + 1, or 0
    item: np.ndarray  # (n,) uint32, array index + 1, or 0
    id_offsets: np.ndarray  # (n + 1,) uint64 into id_bytes
    id_bytes: np.ndarray  # uint8, UTF-8 ids back to back
    shingle_offsets: np.ndarray  # (n + 1,) uint64 into shingles
    shingles: np.ndarray  # uint32, each reference's sorted unique shingle hashes
    frequent: np.ndarray  # uint32, sorted: shingles left out of signatures (signing.py)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.provider_code)

    @property
    def offsets64(self) -> np.ndarray:
        """`shingle_offsets` as int64, without a copy (offsets are < 2^63):
        numpy index arithmetic wants signed integers, and copying the array
        of a mapped million-reference index per query batch costs more than
        the queries."""
        return self.shingle_offsets.view(np.int64)

    def shingle_set(self, row: int) -> np.ndarray:
        return self.shingles[int(self.shingle_offsets[row]):int(self.shingle_offsets[row + 1])]

    def reference(self, row: int) -> Reference:
        ref_id = bytes(self.id_bytes[int(self.id_offsets[row]):int(self.id_offsets[row + 1])]).decode("utf-8", "replace")
        source = self.sources[int(self.source_code[row])]
        line, item = int(self.line[row]), int(self.item[row])
        if line != _NO_POSITION:
            source += f":{line - 1}"
        elif item != _NO_POSITION:
            source += f"[{item - 1}]"
        return Reference(row, ref_id, self.providers[int(self.provider_code[row])],
                         self.labels[int(self.label_code[row])], source)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "band_keys": self.table.keys, "band_rows": self.table.rows, "band_directory": self.table.directory,
            "provider_code": self.provider_code, "label_code": self.label_code, "source_code": self.source_code,
            "line": self.line, "item": self.item, "id_offsets": self.id_offsets, "id_bytes": self.id_bytes,
            "shingle_offsets": self.shingle_offsets, "shingles": self.shingles, "frequent": self.frequent,
        }

    def size_report(self) -> dict[str, float]:
        """Bytes per reference: LSH tables alone, and everything."""
        n = max(self.count, 1)
        total = sum(a.nbytes for a in self.arrays().values())
        meta = total - self.table.nbytes - self.shingles.nbytes - self.shingle_offsets.nbytes - self.frequent.nbytes
        return {
            "lsh_bytes_per_ref": self.table.nbytes / n,
            "metadata_bytes_per_ref": meta / n,
            "shingle_bytes_per_ref": (self.shingles.nbytes + self.shingle_offsets.nbytes) / n,
            "total_bytes_per_ref": total / n,
        }


# --- writing ---------------------------------------------------------------------

def _header(data: IndexData) -> tuple[bytes, list[tuple[np.ndarray, int]]]:
    """The JSON header and each array with its file offset."""
    arrays = data.arrays()
    sections: dict[str, dict[str, Any]] = {}
    placed: list[tuple[np.ndarray, int]] = []
    doc = {
        "format": "tos-lint near-duplicate index", "format_version": FORMAT_VERSION,
        "params": data.params.to_json(), "count": data.count, "providers": data.providers,
        "labels": data.labels, "sources": data.sources, "band_bits": data.table.bits,
        "stats": data.stats, "sections": sections,
    }
    # Offsets depend on the header's length, which depends on the offsets'
    # digits: reserve room generously, then lay out.
    for name, arr in arrays.items():
        sections[name] = {"offset": 0, "dtype": f"<{arr.dtype.kind}{arr.dtype.itemsize}", "shape": list(arr.shape)}
    guess = len(json.dumps(doc).encode()) + 24 * len(arrays) + 256
    offset = _align(PREAMBLE.size + guess)
    for name, arr in arrays.items():
        sections[name]["offset"] = offset
        placed.append((arr, offset))
        offset = _align(offset + arr.nbytes)
    header = json.dumps(doc, separators=(",", ":")).encode()
    if placed and PREAMBLE.size + len(header) > placed[0][1]:
        raise AssertionError("index header outgrew the room reserved for it")
    return header, placed


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def write_index(data: IndexData, path: str | Path) -> None:
    """Write atomically: a reader sees the old file or the new, never half."""
    with atomic_write(Path(path)) as out:
        _write(data, out)


def _write(data: IndexData, out: BinaryIO) -> None:
    header, placed = _header(data)
    digest = hashlib.sha256()
    body_start = PREAMBLE.size
    out.write(b"\0" * body_start)
    position = body_start

    def emit(chunk: bytes | memoryview) -> None:
        nonlocal position
        out.write(chunk)
        digest.update(chunk)
        position += len(chunk)

    emit(header)
    for arr, offset in placed:
        emit(b"\0" * (offset - position))
        flat = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).reshape(-1).view(np.uint8)
        if flat.size:
            emit(memoryview(flat))
    emit(b"\0" * (_align(position) - position))
    out.seek(0)
    out.write(PREAMBLE.pack(MAGIC, FORMAT_VERSION, 0, len(header), position, digest.digest()))


def serialize(data: IndexData) -> bytes:
    """The index file's bytes (for stores other than files, e.g. Redis)."""
    import io

    buf = io.BytesIO()
    _write(data, buf)
    return buf.getvalue()


# --- reading ---------------------------------------------------------------------

def load_index(path: str | Path, *, verify: bool = True) -> IndexData:
    """Map an index file. Raises UsageError, naming the file, for anything
    that is not a complete, intact index this version can read."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):  # mapped, so a file; a device would be read forever
                raise UsageError(f"{path}: not a regular file; an index is a file `tos-lint index build` wrote")
            size = info.st_size
            if size < PREAMBLE.size:
                _check_preamble(fh.read(), str(path), size)
            buf: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read index: {exc.strerror or exc}") from None
    return parse_index(buf, str(path), verify=verify)


def parse_index(buf: Any, where: str, *, verify: bool = True) -> IndexData:
    """Index from a buffer (a mapped file or bytes)."""
    view = memoryview(buf)
    header_len = _check_preamble(view, where, len(view))
    if verify:
        _check_digest(view, where)
    try:
        doc = json.loads(bytes(view[PREAMBLE.size:PREAMBLE.size + header_len]))
    except ValueError:
        raise UsageError(f"{where}: corrupted index: the header is not valid JSON") from None
    params = IndexParams.from_json(doc.get("params"), where)
    params.check_supported()
    arrays = {name: _array(buf, spec, name, where, len(view)) for name, spec in _sections(doc, where).items()}
    return _assemble(doc, params, arrays, where)


def _check_preamble(view: Any, where: str, size: int) -> int:
    if size < PREAMBLE.size:
        if bytes(view[:len(MAGIC)]) == MAGIC[:min(size, len(MAGIC))] and size:
            raise UsageError(f"{where}: truncated index: {size} bytes, shorter than its {PREAMBLE.size}-byte preamble")
        raise UsageError(f"{where}: not a tos-lint index (too short)")
    magic, version, _flags, header_len, length, _digest = PREAMBLE.unpack(bytes(view[:PREAMBLE.size]))
    if magic != MAGIC:
        raise UsageError(f"{where}: not a tos-lint index (bad magic number)")
    if version > FORMAT_VERSION:
        raise UsageError(
            f"{where}: index format version {version} is newer than this tos-lint reads "
            f"(up to {FORMAT_VERSION}); upgrade tos-lint or rebuild the index with this version")
    if version < 1:
        raise UsageError(f"{where}: invalid index format version {version}")
    if size < length:
        raise UsageError(f"{where}: truncated index: {size} bytes of {length}; rebuild or copy it again")
    if size > length:
        raise UsageError(f"{where}: corrupted index: {size - length} unexpected bytes after its end")
    if PREAMBLE.size + header_len > length:
        raise UsageError(f"{where}: corrupted index: header length {header_len} runs past the end")
    return int(header_len)


def _check_digest(view: Any, where: str) -> None:
    expected = bytes(view[PREAMBLE.size - 32:PREAMBLE.size])
    digest = hashlib.sha256(view[PREAMBLE.size:]).digest()
    if digest != expected:
        raise UsageError(f"{where}: corrupted index: SHA-256 checksum mismatch; rebuild or copy it again")


def _sections(doc: Any, where: str) -> dict[str, dict[str, Any]]:
    sections = doc.get("sections") if isinstance(doc, dict) else None
    needed = {"band_keys", "band_rows", "band_directory", "provider_code", "label_code", "source_code",
              "line", "item", "id_offsets", "id_bytes", "shingle_offsets", "shingles", "frequent"}
    if not isinstance(sections, dict) or not needed <= set(sections):
        missing = sorted(needed - set(sections or {}))
        raise UsageError(f"{where}: corrupted index: missing sections {', '.join(missing)}")
    return {name: sections[name] for name in needed}


def _array(buf: Any, spec: Any, name: str, where: str, size: int) -> np.ndarray:
    try:
        dtype = np.dtype(spec["dtype"]) if spec["dtype"] in _DTYPES else None
        shape = tuple(int(d) for d in spec["shape"])
        offset = int(spec["offset"])
    except (KeyError, TypeError, ValueError):
        dtype = None
    if dtype is None or any(d < 0 for d in shape) or offset % ALIGN or offset < PREAMBLE.size:
        raise UsageError(f"{where}: corrupted index: bad description of section {name!r}")
    count = int(np.prod(shape, dtype=np.int64))
    if offset + count * dtype.itemsize > size:
        raise UsageError(f"{where}: corrupted index: section {name!r} runs past the end of the file")
    return np.frombuffer(buf, dtype=dtype, count=count, offset=offset).reshape(shape)


def _assemble(doc: dict[str, Any], params: IndexParams, a: dict[str, np.ndarray], where: str) -> IndexData:
    n = int(doc.get("count", -1))
    table = BandTable(a["band_keys"], a["band_rows"], a["band_directory"], int(doc.get("band_bits", 0)))
    ok = (
        table.keys.shape == (params.bands, n) and table.rows.shape == table.keys.shape
        and table.directory.shape == (params.bands, (1 << table.bits) + 1)
        and all(len(a[k]) == n for k in ("provider_code", "label_code", "source_code", "line", "item"))
        and len(a["id_offsets"]) == n + 1 and len(a["shingle_offsets"]) == n + 1
        and (n == 0 or (int(a["id_offsets"][-1]) == len(a["id_bytes"])
                        and int(a["shingle_offsets"][-1]) == len(a["shingles"])))
    )
    tables = [doc.get(k) for k in ("providers", "labels", "sources")]
    if not ok or not all(isinstance(t, list) and all(isinstance(s, str) for s in t) for t in tables):
        raise UsageError(f"{where}: corrupted index: sections and header disagree")
    providers, labels, sources = tables
    for codes, table_ in ((a["provider_code"], providers), (a["label_code"], labels), (a["source_code"], sources)):
        if n and int(codes.max()) >= len(table_):
            raise UsageError(f"{where}: corrupted index: a code points past its table")
    return IndexData(params, table, providers, labels, sources, a["provider_code"], a["label_code"],
                     a["source_code"], a["line"], a["item"], a["id_offsets"], a["id_bytes"],
                     a["shingle_offsets"], a["shingles"], a["frequent"], stats=dict(doc.get("stats") or {}))


# --- building --------------------------------------------------------------------

@dataclass
class PendingRef:
    id: str
    provider: str
    label: str
    source: str
    line: int | None
    item: int | None
    shingles: np.ndarray  # sorted unique uint32


class IndexBuilder:
    """Collects references and assembles an index.

    References are kept as shingle sets and metadata, in array chunks of a
    few thousand (a million references make a few hundred arrays, not a
    million objects). Signing waits for `finish`, because a signature leaves
    out the shingles that are frequent across all references (signing.py),
    which only the whole set of references tells. Since shingle sets are
    stored, merging indexes (`extend`) re-signs them alike."""

    BATCH = 4096
    _COLUMNS = ("shingles", "sizes", "provider", "label", "source", "line", "item", "ids", "id_sizes")

    def __init__(self, params: IndexParams):
        params.check_supported()
        self.params = params
        self.hasher = MinHasher(params.num_perm, params.seed, params.scheme)
        self._pending: list[PendingRef] = []
        self._chunks: dict[str, list[np.ndarray]] = {c: [] for c in self._COLUMNS}
        self._codes: dict[str, dict[str, int]] = {"providers": {}, "labels": {}, "sources": {}}
        self._done = 0

    @property
    def count(self) -> int:
        return self._done + len(self._pending)

    def add(self, ref: PendingRef) -> None:
        self._pending.append(ref)
        if len(self._pending) >= self.BATCH:
            self._flush()

    def extend(self, data: IndexData) -> None:
        """Take every reference of an existing index (same parameters)."""
        diff = self.params.differences(data.params)
        if diff:
            raise UsageError("the index was built with other parameters: " + "; ".join(diff))
        self._flush()
        remap = {t: np.array([self._code(t, v) for v in getattr(data, t)] or [0], dtype=np.int64)
                 for t in ("providers", "labels", "sources")}
        self._append(
            shingles=np.asarray(data.shingles), sizes=np.diff(data.offsets64),
            provider=remap["providers"][data.provider_code], label=remap["labels"][data.label_code],
            source=remap["sources"][data.source_code], line=np.asarray(data.line), item=np.asarray(data.item),
            ids=np.asarray(data.id_bytes), id_sizes=np.diff(data.id_offsets.view(np.int64)),
        )
        self._done += data.count

    def _code(self, table: str, value: str) -> int:
        codes = self._codes[table]
        if value not in codes:
            codes[value] = len(codes)
        return codes[value]

    def _append(self, **columns: np.ndarray) -> None:
        for name, arr in columns.items():
            self._chunks[name].append(arr)

    def _flush(self) -> None:
        refs, self._pending = self._pending, []
        if not refs:
            return
        ids = [r.id.encode("utf-8", "surrogatepass") for r in refs]
        self._append(
            shingles=np.concatenate([r.shingles for r in refs]).astype(np.uint32),
            sizes=np.array([len(r.shingles) for r in refs], dtype=np.int64),
            provider=np.array([self._code("providers", r.provider) for r in refs]),
            label=np.array([self._code("labels", r.label) for r in refs]),
            source=np.array([self._code("sources", r.source) for r in refs]),
            line=np.array([_NO_POSITION if r.line is None else r.line + 1 for r in refs]),
            item=np.array([_NO_POSITION if r.item is None else r.item + 1 for r in refs]),
            ids=np.frombuffer(b"".join(ids), dtype=np.uint8), id_sizes=np.array([len(i) for i in ids]),
        )
        self._done += len(refs)

    def finish(self) -> IndexData:
        self._flush()
        if len(self._codes["providers"]) > 0xFFFF or len(self._codes["labels"]) > 0xFFFF:
            raise UsageError("too many distinct providers or labels for one index (at most 65535)")

        def col(name: str, dtype: Any) -> np.ndarray:
            chunks = self._chunks[name]
            return np.concatenate(chunks).astype(dtype) if chunks else np.zeros(0, dtype)

        sizes = col("sizes", np.int64)
        shingles = col("shingles", np.uint32)
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        frequent = frequent_shingles(shingles, len(sizes))
        return IndexData(
            params=self.params, table=BandTable.build(self._band_keys(shingles, offsets, frequent)),
            providers=list(self._codes["providers"]), labels=list(self._codes["labels"]),
            sources=list(self._codes["sources"]),
            provider_code=col("provider", np.uint16), label_code=col("label", np.uint16),
            source_code=col("source", np.uint32), line=col("line", np.uint32), item=col("item", np.uint32),
            id_offsets=np.concatenate(([0], np.cumsum(col("id_sizes", np.int64)))).astype(np.uint64),
            id_bytes=col("ids", np.uint8), shingle_offsets=offsets.astype(np.uint64), shingles=shingles,
            frequent=frequent, stats=_size_stats(sizes),
        )

    def _band_keys(self, shingles: np.ndarray, offsets: np.ndarray, frequent: np.ndarray) -> np.ndarray:
        """Band keys of every reference, signed in slices to bound memory."""
        n = len(offsets) - 1
        keys = np.zeros((n, self.params.bands), dtype=np.uint32)
        step = 65536
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            part = shingles[offsets[lo]:offsets[hi]]
            part_offsets = offsets[lo:hi + 1] - offsets[lo]
            keep = keep_mask(part, part_offsets, frequent)
            owner = np.repeat(np.arange(hi - lo), np.diff(part_offsets))
            kept_offsets = np.concatenate(([0], np.cumsum(np.bincount(owner[keep], minlength=hi - lo))))
            sigs = self.hasher.sign_many(part[keep], kept_offsets)
            keys[lo:hi] = band_keys(sigs, self.params.banding)
        return keys


def _size_stats(sizes: np.ndarray) -> dict[str, Any]:
    """Reference sizes, in shingles: `index info` shows them, and the
    detector sizes its containment windows from them."""
    n = len(sizes)
    if n == 0:
        return {"references": 0}
    q = np.percentile(sizes, [10, 50, 90]).tolist()
    return {"references": n, "shingles_p10": int(q[0]), "shingles_p50": int(q[1]), "shingles_p90": int(q[2])}
