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
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from tos_lint.model import Hit, Record, Segment, Severity
from tos_lint.neardup._jit import intersect_kernel
from tos_lint.neardup.arrays import member, sorted_unique
from tos_lint.neardup.index import IndexData, IndexParams, load_index
from tos_lint.neardup.lsh import band_keys
from tos_lint.neardup.minhash import MinHasher, jaccard_estimate
from tos_lint.neardup.references import AnswerSets, answer_sets, record_texts
from tos_lint.neardup.shingles import token_spans
from tos_lint.neardup.signing import digest, use_all
from tos_lint.registry import Registry

RULE_MATCH = "tos-lint.neardup.match"
RULE_CONTAINMENT = "tos-lint.neardup.containment"
RULE_IDS = (RULE_MATCH, RULE_CONTAINMENT)
QUERY_ROLES = ("assistant", "unknown")


@dataclass(frozen=True)
class DetectorOptions:
    roles: tuple[str, ...] = QUERY_ROLES
    containment: bool = True
    # Share of a reference's shingles that must appear in the segment.
    containment_threshold: float = 0.8
    # Windows for containment are 2, 4, 8, ... blocks of this many shingles
    # (None: 32, or half the 10th percentile of reference sizes if larger). Smaller
    # windows find smaller embedded references, at the price of many more
    # chance candidates to verify.
    window_block: int | None = None
    max_window_blocks: int = 16
    # Report a provider only if its best similarity is within this margin of
    # the segment's best match (over all providers).
    provider_margin: float = 0.1


@dataclass
class _Units:
    """The segments of a batch that are long enough to query (units), with
    their shingles, and the signature rows that stand for each."""

    record: np.ndarray  # (units,) the record each unit belongs to
    segment: list[Segment]  # (units,) the Segment itself
    sets: AnswerSets  # shingles, per unit
    sig_unit: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # unit of each signature row

    def __len__(self) -> int:
        return len(self.record)


@dataclass
class _Group:
    """Indexes that share signing parameters: one signature serves them all."""

    params: IndexParams
    hasher: MinHasher
    frequent: np.ndarray  # shingles left out of signatures (signing.py)
    indexes: list[IndexData] = field(default_factory=list)


@dataclass(frozen=True)
class _Pair:
    unit: int
    index: int
    row: int
    inter: int
    jaccard: float
    containment: float


