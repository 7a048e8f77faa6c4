"""The index file: round trip, and refusal of anything else, never pickle."""
from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from tos_lint.errors import UsageError
from tos_lint.neardup.index import (
    FORMAT_VERSION, MAGIC, PREAMBLE, IndexBuilder, IndexData, IndexParams, PendingRef, load_index, write_index,
)
from tos_lint.neardup.shingles import shingle_set


def build(words, count: int = 50, params: IndexParams | None = None) -> IndexData:  # type: ignore[no-untyped-def]
    params = params or IndexParams.design()
    builder = IndexBuilder(params)
    for i in range(count):
        builder.add(PendingRef(f"ref-{i}", "openai" if i % 2 else "anthropic", f"model-{i % 3}",
                               "refs.jsonl", i, None, shingle_set(words.text(80), params.shingles)))
    return builder.finish()


@pytest.fixture
def index_file(tmp_path: Path, words) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "refs.tlx"
    write_index(build(words), path)
    return path


def test_round_trip(tmp_path: Path, words) -> None:  # type: ignore[no-untyped-def]
    data = build(words)
    path = tmp_path / "i.tlx"
    write_index(data, path)
    loaded = load_index(path)
    assert loaded.params == data.params and loaded.count == 50
    for name, arr in data.arrays().items():
        assert np.array_equal(loaded.arrays()[name], arr), name
    ref = loaded.reference(7)
    assert (ref.id, ref.provider, ref.label, ref.source) == ("ref-7", "openai", "model-1", "refs.jsonl:7")
    assert np.array_equal(loaded.shingle_set(7), data.shingle_set(7))
    assert loaded.size_report()["lsh_bytes_per_ref"] < 150


def test_arrays_are_memory_mapped_not_copied(index_file: Path) -> None:
    data = load_index(index_file)
    assert not data.shingles.flags.writeable and data.shingles.base is not None


def test_loading_never_unpickles(index_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pickle used while loading an index")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(np, "load", refuse)
    load_index(index_file)


def test_empty_index(tmp_path: Path) -> None:
    path = tmp_path / "empty.tlx"
    write_index(IndexBuilder(IndexParams.design()).finish(), path)
    assert load_index(path).count == 0


def _rewrite(path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    raw = bytearray(path.read_bytes())
    mutate(raw)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("mutate, message", [
    (lambda raw: raw.__setitem__(len(raw) // 2, raw[len(raw) // 2] ^ 0xFF), "checksum mismatch"),
    (lambda raw: raw.__delitem__(slice(len(raw) - 100, None)), "truncated"),
    (lambda raw: raw.__delitem__(slice(20, None)), "truncated"),
    (lambda raw: raw.extend(b"junk"), "unexpected bytes"),
    (lambda raw: raw.__setitem__(slice(0, 8), b"PK\x03\x04xxxx"), "not a tos-lint index"),
    (lambda raw: raw.__setitem__(slice(8, 12), struct.pack("<I", FORMAT_VERSION + 1)), "newer than this tos-lint"),
])
def test_refuses_damaged_or_foreign_files(index_file: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    _rewrite(index_file, mutate)
    with pytest.raises(UsageError, match=message) as err:
        load_index(index_file)
    assert str(index_file) in str(err.value)


def _with_header(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Change the JSON header and re-seal the file (valid checksum), as a
    file from another version or a hand-edited one would be."""
    raw = bytearray(path.read_bytes())
    magic, version, flags, hlen, length, _ = PREAMBLE.unpack(bytes(raw[:PREAMBLE.size]))
    header = json.loads(bytes(raw[PREAMBLE.size:PREAMBLE.size + hlen]))
    edit(header)
    new = json.dumps(header).encode()
    room = min(s["offset"] for s in header["sections"].values()) - PREAMBLE.size
    assert len(new) <= room
    raw[PREAMBLE.size:PREAMBLE.size + room] = new + b" " * (room - len(new))
    import hashlib

    raw[:PREAMBLE.size] = PREAMBLE.pack(magic, version, flags, len(new), length, hashlib.sha256(raw[PREAMBLE.size:]).digest())
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("edit, message", [
    (lambda h: h["params"].update(normalizer="v9"), "not supported by this version"),
    (lambda h: h["params"].update(hash="xxh3"), "not supported by this version"),
    (lambda h: h["params"].update(new_knob=1), "does not know: new_knob"),
    (lambda h: h["sections"]["shingles"].update(dtype="|O"), "bad description"),
    (lambda h: h["sections"]["shingles"].update(offset=10**12), "runs past the end"),
    (lambda h: h.update(count=49), "disagree"),
])
def test_refuses_parameters_and_layouts_it_cannot_read(index_file: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    _with_header(index_file, edit)
    with pytest.raises(UsageError, match=message):
        load_index(index_file)


def test_merging_refuses_other_parameters(words) -> None:  # type: ignore[no-untyped-def]
    a = build(words, 10)
    b = build(words, 10, IndexParams.design(shingle_kind="char", shingle_n=5))
    builder = IndexBuilder(a.params)
    builder.extend(a)
    with pytest.raises(UsageError, match="other parameters: shingle_kind"):
        builder.extend(b)


def test_extend_keeps_every_reference(words) -> None:  # type: ignore[no-untyped-def]
    a, b = build(words, 30), build(words, 20)
    builder = IndexBuilder(a.params)
    builder.extend(a)
    builder.extend(b)
    merged = builder.finish()
    assert merged.count == 50
    assert [merged.reference(i).id for i in (0, 29, 30, 49)] == ["ref-0", "ref-29", "ref-0", "ref-19"]
    assert np.array_equal(merged.shingle_set(31), b.shingle_set(1))
    # Merging re-signs: the same as building from all references at once.
    direct = IndexBuilder(a.params)
    for part in (a, b):
        for i in range(part.count):
            ref = part.reference(i)
            direct.add(PendingRef(ref.id, ref.provider, ref.label, "refs.jsonl", i, None, part.shingle_set(i)))
    assert np.array_equal(merged.table.keys, direct.finish().table.keys)


def test_frequent_shingles_are_left_out_of_signatures() -> None:
    from tos_lint.neardup.signing import frequent_shingles, keep_mask

    common = np.arange(10, dtype=np.uint32)
    sets = [np.concatenate((common, np.arange(100 + 50 * i, 130 + 50 * i, dtype=np.uint32))) for i in range(5)]
    frequent = frequent_shingles(np.concatenate(sets), 5)
    assert frequent.tolist() == common.tolist()
    offsets = np.array([0, 40, 52])
    values = np.concatenate((sets[0], np.arange(12, dtype=np.uint32)))  # the second set is nearly all frequent
    keep = keep_mask(values, offsets, frequent)
    assert keep[:40].tolist() == [False] * 10 + [True] * 30  # frequent ones dropped
    assert keep[40:].all()  # too few would be left: signed whole


def test_magic_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "index-format.md").read_text()
    assert MAGIC.decode("ascii").rstrip("\0") in doc
