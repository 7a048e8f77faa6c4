"""Text normalisation and shingling for near-duplicate matching.

A shingle is a run of `n` consecutive words (default) or characters (for
scripts written without spaces, such as Chinese or Japanese) of the
normalised text. Each shingle is hashed to 32 bits; a text becomes the set of
its shingle hashes, which MinHash then summarises.

Normalisation ("v1") is what makes a reformatted copy identical to its
original: Unicode NFKC, case folding, and every run of characters that is not
a letter or a digit (whitespace, punctuation, markdown) turned into one space.

Hashing is vectorised: the normalised text becomes one array of code points,
and every shingle hash is a difference of two prefix sums of a polynomial
hash, so there is no Python loop over words or shingles. The definition is
simple enough to restate in a few lines of pure Python
(`shingle_hash_reference`), which the tests use to check the fast path.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from tos_lint.neardup._jit import span_hash_kernel

NORMALIZER_VERSION = "v1"
HASH_NAME = "poly64-fmix64-hi32"

_TOKEN = re.compile(r"[^\W_]+")
_U64 = np.uint64
_MASK64 = (1 << 64) - 1
# Base of the polynomial hash: an odd constant (odd, so it is invertible
# modulo 2^64, which is what lets a substring hash be cut out of prefix sums).
POLY_BASE = 0x9E3779B97F4A7C15
_POLY_BASE_INV = pow(POLY_BASE, -1, 1 << 64)


@dataclass(frozen=True)
class ShingleSpec:
    """How text becomes shingles. Part of an index's parameters."""

    kind: str = "word"  # "word" | "char"
    n: int = 3

    def __post_init__(self) -> None:
        if self.kind not in ("word", "char"):
            raise ValueError(f"shingle kind must be 'word' or 'char', not {self.kind!r}")
        if not 1 <= self.n <= 32:
            raise ValueError(f"shingle size must be between 1 and 32, not {self.n}")


# ASCII fast path: one bytes.translate maps letters to lower case, keeps
# digits and turns everything else into a space; split/join collapses runs.
_ASCII_TABLE = bytes(
    (c + 32 if 65 <= c <= 90 else c if (97 <= c <= 122 or 48 <= c <= 57) else 32) if c < 128 else c
    for c in range(256)
)


def normalize(text: str) -> str:
    """Case-folded NFKC text with every non-alphanumeric run as one space."""
    if text.isascii():
        return " ".join(text.encode("ascii").translate(_ASCII_TABLE).decode("ascii").split())
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()))


# --- the vectorised hash ---------------------------------------------------------

class _Powers:
    """POLY_BASE^i and POLY_BASE^-i modulo 2^64, grown on demand."""

    def __init__(self) -> None:
        self.pow = np.ones(1, dtype=_U64)
        self.inv = np.ones(1, dtype=_U64)

    def upto(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pow) < length:
            size = 1 << max(12, (length - 1).bit_length())
            # cumprod in uint64 wraps around, which is exactly arithmetic mod 2^64.
            self.pow = np.concatenate(([_U64(1)], np.cumprod(np.full(size - 1, POLY_BASE, dtype=_U64))))
            self.inv = np.concatenate(([_U64(1)], np.cumprod(np.full(size - 1, _POLY_BASE_INV, dtype=_U64))))
        return self.pow, self.inv


_POWERS = _Powers()


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads the polynomial hash's bits."""
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> _U64(33))


