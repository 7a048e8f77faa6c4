"""The MinHash inner loop compiled with numba, when numba is available.

numpy needs three passes over a (permutations x shingles) matrix (multiply,
add, minimum); a compiled loop does the three in registers, about 7x faster,
which is what brings signing to native-library speed. The numpy path in
minhash.py computes the same values and is used when numba is missing or
TOS_LINT_NUMBA=0; the tests run both against datasketch.

The kernel is compiled on first use and cached on disk by numba
(`cache=True`), so later runs only load it.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable


@lru_cache(maxsize=1)
def sign_kernel() -> Callable[..., Any] | None:
    """`kernel(x, offsets, a, b, out, legacy)` or None without numba."""
    if os.environ.get("TOS_LINT_NUMBA", "1") == "0":
        return None
    try:
        import numba
        import numpy as np
    except ImportError:
        return None

    mask32 = np.uint64(0xFFFFFFFF)
    mersenne = np.uint64((1 << 61) - 1)

    @numba.njit(cache=True, nogil=True)
    def kernel(x, offsets, a, b, out, legacy):  # type: ignore[no-untyped-def]
        # x: prepared input hashes (uint64); a, b: permutations (uint64);
        # out: (sets, num_perm) uint32, set d being x[offsets[d]:offsets[d+1]].
        num_perm = a.shape[0]
        for d in range(offsets.shape[0] - 1):
            row = out[d]
            for k in range(num_perm):
                row[k] = np.uint32(0xFFFFFFFF)
            for i in range(offsets[d], offsets[d + 1]):
                xi = x[i]
                if legacy:
                    for k in range(num_perm):
                        v = np.uint32(((a[k] * xi + b[k]) % mersenne) & mask32)
                        if v < row[k]:
                            row[k] = v
                else:
                    for k in range(num_perm):
                        v = np.uint32((a[k] * xi + b[k]) & mask32)
                        if v < row[k]:
                            row[k] = v

    return kernel
