#!/usr/bin/env python
"""Scan throughput: tos-lint against a naive `json` + `re` scanner.

    .venv/bin/python benchmarks/bench_scan.py --size-mb 50 [--runs 3] [--seed 0]
        [--markdown docs/performance.md] [--profile 10]
        [--rules PACK.yaml ...] [--no-default-rules]

The script writes its own synthetic chat JSONL (OpenAI `messages` records) to
a temporary directory, deleted at exit, then times both scanners in this one
process on that same file and prints MB/s (1 MB = 10^6 bytes) and the ratio.

The naive scanner is what one would write without tos-lint: stdlib
`json.loads` per line, then every rule pattern tried with `re.search` on every
string of the record. It is slow, so when a full pass would take too long it
is timed on a prefix of the file instead, and the output says so.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import tos_lint
from tos_lint.api import ScanResult, load_ruleset
from tos_lint.detect import RuleSet
from tos_lint.errors import PackErrors
from tos_lint.matcher import phrase_to_regex
from tos_lint.prefilter import LinePrefilter
from tos_lint.registry import Registry, load_registry

MB = 1_000_000  # SI megabyte: what "MB/s" means in every figure printed

# --- synthetic data ------------------------------------------------------------
# A fixed vocabulary keeps the data deterministic and the script self-contained
# (no /usr/share/dict on minimal images). Common words matter: they are what a
# literal prefilter has to reject in real chat data.

WORDS = """
the of and to in is it that for you was with on as have be at one this by from
had not but what all were when we there can an your which their said if do will
each about how up out them then she many some so these would other into has more
her two like him see time could no make than first been its who now people my
made over did down only way find use may water long little very after words
called just where most know get through back much before go good new write our
used me man too any day same right look think also around another came come work
three word must because does part even place well such here take why help put
different away again off went old number great tell men say small every found
still between name should home big give air line set own under read last never
us left end along while might next sound below saw something thought both few
those always looked show large often together asked house world going want
school important until form food keep children feet land side without boy once
animals life enough took sometimes four head above kind began almost live page
got earth need far hand high year mother light parts country father let night
following picture being study second eyes soon times story boys since white days
ever paper hard near sentence better best across during today others however sure
means knew try told young miles sun ways thing whole hear example heard several
change answer room sea against top turned learn point city play toward five using
himself usually money seen car morning given ideas state provide consider result
process data function value system model method table query server request error
file memory design service network policy budget schedule project team customer
report market research history science theory evidence analysis solution problem
""".split()

TOPICS = [
    "Python decorators", "the French Revolution", "photosynthesis", "compound interest",
    "SQL joins", "the water cycle", "remote team management", "sourdough baking",
    "binary search trees", "climate models", "marathon training", "Kubernetes pods",
    "the Roman Empire", "unit testing", "a small business budget", "sleep hygiene",
    "REST API design", "the stock market", "vegetable gardening", "public speaking",
]
SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a concise assistant. Answer in plain English and keep it short.",
    "You are an expert tutor who explains things step by step.",
    "You are a friendly customer support agent for an online bookshop.",
    "You are a senior software engineer reviewing code for a colleague.",
]
USER_TEMPLATES = [
    "Can you explain {topic} to me like I am new to it?",
    "What are the main {noun}s to consider when working on {topic}?",
    "How do I {verb} a {noun} for {topic}? Please give an example.",
    "Write a short summary of {topic} in three paragraphs.",
    "I am confused about {topic}. {sentence}",
    "Compare two ways to {verb} the {noun} and tell me which is better.",
]
VERBS = ["build", "test", "plan", "improve", "design", "explain", "measure", "fix", "write", "review"]

# ~1% of assistant turns carry one of these: what the rule packs look for.
FINGERPRINTS = [
    "I'm ChatGPT, a large language model trained by OpenAI.",
    "As an AI language model, I don't have personal opinions, but here is an overview.",
    "As an AI language model, I cannot browse the internet.",
    "I am a large language model trained by OpenAI, so I can't access real-time data.",
    "As of my knowledge cutoff in September 2021, this was still the case.",
    "I'm sorry, but that request goes against OpenAI's use-case policy.",
]
FINGERPRINTS_NON_ASCII = [
    "我是ChatGPT，由OpenAI开发的人工智能助手。",
    "Je suis ChatGPT, un modèle de langage développé par OpenAI.",
]
# ~2% of records are non-ASCII: other languages, curly quotes, dashes, emoji.
NON_ASCII_SENTENCES = [
    "Voilà une réponse détaillée, étape par étape, pour vous aider à démarrer.",
    "La función devuelve el año y la región según el parámetro indicado.",
    "Die Größe der Datei hängt von der Kodierung ab — prüfen Sie das zuerst.",
    "这是一个简单的例子，说明如何处理数据。",
    "Это простой пример обработки данных в цикле.",
    "これはデータを処理する簡単な例です。",
    "That’s the “quick” version — the full one takes longer. 🙂",
]
FINGERPRINT_RATE = 0.01
NON_ASCII_RATE = 0.02


@dataclass
class Corpus:
    path: Path
    size: int
    records: int
    fingerprinted_turns: int
    non_ascii_records: int


class TextMaker:
    """English-looking text from the word list and templates, with some markdown."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def sentence(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(6, 18))
        return " ".join(words).capitalize() + self.rng.choice([".", ".", ".", "?", "!"])

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))

    def user_turn(self) -> str:
        template = self.rng.choice(USER_TEMPLATES)
        return template.format(topic=self.rng.choice(TOPICS), noun=self.rng.choice(WORDS),
                               verb=self.rng.choice(VERBS), sentence=self.sentence())

    def markdown_block(self) -> str:
        kind = self.rng.randrange(4)
        if kind == 0:
            return "\n".join(f"- **{self.rng.choice(WORDS)}**: {self.sentence()}" for _ in range(self.rng.randint(2, 4)))
        if kind == 1:
            return "## " + " ".join(self.rng.choices(WORDS, k=3)).title()
        if kind == 2:
            name = self.rng.choice(WORDS)
            return f"```python\ndef {name}(value):\n    return value * {self.rng.randint(2, 9)}\n```"
        return "\n".join(f"{i}. {self.sentence()}" for i in range(1, self.rng.randint(3, 5)))

    def assistant_turn(self, target_chars: int) -> str:
        parts: list[str] = []
        while sum(len(p) for p in parts) < target_chars:
            parts.append(self.markdown_block() if self.rng.random() < 0.3 else self.paragraph())
        return "\n\n".join(parts)


