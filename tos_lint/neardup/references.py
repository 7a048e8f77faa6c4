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
from tos_lint.model import PROMPT_ROLES, ROLES, Record, Segment, Source
from tos_lint.neardup.arrays import member, sorted_unique
from tos_lint.neardup.index import IndexParams, PendingRef
from tos_lint.neardup.shingles import ShingleSpec, shingle_batch
from tos_lint.readers import FileStats, InputIssue, ReadOptions, discover, read_input
from tos_lint.registry import Registry

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


# --- shingling answers in batches, shared by indexing and querying ---------------------

def indexed_segments(segments: Sequence[Segment], roles: Sequence[str]) -> list[Segment]:
    """The segments to sign: those with the given roles, or, if there are
    none and `assistant` is asked for, the record's `unknown` strings."""
    chosen = [s for s in segments if s.role in roles]
    if not chosen and "assistant" in roles and "unknown" not in roles:
        chosen = [s for s in segments if s.role == "unknown"]
    return chosen


@dataclass
class AnswerSets:
    """Shingles of a batch of answers, each less its own prompt's shingles.

    `ordered` keeps each answer's shingles in text order (for windows and
    spans), with `positions` their index in the unstripped answer; `unique`
    is each answer's sorted set. Answer i is `ordered[o[i]:o[i+1]]` with
    o = `ordered_offsets`, and likewise for `unique`."""

    ordered: np.ndarray
    ordered_offsets: np.ndarray
    positions: np.ndarray
    unique: np.ndarray
    unique_offsets: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.unique_offsets)


def answer_sets(answers: Sequence[str], answer_group: np.ndarray, prompts: Sequence[str],
                prompt_group: np.ndarray, spec: ShingleSpec) -> AnswerSets:
    """Shingle every answer and prompt of a batch at once. Groups (records)
    tie answers to prompts: an answer loses the shingles of its group's
    prompts. Give no prompts to keep every shingle."""
    n = len(answers)
    batch = shingle_batch([*answers, *prompts], spec)
    split = int(batch.offsets[n])
    owner = batch.owner
    a_hash, a_owner = batch.hashes[:split], owner[:split]
    positions = np.arange(split) - batch.offsets[a_owner]
    if split < len(batch.hashes):
        p_group = np.asarray(prompt_group, dtype=np.int64)[owner[split:] - n]
        prompt_keys = (p_group << 32) | batch.hashes[split:].astype(np.int64)
        a_keys = (np.asarray(answer_group, dtype=np.int64)[a_owner] << 32) | a_hash.astype(np.int64)
        keep = ~member(a_keys, sorted_unique(prompt_keys))
        a_hash, a_owner, positions = a_hash[keep], a_owner[keep], positions[keep]
    ordered_offsets = _offsets(a_owner, n)
    keys = sorted_unique((a_owner << 32) | a_hash.astype(np.int64))
    unique = (keys & 0xFFFFFFFF).astype(np.uint32)
    return AnswerSets(a_hash, ordered_offsets, positions, unique, _offsets(keys >> 32, n))


def _offsets(owner: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, np.int64)
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def record_texts(records: Sequence[Record], roles: Sequence[str], strip_prompt: bool, *,
                 fallback: bool) -> tuple[list[tuple[int, Segment]], list[str], np.ndarray, list[str], np.ndarray]:
    """The answers of a batch of records (with their record and segment),
    and the prompts to strip from them, grouped by record."""
    chosen: list[tuple[int, Segment]] = []
    prompts: list[str] = []
    prompt_group: list[int] = []
    for rec_i, record in enumerate(records):
        segs = indexed_segments(record.segments, roles) if fallback else [s for s in record.segments if s.role in roles]
        if not segs:
            continue
        chosen.extend((rec_i, s) for s in segs)
        if strip_prompt:
            for s in record.segments:
                if s.role in PROMPT_ROLES:
                    prompts.append(s.text)
                    prompt_group.append(rec_i)
    group = np.array([r for r, _ in chosen], dtype=np.int64)
    return chosen, [s.text for _, s in chosen], group, prompts, np.array(prompt_group, dtype=np.int64)


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
    batch: list[Record] = []
    for inp in files:
        stats.files += 1
        for item in read_input(inp, FileStats(), ReadOptions()):
            if isinstance(item, InputIssue):
                where = f":{item.line}" if item.line is not None else f"[{item.index}]" if item.index is not None else ""
                stats.problems.append(f"{inp.path}{where}: {item.code}: {item.message}")
                continue
            fmt, segments = adapt(item.data, force_format)
            batch.append(Record(Source(inp.path, item.line, item.index), segments, item.data, fmt, own_id(item.data)))
            stats.records += 1
            if len(batch) >= BATCH_RECORDS:
                yield from references_of(batch, params, resolver, stats)
                batch = []
    yield from references_of(batch, params, resolver, stats)


BATCH_RECORDS = 512


def references_of(records: Sequence[Record], params: IndexParams, resolver: ProviderResolver,
                  stats: ReadStats) -> Iterator[PendingRef]:
    """The references of a batch of records: one per indexed segment long enough."""
    chosen, answers, group, prompts, prompt_group = record_texts(records, params.roles, params.strip_prompt, fallback=True)
    stats.no_text += len(records) - len(set(group.tolist()))
    sets = answer_sets(answers, group, prompts, prompt_group, params.shingles)
    long_enough = sets.sizes >= params.min_shingles
    stats.too_short += int(np.count_nonzero(~long_enough))
    # A record with several indexed answers names each by its pointer.
    per_record = np.bincount(group[long_enough], minlength=len(records)) if len(group) else np.zeros(len(records), np.int64)
    resolved: dict[int, tuple[str, str]] = {}
    for i in np.flatnonzero(long_enough).tolist():
        rec_i, seg = chosen[i]
        shingles = sets.unique[sets.unique_offsets[i]:sets.unique_offsets[i + 1]]
        record = records[rec_i]
        if rec_i not in resolved:
            resolved[rec_i] = resolver.resolve(record.data)
        provider, label = resolved[rec_i]
        ref_id = record.id if per_record[rec_i] == 1 else f"{record.id}#{seg.pointer}"
        stats.indexed += 1
        yield PendingRef(ref_id, provider, label, record.source.path, record.source.line,
                         record.source.index, shingles)