class NearDupDetector:
    """`detect(record) -> list[Hit]` against one or more reference indexes.

    Prefer `detect_batch(records)` on a few hundred records at a time: the
    numpy work is per batch, so one record at a time pays it per record."""

    def __init__(self, indexes: Sequence[IndexData | str | Path], registry: Registry | None = None,
                 options: DetectorOptions | None = None):
        self.registry = registry
        self.options = options or DetectorOptions()
        self.groups: dict[tuple[Any, ...], _Group] = {}
        for item in indexes:
            data = item if isinstance(item, IndexData) else load_index(item)
            key = (data.params.signing_key(), digest(data.frequent))
            if key not in self.groups:
                p = data.params
                self.groups[key] = _Group(p, MinHasher(p.num_perm, p.seed, p.scheme), data.frequent)
            self.groups[key].indexes.append(data)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return RULE_IDS

    def finding_fields(self, hit: Hit) -> dict[str, Any]:
        """Provider, severity, confidence, evidence and message for the engine
        to stamp on a hit (needs the registry given to the constructor)."""
        if self.registry is None:
            raise ValueError("NearDupDetector needs a registry to grade findings")
        return finding_fields(hit, self.registry)

    def detect(self, record: Record) -> list[Hit]:
        return self.detect_batch([record])[0]

    def detect_stream(self, records: Iterable[Record], batch_size: int = 256) -> Iterator[tuple[Record, list[Hit]]]:
        """Each record with its hits, in order, working in batches: the way
        for a scan to use the detector without holding the corpus in memory."""
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) >= batch_size:
                yield from zip(batch, self.detect_batch(batch))
                batch = []
        if batch:
            yield from zip(batch, self.detect_batch(batch))

    def detect_batch(self, records: Sequence[Record]) -> list[list[Hit]]:
        out: list[list[Hit]] = [[] for _ in records]
        for group in self.groups.values():
            for rec_i, hit in self._detect_group(group, records):
                out[rec_i].append(hit)
        return out

    # --- the pipeline ----------------------------------------------------------

    def _detect_group(self, group: _Group, records: Sequence[Record]) -> list[tuple[int, Hit]]:
        units = self._units(group.params, records)
        if not len(units):
            return []
        sigs = self._signatures(group, units)
        keys: dict[Any, np.ndarray] = {}
        pairs: list[_Pair] = []
        for idx_i, data in enumerate(group.indexes):
            banding = data.params.banding
            if banding not in keys:
                keys[banding] = band_keys(sigs, banding)
            q, rows = data.table.query(keys[banding])
            pairs.extend(self._verify(data, idx_i, units, units.sig_unit[q], rows))
        return self._hits(group, units, sigs, self._best(group, pairs))

    def _units(self, params: IndexParams, records: Sequence[Record]) -> _Units:
        chosen, answers, group, prompts, prompt_group = record_texts(
            records, self.options.roles, params.strip_prompt, fallback=False)
        sets = answer_sets(answers, group, prompts, prompt_group, params.shingles)
        keep = np.flatnonzero(sets.sizes >= params.min_shingles)
        return _Units(group[keep], [chosen[i][1] for i in keep.tolist()], _select(sets, keep))

    def _block_size(self, group: _Group) -> int:
        """Windows start at two blocks. A window much smaller than nearly all
        references cannot hold one, and small windows make the most chance
        candidates, so the smallest window follows the references' sizes."""
        if self.options.window_block:
            return self.options.window_block
        p10 = min(int(d.stats.get("shingles_p10", 0)) for d in group.indexes)
        return max(32, group.params.min_shingles, p10 // 2)

    def _signatures(self, group: _Group, units: _Units) -> np.ndarray:
        """One signature per unit (rows 0..units-1), then one per containment
        window; `units.sig_unit` says whose each row is.

        A window's signature is the element-wise minimum of its blocks'
        signatures, so all windows together cost one pass over the text."""
        sets = units.sets
        n = len(units)
        # Leave out the index's frequent shingles, as its references were signed.
        rare = ~member(sets.unique, group.frequent)
        whole = use_all(rare, sets.unique_offsets)
        if not self.options.containment:
            units.sig_unit = np.arange(n)
            owner = np.repeat(np.arange(n), sets.sizes)
            keep = rare | whole[owner]
            return group.hasher.sign_many(sets.unique[keep], _offsets_of(owner[keep], n))
        owner = np.repeat(np.arange(n), np.diff(sets.ordered_offsets))
        keep = whole[owner] | ~member(sets.ordered, group.frequent)
        ordered, owner = sets.ordered[keep], owner[keep]
        block = self._block_size(group)
        counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, np.int64)
        nblocks = -(-counts // block)
        first_block = np.concatenate(([0], np.cumsum(nblocks)))
        rank = np.arange(len(owner)) - _offsets_of(owner, n)[owner]
        block_id = first_block[owner] + rank // block
        block_offsets = np.concatenate(([0], np.cumsum(np.bincount(block_id, minlength=int(first_block[-1])))))
        block_sigs = group.hasher.sign_many(ordered, block_offsets)
        whole = np.minimum.reduceat(block_sigs, first_block[:-1], axis=0)
        # A window of most of the segment adds nothing to the whole's signature.
        usable = np.floor(0.7 * counts / block).astype(np.int64)
        windows, owners = _windows(block_sigs, first_block, nblocks, usable, self.options.max_window_blocks)
        units.sig_unit = np.concatenate((np.arange(n), owners))
        return np.concatenate((whole, windows))

    def _verify(self, data: IndexData, idx_i: int, units: _Units, unit_of: np.ndarray,
                rows: np.ndarray) -> list[_Pair]:
        """Exact Jaccard and containment for each (unit, reference) candidate."""
        if len(rows) == 0:
            return []
        pairs = sorted_unique((unit_of << 32) | rows)
        unit_of, rows = pairs >> 32, pairs & 0xFFFFFFFF
        qsizes = units.sets.sizes
        offsets = data.offsets64
        rsizes = offsets[rows + 1] - offsets[rows]
        params = data.params
        # The least intersection that can pass: J >= t needs |Q∩R| >= t(|Q|+|R|)/(1+t).
        need = np.ceil(params.threshold * (qsizes[unit_of] + rsizes) / (1 + params.threshold) - 1e-9)
        if self.options.containment:
            need = np.minimum(need, np.ceil(self.options.containment_threshold * rsizes - 1e-9))
        need = np.maximum(need, params.min_shingles).astype(np.int64)
        inter = _intersections(units.sets, unit_of, data, rows, rsizes, need)
        jac = inter / (qsizes[unit_of] + rsizes - inter)
        con = inter / np.maximum(rsizes, 1)
        ok = (inter >= params.min_shingles) & (
            (jac >= params.threshold) | (self.options.containment & (con >= self.options.containment_threshold)))
        return [_Pair(int(u), idx_i, int(r), int(i), float(j), float(c))
                for u, r, i, j, c in zip(unit_of[ok], rows[ok], inter[ok], jac[ok], con[ok])]

    def _best(self, group: _Group, pairs: list[_Pair]) -> list[_Pair]:
        """Per segment and provider, the reference that matches best (one
        finding per provider, not one per copy of a duplicated reference),
        for the providers that match about as well as the best one."""
        best: dict[tuple[int, str], tuple[float, _Pair]] = {}
        for p in pairs:
            data = group.indexes[p.index]
            provider = data.providers[int(data.provider_code[p.row])]
            key = (p.unit, provider)
            if key not in best or self._score(group, p) > best[key][0]:
                best[key] = (self._score(group, p), p)
        by_unit: dict[int, list[tuple[float, _Pair]]] = {}
        for score, p in best.values():
            by_unit.setdefault(p.unit, []).append((score, p))
        kept: list[_Pair] = []
        for unit in sorted(by_unit):
            ranked = sorted(by_unit[unit], key=lambda sp: -sp[0])
            accepted: list[tuple[float, _Pair]] = []
            for score, p in ranked:
                if not any(s - score > self.options.provider_margin and self._overlap(group, q, p)
                           for s, q in accepted):
                    accepted.append((score, p))
            kept.extend(p for _, p in accepted)
        return kept

    def _score(self, group: _Group, p: _Pair) -> float:
        return p.jaccard if p.jaccard >= group.indexes[p.index].params.threshold else p.containment

    def _overlap(self, group: _Group, a: _Pair, b: _Pair) -> bool:
        """Whether two matches explain the same text: a segment that matches
        one provider's reference far better than another's is evidence for the
        first only (the second is usually itself a near-copy of the first,
        e.g. two models translating one passage). Whole-segment matches always
        overlap; embedded ones when their references share half their shingles."""
        threshold_a = group.indexes[a.index].params.threshold
        threshold_b = group.indexes[b.index].params.threshold
        if a.jaccard >= threshold_a and b.jaccard >= threshold_b:
            return True
        ra = group.indexes[a.index].shingle_set(a.row)
        rb = group.indexes[b.index].shingle_set(b.row)
        shared = np.count_nonzero(member(ra, rb))
        return shared >= 0.5 * min(len(ra), len(rb))

    def _hits(self, group: _Group, units: _Units, sigs: np.ndarray, pairs: list[_Pair]) -> list[tuple[int, Hit]]:
        out = []
        for p in pairs:
            data = group.indexes[p.index]
            ref = data.reference(p.row)
            ref_set = data.shingle_set(p.row)
            ref_sig = group.hasher.sign(ref_set)
            segment = units.segment[p.unit]
            if p.jaccard >= data.params.threshold:
                mode, verified = "match", p.jaccard
                estimated = jaccard_estimate(sigs[p.unit], ref_sig)
                start, end = 0, len(segment.text)
            else:
                mode, verified = "containment", p.containment
                own = sigs[units.sig_unit == p.unit]
                estimated = float((own == ref_sig).mean(axis=1).max())
                start, end = _matched_span(segment.text, units.sets, p.unit, ref_set, group.params)
            detail = {
                "provider": ref.provider, "reference_id": ref.id, "reference_source": ref.source,
                "reference_label": ref.label, "estimated_similarity": round(estimated, 4),
                "verified_similarity": round(verified, 4), "jaccard": round(p.jaccard, 4),
                "containment": round(p.containment, 4), "shared_shingles": p.inter, "mode": mode,
            }
            rule = RULE_MATCH if mode == "match" else RULE_CONTAINMENT
            out.append((int(units.record[p.unit]), Hit(rule, segment.pointer, start, end, "", detail)))
        return out


def _offsets_of(owner: np.ndarray, n: int) -> np.ndarray:
    """Offsets of n groups from the (sorted) group of each element."""
    counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, np.int64)
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _intersections(sets: AnswerSets, unit_of: np.ndarray, data: IndexData, rows: np.ndarray,
                   rsizes: np.ndarray, need: np.ndarray) -> np.ndarray:
    """|unit set ∩ reference set| for each candidate pair (exact where it
    reaches `need`; below `need` it may be any smaller number)."""
    kernel = intersect_kernel()
    if kernel is not None:
        out = np.empty(len(rows), dtype=np.int64)
        kernel(sets.unique, sets.unique_offsets, unit_of, data.shingles,
               data.offsets64, rows, need, out)
        return out
    # numpy: every unit's set in one sorted array of (unit << 32 | hash),
    # probed with every candidate reference's shingles, tagged likewise.
    qkeys = (np.repeat(np.arange(len(sets.sizes)), sets.sizes) << 32) | sets.unique.astype(np.int64)
    offsets = data.offsets64
    cand = np.repeat(np.arange(len(rows)), rsizes)
    first = np.cumsum(rsizes) - rsizes
    elem = offsets[rows][cand] + np.arange(len(cand)) - first[cand]
    probe = (unit_of[cand] << 32) | data.shingles[elem].astype(np.int64)
    pos = np.minimum(np.searchsorted(qkeys, probe), len(qkeys) - 1)
    return np.bincount(cand[qkeys[pos] == probe], minlength=len(rows))


