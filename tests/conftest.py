"""Fixtures for the tos-lint test suite.

Every test builds its own data under `tmp_path`; nothing here reads
/work/shared. The compiled-database cache is a temporary folder of the
session, so that tests do not depend on the user's ~/.cache and the built-in
packs are compiled once per session rather than by every command-line test
(a cold compile takes tens of seconds). Entries are keyed by content, so a
warm entry gives what a compile would; the cache has its own tests
(test_api.py) in folders of their own.

Property tests draw a fixed set of cases unless HYPOTHESIS_PROFILE=explore.
"""
from __future__ import annotations

import os
from typing import Iterable

import pytest
from hypothesis import settings

# Generated cases are the same on every run, so that a test gate does not pass
# or fail by the luck of the draw; `HYPOTHESIS_PROFILE=explore` draws new ones
# each run (a failure found is kept in .hypothesis/ and replayed first).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session", autouse=True)
def _session_db_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterable[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOS_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("tos-lint-cache")))
        yield


@pytest.fixture(scope="session")
def builtin_ruleset():  # type: ignore[no-untyped-def]
    """The built-in packs, compiled once for the whole session."""
    from tos_lint.detect import RuleSet
    from tests.helpers import builtin_packs

    return RuleSet(builtin_packs())
