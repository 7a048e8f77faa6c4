#!/usr/bin/env python
"""Accuracy of near-duplicate matching on real model outputs (AlpacaEval).

    .venv/bin/python benchmarks/accuracy_neardup.py [--corpora ../shared/corpora]
        [--markdown docs/neardup.md] [--seed 0] [--threshold 0.4]

All 18 models of `provider/alpaca_eval` answered the same 805 prompts. The
script indexes some models' answers (the provider comes from each record's
`generator` field), then queries
  * positives: each indexed answer, perturbed (reformatted; 5/10/20 % of
    words dropped, inserted or swapped; truncated; embedded in a longer text),
    with its prompt, as a training record would carry it;
  * hard negatives: the other models' answers to the same prompts (same
    topic, different text).
Recall per level: the share of positives with a finding for the right
provider. Precision: findings for the true generator's provider over all
findings (a finding naming any other provider is a false positive).

Nothing from the corpus is written anywhere; the perturbed copies live in
memory. Skips (exit 0) with a message when the corpus folder is absent.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tos_lint.adapters import adapt, own_id
from tos_lint.model import Record, Source
from tos_lint.neardup.detector import DetectorOptions, NearDupDetector
from tos_lint.neardup.index import IndexBuilder, IndexParams
from tos_lint.neardup.references import ProviderResolver, ReadStats, iter_references
from tos_lint.registry import load_registry
sys.path.insert(0, str(Path(__file__).resolve().parent))
from neardup_doc import update_section  # noqa: E402 - sibling module in benchmarks/

ROOT = Path(__file__).resolve().parents[1]
INDEXED = ["gpt4", "claude-2", "gemini-pro", "mistral-large-2402", "Meta-Llama-3-70B-Instruct", "cohere"]
# Field values the built-in model-name patterns do not cover.
ALIASES = {"vicuna-13b-v1.5": "unknown", "falcon-40b-instruct": "unknown"}
TARGETS = {"reformatted": 1.0, "edit 5%": 0.98, "edit 10% + truncate 10%": 0.90, "embedded (1/3 of the text)": 0.90}
PRECISION_TARGET = 0.995


# --- perturbations -------------------------------------------------------------------

def reformat(text: str, rng: random.Random) -> str:
    """Same words, other layout: line breaks, spacing, markdown, quotes."""
    out = []
    for i, word in enumerate(text.split()):
        r = rng.random()
        if r < 0.06:
            word = f"**{word}**"
        elif r < 0.09:
            word = f"_{word}_"
        elif r < 0.11:
            word = f"`{word}`"
        sep = rng.choice(["  ", "\n", "\n\n- ", "\t", " "]) if rng.random() < 0.08 else " "
        out.append(word + sep)
    head = rng.choice(["# ", "## ", "> ", ""])
    return head + "".join(out).replace('"', "\u201c").replace("'", "\u2019").rstrip() + rng.choice(["\n", "  ", ""])


def edit(text: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    """Drop, insert or swap words at `rate` of the word count."""
    words = text.split()
    for _ in range(round(rate * len(words))):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 1 / 3 and len(words) > 1:
            del words[i]
        elif op < 2 / 3:
            words.insert(i, rng.choice(vocab))
        elif i + 1 < len(words):
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def truncate(text: str, rate: float) -> str:
    words = text.split()
    return " ".join(words[: max(1, round(len(words) * (1 - rate)))])


def embed(text: str, host: str, ratio: float) -> str:
    """`text` in the middle of `host`, host words = ratio x text words."""
    words = host.split()
    want = int(len(text.split()) * ratio)
    while len(words) < want:
        words += words
    words = words[:want]
    half = len(words) // 2
    return " ".join(words[:half]) + "\n\n" + text + "\n\n" + " ".join(words[half:])


@dataclass
class Level:
    name: str
    make: Callable[[str, random.Random, "Corpus"], str]


LEVELS = [
    Level("reformatted", lambda t, r, c: reformat(t, r)),
    Level("edit 5%", lambda t, r, c: edit(t, 0.05, r, c.vocab)),
    Level("edit 10%", lambda t, r, c: edit(t, 0.10, r, c.vocab)),
    Level("edit 20%", lambda t, r, c: edit(t, 0.20, r, c.vocab)),
    Level("truncate 10%", lambda t, r, c: truncate(t, 0.10)),
    Level("edit 10% + truncate 10%", lambda t, r, c: truncate(edit(t, 0.10, r, c.vocab), 0.10)),
    Level("embedded (1/2 of the text)", lambda t, r, c: embed(t, c.host(r), 1.0)),
    Level("embedded (1/3 of the text)", lambda t, r, c: embed(t, c.host(r), 2.0)),
]


# --- data ------------------------------------------------------------------------------

@dataclass
class Corpus:
    by_model: dict[str, list[dict]]
    vocab: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    def host(self, rng: random.Random) -> str:
        return rng.choice(self.hosts)


def load_corpus(folder: Path) -> Corpus:
    by_model = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    vocab = [w for rec in by_model["gpt4_0314"] for w in rec["output"].split()]
    # Host text for embedding: answers of models that are not indexed, to other prompts.
    hosts = [rec["output"] for m in ("Qwen1.5-72B-Chat", "deepseek-llm-67b-chat") for rec in by_model.get(m, [])
             if len(rec["output"].split()) > 80]
    return Corpus(by_model, vocab, hosts)


def as_record(path: str, i: int, instruction: str, output: str) -> Record:
    data = {"instruction": instruction, "output": output}
    fmt, segments = adapt(data)
    return Record(Source(path, None, i), segments, data, fmt, own_id(data))


# --- the run -----------------------------------------------------------------------------

@dataclass
class Tally:
    queries: int = 0
    found: int = 0  # a finding for the true provider
    exact: int = 0  # ... naming the very reference perturbed
    wrong: int = 0  # findings for another provider
    hits: int = 0


def run(folder: Path, seed: int, params: IndexParams, options: DetectorOptions) -> dict:
    registry = load_registry()
    corpus = load_corpus(folder)
    resolver = ProviderResolver(registry, field_name="generator", aliases=dict(ALIASES))
    builder = IndexBuilder(params)
    stats = ReadStats()
    started = time.perf_counter()
    for ref in iter_references([str(folder / f"{m}.json") for m in INDEXED], params, resolver, stats):
        builder.add(ref)
    data = builder.finish()
    build_s = time.perf_counter() - started
    detector = NearDupDetector([data], registry, options)
    indexed_ids = set()
    for row in range(data.count):
        indexed_ids.add(data.reference(row).source)
    rng = random.Random(seed)
    tallies: dict[str, Tally] = defaultdict(Tally)
    wrong_examples: Counter[str] = Counter()
    started = time.perf_counter()
    queries = 0
    for level in LEVELS:
        records, truth = [], []
        for model in INDEXED:
            path = str(folder / f"{model}.json")
            for i, rec in enumerate(corpus.by_model[model]):
                if f"{path}[{i}]" not in indexed_ids:
                    continue  # too short to be indexed
                records.append(as_record("q", len(records), rec["instruction"], level.make(rec["output"], rng, corpus)))
                truth.append((resolver.provider_for(model), f"{path}[{i}]"))
        _score(detector, records, truth, tallies[level.name], wrong_examples, level.name)
        queries += len(records)
    negatives = tallies["hard negatives (other models)"]
    for model, rows in corpus.by_model.items():
        if model in INDEXED:
            continue
        provider = resolver.provider_for(model)
        records = [as_record("n", i, r["instruction"], r["output"]) for i, r in enumerate(rows)]
        _score(detector, records, [(provider, None)] * len(records), negatives, wrong_examples, model)
        queries += len(records)
    detect_s = time.perf_counter() - started
    return {"tallies": tallies, "stats": stats, "data": data, "build_s": build_s, "detect_s": detect_s,
            "queries": queries, "wrong": wrong_examples, "unresolved": dict(resolver.unresolved)}


def _score(detector: NearDupDetector, records: list[Record], truth: list[tuple[str, str | None]],
           tally: Tally, wrong: Counter[str], label: str) -> None:
    for start in range(0, len(records), 256):
        batch = records[start:start + 256]
        for hits, (provider, ref_source) in zip(detector.detect_batch(batch), truth[start:start + 256]):
            tally.queries += 1
            providers = {h.detail["provider"] for h in hits}
            tally.hits += len(providers)
            if ref_source is not None and provider in providers:
                tally.found += 1
                tally.exact += any(h.detail["reference_source"] == ref_source for h in hits)
            bad = providers - {provider}
            tally.wrong += len(bad)
            for p in bad:
                wrong[f"{label} -> {p}"] += 1
            if ref_source is None:
                tally.found += provider in providers  # same-provider matches among negatives


# --- report --------------------------------------------------------------------------------

def report(result: dict, params: IndexParams, options: DetectorOptions, corpus_label: str) -> str:
    t = result["tallies"]
    lines = [
        f"Corpus: `{corpus_label}`. Indexed: {', '.join(INDEXED)} "
        f"({result['data'].count} answers of at least {params.min_shingles} distinct word "
        f"{params.shingle_n}-grams; {result['stats'].too_short} shorter ones not indexed). "
        f"Index: Jaccard threshold {params.threshold}, LSH {params.bands} bands x {params.rows} rows; "
        f"containment threshold {options.containment_threshold}.",
        "",
        "| query set | queries | recall (right provider) | right reference | target |",
        "|---|---:|---:|---:|---:|",
    ]
    total_tp = total_fp = 0
    for level in LEVELS:
        x = t[level.name]
        total_tp += x.hits - x.wrong
        total_fp += x.wrong
        target = TARGETS.get(level.name)
        ok = "" if target is None else (f">= {target:.2f} " + ("met" if x.found / x.queries >= target else "**missed**"))
        lines.append(f"| {level.name} | {x.queries} | {x.found / x.queries:.4f} | {x.exact / x.queries:.4f} | {ok} |")
    neg = t["hard negatives (other models)"]
    total_fp += neg.wrong
    total_tp += neg.hits - neg.wrong
    precision = total_tp / max(total_tp + total_fp, 1)
    lines += [
        "",
        f"Hard negatives: {neg.queries} answers of the other {18 - len(INDEXED)} models to the same prompts. "
        f"{neg.wrong} findings named a provider other than the answer's generator "
        f"({neg.wrong / neg.queries:.2%} of those answers); {neg.found} matched an indexed answer of the same "
        "provider (e.g. gpt4_0314 against gpt4), which is not counted as an error.",
        "",
        f"**Precision** over all findings (positives and hard negatives): {total_tp} right provider, "
        f"{total_fp} other provider: **{precision:.4f}** (target >= {PRECISION_TARGET}: "
        f"{'met' if precision >= PRECISION_TARGET else '**missed**'}). "
        f"On the hard negatives alone: {neg.wrong} false findings in {neg.queries} answers.",
    ]
    if result["wrong"]:
        lines += ["", "Most frequent false findings (query set -> provider named): "
                  + ", ".join(f"{k} ({v})" for k, v in result["wrong"].most_common(6)) + "."]
    lines += ["", f"{result['queries']} queries in {result['detect_s']:.1f} s; index built in {result['build_s']:.1f} s."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    ap.add_argument("--markdown", type=Path, help="update the accuracy section of this file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.4)
    ap.add_argument("--min-shingles", type=int, default=20)
    ap.add_argument("--containment-threshold", type=float, default=DetectorOptions().containment_threshold)
    args = ap.parse_args(argv)
    folder = args.corpora / "provider" / "alpaca_eval"
    if not folder.is_dir():
        print(f"skipped: {folder} not found (the shared corpora are not part of the repository)")
        return 0
    params = IndexParams.design(threshold=args.threshold, min_shingles=args.min_shingles)
    options = DetectorOptions(containment_threshold=args.containment_threshold)
    result = run(folder, args.seed, params, options)
    text = report(result, params, options, "provider/alpaca_eval")
    print(text)
    if args.markdown:
        update_section(args.markdown, "accuracy", "## Accuracy (AlpacaEval)",
                       f"Generated by `benchmarks/accuracy_neardup.py --seed {args.seed}`.\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