def _select(sets: AnswerSets, keep: np.ndarray) -> AnswerSets:
    """The sets of the answers `keep` only, renumbered 0..len(keep)-1."""
    def pick(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes = (offsets[keep + 1] - offsets[keep]) if len(keep) else np.zeros(0, np.int64)
        idx = np.repeat(offsets[keep] - np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes) + np.arange(int(sizes.sum()))
        return values[idx], np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)

    ordered, ordered_offsets = pick(sets.ordered, sets.ordered_offsets)
    positions, _ = pick(sets.positions, sets.ordered_offsets)
    unique, unique_offsets = pick(sets.unique, sets.unique_offsets)
    return AnswerSets(ordered, ordered_offsets, positions, unique, unique_offsets)


def _windows(block_sigs: np.ndarray, first_block: np.ndarray, nblocks: np.ndarray, usable: np.ndarray,
             max_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of windows of 2, 4, 8, ... blocks inside each unit (at
    most `usable` blocks wide), starting every half window, plus the last
    window of each unit so that its end is covered."""
    unit_of_block = np.repeat(np.arange(len(nblocks)), nblocks)
    local = np.arange(len(unit_of_block)) - first_block[unit_of_block]
    out: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    level, width = block_sigs, 1
    while width * 2 <= max_blocks and width * 2 <= int(usable.max(initial=0)):
        level = np.minimum(level[:-width], level[width:])  # level[i]: blocks i .. i+2*width-1
        width *= 2
        start = np.arange(len(level))
        unit = unit_of_block[start]
        inside = (unit_of_block[start + width - 1] == unit) & (width <= usable[unit])
        step = width // 2
        chosen = inside & ((local[start] % step == 0) | (local[start] == nblocks[unit] - width))
        out.append(level[chosen])
        owners.append(unit[chosen])
    if not out:
        return np.zeros((0, block_sigs.shape[1]), dtype=block_sigs.dtype), np.zeros(0, np.int64)
    return np.concatenate(out), np.concatenate(owners)


def _matched_span(text: str, sets: AnswerSets, unit: int, ref_set: np.ndarray,
                  params: IndexParams) -> tuple[int, int]:
    """Character span of the part of `text` whose shingles are the reference's.

    Word shingles map back to words of the original text; character
    shingles count normalised characters, so for them the whole text."""
    if params.shingle_kind != "word":
        return 0, len(text)
    lo, hi = int(sets.ordered_offsets[unit]), int(sets.ordered_offsets[unit + 1])
    inside = np.flatnonzero(member(sets.ordered[lo:hi], ref_set))
    spans = token_spans(text)
    if len(inside) == 0 or not spans:
        return 0, len(text)
    first = min(int(sets.positions[lo + inside[0]]), len(spans) - 1)
    last = min(int(sets.positions[lo + inside[-1]]) + params.shingle_n - 1, len(spans) - 1)
    return spans[first][0], spans[last][1]


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
