"""The style part of `scan --attribution`, run beside the scan in a child
process: which providers' style each file's answers read like
(probabilistic evidence, never proof), and a finding for each file whose
answers read like a provider whose terms forbid competing use.

This module imports nothing heavy: the process that scans needs no numpy.
The child can start before the scan knows its configuration (`standby()`,
called by the command line once it has checked its options): it loads
numpy and the style model while the scan reads its configuration and rules,
then takes `style_attribution` with the configuration as read.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tos_lint.background import Standby

if TYPE_CHECKING:  # pragma: no cover
    from tos_lint.config import Config
    from tos_lint.model import Finding
    from tos_lint.registry import Registry

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def standby() -> Standby:
    """A child, forked now, getting ready for `style_attribution`."""
    return Standby(_prepare)


def _prepare() -> None:
    """What the call needs before it knows its files: the modules its
    arguments need to be unpickled and those that read the files, numpy, and
    the model, read, verified and used once on two made-up answers (which
    decompresses the centroids and loads numpy's random generators)."""
    _keep_freed_memory()
    import tos_lint.config
    import tos_lint.registry
    import tos_lint.tabular  # noqa: F401 - read by files the sample streams through
    from tos_lint.attribution import Attributor

    Attributor().attribute_texts(["Sure! Here is an example.", "1. First\n2. Second"], bootstrap=2)


def _keep_freed_memory() -> None:
    """Scoring allocates and frees arrays of a megabyte or so, batch after
    batch. glibc hands such blocks back to the system as they are freed, and
    the next batch's arrays fault every page in again: a fifth of the
    scoring time. The standby child lives for one call: it keeps what it
    frees. Elsewhere than glibc, nothing changes."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)


def style_attribution(paths: list[str], config: Config, registry: Registry) -> tuple[dict[str, Any], list[Finding]]:
    """Style-based attribution per file as the report's JSON part, and a
    finding for each file whose answers read like a provider whose terms
    forbid competing use, above the threshold. Plain data: the process that
    asks needs no numpy."""
    from tos_lint.attribution import attribute_paths, attribution_findings

    report = attribute_paths([p for p in paths if p != "-"], include=config.include or None,
                             exclude=config.exclude or None, hidden=config.hidden,
                             force_format=config.input_format,
                             field_map=config.field_map or None)
    findings = attribution_findings(report, registry, threshold=config.attribution_threshold,
                                    severity=config.attribution_severity)
    return report.to_dict(), findings
