"""Whether compiled inner loops are used: numba when it is installed, unless
TOS_LINT_NUMBA=0. Callers keep a numpy path that computes the same values,
used when this gives None."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any


def enabled() -> bool:
    return os.environ.get("TOS_LINT_NUMBA", "1") != "0"


@lru_cache(maxsize=1)
def numba_module() -> Any:
    """The numba module, or None when it is missing or switched off."""
    if not enabled():
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba
