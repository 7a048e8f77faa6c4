"""Feature extraction and scoring in compiled loops (numba): used by
features.py when numba is installed and TOS_LINT_NUMBA is not 0. Importing
this module imports numba; features.py does so only then.

The numpy path (features.py, model.py) takes some twenty passes over arrays
of millions of n-grams (hash, mix, bucket, sort to count, ...) and scores by
gathering one weight row per feature into a large temporary array. These
loops do the same work text by text: n-grams are counted in a bucket-sized
array as they are hashed, with no sort, and for scoring a text's features
are multiplied by the weights as soon as they exist, so nothing larger than
one text's features is ever written. That is what makes attribution cost a
small fraction of a scan.

The features are the numpy path's bit for bit: the same hashes and buckets,
`1 + log(count)` from a table numpy fills, the same float32 roundings. Only
the order of a text's triples differs (first seen, not by column), and that
changes nothing: the squares summed for a kind's length are float32 values
of at least 1 (a count's 1 + log), so every partial sum is a multiple of
2^-23 below 2^30 and exact in float64, in any order. Scores add the same
products as the numpy path in float64 rather than float32, so they agree
with it to float32 rounding.

The tests compare this path with the numpy one, and both with a pure-Python
definition. Functions are compiled on first use and cached on disk by numba
(`cache=True`); they are module-level functions because a closure that calls
another closure is compiled afresh in every process.

A batch's text t is codes[bounds[t]:bounds[t + 1]]: SEP BOS text EOS,
lower-cased (features._codes). The feature settings come as `kinds`,
(char_reps, char_salts, word_orders, word_salts, distort_orders,
distort_salts, weights): char n-grams of order o counted char_reps[o - 1]
times with salt char_salts[o - 1], the distorted view skipped when its
orders are empty; `gram_values[c]` is 1 + log(c); `upper` marks upper-case
positions (empty: none marked); `counts` has one zero per bucket and is
left zeroed.
"""
from __future__ import annotations

import numba
import numpy as np

from tos_lint.attribution.features import _CLASS, _FIBONACCI, _MIX1, _MIX2, _P, _S33, _SHAPE_CAPITAL, _SHAPE_WORD

_ONE, _S32 = np.uint64(1), np.uint64(32)


@numba.njit(cache=True, nogil=True)
def mix(h):  # type: ignore[no-untyped-def]
    h ^= h >> _S33
    h *= _MIX1
    h ^= h >> _S33
    h *= _MIX2
    return h ^ (h >> _S33)


@numba.njit(cache=True, nogil=True)
def bucket(h, salt, shift):  # type: ignore[no-untyped-def]
    return np.int32(mix(h + salt) >> shift)


@numba.njit(cache=True, nogil=True)
def span_hash(codes, start, end):  # type: ignore[no-untyped-def]
    h = np.uint64(0)
    power = _ONE
    for j in range(start, end):
        h += (np.uint64(codes[j]) + _ONE) * power
        power *= _P
    return h


@numba.njit(cache=True, nogil=True)
def count(col, times, counts, seen, n_seen):  # type: ignore[no-untyped-def]
    """Count bucket `col`; `seen` lists the buckets counted so far.
    Branch-free: whether a bucket is new is a coin toss to a predictor."""
    seen[n_seen] = col
    n_seen += counts[col] == 0
    counts[col] += times
    return n_seen


@numba.njit(cache=True, nogil=True)
def flush(row, weight, counts, seen, n_seen, gram_values, rows, cols, values, out):  # type: ignore[no-untyped-def]
    """Emit the counted buckets as 1 + log(count), scaled to unit length
    (times `weight`), and clear their counts. Returns the new end."""
    total = 0.0
    for i in range(n_seen):
        col = seen[i]
        v = gram_values[counts[col]]
        counts[col] = 0
        total += np.float64(np.float32(v * v))
        rows[out + i] = row
        cols[out + i] = col
        values[out + i] = v
    if n_seen:
        scale = np.float32(weight / max(np.sqrt(total), 1e-12))
        for i in range(out, out + n_seen):
            values[i] = values[i] * scale
    return out + n_seen


@numba.njit(cache=True, nogil=True)
def count_all(cols, n, times, counts, seen, n_seen):  # type: ignore[no-untyped-def]
    for i in range(n):
        n_seen = count(cols[i], times, counts, seen, n_seen)
    return n_seen


