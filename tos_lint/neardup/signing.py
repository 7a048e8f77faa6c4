"""Which shingles a signature is made of: all but the reference corpus's
most frequent ones.

Answers share stock phrases ("it is important to", "here are some"). Under
MinHash, a shingle that many references contain is often the minimum of a
permutation, so unrelated texts that both contain it agree on that
signature value, and with two rows per LSH band they become candidates
whose verification costs time and finds nothing. Shingles found in a
sizeable share of the references carry no evidence of copying, so
signatures leave them out (references and queries alike); exact
verification still compares the full shingle sets.

A text made mostly of frequent shingles keeps all of them, so that it still
has a signature; the rule depends only on the text and the list, so a
reference and its copy decide alike.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

from tos_lint.neardup.arrays import member

# A shingle is frequent when at least this share of the references contain
# it, and at least MIN_DF of them.
FREQUENT_SHARE = 0.0005
MIN_DF = 3
# Keep a filtered set only if it has this many shingles, and this share of the full set.
MIN_KEPT = 5
MIN_KEPT_SHARE = 0.25


def frequent_shingles(shingles: np.ndarray, count: int) -> np.ndarray:
    """The sorted shingle hashes found in at least max(MIN_DF,
    FREQUENT_SHARE x count) of `count` references (each reference's
    shingles being distinct)."""
    if len(shingles) == 0:
        return np.zeros(0, dtype=np.uint32)
    threshold = max(MIN_DF, math.ceil(FREQUENT_SHARE * count))
    s = np.sort(shingles)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    df = np.diff(np.append(starts, len(s)))
    return s[starts[df >= threshold]].astype(np.uint32)


def digest(frequent: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frequent, dtype="<u4").tobytes()).hexdigest()[:16]


def keep_mask(values: np.ndarray, offsets: np.ndarray, frequent: np.ndarray) -> np.ndarray:
    """Which of `values` (sets back to back, set i at offsets[i]:offsets[i+1])
    to sign: the non-frequent ones, or all of a set that would keep too few."""
    owner = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    rare = ~member(values, frequent)
    return rare | _use_all(rare, owner, offsets)[owner]


def use_all(unique_rare: np.ndarray, unique_offsets: np.ndarray) -> np.ndarray:
    """Per set, whether it is signed whole, from its rare flags."""
    owner = np.repeat(np.arange(len(unique_offsets) - 1), np.diff(unique_offsets))
    return _use_all(unique_rare, owner, unique_offsets)


def _use_all(rare: np.ndarray, owner: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    full = np.diff(offsets)
    kept = np.bincount(owner[rare], minlength=len(full)) if len(owner) else np.zeros(len(full), np.int64)
    return kept < np.maximum(MIN_KEPT, MIN_KEPT_SHARE * full)
