"""MinHash signatures, computed with numpy, compatible with datasketch.

`MinHasher(num_perm, seed, scheme)` draws the same permutations as
`datasketch.MinHash(num_perm, seed=seed, scheme=scheme)` (datasketch 2.x,
`_init_permutations`) and applies them the same way, so for the same 32-bit
input hashes the signatures are equal value for value. The tests check this
against datasketch itself.

* "affine32" (datasketch's default since 2.0): the input hash is mixed once
  with MurmurHash3's 32-bit finaliser, then h -> a*h + b mod 2^32 (a odd).
* "legacy" (datasketch before 2.0): h -> ((a*h + b) mod (2^61 - 1)) & (2^32 - 1),
  where a*h + b wraps around modulo 2^64 first, exactly as numpy does it there.

Signing runs in a loop compiled by numba when it is installed (_jit.py),
else as a few large numpy operations: a (num_perm x chunk) matrix of
permuted values per chunk of shingles, reduced with `min`, chunks sized to
stay in the CPU cache. Both give the same values.
"""
from __future__ import annotations

import numpy as np

from tos_lint.neardup._jit import sign_kernel

SCHEMES = ("affine32", "legacy")
MAX_HASH = np.uint32(0xFFFFFFFF)  # an empty set's signature value
_MERSENNE = np.uint64((1 << 61) - 1)
_U32 = np.uint32
# About 128k matrix cells per chunk (512 KiB of uint32): fits in L2 cache.
_CHUNK_CELLS = 1 << 17


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (datasketch `_fmix(hv, 32)`)."""
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


def permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) parameters datasketch draws for this num_perm, seed and scheme."""
    gen = np.random.RandomState(seed)
    if scheme == "affine32":
        a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * _U32(2) + _U32(1)
        b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        return a, b
    if scheme == "legacy":
        pairs = [(gen.randint(1, _MERSENNE, dtype=np.uint64), gen.randint(0, _MERSENNE, dtype=np.uint64))
                 for _ in range(num_perm)]
        ab = np.array(pairs, dtype=np.uint64).T
        return ab[0].copy(), ab[1].copy()
    raise ValueError(f"unknown MinHash scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")


class MinHasher:
    """Turns sets of 32-bit shingle hashes into MinHash signatures (uint32)."""

    def __init__(self, num_perm: int = 128, seed: int = 1, scheme: str = "affine32", use_jit: bool = True):
        if num_perm < 1:
            raise ValueError("num_perm must be positive")
        self.num_perm = num_perm
        self.seed = seed
        self.scheme = scheme
        self.a, self.b = permutations(num_perm, seed, scheme)
        self._chunk = max(64, _CHUNK_CELLS // num_perm)
        dtype = np.uint32 if scheme == "affine32" else np.uint64
        self._buf = np.empty((num_perm, self._chunk), dtype=dtype)
        self._a_col = self.a[:, None]
        self._b_col = self.b[:, None]
        self._a64 = self.a.astype(np.uint64)
        self._b64 = self.b.astype(np.uint64)
        self.use_jit = use_jit

    def sign(self, hashes: np.ndarray) -> np.ndarray:
        """The signature of one set, given its shingle hashes (repeats are harmless)."""
        return self.sign_many(hashes, np.array([0, len(hashes)]))[0]

    def sign_many(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures of many sets at once: set i is hashes[offsets[i]:offsets[i+1]]."""
        kernel = sign_kernel() if self.use_jit else None
        if kernel is None:
            return self._sign_many_numpy(hashes, offsets)
        out = np.empty((len(offsets) - 1, self.num_perm), dtype=np.uint32)
        x = np.ascontiguousarray(hashes, dtype=np.uint32)
        kernel(x, np.ascontiguousarray(offsets, dtype=np.int64), self._a64, self._b64, out, self.scheme == "legacy")
        return out

    def _sign_many_numpy(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """`sign_many` in numpy. Small sets are packed into shared chunks and
        reduced with `np.minimum.reduceat`, so the number of numpy calls
        grows with the number of chunks, not with the number of sets."""
        count = len(offsets) - 1
        out = np.full((count, self.num_perm), MAX_HASH, dtype=np.uint32)
        sizes = np.diff(offsets)
        x = self._prepare(hashes) if len(hashes) else hashes
        i = 0
        while i < count:
            if sizes[i] >= self._chunk or sizes[i] == 0:
                if sizes[i]:
                    out[i] = self.sign_prepared(x[offsets[i]:offsets[i + 1]])
                i += 1
                continue
            j = int(np.searchsorted(offsets, offsets[i] + self._chunk, side="right")) - 1
            j = max(j, i + 1)
            # Sets i..j-1 fit in one chunk; empty sets among them keep MAX_HASH.
            block = self._permuted(x[offsets[i]:offsets[j]])
            nonempty = np.flatnonzero(sizes[i:j]) + i
            rel = (offsets[nonempty] - offsets[i]).astype(np.intp)
            out[nonempty] = np.minimum.reduceat(block, rel, axis=1).T
            i = j
        return out

    def sign_prepared(self, x: np.ndarray) -> np.ndarray:
        """`sign` for hashes already passed through `_prepare`."""
        out = np.full(self.num_perm, MAX_HASH, dtype=np.uint32)
        for start in range(0, len(x), self._chunk):
            np.minimum(out, self._permuted(x[start:start + self._chunk]).min(axis=1), out=out)
        return out

    def _prepare(self, hashes: np.ndarray) -> np.ndarray:
        if self.scheme == "affine32":
            return fmix32(hashes.astype(np.uint32, copy=False))
        return hashes.astype(np.uint64)

    def _permuted(self, x: np.ndarray) -> np.ndarray:
        """The (num_perm x len(x)) matrix of permuted hash values, in the
        reusable buffer (valid until the next call)."""
        m = self._buf[:, :len(x)]
        np.multiply(self._a_col, x, out=m)
        np.add(m, self._b_col, out=m)
        if self.scheme == "legacy":
            np.remainder(m, _MERSENNE, out=m)
            np.bitwise_and(m, np.uint64(0xFFFFFFFF), out=m)
        return m


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The MinHash estimate of Jaccard similarity: the share of equal values."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)
