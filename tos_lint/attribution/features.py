"""Style features: texts in, sparse hashed n-gram vectors and dense style numbers out.

Never one n-gram at a time in Python: the batch's texts are joined into one
array of code points, every n-gram is hashed with a polynomial hash (mod
2^64), and the hashes are folded into a fixed number of buckets. With numba
(installed with tos-lint; TOS_LINT_NUMBA=0 turns it off) compiled loops in
_kernels.py do it text by text, and scoring multiplies each text's features
by the model's weights without ever holding a batch's features: about a
tenth of a millisecond per answer. Without numba the same features come
from whole-batch numpy passes (prefix hashes, one sort to count every kind
of n-gram), about three times slower; the tests hold the two to each other.

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
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

from tos_lint.jit import numba_module

_P = np.uint64(0x100000001B3)  # odd, so it has an inverse mod 2^64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_SEP = 0  # between texts of a batch
_BOS = 2  # start of a text
_EOS = 3  # end of a text
_NL = 10
# Hash salts of the three n-gram kinds, times FeatureSpec.salt (plus the order).
_CHAR_SALT, _WORD_SALT, _DISTORT_SALT = 131, 977, 7919

# Code points below 128: 1 = part of a word, 2 = a token on its own
# (punctuation, newline, markers), 0 = space. Anything else is a letter.
_CLASS = np.full(129, 2, dtype=np.uint8)
_CLASS[[ord(" "), ord("\t"), ord("\r"), 0x0B, 0x0C]] = 0
_CLASS[[ord(c) for c in "abcdefghijklmnopqrstuvwxyz0123456789"]] = 1
_CLASS[128] = 1

_QUOTES = (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u00a0", " "))
_SPACES_AT_EOL = re.compile(r"[ \t]+\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_DIGITS = re.compile(r"\d")
_ASCII_DIGITS_TO_0 = bytes.maketrans(b"123456789", b"000000000")
_WORK = threading.local()


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
        text = unicodedata.normalize("NFKC", text)
        for curly, straight in _QUOTES:  # str.replace: a C loop; str.translate looks up every character
            if curly in text:
                text = text.replace(curly, straight)
        text = text.encode("utf-8", "replace").decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if " \n" in text or "\t\n" in text:
        text = _SPACES_AT_EOL.sub("\n", text)
    if "\n\n\n" in text:
        text = _MANY_NEWLINES.sub("\n\n", text)
    if text.isascii():  # bytes.translate is ten times the regular expression's speed
        return text.encode("ascii").translate(_ASCII_DIGITS_TO_0).decode("ascii")
    return _DIGITS.sub("0", text)


# --- style numbers ------------------------------------------------------------------

STYLE_NAMES = (
    "log_chars", "log_lines", "blank_line_rate", "bullet_lines", "numbered_lines", "heading_lines",
    "bold_rate", "code_fences", "table_lines", "colon_line_ends", "exclaim_rate", "question_rate",
    "mean_sentence_words", "comma_rate", "paren_rate", "dash_rate", "non_ascii_rate", "first_line_share",
)


# Substrings counted in a text, without overlaps as str.count counts, and
# those counted at the start of a line (in "\n" + text); then three more
# counts: characters, UTF-8 bytes beyond one per character, and the index of
# the first newline (-1: none). The compiled path counts the same.
_TEXT_PATTERNS = ("\n", " ", ". ", ".\n", "? ", "! ", "\n\n", "**", "```", ":\n", "!", "?", ",", "(", " - ", "\u2014")
_LINE_PATTERNS = ("\n- ", "\n* ", "\n\u2022 ", "\n  - ", "\n   - ", "\n0. ", "\n#", "\n|")
_N_COUNTS = len(_TEXT_PATTERNS) + len(_LINE_PATTERNS) + 3


def style_counts(text: str) -> list[int]:
    """What the style numbers of a text are made of (str.count runs in C)."""
    nl = "\n" + text
    extra = 0 if text.isascii() else len(text.encode("utf-8", "replace")) - len(text)
    return ([text.count(p) for p in _TEXT_PATTERNS] + [nl.count(p) for p in _LINE_PATTERNS]
            + [len(text), extra, text.find("\n")])


def style_numbers(counts: np.ndarray) -> np.ndarray:
    """Cheap numbers about layout and punctuation (STYLE_NAMES), one row per
    text, from the texts' `style_counts`."""
    counts = counts.reshape(-1, _N_COUNTS)
    text = dict(zip(_TEXT_PATTERNS, counts.T))
    line = dict(zip(_LINE_PATTERNS, counts.T[len(_TEXT_PATTERNS):]))
    chars, extra, first = counts.T[-3:]
    n = np.maximum(chars, 1)
    lines = text["\n"] + 1
    words = np.maximum(text[" "] + lines, 1)
    sentences = np.maximum(text[". "] + text[".\n"] + text["? "] + text["! "] + 1, 1)
    bullets = line["\n- "] + line["\n* "] + line["\n\u2022 "] + line["\n  - "] + line["\n   - "]
    numbered = line["\n0. "]  # digits are all 0 after normalisation
    columns = [
        np.log1p(n), np.log1p(lines), text["\n\n"] / lines, bullets / lines, numbered / lines,
        line["\n#"] / lines, 100.0 * text["**"] / n, (text["```"] > 0).astype(np.float64),
        line["\n|"] / lines, text[":\n"] / lines, 100.0 * text["!"] / n,
        100.0 * text["?"] / n, np.log1p(words / sentences), 100.0 * text[","] / n,
        100.0 * text["("] / n, 100.0 * (text[" - "] + text["\u2014"]) / n,
        100.0 * extra / n, np.where(first >= 0, first, n) / n,
    ]
    return np.stack(columns, axis=1).astype(np.float32).reshape(len(counts), len(STYLE_NAMES))


