"""tos-lint: find provider-generated records in AI training datasets."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from tos_lint.api import ScanResult, scan

__all__ = ["__version__", "scan", "ScanResult"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `tos-lint --help` does not pay for the engine.
    if name in ("scan", "ScanResult"):
        from tos_lint import api

        return getattr(api, name)
    raise AttributeError(name)
