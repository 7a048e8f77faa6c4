"""`tos-lint verify REPORT`: does a saved report still describe its inputs?

Re-hashes every input file the report's manifest lists and compares size
and SHA-256. A file that changed, vanished or cannot be read is a mismatch.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tos_lint.errors import UsageError
from tos_lint.pathnames import places
from tos_lint.wholefile import read_whole


@dataclass(frozen=True)
class Check:
    path: str
    status: str  # ok | changed | missing | not-a-file | unreadable | unhashed
    detail: str = ""


def read_report(path: Path) -> Any:
    """A saved JSON report, parsed; unreadable or not JSON is a usage error."""
    try:
        return orjson.loads(read_whole(path))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{path}: not a JSON report: {exc}") from None


def load_manifest(report: Path) -> dict[str, Any]:
    doc = read_report(report)
    manifest = doc.get("manifest") if isinstance(doc, dict) else None
    if not isinstance(manifest, dict):
        raise UsageError(f"{report}: has no audit manifest (write reports with --format json or html)")
    if not isinstance(manifest.get("inputs"), list):
        raise UsageError(f"{report}: manifest.inputs must be the list of input files the scan read")
    return manifest


def verify(report: Path) -> list[Check]:
    base = report.resolve().parent
    return [_check(entry, base) for entry in load_manifest(report)["inputs"]]


def _check(entry: dict[str, Any], base: Path) -> Check:
    shown = str(entry.get("path"))
    if entry.get("abspath") is None:
        return Check(shown, "unreadable", "read from stdin; cannot be re-checked")
    if not entry.get("sha256"):
        return Check(shown, "unhashed", "a changed-only scan read only the changed lines and did not hash the file")
    candidates = _places(str(entry["abspath"]), shown, base)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return _not_found(shown, candidates)
    try:
        size, digest = file_digest(path)
    except OSError as exc:
        return Check(shown, "unreadable", exc.strerror or str(exc))
    if size != entry.get("size") or digest != entry.get("sha256"):
        return Check(shown, "changed", f"size {entry.get('size')} -> {size}, sha256 {str(entry.get('sha256'))[:12]}… -> {digest[:12]}…")
    return Check(shown, "ok")


def _places(abspath: str, shown: str, base: Path) -> tuple[Path, ...]:
    """Where the input may be: its absolute path, then its path as given
    (from here and from the report's folder), each as written and then with
    the `\\xNN` of a file name that is not UTF-8 turned back into its byte."""
    written = (abspath, shown, str(base / shown))
    return tuple(dict.fromkeys(p for name in written for p in places(name)))


def _not_found(shown: str, candidates: tuple[Path, ...]) -> Check:
    """No regular file at any of the places the input may be: `missing`, or,
    where something else stands there (a FIFO, a folder), `not-a-file`. That
    is never opened: opening a FIFO would wait for a writer forever."""
    from tos_lint.readers import special_kind

    for place in candidates:
        try:
            mode = place.stat().st_mode
        except OSError:
            continue
        return Check(shown, "not-a-file", f"{place} exists but is not a regular file (a {special_kind(mode)}); not read")
    return Check(shown, "missing", "file not found")


def file_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