# --- hashing ------------------------------------------------------------------------

def _mix(h: np.ndarray) -> np.ndarray:
    """The 64-bit finaliser of MurmurHash3, in place: `h` is overwritten
    (and returned); a fresh array per step would cost page faults."""
    shifted = h >> _S33
    h ^= shifted
    h *= _MIX1
    np.right_shift(h, _S33, out=shifted)
    h ^= shifted
    h *= _MIX2
    np.right_shift(h, _S33, out=shifted)
    h ^= shifted
    return h


def _codes(texts: Sequence[str]) -> np.ndarray:
    """One array of code points: SEP BOS text EOS SEP BOS text EOS ..."""
    joined = "".join(f"\x00\x02{_sep_free(t)}\x03" for t in texts)
    return np.frombuffer(joined.encode("utf-32-le", "replace"), dtype=np.uint32)


def _sep_free(text: str) -> str:
    """A NUL inside a text becomes U+FFFD: read as SEP, it would start a new text."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


class _Hasher:
    """Hash of any span [i, j) of the batch in O(1): (H[j] - H[i]) * P^-i."""

    def __init__(self, codes: np.ndarray):
        n = len(codes)
        self.inverse = _kept_powers(_P_INV, n)
        self.prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum((codes.astype(np.uint64) + np.uint64(1)) * _kept_powers(_P, n), dtype=np.uint64, out=self.prefix[1:])

    def span(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return (self.prefix[end] - self.prefix[start]) * self.inverse[start]

    def every(self, order: int) -> np.ndarray:
        """The hash of every span [i, i + order), i from 0: slices, not gathers."""
        m = len(self.inverse) - order + 1
        h = self.prefix[order:] - self.prefix[:m]
        h *= self.inverse[:m]
        return h


def _kept_powers(base: np.uint64, n: int) -> np.ndarray:
    """base**0 ... base**(n-1) mod 2^64: the start of a table kept from
    batch to batch and per thread, as `_log_counts` is, and extended when a
    batch is longer than any before. Read-only: a write into it would change
    every later batch's hashes."""
    tables: dict[int, np.ndarray] | None = getattr(_WORK, "powers", None)
    if tables is None:
        tables = _WORK.powers = {}
    table = tables.get(int(base))
    if table is None or len(table) < n:
        table = tables[int(base)] = _powers(base, max(n, 4096), table)
        table.flags.writeable = False
    return table[:n]


