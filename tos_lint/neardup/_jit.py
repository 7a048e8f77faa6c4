"""The two inner loops of signing, compiled with numba when it is available.

numpy computes shingle hashes and MinHash values as a series of passes over
large arrays (multiply, add, minimum, ...); a compiled loop does each in one
pass, in registers, several times faster. That is what brings signing to
native-library speed. The numpy paths (shingles.py, minhash.py) compute the
same values and are used when numba is missing or TOS_LINT_NUMBA=0; the
tests run both and compare them with each other and with datasketch.

Kernels are compiled on first use and cached on disk by numba
(`cache=True`), so later runs only load them.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from tos_lint.jit import numba_module as _numba


@lru_cache(maxsize=1)
def sign_kernel() -> Callable[..., Any] | None:
    """`kernel(x, offsets, a, b, out, legacy)`, or None without numba.

    x: uint32 shingle hashes; a, b: permutation parameters as uint64;
    out: (sets, num_perm) uint32, set d being x[offsets[d]:offsets[d+1]].
    affine32 (datasketch 2.x): fmix32(x), then a*x + b mod 2^32.
    legacy (datasketch 1.x): ((a*x + b) mod 2^64 mod (2^61 - 1)) & (2^32 - 1)."""
    numba = _numba()
    if numba is None:
        return None
    import numpy as np

    mask32 = np.uint64(0xFFFFFFFF)
    mersenne = np.uint64((1 << 61) - 1)

    @numba.njit(cache=True, nogil=True)
    def kernel(x, offsets, a, b, out, legacy):  # type: ignore[no-untyped-def]
        num_perm = a.shape[0]
        a32 = a.astype(np.uint32)
        b32 = b.astype(np.uint32)
        for d in range(offsets.shape[0] - 1):
            row = out[d]
            for k in range(num_perm):
                row[k] = np.uint32(0xFFFFFFFF)
            for i in range(offsets[d], offsets[d + 1]):
                h = np.uint64(x[i])
                if legacy:
                    for k in range(num_perm):
                        v = np.uint32(((a[k] * h + b[k]) % mersenne) & mask32)
                        if v < row[k]:
                            row[k] = v
                else:
                    # MurmurHash3 fmix32, in 64-bit arithmetic masked to 32 bits.
                    h ^= h >> np.uint64(16)
                    h = (h * np.uint64(0x85EBCA6B)) & mask32
                    h ^= h >> np.uint64(13)
                    h = (h * np.uint64(0xC2B2AE35)) & mask32
                    h ^= h >> np.uint64(16)
                    h32 = np.uint32(h)
                    # Truncating each step to 32 bits lets LLVM use 8 lanes per AVX2 register.
                    for k in range(num_perm):
                        v = np.uint32(np.uint32(a32[k] * h32) + b32[k])
                        if v < row[k]:
                            row[k] = v

    return kernel


@lru_cache(maxsize=1)
def span_hash_kernel() -> Callable[..., Any] | None:
    """`kernel(cps, starts, ends, base, out)`, or None without numba: the
    hash of each span of code points, as `shingles.span_hashes` defines it."""
    numba = _numba()
    if numba is None:
        return None
    import numpy as np

    @numba.njit(cache=True, nogil=True)
    def kernel(cps, starts, ends, base, out):  # type: ignore[no-untyped-def]
        for s in range(starts.shape[0]):
            h = np.uint64(0)
            p = np.uint64(1)
            for i in range(starts[s], ends[s]):
                h += np.uint64(cps[i]) * p
                p *= base
            h ^= h >> np.uint64(33)
            h *= np.uint64(0xFF51AFD7ED558CCD)
            h ^= h >> np.uint64(33)
            h *= np.uint64(0xC4CEB9FE1A85EC53)
            h ^= h >> np.uint64(33)
            out[s] = np.uint32(h >> np.uint64(32))

    return kernel


@lru_cache(maxsize=1)
def intersect_kernel() -> Callable[..., Any] | None:
    """`kernel(q_values, q_offsets, units, r_values, r_offsets, rows, need, out)`,
    or None without numba: out[i] = |Q[units[i]] ∩ R[rows[i]]| for sorted,
    duplicate-free sets, or any number below need[i] when the intersection
    is smaller than need[i].

    Most LSH candidates share almost nothing with the query. A 4096-bit
    bitmap of each query set gives, branch-free, an upper bound of the
    intersection (shingle hashes are uniform, so their low bits are a fine
    index); only pairs whose bound reaches `need` get the exact merge."""
    numba = _numba()
    if numba is None:
        return None
    import numpy as np

    @numba.njit(cache=True, nogil=True)
    def kernel(q_values, q_offsets, units, r_values, r_offsets, rows, need, out):  # type: ignore[no-untyped-def]
        n_units = q_offsets.shape[0] - 1
        bits = np.zeros((n_units, 64), dtype=np.uint64)
        for u in range(n_units):
            for i in range(q_offsets[u], q_offsets[u + 1]):
                v = q_values[i] & 4095
                bits[u, v >> 6] |= np.uint64(1) << np.uint64(v & 63)
        for p in range(units.shape[0]):
            u = units[p]
            j, j_end = r_offsets[rows[p]], r_offsets[rows[p] + 1]
            bound = 0
            for k in range(j, j_end):
                v = r_values[k] & 4095
                bound += (bits[u, v >> 6] >> np.uint64(v & 63)) & np.uint64(1)
            if bound < need[p]:
                out[p] = bound
                continue
            i, i_end = q_offsets[u], q_offsets[u + 1]
            shared = 0
            while i < i_end and j < j_end:
                a, b = q_values[i], r_values[j]
                if a == b:
                    shared += 1
                    i += 1
                    j += 1
                elif a < b:
                    i += 1
                else:
                    j += 1
            out[p] = shared

    return kernel
