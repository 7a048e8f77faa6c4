"""Reading reference corpora: which text of a record is indexed, under
which provider, and with which id and source.

Only answers are indexed by default (role `assistant`; a record with no
assistant text falls back to its `unknown` strings, e.g. a plain `text`
record): prompts are shared across models and would make different models'
answers look alike. For the same reason the shingles an answer shares with
its own prompt (a rewrite task echoing its input) are dropped, on both the
reference and the query side.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from tos_lint.adapters import adapt, own_id
from tos_lint.errors import UsageError
from tos_lint.model import ROLES, Record, Segment, Source
from tos_lint.neardup.index import IndexParams, PendingRef
from tos_lint.neardup.shingles import ShingleSpec, shingle_hashes
from tos_lint.readers import FileStats, InputIssue, ReadOptions, discover, read_records
from tos_lint.registry import Registry

PROMPT_ROLES = ("user", "system")

# Model names seen in `generator` / `model` fields, mapped to registry ids.
# Checked in order; the first pattern that matches the lower-cased name wins.
# `--provider-alias NAME=ID` takes precedence for names not covered here.
MODEL_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(gpt|chatgpt|text[-_]davinci|davinci|o[134]\b|o[134]-|openai)", "openai"),
    (r"^(claude|anthropic)", "anthropic"),
    (r"^(gemini|gemma|palm|bard|google)", "google"),
    (r"^(meta|llama|codellama)", "meta"),
    (r"^(mistral|mixtral|codestral|ministral|magistral)", "mistral"),
    (r"^(cohere|command|c4ai|aya)", "cohere"),
    (r"^deepseek", "deepseek"),
    (r"^(qwen|qwq|alibaba)", "alibaba"),
    (r"^(grok|xai)", "xai"),
    (r"^(phi|microsoft)", "microsoft"),
    (r"^(amazon|nova|titan)", "amazon"),
    (r"^(jamba|jurassic|ai21)", "ai21"),
    (r"^(kimi|moonshot)", "moonshot"),
    (r"^(sonar|pplx|perplexity)", "perplexity"),
)


@dataclass
class ProviderResolver:
    """Decides each reference's provider: one for all (`--provider`) or from
    a field of each record (`--provider-field`), by registry id, alias or
    model-name pattern. Unresolved values become `unknown` and are counted."""

    registry: Registry
    provider: str | None = None
    field_name: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    unresolved: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if (self.provider is None) == (self.field_name is None):
            raise UsageError("give exactly one of --provider ID and --provider-field NAME")
        known = set(self.registry.providers) | {"unknown"}
        for pid in [self.provider, *self.aliases.values()]:
            if pid is not None and pid not in known:
                raise UsageError(f"unknown provider {pid!r}; expected one of {', '.join(sorted(known))}")

    def resolve(self, data: Any) -> tuple[str, str]:
        """(provider id, label) for one record; the label is the raw field value."""
        if self.provider is not None:
            return self.provider, ""
        value = _field(data, self.field_name or "")
        label = "" if value is None else str(value)
        provider = self.provider_for(label)
        if provider == "unknown" and label != "unknown":
            self.unresolved[label or "<missing>"] += 1
        return provider, label

    def provider_for(self, label: str) -> str:
        if label in self.aliases:
            return self.aliases[label]
        if label in self.registry.providers:
            return label
        lowered = label.strip().lower()
        for pattern, pid in MODEL_PATTERNS:
            if re.search(pattern, lowered) and pid in self.registry.providers:
                return pid
        return "unknown"


def _field(data: Any, name: str) -> Any:
    """A top-level field, or a dotted path into nested objects."""
    node = data
    for part in name.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def parse_aliases(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, pid = item.rpartition("=")
        if not sep or not name or not pid:
            raise UsageError(f"--provider-alias {item!r}: expected NAME=PROVIDER_ID")
        out[name] = pid
    return out


def parse_roles(items: Sequence[str]) -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(r.strip() for item in items for r in item.split(",") if r.strip()))
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise UsageError(f"--roles: unknown role(s) {', '.join(bad) or '(none given)'}; expected some of {', '.join(ROLES)}")
    return roles


# --- per-record shingling, shared by indexing and querying -------------------------

def indexed_segments(segments: Sequence[Segment], roles: Sequence[str]) -> list[Segment]:
    """The segments to sign: those with the given roles, or, if there are
    none and `assistant` is asked for, the record's `unknown` strings."""
    chosen = [s for s in segments if s.role in roles]
    if not chosen and "assistant" in roles and "unknown" not in roles:
        chosen = [s for s in segments if s.role == "unknown"]
    return chosen


def prompt_shingles(segments: Sequence[Segment], spec: ShingleSpec) -> np.ndarray:
    """The sorted unique shingles of a record's prompt (user / system turns)."""
    parts = [shingle_hashes(s.text, spec) for s in segments if s.role in PROMPT_ROLES]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint32)


def answer_set(text: str, spec: ShingleSpec, prompt: np.ndarray) -> np.ndarray:
    """Sorted unique shingles of `text`, less those of its prompt."""
    unique = np.unique(shingle_hashes(text, spec))
    if len(prompt):
        unique = unique[~np.isin(unique, prompt, assume_unique=True)]
    return unique


# --- reading reference files -----------------------------------------------------------

@dataclass
class ReadStats:
    files: int = 0
    records: int = 0
    indexed: int = 0
    too_short: int = 0
    no_text: int = 0
    problems: list[str] = field(default_factory=list)  # unreadable lines, with file and line


def iter_references(paths: Sequence[str], params: IndexParams, resolver: ProviderResolver,
                    stats: ReadStats, *, force_format: str | None = None) -> Iterator[PendingRef]:
    """The references in the given files or folders."""
    files, _ = discover(list(paths))
    if not files:
        raise UsageError("no reference files found in " + ", ".join(paths))
    for inp in files:
        stats.files += 1
        for item in read_records(inp, FileStats(), ReadOptions()):
            if isinstance(item, InputIssue):
                where = f":{item.line}" if item.line is not None else f"[{item.index}]" if item.index is not None else ""
                stats.problems.append(f"{inp.path}{where}: {item.code}: {item.message}")
                continue
            fmt, segments = adapt(item.data, force_format)
            record = Record(Source(inp.path, item.line, item.index), segments, item.data, fmt, own_id(item.data))
            stats.records += 1
            yield from _record_refs(record, params, resolver, stats)


def _record_refs(record: Record, params: IndexParams, resolver: ProviderResolver,
                 stats: ReadStats) -> Iterator[PendingRef]:
    chosen = indexed_segments(record.segments, params.roles)
    if not chosen:
        stats.no_text += 1
        return
    spec = params.shingles
    prompt = prompt_shingles(record.segments, spec) if params.strip_prompt else np.zeros(0, np.uint32)
    provider, label = resolver.resolve(record.data)
    for seg in chosen:
        shingles = answer_set(seg.text, spec, prompt)
        if len(shingles) < params.min_shingles:
            stats.too_short += 1
            continue
        ref_id = record.id if len(chosen) == 1 else f"{record.id}#{seg.pointer}"
        stats.indexed += 1
        yield PendingRef(ref_id, provider, label, record.source.path, record.source.line,
                         record.source.index, shingles)