@numba.njit(cache=True, nogil=True)
def count_char_grams(codes, start, end, reps, salts, shift, counts, seen, hashes, cols):  # type: ignore[no-untyped-def]
    """The n-grams of codes[start + 1:end]: the hash of each (n+1)-gram
    extends that of the n-gram at the same place. Hashing and counting
    are separate loops: the first has no dependence from one position to
    the next and runs eight positions to an instruction."""
    top = reps.shape[0]
    n = end - start - 1
    hashes[:n] = 0
    power = _ONE
    n_seen = 0
    for o in range(min(top, n)):
        for i in range(n - o):
            hashes[i] += (np.uint64(codes[start + 1 + i + o]) + _ONE) * power
        power *= _P
        if reps[o]:
            for i in range(n - o):
                cols[i] = bucket(hashes[i], salts[o], shift)
            n_seen = count_all(cols, n - o, reps[o], counts, seen, n_seen)
    return n_seen


@numba.njit(cache=True, nogil=True)
def tokenize(codes, start, end, hashes, starts):  # type: ignore[no-untyped-def]
    """Word runs and single non-space characters of codes[start + 1:end]."""
    n = 0
    j = start + 1
    while j < end:
        kind = _CLASS[min(codes[j], 128)]
        k = j + 1
        if kind == 1:
            while k < end and _CLASS[min(codes[k], 128)] == 1:
                k += 1
        if kind != 0:
            hashes[n] = span_hash(codes, j, k)
            starts[n] = j
            n += 1
        j = k
    return n


@numba.njit(cache=True, nogil=True)
def count_token_grams(hashes, n, orders, salts, shift, counts, seen, cols):  # type: ignore[no-untyped-def]
    n_seen = 0
    for k in range(orders.shape[0]):
        order = orders[k]
        for j in range(n - order + 1):
            h = hashes[j]
            for m in range(1, order):
                h = mix(h) ^ hashes[j + m]
            cols[j] = bucket(h, salts[k], shift)
        n_seen = count_all(cols, n - order + 1, 1, counts, seen, n_seen)
    return n_seen


@numba.njit(cache=True, nogil=True)
def slot(h, mask):  # type: ignore[no-untyped-def]
    return np.int64((h * _FIBONACCI) >> _S32) & mask


@numba.njit(cache=True, nogil=True)
def hash_set(values):  # type: ignore[no-untyped-def]
    """An open-addressed set of uint64 values, a quarter full: a lookup
    is a probe or two, where a binary search of a few hundred words is
    nine unpredictable branches."""
    size = 8
    while size < 4 * values.shape[0]:
        size *= 2
    keys = np.zeros(size, dtype=np.uint64)
    used = np.zeros(size, dtype=np.bool_)
    for h in values:
        i = slot(h, size - 1)
        while used[i] and keys[i] != h:
            i = (i + 1) & (size - 1)
        keys[i] = h
        used[i] = True
    return keys, used


@numba.njit(cache=True, nogil=True)
def member(keys, used, h):  # type: ignore[no-untyped-def]
    i = slot(h, keys.shape[0] - 1)
    while used[i]:
        if keys[i] == h:
            return True
        i = (i + 1) & (keys.shape[0] - 1)
    return False


@numba.njit(cache=True, nogil=True)
def distort(codes, upper, keys, used, hashes, starts, n, out):  # type: ignore[no-untyped-def]
    """Words that are not frequent become their shape (see features._distorted)."""
    for j in range(n):
        h = hashes[j]
        out[j] = h
        if _CLASS[min(codes[starts[j]], 128)] == 1 and not member(keys, used, h):
            out[j] = _SHAPE_CAPITAL if upper.shape[0] > 0 and upper[starts[j]] else _SHAPE_WORD


@numba.njit(cache=True, nogil=True)
def scratch(bounds, counts, per_code, frequent):  # type: ignore[no-untyped-def]
    """The work arrays of a batch (see text_grams) with at most `per_code`
    n-grams of a kind per code point; `frequent`: the token hashes of the
    words the distorted view keeps."""
    longest = 0
    for t in range(bounds.shape[0] - 1):
        longest = max(longest, bounds[t + 1] - bounds[t])
    keys, used = hash_set(frequent)
    return (counts, np.empty(longest * per_code, dtype=np.int32),
            np.empty(longest, dtype=np.uint64), np.empty(longest, dtype=np.uint64),
            np.empty(longest, dtype=np.int64), keys, used, np.empty(longest, dtype=np.int32))


@numba.njit(cache=True, nogil=True)
def text_grams(codes, start, end, row, upper, kinds, shift, gram_values, work,  # type: ignore[no-untyped-def]
               rows, cols, values, out):
    """Write the triples of the text codes[start:end] from index `out`, kind
    after kind; return the new end."""
    char_reps, char_salts, word_orders, word_salts, distort_orders, distort_salts, weights = kinds
    counts, seen, hashes, distorted, starts, keys, used, cols_of = work
    if char_reps.shape[0]:
        # `hashes` holds the char n-grams' hashes until the tokens' replace them.
        n_seen = count_char_grams(codes, start, end, char_reps, char_salts, shift, counts, seen, hashes, cols_of)
        out = flush(row, weights[0], counts, seen, n_seen, gram_values, rows, cols, values, out)
    n = tokenize(codes, start, end, hashes, starts)
    if word_orders.shape[0]:
        n_seen = count_token_grams(hashes, n, word_orders, word_salts, shift, counts, seen, cols_of)
        out = flush(row, weights[1], counts, seen, n_seen, gram_values, rows, cols, values, out)
    if distort_orders.shape[0]:
        distort(codes, upper, keys, used, hashes, starts, n, distorted)
        n_seen = count_token_grams(distorted, n, distort_orders, distort_salts, shift, counts, seen, cols_of)
        out = flush(row, weights[2], counts, seen, n_seen, gram_values, rows, cols, values, out)
    return out


@numba.njit(cache=True, nogil=True)
def grams(codes, bounds, upper, frequent, kinds, bits, counts, gram_values, rows, cols, values):  # type: ignore[no-untyped-def]
    """Write the triples of every text, row by row; return how many."""
    work = scratch(bounds, counts, max(kinds[0].sum(), kinds[2].shape[0], kinds[4].shape[0]), frequent)
    shift = np.uint64(64 - bits)
    out = 0
    for t in range(bounds.shape[0] - 1):
        out = text_grams(codes, bounds[t], bounds[t + 1], t, upper, kinds, shift, gram_values, work,
                         rows, cols, values, out)
    return out


@numba.njit(cache=True, nogil=True)
def scores(codes, bounds, upper, frequent, kinds, bits, counts, gram_values, table, scales, out):  # type: ignore[no-untyped-def]
    """out[t] = the sum over the triples of text t of value * table[column],
    times scales: in float64, one text's triples at a time, while they are
    in the cache."""
    per_code = max(kinds[0].sum(), kinds[2].shape[0], kinds[4].shape[0])
    work = scratch(bounds, counts, per_code, frequent)
    shift = np.uint64(64 - bits)
    capacity = work[2].shape[0] * (kinds[0].sum() + kinds[2].shape[0] + kinds[4].shape[0])
    rows = np.empty(capacity, dtype=np.int32)
    cols = np.empty(capacity, dtype=np.int32)
    values = np.empty(capacity, dtype=np.float32)
    total = np.empty(table.shape[1], dtype=np.float64)
    for t in range(bounds.shape[0] - 1):
        n = text_grams(codes, bounds[t], bounds[t + 1], t, upper, kinds, shift, gram_values, work,
                       rows, cols, values, 0)
        total[:] = 0.0
        for j in range(n):
            col, value = cols[j], np.float64(values[j])
            for c in range(table.shape[1]):
                total[c] += table[col, c] * value
        for c in range(table.shape[1]):
            out[t, c] = total[c] * scales[c]


@numba.njit(cache=True, nogil=True)
def rest_matches(codes, at, end, patterns, p, length):  # type: ignore[no-untyped-def]
    """Whether patterns[p, 1:length] is at codes[at + 1:], before `end`."""
    if at + length > end:
        return False
    for q in range(1, length):
        if codes[at + q] != patterns[p, q]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def style_counts(codes, bounds, patterns, lengths, at_line_start, first_start, by_first, out):  # type: ignore[no-untyped-def]
    """out[t] = features.style_counts of text t, read from codes (original
    case) in one pass. patterns[p, :lengths[p]] is a substring counted
    without overlaps, in "\\n" + text when at_line_start[p];
    by_first[first_start[b]:first_start[b + 1]] are the patterns that start
    with code point b (b < 128), or with one from 128 on (b = 128)."""
    n_patterns = lengths.shape[0]
    next_free = np.empty(n_patterns, dtype=np.int64)  # where a pattern may match again
    for t in range(bounds.shape[0] - 1):
        lo, end = bounds[t] + 2, bounds[t + 1] - 1
        next_free[:] = lo
        # Line patterns at the "\n" before the text: all start with "\n".
        for p in range(n_patterns):
            if at_line_start[p] and rest_matches(codes, lo - 1, end, patterns, p, lengths[p]):
                out[t, p] += 1
                next_free[p] = lo - 1 + lengths[p]
        extra = 0
        first = -1
        for at in range(lo, end):
            c = codes[at]
            b = min(c, 128)
            for i in range(first_start[b], first_start[b + 1]):
                p = by_first[i]
                if (at >= next_free[p] and (b < 128 or c == patterns[p, 0])
                        and rest_matches(codes, at, end, patterns, p, lengths[p])):
                    out[t, p] += 1
                    next_free[p] = at + lengths[p]
            if c >= 0x80:
                extra += 1 + (c >= 0x800) + (c >= 0x10000)
            elif c == 10 and first < 0:
                first = at - lo
        out[t, n_patterns] = end - lo
        out[t, n_patterns + 1] = extra
        out[t, n_patterns + 2] = first
