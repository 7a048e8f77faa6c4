"""The provider registry: who each provider is and what their terms say."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tos_lint.errors import PackError, PackErrors
from tos_lint.wholefile import read_whole
from tos_lint.yamlsafe import load_yaml, load_yaml_cached

CLASSIFICATIONS = ("forbids-competing", "conditional", "permissive", "unverified")
SCOPES = ("api", "consumer", "weights", "checkpoint")
DISCLAIMER = "Not legal advice; classifications are heuristic summaries of public terms as of the reviewed date."
# Findings about the input itself (unreadable lines and files) carry this provider.
INPUT_PROVIDER = "none"


@dataclass(frozen=True)
class TermsDocument:
    document: str
    url: str
    effective_date: str
    reviewed_on: str
    summary: str
    scope: str
    classification: str
    source_type: str = "primary"
    applies_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    classification: str
    terms: tuple[TermsDocument, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "classification": self.classification,
            "terms": [t.__dict__ | {"applies_to": list(t.applies_to)} for t in self.terms],
        }


@dataclass
class Registry:
    providers: dict[str, Provider]
    disclaimer: str
    sha256: str
    path: str

    def get(self, provider_id: str) -> Provider | None:
        return self.providers.get(provider_id)

    def classification(self, provider_id: str) -> str:
        p = self.providers.get(provider_id)
        return p.classification if p else "unverified"


def builtin_registry_path() -> Path:
    return Path(str(resources.files("tos_lint.builtin_rules").joinpath("providers.yaml")))


def is_registry_file(path: str | Path) -> bool:
    """A YAML file whose top level holds a `providers` list (not a rule pack)."""
    try:
        doc = load_yaml(read_whole(path))
    except Exception:  # noqa: BLE001 - unreadable: let the pack loader report it
        return False
    return isinstance(doc, dict) and "providers" in doc and "rules" not in doc


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else builtin_registry_path()
    try:
        raw = read_whole(path)
    except OSError as exc:
        raise PackErrors([PackError(str(path), f"cannot read: {exc.strerror or exc}")]) from None
    try:
        doc = load_yaml_cached(raw, dates_as_text=True)  # dates are read as their ISO text
    except Exception as exc:  # noqa: BLE001 - any YAML problem is a registry error
        raise PackErrors([PackError(str(path), f"invalid YAML: {exc}")]) from None
    errors: list[PackError] = []
    providers: dict[str, Provider] = {}
    entries = doc.get("providers") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise PackErrors([PackError(str(path), "must be a mapping with a 'providers' list", key="providers")])
    for i, entry in enumerate(entries):
        provider = _provider(entry, i, str(path), errors)
        if provider is not None:
            providers[provider.id] = provider
    if errors:
        raise PackErrors(errors)
    disclaimer = doc.get("disclaimer") or DISCLAIMER
    return Registry(providers, str(disclaimer), hashlib.sha256(raw).hexdigest(), str(path))


def _provider(entry: Any, i: int, path: str, errors: list[PackError]) -> Provider | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        errors.append(PackError(path, "each provider needs a string 'id'", key=f"providers[{i}]"))
        return None
    pid = entry["id"]
    classification = entry.get("classification")
    if classification not in CLASSIFICATIONS:
        errors.append(PackError(path, f"provider {pid!r}: must be one of {', '.join(CLASSIFICATIONS)}", key="classification"))
    terms = []
    for j, t in enumerate(entry.get("terms") or []):
        if not isinstance(t, dict):
            errors.append(PackError(path, f"provider {pid!r}: each terms entry must be a mapping", key=f"terms[{j}]"))
            continue
        terms.append(TermsDocument(
            document=str(t.get("document", "")), url=str(t.get("url", "")),
            effective_date=str(t.get("effective_date", "")), reviewed_on=str(t.get("reviewed_on", "")),
            summary=str(t.get("summary", "")).strip(), scope=str(t.get("scope", "")),
            classification=str(t.get("classification", classification)),
            source_type=str(t.get("source_type", "primary")),
            applies_to=tuple(str(a) for a in t.get("applies_to") or ()),
        ))
    return Provider(pid, str(entry.get("name", pid)), str(classification), tuple(terms))
