"""Fixtures for the tos-lint test suite.

Every test builds its own data under `tmp_path`; nothing here reads
/work/shared. The compiled-database cache is switched off by default so that
tests do not depend on each other or on the user's ~/.cache; the cache has
its own tests (test_api.py) that turn it on in a temporary folder.
"""
from __future__ import annotations

from typing import Iterable

import pytest


@pytest.fixture(scope="session", autouse=True)
def _no_db_cache() -> Iterable[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOS_LINT_CACHE_DIR", "")
        yield


@pytest.fixture(scope="session")
def builtin_ruleset():  # type: ignore[no-untyped-def]
    """The built-in packs, compiled once for the whole session."""
    from tos_lint.detect import RuleSet
    from tests.helpers import builtin_packs

    return RuleSet(builtin_packs())
