"""Allowlist and waiver files: reviewed exceptions, keyed by finding
fingerprint or by rule id (or prefix) plus path globs — never by position.

    version: 1
    entries:
      - fingerprint: 3f2a9c...          # one finding, wherever it moves
        reason: reviewed, licensed data
      - rule: generic.boilerplate      # a rule (or prefix) ...
        paths: ["data/legacy/*"]       # ... in these files
        reason: legacy set, approved
        reviewer: legal@example.com    # waivers: who accepted it
        expires: 2027-03-31            # and until when (or 2027-03-31T18:00:00Z)
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tos_lint.errors import UsageError
from tos_lint.policy import Suppression, parse_expiry
from tos_lint.wholefile import read_whole, same_version
from tos_lint.yamlsafe import load_yaml

_ENTRY_KEYS = {"fingerprint", "rule", "paths", "reason", "reviewer", "expires"}


def load_suppressions(path: str | Path, require_waiver_fields: bool = False) -> list[Suppression]:
    path = Path(path)
    try:
        doc = load_yaml(read_whole(path))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - any YAML error
        raise UsageError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(doc, dict) or not same_version(doc.get("version"), 1) or not isinstance(doc.get("entries"), list):
        raise UsageError(f"{path}: must be a mapping with 'version: 1' and an 'entries' list")
    unknown = set(doc) - {"version", "entries"}
    if unknown:
        raise UsageError(f"{path}: unknown key {sorted(unknown)[0]!r}")
    return [_entry(e, f"{path}: entries[{i}]", require_waiver_fields) for i, e in enumerate(doc["entries"])]


def _entry(raw: Any, where: str, require_waiver_fields: bool) -> Suppression:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: must be a mapping")
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r} (expected {', '.join(sorted(_ENTRY_KEYS))})")
    if ("fingerprint" in raw) == ("rule" in raw):
        raise UsageError(f"{where}: needs exactly one of 'fingerprint' or 'rule'")
    if "fingerprint" in raw and "paths" in raw:
        raise UsageError(f"{where}: key 'paths': only goes with 'rule'")
    for key in ("fingerprint", "rule", "reason", "reviewer"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise UsageError(f"{where}: key {key!r}: must be a non-empty string")
    if "reason" not in raw:
        raise UsageError(f"{where}: key 'reason': is required (say why this is accepted)")
    if require_waiver_fields and not ("reviewer" in raw and "expires" in raw):
        raise UsageError(f"{where}: a waiver needs 'reviewer' and 'expires'")
    paths = raw.get("paths", [])
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise UsageError(f"{where}: key 'paths': must be a list of globs")
    return Suppression(
        reason=raw["reason"], fingerprint=raw.get("fingerprint"), rule=raw.get("rule"),
        paths=tuple(paths), reviewer=raw.get("reviewer"), expires=_date(raw.get("expires"), where),
        source=where,
    )


def _date(value: Any, where: str) -> dt.date | dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_expiry(value)
    except ValueError:
        raise UsageError(f"{where}: key 'expires': must be a date, YYYY-MM-DD, or a date and time, "
                         f"YYYY-MM-DDTHH:MM:SSZ (got {value!r})") from None
