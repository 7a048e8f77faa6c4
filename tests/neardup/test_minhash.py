"""MinHash signatures equal datasketch's for the same permutations."""
from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from tos_lint.neardup.minhash import MinHasher, jaccard_estimate, permutations
from tos_lint.neardup.shingles import ShingleSpec, shingle_hash_reference, shingle_hashes, shingle_strings


def _datasketch(values: list[int], num_perm: int, seed: int, scheme: str) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, scheme=scheme, hashfunc=int)
    m.update_batch(values)
    return m.hashvalues


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("num_perm, seed", [(128, 1), (64, 7)])
def test_permutations_are_datasketchs(scheme: str, num_perm: int, seed: int) -> None:
    a, b = permutations(num_perm, seed, scheme)
    ours = np.array([a, b])
    theirs = np.asarray(MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations, dtype=np.uint64)
    assert np.array_equal(ours.astype(np.uint64), theirs)


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("use_jit", [True, False])
def test_signatures_equal_datasketch(scheme: str, use_jit: bool, words) -> None:  # type: ignore[no-untyped-def]
    hasher = MinHasher(128, 1, scheme, use_jit=use_jit)
    text = words.text(300)
    hashes = shingle_hashes(text, ShingleSpec("word", 3))
    assert np.array_equal(hasher.sign(hashes), _datasketch(hashes.tolist(), 128, 1, scheme))


def test_datasketch_fed_shingle_strings_agrees(words) -> None:  # type: ignore[no-untyped-def]
    """datasketch given the shingles themselves, with our hash definition as
    its hashfunc, gives our signature: the whole pipeline is compatible."""
    spec = ShingleSpec("char", 5)
    text = words.text(60)
    m = MinHash(num_perm=128, hashfunc=lambda s: shingle_hash_reference(s.decode()))
    m.update_batch([s.encode() for s in shingle_strings(text, spec)])
    assert np.array_equal(MinHasher().sign(shingle_hashes(text, spec)), m.hashvalues)


@pytest.mark.parametrize("use_jit", [True, False])
def test_sign_many_equals_sign_one_by_one(use_jit: bool) -> None:
    rng = np.random.default_rng(3)
    sets = [rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32) for n in (0, 1, 5, 3000, 0, 700, 64)]
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in sets])))
    hasher = MinHasher(use_jit=use_jit)
    many = hasher.sign_many(np.concatenate(sets), offsets)
    for row, values in zip(many, sets):
        assert np.array_equal(row, _datasketch(values.tolist(), 128, 1, "affine32"))
    assert (many[0] == 0xFFFFFFFF).all()  # an empty set, as datasketch initialises it


def test_estimate_tracks_jaccard() -> None:
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2**32, 2000, dtype=np.uint64).astype(np.uint32)
    other = np.concatenate((base[:1000], rng.integers(0, 2**32, 1000, dtype=np.uint64).astype(np.uint32)))
    hasher = MinHasher()
    estimate = jaccard_estimate(hasher.sign(base), hasher.sign(other))
    assert abs(estimate - 1000 / 3000) < 0.12
