"""Style features: texts in, sparse hashed n-gram vectors and dense style numbers out.

Everything runs on whole batches in numpy, never one n-gram at a time in
Python: the batch's texts are joined into one array of code points, every
n-gram is hashed at once with a polynomial prefix hash (mod 2^64), and the
hashes are folded into a fixed number of buckets. A batch of a thousand
answers takes a few tens of milliseconds.

What goes in:

* character n-grams of the lower-cased text, with a start and an end marker
  so that openers ("Certainly!") and closers ("Let me know if...") stand out;
* word-level tokens (runs of letters and digits, and each punctuation mark
  on its own) as unigrams and bigrams, so "here 's" and ": \\n" count;
* a dozen cheap style numbers per text (length, lines, list and heading
  density, bold, code fences, sentence length, exclamation marks, ...).

Each n-gram kind is weighted by sublinear term frequency, `1 + log(count)`,
and scaled to unit length within the kind, so that long answers do not
outvote short ones. Hash salts and sizes come from `FeatureSpec`, which the
model file carries: a model is only ever scored with the features it was
trained on.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

_P = np.uint64(0x100000001B3)  # odd, so it has an inverse mod 2^64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_SEP = 0  # between texts of a batch
_BOS = 2  # start of a text
_EOS = 3  # end of a text
_NL = 10

# Code points below 128: 1 = part of a word, 2 = a token on its own
# (punctuation, newline, markers), 0 = space. Anything else is a letter.
_CLASS = np.full(129, 2, dtype=np.uint8)
_CLASS[[ord(" "), ord("\t"), ord("\r"), 0x0B, 0x0C]] = 0
_CLASS[[ord(c) for c in "abcdefghijklmnopqrstuvwxyz0123456789"]] = 1
_CLASS[128] = 1

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})
_SPACES_AT_EOL = re.compile(r"[ \t]+\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True)
class FeatureSpec:
    """How texts become vectors. Stored in the model header."""

    bits: int = 17  # hashed buckets: 2**bits
    char_orders: tuple[int, ...] = (1, 2, 3, 4)
    word_orders: tuple[int, ...] = (1, 2)
    head_chars: int = 1500  # the start of a long text, where openers live...
    tail_chars: int = 300  # ...and its end, where closers live
    distort_orders: tuple[int, ...] = (1, 2, 3)
    n_frequent: int = 300  # words the distorted view keeps as themselves
    char_weight: float = 1.0
    word_weight: float = 1.0
    distort_weight: float = 1.0
    salt: int = 0x5EED

    @property
    def dim(self) -> int:
        return 1 << self.bits

    @property
    def n_features(self) -> int:
        return self.dim + len(STYLE_NAMES)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["char_orders"] = list(self.char_orders)
        out["word_orders"] = list(self.word_orders)
        out["distort_orders"] = list(self.distort_orders)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "FeatureSpec":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown feature settings: {', '.join(sorted(unknown))}")
        values = dict(doc)
        for key in ("char_orders", "word_orders", "distort_orders"):
            if key in values:
                values[key] = tuple(int(n) for n in values[key])
        return cls(**values)


@dataclass
class Features:
    """A batch's features: sparse hashed part as (row, column, value)
    triples, and the dense style numbers, one row per text."""

    n: int
    rows: np.ndarray  # int32
    cols: np.ndarray  # int32, < spec.dim
    values: np.ndarray  # float32
    style: np.ndarray  # float32 (n, len(STYLE_NAMES))
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))


# --- normalisation -------------------------------------------------------------------

def normalize_text(text: str, spec: FeatureSpec | None = None) -> str:
    """What a text looks like before any feature is taken from it.

    Unicode compatibility forms folded (NFKC), curly quotes made straight,
    line endings unified, trailing spaces and runs of blank lines collapsed,
    digits mapped to 0 (numbers are content, not style), and a long text cut
    to its head and tail. Lone surrogates become U+FFFD."""
    spec = spec or FeatureSpec()
    text = text.strip()
    limit = spec.head_chars + spec.tail_chars
    if len(text) > limit:
        text = text[: spec.head_chars] + "\n" + text[-spec.tail_chars:]
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
        text = text.encode("utf-8", "replace").decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if " \n" in text or "\t\n" in text:
        text = _SPACES_AT_EOL.sub("\n", text)
    if "\n\n\n" in text:
        text = _MANY_NEWLINES.sub("\n\n", text)
    return _DIGITS.sub("0", text)


# --- style numbers ------------------------------------------------------------------

STYLE_NAMES = (
    "log_chars", "log_lines", "blank_line_rate", "bullet_lines", "numbered_lines", "heading_lines",
    "bold_rate", "code_fences", "table_lines", "colon_line_ends", "exclaim_rate", "question_rate",
    "mean_sentence_words", "comma_rate", "paren_rate", "dash_rate", "non_ascii_rate", "first_line_share",
)


def style_numbers(text: str) -> list[float]:
    """Cheap numbers about layout and punctuation (str.count runs in C)."""
    n = max(len(text), 1)
    lines = text.count("\n") + 1
    words = max(text.count(" ") + lines, 1)
    sentences = max(text.count(". ") + text.count(".\n") + text.count("? ") + text.count("! ") + 1, 1)
    nl = "\n" + text
    bullets = nl.count("\n- ") + nl.count("\n* ") + nl.count("\n\u2022 ") + nl.count("\n  - ") + nl.count("\n   - ")
    numbered = nl.count("\n0. ")  # digits are all 0 after normalisation
    first = text.find("\n")
    return [
        np.log1p(n), np.log1p(lines), text.count("\n\n") / lines, bullets / lines, numbered / lines,
        nl.count("\n#") / lines, 100.0 * text.count("**") / n, float(text.count("```") > 0),
        nl.count("\n|") / lines, text.count(":\n") / lines, 100.0 * text.count("!") / n,
        100.0 * text.count("?") / n, np.log1p(words / sentences), 100.0 * text.count(",") / n,
        100.0 * text.count("(") / n, 100.0 * (text.count(" - ") + text.count("\u2014")) / n,
        0.0 if text.isascii() else 100.0 * (len(text.encode("utf-8", "replace")) - len(text)) / n,
        (first if first >= 0 else n) / n,
    ]


# --- hashing ------------------------------------------------------------------------

def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX2
    return h ^ (h >> np.uint64(33))


def _codes(texts: Sequence[str]) -> np.ndarray:
    """One array of code points: SEP BOS text EOS SEP BOS text EOS ..."""
    joined = "".join(f"\x00\x02{t}\x03" for t in texts)
    return np.frombuffer(joined.encode("utf-32-le", "replace"), dtype=np.uint32).astype(np.uint64)


class _Hasher:
    """Hash of any span [i, j) of the batch in O(1): (H[j] - H[i]) * P^-i."""

    def __init__(self, codes: np.ndarray):
        n = len(codes)
        powers = np.full(n, _P, dtype=np.uint64)
        powers[0] = 1
        powers = np.cumprod(powers, dtype=np.uint64)
        inverse = np.full(n, _P_INV, dtype=np.uint64)
        inverse[0] = 1
        self.inverse = np.cumprod(inverse, dtype=np.uint64)
        self.prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum((codes + np.uint64(1)) * powers, dtype=np.uint64, out=self.prefix[1:])

    def span(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return (self.prefix[end] - self.prefix[start]) * self.inverse[start]


def _bucket(h: np.ndarray, salt: int, bits: int) -> np.ndarray:
    return (_mix(h + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)) >> np.uint64(64 - bits)).astype(np.int32)


def _sublinear_unit(rows: np.ndarray, cols: np.ndarray, n: int, bits: int, weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count (row, col) pairs; value 1 + log(count), unit length per row."""
    if len(rows) == 0:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, np.zeros(0, dtype=np.float32)
    # int32 keys sort about four times faster than int64: use them when the
    # batch is small enough (callers batch by a few thousand texts).
    wide = np.int64 if (n << bits) >= (1 << 31) else np.int32
    keys = (rows.astype(wide) << wide(bits)) | cols.astype(wide)
    keys.sort()
    first = np.concatenate(([True], keys[1:] != keys[:-1]))
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(keys)))
    keys = keys[starts]
    values = (1.0 + np.log(counts)).astype(np.float32)
    urows = (keys >> bits).astype(np.int32)
    norms = np.sqrt(np.bincount(urows, weights=values * values, minlength=n))
    values *= (weight / np.maximum(norms, 1e-12)[urows]).astype(np.float32)
    return urows, (keys & ((1 << bits) - 1)).astype(np.int32), values


