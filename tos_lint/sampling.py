"""Sampling: scan a uniform random sample of each file, and estimate how
common each provider's records are, with a 95 % Wilson score interval.

A fraction keeps each record independently, decided by a hash of the seed,
the file's name and the record's position in it, so the same seed picks the
same records on any machine, wherever the dataset sits, in any reading order. A count keeps a reservoir of that many
records per file (memory grows with the count, never with the file).
"""
from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from typing import Iterable, Iterator

from tos_lint.readers import RawRecord

Z95 = 1.959963984540054


@dataclass(frozen=True)
class SampleSpec:
    fraction: float | None = None
    count: int | None = None
    seed: int = 0

    @classmethod
    def parse(cls, text: str, seed: int) -> "SampleSpec":
        """`0.05` or `5%` is a fraction; `1000` is a count per file."""
        try:
            if text.endswith("%"):
                value = float(text[:-1]) / 100
            elif "." in text:
                value = float(text)
            else:
                count = int(text)
                if count < 1:
                    raise ValueError
                return cls(count=count, seed=seed)
        except ValueError:
            raise ValueError(f"--sample: expected a count (1000), a fraction (0.05) or a percentage (5%), got {text!r}") from None
        if not 0 < value <= 1:
            raise ValueError("--sample: a fraction must be above 0 and at most 1")
        return cls(fraction=value, seed=seed)

    def describe(self) -> str:
        what = f"{self.count} records per file" if self.count else f"{self.fraction:.4g} of records"
        return f"uniform random sample of {what} (seed {self.seed})"


def sample(records: Iterable[RawRecord], spec: SampleSpec, path: str) -> Iterator[RawRecord]:
    if spec.fraction is not None:
        yield from (r for r in records if _keep(spec, path, r))
        return
    yield from _reservoir(records, spec, path)


def _keep(spec: SampleSpec, path: str, record: RawRecord) -> bool:
    key = f"{spec.seed}\x1f{file_name(path)}\x1f{record.line}\x1f{record.index}".encode()
    draw = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
    return draw < (spec.fraction or 0.0)


def _reservoir(records: Iterable[RawRecord], spec: SampleSpec, path: str) -> list[RawRecord]:
    rng = random.Random(f"{spec.seed}\x1f{file_name(path)}")
    size = spec.count or 0
    kept: list[RawRecord] = []
    for i, record in enumerate(records):
        if i < size:
            kept.append(record)
        else:
            j = rng.randint(0, i)
            if j < size:
                kept[j] = record
    return sorted(kept, key=lambda r: (r.line or 0, r.index or 0))


def file_name(path: str) -> str:
    """The name a sample is keyed by: the file's, not its path, so that the
    same file sampled from anywhere gives the same records."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # exact ends where the arithmetic leaves a rounding hair
    return (0.0 if successes == 0 else low), (1.0 if successes == trials else high)


def prevalence(record_providers: Iterable[tuple[tuple[str, int | None, int | None], str]],
               sampled: int, spec: SampleSpec) -> dict[str, object]:
    """Share of sampled records with evidence of each provider, with its 95 %
    Wilson interval. `record_providers` pairs a record's location with a
    provider it has a finding for."""
    records_by_provider: dict[str, set[tuple[str, int | None, int | None]]] = {}
    for location, provider in record_providers:
        records_by_provider.setdefault(provider, set()).add(location)
    providers = {}
    for provider, locations in sorted(records_by_provider.items()):
        low, high = wilson_interval(len(locations), sampled)
        providers[provider] = {
            "records": len(locations), "share": len(locations) / sampled if sampled else 0.0,
            "ci95": [round(low, 6), round(high, 6)],
        }
    return {"method": spec.describe(), "sampled_records": sampled, "providers": providers}