def _powers(base: np.uint64, n: int, known: np.ndarray | None = None) -> np.ndarray:
    """base**0 ... base**(n-1) mod 2^64, by doubling: each step multiplies
    the powers so far by the next power of two of `base`, a vectorised pass
    where a cumulative product is a chain of dependent multiplications.
    `known`: the first powers (at least one), computed before and kept."""
    out = np.empty(n, dtype=np.uint64)
    if known is None:
        out[:1] = 1
        step = np.array([base], dtype=np.uint64)
        done = 1
    else:
        done = len(known)
        out[:done] = known
        step = known[-1:] * np.array([base], dtype=np.uint64)  # base**done: the loop's invariant
    while done < n:
        m = min(done, n - done)
        np.multiply(out[:m], step, out=out[done:done + m])
        done += m
        step *= step
    return out


def _bucket(h: np.ndarray, salt: int, bits: int) -> np.ndarray:
    """The buckets of hashes `h` (overwritten) as uint64 values below 2**bits."""
    h += np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    h = _mix(h)
    h >>= np.uint64(64 - bits)
    return h


class _GramKeys:
    """A batch's n-grams as integer keys row << (bits + 2) | kind << bits |
    bucket (kinds: characters, words, distorted words), gathered kind after
    kind and counted with one sort: the sorted keys are in row order, and
    within a row by kind and bucket. int32 keys sort about four times faster
    than int64: they are used while the batch is small enough (callers batch
    by a few thousand texts)."""

    def __init__(self, n: int, bits: int):
        self.n, self.bits = n, bits
        self.dtype = np.int64 if (n << (bits + 2)) >= (1 << 31) else np.int32
        self.unused = self.dtype(np.iinfo(self.dtype).max)  # an n-gram across two texts: sorted last, dropped
        self.parts: list[np.ndarray] = []

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The row part of the keys of n-grams in these rows."""
        return rows.astype(self.dtype) << (self.bits + 2)

    def add(self, row_keys: np.ndarray, buckets: np.ndarray, kind: int, within: np.ndarray) -> None:
        """N-grams with these row keys and buckets; those not `within` one text are left out."""
        keys = buckets.astype(self.dtype)
        keys |= row_keys
        if kind:
            keys |= self.dtype(kind << self.bits)
        keys[~within] = self.unused
        self.parts.append(keys)

    def counted(self, weights: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) triples: value 1 + log(count), unit length
        per row and kind, times the kind's weight (`weights`, by kind)."""
        keys = np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=self.dtype)
        keys.sort()
        keys = keys[: np.searchsorted(keys, self.unused)]
        if not len(keys):
            empty = np.zeros(0, dtype=np.int32)
            return empty, empty, np.zeros(0, dtype=np.float32)
        first = np.empty(len(keys), dtype=np.bool_)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        counts = np.diff(starts, append=len(keys))
        keys = keys[starts]
        values = _log_counts(int(counts.max()))[counts]
        # Each (row, kind) is a run of the sorted keys; its squares, float32
        # values of at least 1 summed in float64, are exact in any order.
        bounds = np.searchsorted(keys, np.arange(4 * self.n + 1, dtype=self.dtype) << self.dtype(self.bits))
        sizes = np.diff(bounds)
        present = np.flatnonzero(sizes)
        norms = np.sqrt(np.add.reduceat((values * values).astype(np.float64), bounds[present]))
        scale = np.asarray(weights, dtype=np.float64)[present & 3] / np.maximum(norms, 1e-12)
        values *= np.repeat(scale.astype(np.float32), sizes[present])
        rows = (keys >> (self.bits + 2)).astype(np.int32, copy=False)
        return rows, (keys & ((1 << self.bits) - 1)).astype(np.int32, copy=False), values


def _log_counts(most: int) -> np.ndarray:
    """1 + log(count) as float32, indexed by count, for counts up to `most`
    or more (index 0 unused): the value of an n-gram seen `count` times in a
    text, the same numbers for both paths. Kept from batch to batch."""
    table: np.ndarray | None = getattr(_WORK, "log_counts", None)
    if table is None or len(table) <= most:
        table = np.zeros(max(most + 1, 4096), dtype=np.float32)
        table[1:] = 1.0 + np.log(np.arange(1, len(table)))
        _WORK.log_counts = table
    return table


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