def code_points(normalized: str) -> np.ndarray:
    """The text's code points as an integer array (one byte each for ASCII)."""
    if normalized.isascii():
        return np.frombuffer(normalized.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(normalized.encode("utf-32-le"), dtype=np.uint32)


def span_hashes(cps: np.ndarray, starts: np.ndarray, ends: np.ndarray, *, use_jit: bool = True) -> np.ndarray:
    """32-bit hashes of the substrings [starts[i], ends[i]) of `cps`."""
    kernel = span_hash_kernel() if use_jit else None
    if kernel is not None:
        out = np.empty(len(starts), dtype=np.uint32)
        kernel(cps, starts.astype(np.int64, copy=False), ends.astype(np.int64, copy=False), _U64(POLY_BASE), out)
        return out
    # numpy: a substring's hash is a difference of prefix sums of c_i * BASE^i,
    # shifted back by BASE^-start.
    length = len(cps)
    pw, inv = _POWERS.upto(length + 1)
    prefix = np.zeros(length + 1, dtype=_U64)
    np.cumsum(cps.astype(_U64) * pw[:length], out=prefix[1:])
    raw = (prefix[ends] - prefix[starts]) * inv[starts]
    return (fmix64(raw) >> _U64(32)).astype(np.uint32)


@dataclass
class ShingleBatch:
    """The shingles of many texts, computed together.

    `hashes` holds every shingle hash of every text in text order, text 0
    first; `offsets[i]:offsets[i+1]` are text i's. A text shorter than one
    shingle (fewer than `n` words or characters) has none."""

    hashes: np.ndarray  # uint32
    offsets: np.ndarray  # (texts + 1,) int64

    def of(self, i: int) -> np.ndarray:
        return self.hashes[self.offsets[i]:self.offsets[i + 1]]

    @property
    def owner(self) -> np.ndarray:
        """The text each shingle belongs to."""
        return np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))


def shingle_batch(texts: list[str], spec: ShingleSpec) -> ShingleBatch:
    """Shingle hashes of every text, with one pass of numpy over all of them.

    The normalised texts are joined by single spaces into one array of code
    points; text t's shingles are the n-grams that start at its units
    (words or characters) 0 .. count_t - n, so none straddles two texts."""
    norms = [normalize(t) for t in texts]
    kept = [s for s in norms if s]
    if not kept:
        return ShingleBatch(np.zeros(0, np.uint32), np.zeros(len(texts) + 1, np.int64))
    cps = code_points(" ".join(kept))
    n = spec.n
    if spec.kind == "char":
        units = np.array([len(s) for s in norms], dtype=np.int64)
        unit_starts = np.arange(len(cps) + 1)  # a character's unit index is its offset
        unit_ends = unit_starts + 1
        first_unit = _exclusive_cumsum(units + (units > 0))
    else:
        units = np.array([s.count(" ") + 1 if s else 0 for s in norms], dtype=np.int64)
        gaps = np.flatnonzero(cps == 32)
        unit_starts = np.concatenate(([0], gaps + 1))
        unit_ends = np.concatenate((gaps, [len(cps)]))
        first_unit = _exclusive_cumsum(units)
    counts = np.maximum(units - n + 1, 0)
    first = np.repeat(first_unit - _exclusive_cumsum(counts), counts) + np.arange(int(counts.sum()))
    hashes = span_hashes(cps, unit_starts[first], unit_ends[first + n - 1]) if len(first) else np.zeros(0, np.uint32)
    return ShingleBatch(hashes, np.concatenate(([0], np.cumsum(counts))).astype(np.int64))


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    np.cumsum(values[:-1], out=out[1:])
    return out


def shingle_hashes(text: str, spec: ShingleSpec) -> np.ndarray:
    """Hashes of the text's shingles in text order (with repeats)."""
    return shingle_batch([text], spec).hashes


def shingle_set(text: str, spec: ShingleSpec) -> np.ndarray:
    """The sorted, unique shingle hashes of `text`."""
    from tos_lint.neardup.arrays import sorted_unique

    return sorted_unique(shingle_hashes(text, spec))


def shingle_strings(text: str, spec: ShingleSpec) -> list[str]:
    """The shingles themselves (slow; for tests and explanations)."""
    words = normalize(text)
    if spec.kind == "char":
        return [words[i:i + spec.n] for i in range(len(words) - spec.n + 1)]
    tokens = words.split(" ") if words else []
    return [" ".join(tokens[i:i + spec.n]) for i in range(len(tokens) - spec.n + 1)]


def shingle_hash_reference(shingle: str) -> int:
    """The definition of a shingle's hash, in plain Python: the polynomial
    sum(ord(c_i) * BASE^i) mod 2^64, MurmurHash3-finalised, top 32 bits."""
    h = 0
    for i, ch in enumerate(shingle):
        h = (h + ord(ch) * pow(POLY_BASE, i, 1 << 64)) & _MASK64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    h ^= h >> 33
    return h >> 32


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets, in the original text, of the words that
    normalisation keeps. Slow path: only run for segments with a hit, to
    turn a matched window back into a span of the original text. Offsets are
    exact for text that NFKC leaves alone (nearly all text)."""
    return [m.span() for m in _TOKEN.finditer(text)]
