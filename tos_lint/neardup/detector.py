"""Near-duplicate detection: a record's answers against reference indexes.

For each assistant (or unknown-role) segment of a record the detector
1. shingles it (less the shingles it shares with the record's own prompt),
2. signs it, and, for containment, windows of it (a reference embedded in a
   longer text is similar to a window, not to the whole),
3. looks the signatures up in every index's LSH tables, and
4. verifies each candidate exactly against the reference's stored shingle
   set: Jaccard similarity for a match, containment (the share of the
   reference found in the segment) for an embedded copy.
A candidate that fails verification is dropped: the LSH step only proposes.

Work is batched: `detect_batch` handles many records with a fixed number of
numpy calls per batch; `detect(record)` is `detect_batch([record])[0]`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tos_lint.model import Hit, Record, Severity
from tos_lint.neardup.index import IndexData, IndexParams, load_index
from tos_lint.neardup.lsh import band_keys
from tos_lint.neardup.minhash import MinHasher, jaccard_estimate
from tos_lint.neardup.references import prompt_shingles
from tos_lint.neardup.shingles import shingle_hashes, token_spans
from tos_lint.registry import Registry

RULE_MATCH = "tos-lint.neardup.match"
RULE_CONTAINMENT = "tos-lint.neardup.containment"
RULE_IDS = (RULE_MATCH, RULE_CONTAINMENT)
QUERY_ROLES = ("assistant", "unknown")
_EMPTY = np.zeros(0, dtype=np.uint32)


@dataclass(frozen=True)
class DetectorOptions:
    roles: tuple[str, ...] = QUERY_ROLES
    containment: bool = True
    # Share of a reference's shingles that must appear in the segment.
    containment_threshold: float = 0.8
    # Windows for containment are made of blocks of this many shingles
    # (None: the index's minimum text size, at least 16).
    window_block: int | None = None
    max_window_blocks: int = 16


@dataclass
class _Unit:
    """One segment to query: its shingles in text order and as a set."""

    record: int
    segment: int
    ordered: np.ndarray  # shingle hashes in text order, prompt shingles removed
    positions: np.ndarray  # each kept shingle's index in the unstripped text
    unique: np.ndarray  # sorted unique shingle hashes
    sigs: slice = field(default_factory=lambda: slice(0, 0))  # its rows in the signature matrix


@dataclass
class _Group:
    """Indexes that share signing parameters: one signature serves them all."""

    params: IndexParams
    hasher: MinHasher
    indexes: list[IndexData] = field(default_factory=list)


@dataclass
class _Pair:
    unit: int
    index: int
    row: int
    inter: int
    jaccard: float
    containment: float


class NearDupDetector:
    """`detect(record) -> list[Hit]` against one or more reference indexes."""

    def __init__(self, indexes: Sequence[IndexData | str | Path], registry: Registry | None = None,
                 options: DetectorOptions | None = None):
        self.registry = registry
        self.options = options or DetectorOptions()
        self.groups: dict[tuple[Any, ...], _Group] = {}
        for item in indexes:
            data = item if isinstance(item, IndexData) else load_index(item)
            key = data.params.signing_key()
            if key not in self.groups:
                p = data.params
                self.groups[key] = _Group(p, MinHasher(p.num_perm, p.seed, p.scheme))
            self.groups[key].indexes.append(data)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return RULE_IDS

    def detect(self, record: Record) -> list[Hit]:
        return self.detect_batch([record])[0]

    def detect_batch(self, records: Sequence[Record]) -> list[list[Hit]]:
        out: list[list[Hit]] = [[] for _ in records]
        for group in self.groups.values():
            for rec_i, hit in self._detect_group(group, records):
                out[rec_i].append(hit)
        return out

    # --- the pipeline ----------------------------------------------------------

    def _detect_group(self, group: _Group, records: Sequence[Record]) -> list[tuple[int, Hit]]:
        units = self._units(group.params, records)
        if not units:
            return []
        sigs, sig_unit = self._signatures(group, units)
        keys = band_keys(sigs, group.params.banding)
        pairs: list[_Pair] = []
        for idx_i, data in enumerate(group.indexes):
            if data.params.banding != group.params.banding:
                keys_i = band_keys(sigs, data.params.banding)
            else:
                keys_i = keys
            q, rows = data.table.query(keys_i)
            pairs.extend(self._verify(data, idx_i, units, sig_unit[q], rows))
        return self._hits(group, records, units, sigs, self._best(group, pairs))

    def _units(self, params: IndexParams, records: Sequence[Record]) -> list[_Unit]:
        spec = params.shingles
        units: list[_Unit] = []
        for rec_i, record in enumerate(records):
            prompt: np.ndarray | None = None
            for seg_i, seg in enumerate(record.segments):
                if seg.role not in self.options.roles:
                    continue
                if prompt is None:
                    prompt = prompt_shingles(record.segments, spec) if params.strip_prompt else _EMPTY
                ordered = shingle_hashes(seg.text, spec)
                positions = np.arange(len(ordered))
                if len(prompt) and len(ordered):
                    keep = ~np.isin(ordered, prompt)
                    ordered, positions = ordered[keep], positions[keep]
                unique = np.unique(ordered)
                if len(unique) >= params.min_shingles:
                    units.append(_Unit(rec_i, seg_i, ordered, positions, unique))
        return units

    def _block_size(self, group: _Group) -> int:
        if self.options.window_block:
            return self.options.window_block
        return max(16, group.params.min_shingles)

    def _signatures(self, group: _Group, units: list[_Unit]) -> tuple[np.ndarray, np.ndarray]:
        """One signature per unit, plus one per containment window.

        A window's signature is the element-wise minimum of its blocks'
        signatures, so windows cost one pass over the text, not one each."""
        block = self._block_size(group)
        pieces: list[np.ndarray] = []
        plan: list[int] = []  # per unit: number of blocks (0: signed whole)
        for u in units:
            nblocks = -(-len(u.ordered) // block) if self.options.containment else 0
            if nblocks >= 3:
                pieces.extend(u.ordered[i:i + block] for i in range(0, len(u.ordered), block))
                plan.append(nblocks)
            else:
                pieces.append(u.unique)
                plan.append(0)
        sizes = np.array([len(p) for p in pieces], dtype=np.int64)
        piece_sigs = group.hasher.sign_many(np.concatenate(pieces), np.concatenate(([0], np.cumsum(sizes))))
        rows: list[np.ndarray] = []
        owner: list[int] = []
        at = 0
        for u_i, (u, nblocks) in enumerate(zip(units, plan)):
            count = max(nblocks, 1)
            own = piece_sigs[at:at + count]
            at += count
            sigs = own if nblocks == 0 else self._window_sigs(own)
            start = sum(len(r) for r in rows)
            u.sigs = slice(start, start + len(sigs))
            rows.append(sigs)
            owner.extend([u_i] * len(sigs))
        return np.concatenate(rows), np.array(owner, dtype=np.int64)

    def _window_sigs(self, blocks: np.ndarray) -> np.ndarray:
        """The whole text's signature, then windows of 2, 4, 8, ... blocks
        (smaller than the text), each level overlapping by half a window."""
        out = [blocks.min(axis=0, keepdims=True)]
        level = blocks  # level[i]: the window of `width` blocks starting at block i
        width = 1
        while width * 2 < len(blocks) and width * 2 <= self.options.max_window_blocks:
            level = np.minimum(level[:-width], level[width:])
            width *= 2
            step = max(1, width // 2)
            starts = np.arange(0, len(level), step)
            if starts[-1] != len(level) - 1:
                starts = np.append(starts, len(level) - 1)  # reach the end of the text
            out.append(level[starts])
        return np.concatenate(out)

    def _verify(self, data: IndexData, idx_i: int, units: list[_Unit], unit_of: np.ndarray,
                rows: np.ndarray) -> list[_Pair]:
        """Exact Jaccard and containment for each (unit, reference) candidate."""
        if len(rows) == 0:
            return []
        pairs = np.unique((unit_of << 32) | rows)
        unit_of, rows = pairs >> 32, pairs & 0xFFFFFFFF
        # Every query set in one sorted array of (unit << 32 | hash) ...
        qsizes = np.array([len(u.unique) for u in units], dtype=np.int64)
        qkeys = np.concatenate([(np.int64(i) << 32) | u.unique.astype(np.int64) for i, u in enumerate(units)])
        # ... probed with every candidate reference's shingles, tagged likewise.
        offsets = data.shingle_offsets.astype(np.int64)
        rsizes = offsets[rows + 1] - offsets[rows]
        cand = np.repeat(np.arange(len(rows)), rsizes)
        first = np.cumsum(rsizes) - rsizes
        elem = offsets[rows][cand] + np.arange(len(cand)) - first[cand]
        probe = (unit_of[cand] << 32) | data.shingles[elem].astype(np.int64)
        pos = np.minimum(np.searchsorted(qkeys, probe), len(qkeys) - 1)
        inter = np.bincount(cand[qkeys[pos] == probe], minlength=len(rows))
        jac = inter / (qsizes[unit_of] + rsizes - inter)
        con = inter / np.maximum(rsizes, 1)
        return [_Pair(int(u), idx_i, int(r), int(i), float(j), float(c))
                for u, r, i, j, c in zip(unit_of, rows, inter, jac, con)
                if self._passes(data.params, int(i), float(j), float(c))]

    def _passes(self, params: IndexParams, inter: int, jac: float, con: float) -> bool:
        if inter < params.min_shingles:
            return False
        return jac >= params.threshold or (self.options.containment and con >= self.options.containment_threshold)

    def _best(self, group: _Group, pairs: list[_Pair]) -> list[_Pair]:
        """Per segment and provider, the reference that matches best: one
        finding per provider, not one per copy of a duplicated reference."""
        best: dict[tuple[int, str], tuple[float, _Pair]] = {}
        for p in pairs:
            data = group.indexes[p.index]
            provider = data.providers[int(data.provider_code[p.row])]
            score = p.jaccard if p.jaccard >= data.params.threshold else p.containment
            key = (p.unit, provider)
            if key not in best or score > best[key][0]:
                best[key] = (score, p)
        return [p for _, p in sorted(best.values(), key=lambda sp: (sp[1].unit, -sp[0]))]

    def _hits(self, group: _Group, records: Sequence[Record], units: list[_Unit], sigs: np.ndarray,
              pairs: list[_Pair]) -> list[tuple[int, Hit]]:
        out = []
        for p in pairs:
            u = units[p.unit]
            data = group.indexes[p.index]
            ref = data.reference(p.row)
            ref_sig = group.hasher.sign(data.shingle_set(p.row))
            segment = records[u.record].segments[u.segment]
            if p.jaccard >= data.params.threshold:
                mode, verified = "match", p.jaccard
                estimated = jaccard_estimate(sigs[u.sigs.start], ref_sig)
                start, end = 0, len(segment.text)
            else:
                mode, verified = "containment", p.containment
                estimated = max(jaccard_estimate(s, ref_sig) for s in sigs[u.sigs])
                start, end = _matched_span(segment.text, u, data.shingle_set(p.row), group.params)
            detail = {
                "provider": ref.provider, "reference_id": ref.id, "reference_source": ref.source,
                "reference_label": ref.label, "estimated_similarity": round(estimated, 4),
                "verified_similarity": round(verified, 4), "jaccard": round(p.jaccard, 4),
                "containment": round(p.containment, 4), "shared_shingles": p.inter, "mode": mode,
            }
            rule = RULE_MATCH if mode == "match" else RULE_CONTAINMENT
            out.append((u.record, Hit(rule, segment.pointer, start, end, "", detail)))
        return out


def _matched_span(text: str, unit: _Unit, ref_set: np.ndarray, params: IndexParams) -> tuple[int, int]:
    """Character span of the part of `text` whose shingles are the reference's.

    Word shingles map back to words of the original text; character
    shingles count normalised characters, so for them the whole text."""
    if params.shingle_kind != "word":
        return 0, len(text)
    inside = np.flatnonzero(np.isin(unit.ordered, ref_set))
    spans = token_spans(text)
    if len(inside) == 0 or not spans:
        return 0, len(text)
    first = int(unit.positions[inside[0]])
    last = min(int(unit.positions[inside[-1]]) + params.shingle_n - 1, len(spans) - 1)
    return spans[min(first, len(spans) - 1)][0], spans[last][1]


# --- what the engine stamps ----------------------------------------------------------

HIGH_SIMILARITY = 0.7


def severity_for(classification: str, similarity: float) -> Severity:
    """Severity of a near-duplicate finding from the matched provider's terms
    classification and the verified similarity (Jaccard or containment)."""
    high = similarity >= HIGH_SIMILARITY
    if classification == "forbids-competing":
        return Severity.HIGH if high else Severity.MEDIUM
    if classification == "conditional":
        return Severity.MEDIUM if high else Severity.LOW
    if classification == "permissive":
        return Severity.LOW if high else Severity.INFO
    return Severity.MEDIUM if high else Severity.LOW  # unverified or unknown provider


def describe(hit: Hit) -> str:
    """One-line message for a near-duplicate hit."""
    d = hit.detail or {}
    what = "near-duplicate of" if d.get("mode") == "match" else "contains"
    label = f" ({d['reference_label']})" if d.get("reference_label") else ""
    return (f"{what} reference {d.get('reference_id')} from {d.get('provider')}{label} in "
            f"{d.get('reference_source')}: verified similarity {d.get('verified_similarity'):.2f}, "
            f"estimated {d.get('estimated_similarity'):.2f}")


def finding_fields(hit: Hit, registry: Registry) -> dict[str, Any]:
    """What the engine needs to stamp a near-duplicate hit into a Finding:
    provider, severity, confidence, evidence and message."""
    d = hit.detail or {}
    provider = str(d.get("provider", "unknown"))
    similarity = float(d.get("verified_similarity", 0.0))
    return {
        "provider": provider,
        "severity": severity_for(registry.classification(provider), similarity),
        "confidence": round(similarity, 4),
        "evidence": "near-duplicate",
        "message": describe(hit),
    }