def make_record(maker: TextMaker, rng: random.Random,
                fingerprint_rate: float = FINGERPRINT_RATE) -> tuple[dict[str, Any], int, bool]:
    """One chat record, the number of fingerprinted assistant turns in it, and
    whether it is one of the non-ASCII records."""
    messages: list[dict[str, str]] = []
    if rng.random() < 0.7:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    non_ascii = rng.random() < NON_ASCII_RATE
    fingerprinted = 0
    for _ in range(rng.choice([1, 1, 1, 2])):
        messages.append({"role": "user", "content": maker.user_turn()})
        answer = maker.assistant_turn(rng.randint(700, 2000))
        if non_ascii:
            answer += "\n\n" + " ".join(rng.sample(NON_ASCII_SENTENCES, 2))
        if rng.random() < fingerprint_rate:
            fingerprinted += 1
            pool = FINGERPRINTS_NON_ASCII if non_ascii else FINGERPRINTS
            answer = rng.choice(pool) + " " + answer  # models lead with it, as in real data
        messages.append({"role": "assistant", "content": answer})
    return {"messages": messages}, fingerprinted, non_ascii


def generate_corpus(path: Path, size_bytes: int, seed: int, fingerprint_rate: float = FINGERPRINT_RATE) -> Corpus:
    """Write records until the file reaches `size_bytes`; same seed, same bytes.
    `fingerprint_rate`: the share of assistant turns that open with a fingerprint."""
    rng = random.Random(seed)
    maker = TextMaker(rng)
    corpus = Corpus(path, 0, 0, 0, 0)
    with path.open("wb") as out:
        while corpus.size < size_bytes:
            record, fingerprinted, non_ascii = make_record(maker, rng, fingerprint_rate)
            # ensure_ascii=False: raw UTF-8, as most published datasets are written.
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            out.write(line)
            corpus.size += len(line)
            corpus.records += 1
            corpus.fingerprinted_turns += fingerprinted
            corpus.non_ascii_records += non_ascii
    return corpus


