"""Fixtures for the attribution tests: synthetic answers written for these
tests (never text from ../shared/corpora) and a copy of the shipped model."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# Two made-up house styles, so tests can tell datasets apart without real data.
TERSE = [
    "The answer is 42.",
    "Paris is the capital of France.",
    "Use a list comprehension: squares = [x * x for x in values]",
    "Water boils at 100 degrees Celsius at sea level.",
]
CHATTY = [
    "Sure! I'd be happy to help with that.\n\n**Steps:**\n\n* Preheat the oven.\n* Mix the flour and sugar.\n* Bake for 20 minutes.\n\nI hope this helps! Let me know if you have any other questions.",
    "What a great question! Here are a few ideas:\n\n1. **Walk** in the park.\n2. **Read** a novel.\n3. **Cook** something new.\n\nEnjoy your weekend!",
    "Absolutely! Here's a quick overview:\n\n### Key points\n\n- Plan your budget.\n- Track every expense.\n- Review it monthly.\n\nFeel free to ask if anything is unclear!",
]


@pytest.fixture()
def model_copy(tmp_path: Path) -> Path:
    """The shipped model's two files copied to tmp_path; returns the header path."""
    from tos_lint.attribution.model import DEFAULT_MODEL, builtin_model_dir

    for suffix in (".json", ".npz"):
        shutil.copy(builtin_model_dir() / f"{DEFAULT_MODEL}{suffix}", tmp_path / f"{DEFAULT_MODEL}{suffix}")
    return tmp_path / f"{DEFAULT_MODEL}.json"