def _token_grams(keys: _GramKeys, kind: int, token_hash: np.ndarray, token_doc: np.ndarray,
                 row_keys: np.ndarray, orders: Sequence[int], salt: int) -> None:
    """Token n-grams: the hash of each is the mix of its first token's,
    xored with the next token's, and so on."""
    for order in orders:
        m = len(token_hash) - order + 1
        if m <= 0:
            continue
        h = token_hash[:m].copy()
        for k in range(1, order):
            h = _mix(h)
            h ^= token_hash[k:k + m]
        keys.add(row_keys[:m], _bucket(h, salt + order, keys.bits), kind, token_doc[:m] == token_doc[order - 1:])


_SHAPE_WORD = np.uint64(0x9E3779B97F4A7C15)
_SHAPE_CAPITAL = np.uint64(0xD6E8FEB86659FD93)


def _distorted(token_hash: np.ndarray, starts: np.ndarray, codes: np.ndarray, upper: np.ndarray | None,
               frequent: np.ndarray) -> np.ndarray:
    """Text distortion: frequent words and punctuation keep their identity,
    every other word becomes its shape (capitalised or not). What is left is
    how a model writes, not what it writes about."""
    is_word = _CLASS[np.minimum(codes[starts], 128)] == 1
    keep = ~is_word | _among(token_hash, frequent) if len(frequent) else ~is_word
    out = token_hash.copy()
    masked = ~keep
    out[masked] = _SHAPE_WORD
    if upper is not None:
        out[masked & upper[starts]] = _SHAPE_CAPITAL
    return out


_SLOT_BITS = 12
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)


