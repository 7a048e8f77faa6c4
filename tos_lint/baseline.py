"""Baselines: the fingerprints of accepted findings, so a gate fails only on
new ones. The file holds hashes and rule ids only — never matched text, no
paths, no line numbers, no timestamps — sorted, so it does not churn."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import orjson

from tos_lint.atomic import atomic_write
from tos_lint.errors import UsageError
from tos_lint.model import Finding
from tos_lint.policy import INPUT_RULE_PREFIX
from tos_lint.wholefile import read_whole, same_version

FORMAT_VERSION = 1


def baseline_document(findings: Iterable[Finding]) -> dict[str, object]:
    entries = sorted({(f.fingerprint, f.rule_id) for f in findings if not f.rule_id.startswith(INPUT_RULE_PREFIX)})
    return {
        "tool": "tos-lint",
        "version": FORMAT_VERSION,
        "findings": [{"fingerprint": fp, "rule_id": rule} for fp, rule in entries],
    }


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    doc = baseline_document(findings)
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    with atomic_write(path, "w") as out:
        out.write(text)
    return len(doc["findings"])  # type: ignore[arg-type]


def load_baseline(path: str | Path) -> frozenset[str]:
    path = Path(path)
    try:
        doc = orjson.loads(read_whole(path))  # nesting past 1024 levels is a JSONDecodeError, not a RecursionError
    except OSError as exc:
        raise UsageError(f"--baseline {path}: cannot read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"--baseline {path}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("tool") != "tos-lint" or not isinstance(doc.get("findings"), list):
        raise UsageError(f"--baseline {path}: not a tos-lint baseline file")
    if not same_version(doc.get("version"), FORMAT_VERSION):
        raise UsageError(f"--baseline {path}: format version {doc.get('version')!r} is not supported (expected {FORMAT_VERSION})")
    return frozenset(_fingerprint(entry, f"--baseline {path}: findings[{i}]") for i, entry in enumerate(doc["findings"]))


def _fingerprint(entry: object, where: str) -> str:
    """An entry's fingerprint, checked: a fingerprint of another type (a
    number, null) would silently never match, failing findings accepted."""
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: must be an object with 'fingerprint' and 'rule_id'")
    for key, required in (("fingerprint", True), ("rule_id", False)):
        value = entry.get(key)
        if (required or key in entry) and not (isinstance(value, str) and value):
            raise UsageError(f"{where}: key {key!r}: must be a non-empty string (got {value!r})")
    return str(entry["fingerprint"])
