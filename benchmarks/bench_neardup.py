#!/usr/bin/env python
"""Speed and size of near-duplicate matching, on generated text.

    .venv/bin/python benchmarks/bench_neardup.py [--refs 1000000] [--docs 2000]
        [--queries 20000] [--seed 0] [--markdown docs/neardup.md] [--skip-scan]

Three parts, all single-process (one core), all data generated here and kept
in a temporary directory that is deleted at exit:

1. Signatures per second, 128 permutations, 300-word documents, character
   5-grams (the configuration of the published figures) and word 3-grams (the
   default): tos-lint from text (normalise, shingle, hash, sign) against
   `datasketch.MinHash.update` per shingle, `update_batch` per document and
   `MinHash.bulk`, and `rensa` when it is installed.
2. LSH: inserts and queries per second and bytes per reference for the
   sorted band tables, against `datasketch.MinHashLSH` with the same banding.
3. Scan: an index of `--refs` references (default 1M), then `--queries` JSONL
   records read, adapted and matched against it, 10 % of them edited copies
   of references; records per second and the share of copies found.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tos_lint.adapters import adapt, own_id
from tos_lint.model import Record, Source
from tos_lint.neardup.detector import NearDupDetector
from tos_lint.neardup.index import IndexBuilder, IndexParams, PendingRef, load_index, write_index
from tos_lint.neardup.lsh import BandTable, band_keys
from tos_lint.neardup.minhash import MinHasher
from tos_lint.neardup.references import answer_sets
from tos_lint.neardup.shingles import ShingleSpec, shingle_batch, shingle_strings
from tos_lint.readers import FileStats, InputFile, RawRecord, ReadOptions, read_records
sys.path.insert(0, str(Path(__file__).resolve().parent))
from neardup_doc import update_section  # noqa: E402 - sibling module in benchmarks/

NUM_PERM = 128
TARGET_SIG_RATIO = 200
TARGET_BYTES = 150
TARGET_SCAN = 5000


# --- generated text -----------------------------------------------------------------

class TextGen:
    """Pseudo-English: words of a 30k-word vocabulary drawn with Zipf
    frequencies, so that common words and phrases recur as in real text."""

    def __init__(self, seed: int, vocab_size: int = 30_000):
        self.rng = np.random.default_rng(seed)
        letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
        lengths = self.rng.integers(2, 10, vocab_size)
        self.vocab = np.array(["".join(self.rng.choice(letters, n)) for n in lengths])
        weights = 1.0 / np.arange(1, vocab_size + 1) ** 1.07
        self.cdf = np.cumsum(weights / weights.sum())

    def docs(self, count: int, words: int) -> list[str]:
        ids = np.searchsorted(self.cdf, self.rng.random(count * words)).reshape(count, words)
        table = self.vocab[np.minimum(ids, len(self.vocab) - 1)]
        return [" ".join(row) for row in table.tolist()]

    def edit(self, text: str, rate: float) -> str:
        words = text.split()
        rnd = random.Random(int(self.rng.integers(1 << 30)))
        for _ in range(round(rate * len(words))):
            i = rnd.randrange(len(words))
            op = rnd.random()
            if op < 1 / 3:
                del words[i]
            elif op < 2 / 3:
                words.insert(i, str(rnd.choice(self.vocab)))
            elif i + 1 < len(words):
                words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)


def best_of(fn: Callable[[], object], runs: int = 3) -> float:
    """Best wall time of a few runs: the machine is shared, take the quietest."""
    times = []
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


# --- 1. signatures -------------------------------------------------------------------------

@dataclass
class Rate:
    name: str
    docs_per_s: float
    note: str = ""


def bench_signatures(gen: TextGen, docs: list[str], spec: ShingleSpec) -> list[Rate]:
    hasher = MinHasher(NUM_PERM, 1, "affine32")

    def ours() -> None:
        for i in range(0, len(docs), 256):
            batch = shingle_batch(docs[i:i + 256], spec)
            hasher.sign_many(batch.hashes, batch.offsets)

    rates = [Rate("tos-lint, from text (normalise, shingle, hash, sign)", len(docs) / best_of(ours))]
    pre = shingle_batch(docs, spec)
    rates.append(Rate("tos-lint, from shingle hashes (sign only)",
                      len(docs) / best_of(lambda: hasher.sign_many(pre.hashes, pre.offsets))))
    rates += _datasketch_rates(docs, spec)
    rates += _rensa_rates(docs, spec, pre.hashes, pre.offsets)
    return rates


def _datasketch_rates(docs: list[str], spec: ShingleSpec) -> list[Rate]:
    from datasketch import MinHash

    shingled = [[s.encode() for s in shingle_strings(d, spec)] for d in docs[:200]]
    few = shingled[:10]

    def per_shingle() -> None:
        for sh in few:
            m = MinHash(num_perm=NUM_PERM)
            for s in sh:
                m.update(s)

    def per_doc_batch() -> None:
        for sh in shingled[:50]:
            MinHash(num_perm=NUM_PERM).update_batch(sh)

    def bulk() -> None:
        MinHash.bulk(shingled[:50], num_perm=NUM_PERM)

    note = "shingles given as bytes (shingling not timed)"
    return [
        Rate("datasketch `MinHash.update` per shingle (SHA-1)", len(few) / best_of(per_shingle, 2), note),
        Rate("datasketch `update_batch` per document (SHA-1)", 50 / best_of(per_doc_batch, 2), note),
        Rate("datasketch `MinHash.bulk` (SHA-1)", 50 / best_of(bulk, 2), note),
    ]


def _rensa_rates(docs: list[str], spec: ShingleSpec, hashes: np.ndarray, offsets: np.ndarray) -> list[Rate]:
    try:
        from rensa import RMinHash
    except ImportError:
        return [Rate("rensa", float("nan"), "not installed")]
    shingled = [shingle_strings(d, spec) for d in docs[:500]]

    def from_strings() -> None:
        for sh in shingled:
            m = RMinHash(num_perm=NUM_PERM, seed=1)
            m.update(sh)
            m.digest()

    h64 = hashes.astype(np.uint64)
    off = offsets.astype(np.uint64)
    return [
        Rate("rensa `RMinHash.update` from shingle strings", len(shingled) / best_of(from_strings, 2),
             "own hash and permutations: not datasketch-compatible"),
        Rate("rensa digest matrix from numpy hashes",
             len(docs) / best_of(lambda: RMinHash.digest_matrix_from_flat_token_hashes(h64, off, NUM_PERM, 1)),
             "shingle hashes precomputed (not timed)"),
    ]


# --- 2. LSH --------------------------------------------------------------------------------

def bench_lsh(gen: TextGen, count: int, params: IndexParams) -> dict[str, float]:
    docs = gen.docs(count, 120)
    sets = answer_sets(docs, np.arange(count), [], np.zeros(0, np.int64), params.shingles)
    sigs = MinHasher(NUM_PERM, 1, "affine32").sign_many(sets.unique, sets.unique_offsets)
    banding = params.banding
    build_s = best_of(lambda: BandTable.build(band_keys(sigs, banding)))
    table = BandTable.build(band_keys(sigs, banding))

    def query() -> None:
        for i in range(0, count, 1000):
            table.query(band_keys(sigs[i:i + 1000], banding))

    query_s = best_of(query)
    out = {"refs": count, "insert_per_s": count / build_s, "query_per_s": count / query_s,
           "bytes_per_ref": table.nbytes / count}
    out.update(_datasketch_lsh(sigs[: min(count, 20_000)], banding))
    return out


def _datasketch_lsh(sigs: np.ndarray, banding: object) -> dict[str, float]:
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    minhashes = [LeanMinHash(MinHash(num_perm=NUM_PERM, hashvalues=s, scheme="affine32")) for s in sigs]
    n = len(minhashes)
    params = (banding.bands, banding.rows)  # type: ignore[attr-defined]

    def build() -> MinHashLSH:
        lsh = MinHashLSH(num_perm=NUM_PERM, params=params)
        for i, m in enumerate(minhashes):
            lsh.insert(f"ref{i}", m)
        return lsh

    t = time.perf_counter()
    lsh = build()
    insert_s = time.perf_counter() - t
    t = time.perf_counter()
    for m in minhashes:
        lsh.query(m)
    query_s = time.perf_counter() - t
    del lsh
    gc.collect()
    tracemalloc.start()  # memory in a second build: tracemalloc slows what it watches
    alive = build()  # kept alive while its memory is read
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del alive
    return {"ds_refs": n, "ds_insert_per_s": n / insert_s, "ds_query_per_s": n / query_s, "ds_bytes_per_ref": size / n}


# --- 3. scan with a big index -------------------------------------------------------------

def build_big_index(gen: TextGen, count: int, params: IndexParams, words: int) -> tuple[object, list[str], float]:
    """`count` generated references; returns the index, a sample of their
    texts (to plant copies of in the queries) and the build time."""
    builder = IndexBuilder(params)
    sample: list[str] = []
    started = time.perf_counter()
    chunk = 8192
    for start in range(0, count, chunk):
        docs = gen.docs(min(chunk, count - start), words)
        if len(sample) < 5000:
            sample.extend(docs[:64])
        sets = answer_sets(docs, np.arange(len(docs)), [], np.zeros(0, np.int64), params.shingles)
        for i in range(len(docs)):
            builder.add(PendingRef(f"ref-{start + i}", "openai" if i % 2 else "anthropic", "", "generated.jsonl",
                                   start + i, None, sets.unique[sets.unique_offsets[i]:sets.unique_offsets[i + 1]]))
    data = builder.finish()
    return data, sample, time.perf_counter() - started


def bench_scan(gen: TextGen, refs: int, queries: int, params: IndexParams, workdir: Path) -> dict[str, float]:
    data, sample, build_s = build_big_index(gen, refs, params, words=150)
    path = workdir / "big.tlx"
    t = time.perf_counter()
    write_index(data, path)
    write_s = time.perf_counter() - t
    size = path.stat().st_size
    lsh_bytes = data.table.nbytes / data.count
    del data
    gc.collect()
    t = time.perf_counter()
    index = load_index(path)
    load_s = time.perf_counter() - t
    planted = queries // 10
    rnd = random.Random(0)
    copies = [gen.edit(rnd.choice(sample), 0.05) for _ in range(planted)]
    fresh = gen.docs(queries - planted, 150)
    qpath = workdir / "queries.jsonl"
    with open(qpath, "w") as out:
        for i, text in enumerate(copies + fresh):
            out.write(json.dumps({"id": f"q{i}", "instruction": "Write something.", "output": text}) + "\n")
    detector = NearDupDetector([index])
    found = 0

    def scan() -> None:
        nonlocal found
        found = 0
        batch: list[Record] = []
        for item in read_records(InputFile(str(qpath), qpath), FileStats(), ReadOptions()):
            assert isinstance(item, RawRecord)
            fmt, segments = adapt(item.data)
            batch.append(Record(Source("q", item.line, None), segments, item.data, fmt, own_id(item.data)))
            if len(batch) == 256:
                found += _count_found(detector.detect_batch(batch), batch, planted)
                batch = []
        found += _count_found(detector.detect_batch(batch), batch, planted)

    scan_s = best_of(scan, 2)
    return {"refs": refs, "build_per_s": refs / build_s, "write_s": write_s, "load_s": load_s,
            "file_bytes_per_ref": size / refs, "lsh_bytes_per_ref": lsh_bytes, "queries": queries,
            "scan_per_s": queries / scan_s, "planted": planted, "planted_found": found / planted}


def _count_found(hits: list[list[object]], batch: list[Record], planted: int) -> int:
    """Planted copies (the first `planted` records, ids q0, q1, ...) with a finding."""
    return sum(1 for h, r in zip(hits, batch) if h and int(r.data["id"][1:]) < planted)


# --- report --------------------------------------------------------------------------------

def report(sig_char: list[Rate], sig_word: list[Rate], lsh: dict[str, float], scan: dict[str, float] | None) -> str:
    base = next(r.docs_per_s for r in sig_char if r.name.startswith("datasketch `MinHash.update`"))
    ours = sig_char[0].docs_per_s
    ratio = ours / base
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other work: figures are the best "
        f"of a few runs), Python {platform.python_version()}, numpy {np.__version__}. One process, one core.",
        "",
        f"### Signatures ({NUM_PERM} permutations, 300-word documents)",
        "",
        "| method | char 5-grams, docs/s | word 3-grams, docs/s | note |",
        "|---|---:|---:|---|",
    ]
    word = {r.name: r.docs_per_s for r in sig_word}
    for r in sig_char:
        lines.append(f"| {r.name} | {r.docs_per_s:,.0f} | {word.get(r.name, float('nan')):,.0f} | {r.note} |")
    lines += [
        "",
        f"tos-lint from text against datasketch per-shingle `update`: **{ratio:,.0f}x** "
        f"(target >= {TARGET_SIG_RATIO}x: {'met' if ratio >= TARGET_SIG_RATIO else '**missed**'}). "
        "Signatures are equal to datasketch's for the same permutations and shingle hashes "
        "(tests/neardup/test_minhash.py).",
        "",
        f"### LSH ({lsh['refs']:,} references; banding 14 x 2)",
        "",
        "| | inserts/s | queries/s | bytes per reference |",
        "|---|---:|---:|---:|",
        f"| tos-lint sorted band tables | {lsh['insert_per_s']:,.0f} | {lsh['query_per_s']:,.0f} | {lsh['bytes_per_ref']:.0f} |",
        f"| datasketch `MinHashLSH` ({lsh['ds_refs']:,} references) | {lsh['ds_insert_per_s']:,.0f} | "
        f"{lsh['ds_query_per_s']:,.0f} | {lsh['ds_bytes_per_ref']:,.0f} |",
        "",
        f"LSH tables: **{lsh['bytes_per_ref']:.0f} B per reference** (target <= {TARGET_BYTES}: "
        f"{'met' if lsh['bytes_per_ref'] <= TARGET_BYTES else '**missed**'}). The index file also keeps each "
        "reference's shingle set (4 B per distinct shingle) for exact verification, and its id and source; "
        "see the file size below.",
    ]
    if scan:
        lines += [
            "",
            f"### Scan against {scan['refs']:,} references",
            "",
            f"Index of {scan['refs']:,} generated 150-word references: built at {scan['build_per_s']:,.0f} "
            f"references/s, written in {scan['write_s']:.1f} s, opened (memory-mapped, checksum verified) in "
            f"{scan['load_s']:.2f} s. File: {scan['file_bytes_per_ref']:.0f} B per reference, of which "
            f"{scan['lsh_bytes_per_ref']:.0f} B LSH tables.",
            "",
            f"Scan of {scan['queries']:,} JSONL records (read, adapted, matched; batches of 256): "
            f"**{scan['scan_per_s']:,.0f} records/s** on one core (target >= {TARGET_SCAN:,}: "
            f"{'met' if scan['scan_per_s'] >= TARGET_SCAN else '**missed**'}). Planted 5 %-edited copies found: "
            f"{scan['planted_found']:.4f}.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--refs", type=int, default=1_000_000, help="references in the scan index")
    ap.add_argument("--docs", type=int, default=2000, help="documents for the signature benchmark")
    ap.add_argument("--lsh-refs", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-scan", action="store_true")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args(argv)
    gen = TextGen(args.seed)
    params = IndexParams.design()
    docs = gen.docs(args.docs, 300)
    print("signatures ...", flush=True)
    sig_char = bench_signatures(gen, docs, ShingleSpec("char", 5))
    sig_word = bench_signatures(gen, docs, ShingleSpec("word", 3))
    print("LSH ...", flush=True)
    lsh = bench_lsh(gen, args.lsh_refs, params)
    scan = None
    if not args.skip_scan:
        print(f"scan with {args.refs:,} references ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="tos-lint-bench-") as tmp:
            scan = bench_scan(gen, args.refs, args.queries, params, Path(tmp))
    text = report(sig_char, sig_word, lsh, scan)
    print(text)
    if args.markdown:
        cmd = f"benchmarks/bench_neardup.py --refs {args.refs} --docs {args.docs} --queries {args.queries}"
        update_section(args.markdown, "performance", "## Performance", f"Generated by `{cmd}`.\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