def write_prefix(src: Path, dst: Path, size_bytes: int) -> int:
    """Copy whole lines of `src` up to about `size_bytes`; return bytes written."""
    written = 0
    with src.open("rb") as inp, dst.open("wb") as out:
        for line in inp:
            if written >= size_bytes:
                break
            out.write(line)
            written += len(line)
    return written


# --- scanners ------------------------------------------------------------------

@dataclass
class Counts:
    findings: int
    records_flagged: int


def tos_lint_scan(path: Path, ruleset: RuleSet, registry: Registry) -> Counts:
    result: ScanResult = tos_lint.scan([path], ruleset=ruleset, registry=registry)
    return Counts(len(result.findings), result.stats.records_flagged)


@dataclass(frozen=True)
class NaiveRule:
    rule_id: str
    patterns: tuple[re.Pattern[str], ...]


def naive_rules(ruleset: RuleSet) -> tuple[list[NaiveRule], list[str]]:
    """The phrase and regex items of every rule as Python regexes (fuzzy and
    field items have no regex form), and notes on patterns `re` refused."""
    rules: list[NaiveRule] = []
    skipped: list[str] = []
    for rule in ruleset.rules:
        patterns: list[re.Pattern[str]] = []
        for item in rule.items:
            if item.kind not in ("phrase", "regex"):
                continue
            source = phrase_to_regex(item.value) if item.kind == "phrase" else item.value
            try:
                patterns.append(re.compile(source, re.IGNORECASE))
            except re.error as exc:  # Hyperscan syntax that `re` lacks
                skipped.append(f"{rule.id}: {exc}")
        if patterns:
            rules.append(NaiveRule(rule.id, tuple(patterns)))
    return rules, skipped


def iter_strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a parsed JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from iter_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_strings(v)


def naive_scan(path: Path, rules: Sequence[NaiveRule]) -> Counts:
    """One finding per (string, rule) with a match; no roles, no `unless`."""
    findings = flagged = 0
    with path.open(encoding="utf-8", errors="replace") as inp:
        for line in inp:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            hits = 0
            for text in iter_strings(record):
                for rule in rules:
                    if any(p.search(text) for p in rule.patterns):
                        hits += 1
            findings += hits
            flagged += hits > 0
    return Counts(findings, flagged)


# --- timing --------------------------------------------------------------------

@dataclass
class Timing:
    scanner: str
    bytes_scanned: int
    seconds: float  # median of the runs
    counts: Counts

    @property
    def mb_per_s(self) -> float:
        return self.bytes_scanned / MB / self.seconds


def median_run(fn: Callable[[], Counts], runs: int) -> tuple[float, Counts]:
    times: list[float] = []
    counts = Counts(0, 0)
    for _ in range(runs):
        started = time.perf_counter()
        counts = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), counts