def _char_grams(codes: np.ndarray, doc: np.ndarray, hasher: _Hasher, spec: FeatureSpec, order: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(codes) - order + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    start = np.arange(n)
    ok = (doc[:n] == doc[order - 1:]) & (codes[:n] != _SEP)
    start = start[ok]
    h = hasher.span(start, start + order)
    return doc[start], _bucket(h, spec.salt * 131 + order, spec.bits)


def _tokens(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of every token: runs of word characters, and every
    other non-space character on its own."""
    cls = _CLASS[np.minimum(codes, 128)]
    word = cls == 1
    prev_word = np.concatenate(([False], word[:-1]))
    next_word = np.concatenate((word[1:], [False]))
    other = (cls == 2) & (codes != _SEP)
    starts = np.flatnonzero(other | (word & ~prev_word))
    ends = np.flatnonzero(other | (word & ~next_word)) + 1
    return starts, ends


def _token_grams(token_hash: np.ndarray, token_doc: np.ndarray, orders: Sequence[int], salt: int,
                 bits: int) -> tuple[np.ndarray, np.ndarray]:
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for order in orders:
        m = len(token_hash) - order + 1
        if m <= 0:
            continue
        h = token_hash[:m].copy()
        for k in range(1, order):
            h = _mix(h) ^ token_hash[k:k + m]
        ok = token_doc[:m] == token_doc[order - 1:]
        rows.append(token_doc[:m][ok])
        cols.append(_bucket(h[ok], salt + order, bits))
    if not rows:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    return np.concatenate(rows), np.concatenate(cols)


_SHAPE_WORD = np.uint64(0x9E3779B97F4A7C15)
_SHAPE_CAPITAL = np.uint64(0xD6E8FEB86659FD93)


def _distorted(token_hash: np.ndarray, starts: np.ndarray, codes: np.ndarray, upper: np.ndarray | None,
               frequent: np.ndarray) -> np.ndarray:
    """Text distortion: frequent words and punctuation keep their identity,
    every other word becomes its shape (capitalised or not). What is left is
    how a model writes, not what it writes about."""
    is_word = _CLASS[np.minimum(codes[starts], 128)] == 1
    if len(frequent):
        at = np.minimum(np.searchsorted(frequent, token_hash), len(frequent) - 1)
        keep = ~is_word | (frequent[at] == token_hash)
    else:
        keep = ~is_word
    out = token_hash.copy()
    masked = ~keep
    out[masked] = _SHAPE_WORD
    if upper is not None:
        out[masked & upper[starts]] = _SHAPE_CAPITAL
    return out


def token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word tokens of (normalised) texts and the text each is
    from: used in training to choose the frequent words."""
    codes = _codes([t.lower() for t in texts])
    doc = (np.cumsum(codes == _SEP) - 1).astype(np.int32)
    starts, ends = _tokens(codes)
    is_word = _CLASS[np.minimum(codes[starts], 128)] == 1
    h = _Hasher(codes).span(starts, ends)
    return h[is_word], doc[starts][is_word]


def extract(texts: Sequence[str], spec: FeatureSpec, normalized: bool = False,
            frequent: np.ndarray | None = None, sort_rows: bool = False) -> Features:
    """Features of a batch of texts (normalised here unless `normalized`).
    `frequent`: sorted token hashes kept by the distorted view. Scoring does
    not need the triples in row order; `sort_rows=True` gives them so."""
    if not normalized:
        texts = [normalize_text(t, spec) for t in texts]
    n = len(texts)
    style = np.array([style_numbers(t) for t in texts], dtype=np.float32).reshape(n, len(STYLE_NAMES))
    lengths = np.array([len(t) for t in texts], dtype=np.int32)
    if n == 0:
        empty = np.zeros(0, dtype=np.int32)
        return Features(0, empty, empty, np.zeros(0, dtype=np.float32), style, lengths)
    lowered = [t.lower() for t in texts]
    codes = _codes(lowered)
    doc = (np.cumsum(codes == _SEP) - 1).astype(np.int32)
    hasher = _Hasher(codes)
    parts = []
    char_rows, char_cols = [], []
    for order in spec.char_orders:
        r, c = _char_grams(codes, doc, hasher, spec, order)
        char_rows.append(r)
        char_cols.append(c)
    if char_rows:
        parts.append(_sublinear_unit(np.concatenate(char_rows), np.concatenate(char_cols), n, spec.bits, spec.char_weight))
    starts, ends = _tokens(codes)
    token_hash = hasher.span(starts, ends)
    token_doc = doc[starts]
    if spec.word_orders:
        r, c = _token_grams(token_hash, token_doc, spec.word_orders, spec.salt * 977, spec.bits)
        parts.append(_sublinear_unit(r, c, n, spec.bits, spec.word_weight))
    if spec.distort_orders and frequent is not None:
        upper = _upper_mask(texts, lowered, codes)
        distorted = _distorted(token_hash, starts, codes, upper, frequent)
        r, c = _token_grams(distorted, token_doc, spec.distort_orders, spec.salt * 7919, spec.bits)
        parts.append(_sublinear_unit(r, c, n, spec.bits, spec.distort_weight))
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    values = np.concatenate([p[2] for p in parts])
    if sort_rows:
        order = np.argsort(rows, kind="stable")
        rows, cols, values = rows[order], cols[order], values[order]
    return Features(n, rows, cols, values, style, lengths)


def _upper_mask(texts: Sequence[str], lowered: Sequence[str], codes: np.ndarray) -> np.ndarray | None:
    """Where the original text had a different (upper-case) character; None
    if lower-casing changed some text's length (rare non-ASCII cases)."""
    if any(len(a) != len(b) for a, b in zip(texts, lowered)):
        return None
    return _codes(texts) != codes