def _among(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Whether each of `values` is one of `members` (uint64). A binary
    search per value is nine unpredictable branches; instead the members
    are put in slots by a multiplicative hash, and each value is compared
    with those in its slot, rarely more than one."""
    slots = _slots(members)
    order = np.argsort(slots, kind="stable")
    bounds = np.searchsorted(slots[order], np.arange((1 << _SLOT_BITS) + 1))
    slot = _slots(values)
    first, last = bounds[slot], bounds[slot + 1]
    found = np.zeros(len(values), dtype=np.bool_)
    by_slot = members[order]
    for k in range(int(np.diff(bounds).max(initial=0))):
        at = first + k
        found |= (by_slot[np.minimum(at, len(members) - 1)] == values) & (at < last)
    return found


def _slots(values: np.ndarray) -> np.ndarray:
    return ((values * _FIBONACCI) >> np.uint64(64 - _SLOT_BITS)).astype(np.intp)


def token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word tokens of (normalised) texts and the text each is
    from: used in training to choose the frequent words."""
    codes = _codes([t.lower() for t in texts])
    doc = (np.cumsum(codes == _SEP) - 1).astype(np.int32)
    starts, ends = _tokens(codes)
    is_word = _CLASS[np.minimum(codes[starts], 128)] == 1
    h = _Hasher(codes).span(starts, ends)
    return h[is_word], doc[starts][is_word]


@dataclass
class _Batch:
    """A batch ready for n-grams: normalised texts, their style numbers, and
    the lower-cased code points."""

    texts: list[str]
    style: np.ndarray
    lengths: np.ndarray
    lowered: list[str]
    codes: np.ndarray
    upper: np.ndarray | None  # upper-case positions, for the distorted view
    frequent: np.ndarray | None  # None: no distorted view


def _prepare(texts: Sequence[str], spec: FeatureSpec, normalized: bool, frequent: np.ndarray | None,
             use_jit: bool) -> _Batch:
    """Normalise a batch (unless `normalized`), count its style numbers and
    turn it into code points."""
    texts = [_sep_free(t) for t in texts] if normalized else [_sep_free(normalize_text(t, spec)) for t in texts]
    lowered = [t.lower() for t in texts]
    codes = _codes(lowered)
    original = _codes(texts)
    compiled = _compiled(use_jit)
    if compiled is not None:
        counts = np.zeros((len(texts), _N_COUNTS), dtype=np.int64)
        compiled.style_counts(original, _bounds(texts), *_STYLE_TABLES, counts)
    else:
        counts = np.array([style_counts(t) for t in texts], dtype=np.int64)
    frequent = frequent if spec.distort_orders else None
    # The distorted view marks capitalised words. A text that lower-casing
    # lengthens (`İ` becomes two code points) has no position-for-position
    # comparison: its words are left unmarked, and only its own.
    upper = None
    if frequent is not None:
        comparable = [t if len(t) == len(low) else low for t, low in zip(texts, lowered)]
        upper = (original if comparable == texts else _codes(comparable)) != codes
    lengths = np.array([len(t) for t in texts], dtype=np.int32)
    return _Batch(texts, style_numbers(counts), lengths, lowered, codes, upper, frequent)


def _bounds(texts: Sequence[str]) -> np.ndarray:
    """Where each text's SEP is in `_codes(texts)`, and the end."""
    return np.concatenate(([0], np.cumsum([len(t) + 3 for t in texts], dtype=np.int64)))


def _style_tables() -> tuple[np.ndarray, ...]:
    """The patterns of `style_counts` as _kernels.style_counts takes them."""
    patterns = _TEXT_PATTERNS + _LINE_PATTERNS
    table = np.zeros((len(patterns), max(map(len, patterns))), dtype=np.int64)
    for i, p in enumerate(patterns):
        table[i, :len(p)] = [ord(c) for c in p]
    lengths = np.array([len(p) for p in patterns], dtype=np.int64)
    at_line_start = np.array([p in _LINE_PATTERNS for p in patterns], dtype=np.bool_)
    first = np.minimum(table[:, 0], 128)
    first_start = np.concatenate(([0], np.cumsum(np.bincount(first, minlength=129)))).astype(np.int64)
    return table, lengths, at_line_start, first_start, np.argsort(first, kind="stable").astype(np.int64)


_STYLE_TABLES = _style_tables()


def _compiled(use_jit: bool) -> ModuleType | None:
    """The compiled loops (_kernels.py), or None for the numpy path: numba
    missing, TOS_LINT_NUMBA=0, or `use_jit=False`."""
    if not use_jit or numba_module() is None:
        return None
    from tos_lint.attribution import _kernels

    return _kernels


def extract(texts: Sequence[str], spec: FeatureSpec, normalized: bool = False,
            frequent: np.ndarray | None = None, use_jit: bool = True) -> Features:
    """Features of a batch of texts (normalised here unless `normalized`),
    the triples in row order. `frequent`: sorted token hashes kept by the
    distorted view. `use_jit=False` takes the numpy path even when numba is
    installed."""
    batch = _prepare(texts, spec, normalized, frequent, use_jit)
    n = len(batch.texts)
    compiled = _compiled(use_jit)
    if n == 0:
        empty = np.zeros(0, dtype=np.int32)
        rows, cols, values = empty, empty, np.zeros(0, dtype=np.float32)
    elif compiled is not None:
        rows, cols, values = _compiled_grams(compiled.grams, batch, spec)
    else:
        rows, cols, values = _numpy_grams(batch, spec)
    return Features(n, rows, cols, values, batch.style, batch.lengths)


def hashed_scores(texts: Sequence[str], spec: FeatureSpec, frequent: np.ndarray | None, table: np.ndarray,
                  scales: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The style numbers of a batch and, per text, the sum over its hashed
    features of value * table[column] * scales, as `extract` and then a
    product would give, but in one compiled pass that never holds the
    batch's features; None without numba."""
    compiled = _compiled(True)
    if compiled is None:
        return None
    batch = _prepare(texts, spec, False, frequent, use_jit=True)
    out = np.zeros((len(batch.texts), table.shape[1]), dtype=np.float64)
    if batch.texts:
        compiled.scores(*_kernel_args(batch, spec), table, scales, out)
    return batch.style, out


def _numpy_grams(batch: _Batch, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (row, column, value) triples, each step a pass over the whole
    batch: row by row, within a row kind by kind and by column."""
    codes, n = batch.codes, len(batch.texts)
    doc = (np.cumsum(codes == _SEP) - 1).astype(np.int32)
    hasher = _Hasher(codes)
    keys = _GramKeys(n, spec.bits)
    row_keys = keys.rows(doc)
    for order in spec.char_orders:
        m = len(codes) - order + 1
        if m > 0:  # n-grams of one text: none starts at or crosses a SEP
            within = (doc[:m] == doc[order - 1:]) & (codes[:m] != _SEP)
            keys.add(row_keys[:m], _bucket(hasher.every(order), spec.salt * _CHAR_SALT + order, spec.bits), 0, within)
    starts, ends = _tokens(codes)
    token_hash = hasher.span(starts, ends)
    token_doc = doc[starts]
    token_keys = row_keys[starts]
    _token_grams(keys, 1, token_hash, token_doc, token_keys, spec.word_orders, spec.salt * _WORD_SALT)
    if batch.frequent is not None:
        distorted = _distorted(token_hash, starts, codes, batch.upper, batch.frequent)
        _token_grams(keys, 2, distorted, token_doc, token_keys, spec.distort_orders, spec.salt * _DISTORT_SALT)
    return keys.counted((spec.char_weight, spec.word_weight, spec.distort_weight))


def _compiled_grams(kernel: Callable[..., int], batch: _Batch, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The triples of `_numpy_grams`, text by text in one compiled loop: row
    by row, and within a row kind by kind, each in the order first seen."""
    args = _kernel_args(batch, spec)
    kinds = args[4]
    # At most one triple per n-gram, and a text has fewer n-grams of an order than code points.
    capacity = len(batch.codes) * int(kinds[0].sum() + len(kinds[2]) + len(kinds[4]))
    rows = np.empty(capacity, dtype=np.int32)
    cols = np.empty(capacity, dtype=np.int32)
    values = np.empty(capacity, dtype=np.float32)
    written = kernel(*args, rows, cols, values)
    return rows[:written].copy(), cols[:written].copy(), values[:written].copy()


def _kernel_args(batch: _Batch, spec: FeatureSpec) -> tuple[Any, ...]:
    """(codes, bounds, upper, frequent, kinds, bits, counts, gram_values), as
    the loops of _kernels.py take them."""
    bounds = _bounds(batch.lowered)
    char_orders = np.array(spec.char_orders, dtype=np.int64)
    word_orders = np.array(spec.word_orders, dtype=np.int64)
    distort_orders = np.array(spec.distort_orders if batch.frequent is not None else (), dtype=np.int64)
    kinds = (
        np.bincount(char_orders - 1).astype(np.int32) if len(char_orders) else np.zeros(0, dtype=np.int32),
        _salts(spec.salt * _CHAR_SALT, np.arange(1, max(spec.char_orders, default=0) + 1)),
        word_orders, _salts(spec.salt * _WORD_SALT, word_orders),
        distort_orders, _salts(spec.salt * _DISTORT_SALT, distort_orders),
        np.array([spec.char_weight, spec.word_weight, spec.distort_weight], dtype=np.float64),
    )
    # 1 + log(count) for every count a text can reach.
    gram_values = _log_counts(int(np.diff(bounds).max()) * max(len(char_orders), len(word_orders), len(distort_orders), 1))
    frequent = np.zeros(0, dtype=np.uint64) if batch.frequent is None else np.ascontiguousarray(batch.frequent, dtype=np.uint64)
    upper = np.zeros(0, dtype=np.bool_) if batch.upper is None else batch.upper
    return batch.codes, bounds, upper, frequent, kinds, spec.bits, _bucket_counts(spec.bits), gram_values


def _bucket_counts(bits: int) -> np.ndarray:
    """A count per bucket, all zero, kept from batch to batch (the kernels
    leave it zeroed) and per thread (they run without the GIL): a fresh
    half-megabyte array per batch costs more in page faults and cache misses
    than the counting."""
    counts = getattr(_WORK, "counts", None)
    if counts is None or len(counts) != 1 << bits:
        counts = _WORK.counts = np.zeros(1 << bits, dtype=np.int32)
    return counts


def _salts(base: int, orders: np.ndarray) -> np.ndarray:
    """The salt of each order, as `_bucket` adds it (mod 2^64)."""
    return np.array([(base + int(o)) & 0xFFFFFFFFFFFFFFFF for o in orders], dtype=np.uint64)


