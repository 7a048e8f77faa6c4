"""LSH banding over MinHash signatures, stored as sorted numpy tables.

A signature of `num_perm` values is cut into `bands` bands of `rows` values;
two texts become candidates when any band is equal in both. A text pair with
Jaccard similarity s is a candidate with probability 1 - (1 - s^rows)^bands.

Storage: per band, the 32-bit band keys of every reference sorted, the
reference rows in the same order, and a directory of offsets by the keys' top
bits (about 8 references per directory slot). A lookup is then two gathers
and a short comparison instead of a binary search, so a whole batch of
queries is answered with a dozen numpy calls. Cost: 8 bytes per band per
reference plus half a byte for the directory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tos_lint.neardup.arrays import sorted_unique
from tos_lint.neardup.shingles import fmix64

_U64 = np.uint64
_ROW_MULT = _U64(0x100000001B3)  # FNV-1a 64-bit prime: any odd constant would do
_REFS_PER_SLOT = 8


@dataclass(frozen=True)
class Banding:
    bands: int
    rows: int

    def candidate_probability(self, similarity: float) -> float:
        """Chance that a pair with this Jaccard similarity shares a band."""
        return 1.0 - (1.0 - similarity ** self.rows) ** self.bands


def choose_banding(threshold: float, fn_budget: float, num_perm: int, max_bands: int) -> Banding:
    """The most selective banding that still finds a pair at the threshold
    with probability at least 1 - fn_budget, within `max_bands` bands.

    More rows per band means fewer chance candidates (a pair of unrelated
    texts with similarity s shares a band with probability ~ bands * s^rows),
    so take the largest `rows` for which few enough bands reach the budget.
    Bands are what the index stores per reference, hence the cap."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    if not 0.0 < fn_budget < 1.0:
        raise ValueError(f"false-negative budget must be in (0, 1), not {fn_budget}")
    for rows in range(num_perm, 0, -1):
        p_band = threshold ** rows
        if p_band >= 1.0:
            return Banding(1, rows)
        bands = math.ceil(math.log(fn_budget) / math.log1p(-p_band)) if p_band > 0 else math.inf
        if bands <= max_bands and bands * rows <= num_perm:
            return Banding(int(bands), rows)
    raise ValueError(
        f"no banding of {num_perm} permutations into at most {max_bands} bands finds pairs at "
        f"similarity {threshold} with a false-negative rate of at most {fn_budget}; raise the "
        "threshold, the budget or the number of bands"
    )


def band_keys(signatures: np.ndarray, banding: Banding) -> np.ndarray:
    """(n, bands) uint32 keys: each band's `rows` values hashed together."""
    n = signatures.shape[0]
    values = signatures[:, : banding.bands * banding.rows].reshape(n, banding.bands, banding.rows)
    acc = np.zeros((n, banding.bands), dtype=_U64)
    for j in range(banding.rows):
        acc = acc * _ROW_MULT + values[:, :, j].astype(_U64)
    return (fmix64(acc) >> _U64(32)).astype(np.uint32)


def prefix_bits(count: int) -> int:
    """Directory size (as bits of the key) for `count` references."""
    return int(min(24, max(4, math.ceil(math.log2(max(count, 1) / _REFS_PER_SLOT)))))


@dataclass
class BandTable:
    """Sorted band keys with their reference rows, and a directory."""

    keys: np.ndarray  # (bands, n) uint32, each band sorted
    rows: np.ndarray  # (bands, n) uint32, the reference of each key
    directory: np.ndarray  # (bands, 2^bits + 1) uint32 offsets into a band
    bits: int

    @property
    def bands(self) -> int:
        return self.keys.shape[0]

    @property
    def count(self) -> int:
        return self.keys.shape[1]

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.rows.nbytes + self.directory.nbytes

    @classmethod
    def build(cls, keys_by_ref: np.ndarray) -> "BandTable":
        """From (n, bands) keys, reference i being row i."""
        n, bands = keys_by_ref.shape
        bits = prefix_bits(n)
        keys = np.empty((bands, n), dtype=np.uint32)
        rows = np.empty((bands, n), dtype=np.uint32)
        directory = np.empty((bands, (1 << bits) + 1), dtype=np.uint32)
        bounds = np.arange((1 << bits) + 1, dtype=np.uint64) << _U64(32 - bits)
        for j in range(bands):
            order = np.argsort(keys_by_ref[:, j], kind="stable")
            keys[j] = keys_by_ref[order, j]
            rows[j] = order
            directory[j] = np.searchsorted(keys[j].astype(np.uint64), bounds, side="left")
        return cls(keys, rows, directory, bits)

    def keys_by_ref(self) -> np.ndarray:
        """The (n, bands) keys this table was built from (for merging)."""
        out = np.empty((self.count, self.bands), dtype=np.uint32)
        for j in range(self.bands):
            out[self.rows[j], j] = self.keys[j]
        return out

    def query(self, qkeys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs for (q, bands) query keys: arrays (query index,
        reference row), each pair once."""
        q, bands = qkeys.shape
        empty = np.zeros(0, dtype=np.int64)
        if q == 0 or self.count == 0:
            return empty, empty
        slot = (qkeys >> np.uint32(32 - self.bits)).astype(np.intp)
        band_idx = np.broadcast_to(np.arange(bands), (q, bands))
        lo = self.directory[band_idx, slot].ravel().astype(np.int64)
        cnt = self.directory[band_idx, slot + 1].ravel().astype(np.int64) - lo
        total = int(cnt.sum())
        if total == 0:
            return empty, empty
        probe = np.repeat(np.arange(q * bands), cnt)
        first = np.cumsum(cnt) - cnt
        pos = lo[probe] + np.arange(total) - first[probe]
        band_of = probe % bands
        same = self.keys[band_of, pos] == qkeys.ravel()[probe]
        qi = probe[same] // bands
        ref = self.rows[band_of[same], pos[same]].astype(np.int64)
        pairs = sorted_unique((qi << 32) | ref)
        return pairs >> 32, pairs & 0xFFFFFFFF