def time_naive(corpus: Corpus, rules: Sequence[NaiveRule], runs: int, budget_s: float,
               prefix_mb: float, workdir: Path) -> Timing:
    """Time the naive scanner on the whole file if `runs` passes fit in
    `budget_s`, judged from one pass over a prefix (which also warms it up);
    otherwise on that prefix."""
    prefix = workdir / "prefix.jsonl"
    prefix_bytes = write_prefix(corpus.path, prefix, int(prefix_mb * MB))
    started = time.perf_counter()
    naive_scan(prefix, rules)
    projected = (time.perf_counter() - started) * corpus.size / prefix_bytes * runs
    if prefix_bytes >= corpus.size or projected <= budget_s:
        seconds, counts = median_run(lambda: naive_scan(corpus.path, rules), runs)
        return Timing("naive (json + re)", corpus.size, seconds, counts)
    seconds, counts = median_run(lambda: naive_scan(prefix, rules), runs)
    return Timing("naive (json + re)", prefix_bytes, seconds, counts)


def profile_scan(path: Path, ruleset: RuleSet, registry: Registry, top: int) -> str:
    """cProfile of one tos-lint scan, `top` functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(tos_lint_scan, path, ruleset, registry)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --- report --------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        hs_version = version("hyperscan")
    except PackageNotFoundError:
        hs_version = "?"
    return (f"{cpu_model()}, {os.cpu_count()} logical cores, "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, tos-lint {tos_lint.__version__}, "
            f"hyperscan {hs_version}")


def _scanned(t: Timing, corpus: Corpus) -> str:
    label = f"{t.bytes_scanned / MB:.1f} MB"
    return label if t.bytes_scanned >= corpus.size else label + " (prefix)"


def table_rows(timings: list[Timing], corpus: Corpus) -> list[list[str]]:
    naive = timings[-1]
    return [[t.scanner, _scanned(t, corpus), f"{t.seconds:.2f}", f"{t.mb_per_s:.2f}",
             f"{t.mb_per_s / naive.mb_per_s:.1f}x"] for t in timings]


HEADER = ["scanner", "data scanned", "median s", "MB/s", "vs naive"]
COUNT_HEADER = ["scanner", "findings", "records flagged"]


def count_rows(timings: list[Timing]) -> list[list[str]]:
    return [[t.scanner, str(t.counts.findings), str(t.counts.records_flagged)] for t in timings]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def describe(corpus: Corpus, runs: int, seed: int) -> str:
    return (f"Synthetic OpenAI `messages` JSONL: {corpus.size / MB:.1f} MB, {corpus.records} records "
            f"(~{corpus.size // corpus.records} bytes each), {corpus.fingerprinted_turns} fingerprinted "
            f"assistant turns, {corpus.non_ascii_records} non-ASCII records; seed {seed}; "
            f"median of {runs} runs in one process, file in the page cache; 1 MB = 10^6 bytes.")


def notes(timings: list[Timing], corpus: Corpus, count_basis: str, skipped: list[str]) -> list[str]:
    out = [f"Findings counted on {count_basis}. tos-lint applies roles, `unless` contexts and field "
           "rules; the naive scanner counts every (string, rule) pair with a match, so the counts "
           "differ by design and only need to be in the same ballpark."]
    naive = timings[-1]
    if naive.bytes_scanned < corpus.size:
        out.insert(0, f"The naive scanner was too slow for the whole file; its MB/s is measured on "
                      f"the first {naive.bytes_scanned / MB:.1f} MB.")
    if skipped:
        out.append(f"Patterns the `re` module refused (left out of the naive scanner): {'; '.join(skipped)}")
    return out


def write_markdown(path: Path, timings: list[Timing], corpus: Corpus, args: argparse.Namespace,
                   count_basis: str, skipped: list[str]) -> None:
    parts = [
        f"## Scan throughput ({date.today().isoformat()})", "",
        describe(corpus, args.runs, args.seed), "",
        markdown_table(HEADER, table_rows(timings, corpus)), "",
        markdown_table(COUNT_HEADER, count_rows(timings)), "",
        *[f"- {n}" for n in notes(timings, corpus, count_basis, skipped)],
        f"- Machine: {machine_info()}.",
        f"- Command: `python benchmarks/bench_scan.py --size-mb {args.size_mb:g} --runs {args.runs} --seed {args.seed}`",
        "",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")


# --- main ----------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--size-mb", type=float, default=50.0, help="size of the synthetic JSONL (10^6 bytes)")
    p.add_argument("--runs", type=int, default=3, help="timed runs per scanner; the median is reported")
    p.add_argument("--seed", type=int, default=0, help="seed of the data generator")
    p.add_argument("--markdown", type=Path, help="also write the results as markdown to this file")
    p.add_argument("--rules", type=Path, action="append", default=[], help="extra rule pack (repeatable)")
    p.add_argument("--no-default-rules", action="store_true", help="do not load the built-in packs")
    p.add_argument("--naive-budget-s", type=float, default=60.0,
                   help="time the naive scanner on the whole file only if all runs fit in this many seconds")
    p.add_argument("--naive-prefix-mb", type=float, default=2.0, help="prefix used when the naive scanner is too slow")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="also print the top N functions (by cumulative time) of one profiled tos-lint scan")
    args = p.parse_args(argv)
    if args.runs < 1 or args.size_mb <= 0:
        p.error("--runs must be >= 1 and --size-mb > 0")
    return args


def load_rules(args: argparse.Namespace, registry: Registry) -> RuleSet:
    try:
        ruleset = load_ruleset(args.rules, not args.no_default_rules, registry)
    except PackErrors as exc:
        print(f"cannot load rule packs: {exc}\n(hint: --no-default-rules --rules PACK.yaml)", file=sys.stderr)
        raise SystemExit(2) from None
    warm_prefilter(ruleset)
    return ruleset


def warm_prefilter(ruleset: RuleSet) -> None:
    """Compile the prefilter's databases (or load them from the cache): the
    figures are of the steady state, and a small first scan on an empty
    cache goes without them."""
    prefilter = LinePrefilter.build(ruleset)
    if prefilter is not None:
        prefilter.compile()


def run(args: argparse.Namespace, workdir: Path) -> None:
    registry = load_registry()
    ruleset = load_rules(args, registry)  # compiled once: pack compilation is not timed
    rules, skipped = naive_rules(ruleset)
    print(f"generating {args.size_mb:g} MB of synthetic chat JSONL (seed {args.seed}) ...", file=sys.stderr)
    corpus = generate_corpus(workdir / "chat.jsonl", int(args.size_mb * MB), args.seed)
    print(describe(corpus, args.runs, args.seed), file=sys.stderr)

    print("timing tos-lint ...", file=sys.stderr)
    seconds, counts = median_run(lambda: tos_lint_scan(corpus.path, ruleset, registry), args.runs)
    ours = Timing("tos-lint", corpus.size, seconds, counts)
    print("timing the naive scanner ...", file=sys.stderr)
    naive = time_naive(corpus, rules, args.runs, args.naive_budget_s, args.naive_prefix_mb, workdir)

    count_basis = "the whole file"
    if naive.bytes_scanned < corpus.size:
        # Compare findings on the same bytes: one untimed tos-lint pass on the prefix.
        ours.counts = tos_lint_scan(workdir / "prefix.jsonl", ruleset, registry)
        count_basis = f"the first {naive.bytes_scanned / MB:.1f} MB for both scanners"
    timings = [ours, naive]

    print()
    print(text_table(HEADER, table_rows(timings, corpus)))
    print()
    print(text_table(COUNT_HEADER, count_rows(timings)))
    print()
    for note in notes(timings, corpus, count_basis, skipped):
        print("note:", note)
    print("machine:", machine_info())
    if args.markdown:
        write_markdown(args.markdown, timings, corpus, args, count_basis, skipped)
        print(f"markdown written to {args.markdown}", file=sys.stderr)
    if args.profile:
        print()
        print(profile_scan(corpus.path, ruleset, registry, args.profile))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tos-lint-bench-") as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
