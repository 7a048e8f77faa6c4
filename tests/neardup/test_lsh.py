"""LSH banding: chosen from a threshold and a miss budget; sorted tables."""
from __future__ import annotations

import numpy as np
import pytest

from tos_lint.neardup.lsh import Banding, BandTable, band_keys, choose_banding, prefix_bits


@pytest.mark.parametrize("threshold, budget", [(0.4, 0.1), (0.5, 0.05), (0.8, 0.01), (0.3, 0.2)])
def test_banding_meets_the_miss_budget_within_the_band_cap(threshold: float, budget: float) -> None:
    banding = choose_banding(threshold, budget, 128, 16)
    assert banding.bands <= 16 and banding.bands * banding.rows <= 128
    assert 1 - banding.candidate_probability(threshold) <= budget
    # ... and is the most selective that does: one more row per band would not reach it.
    more = Banding(16, banding.rows + 1)
    assert 1 - more.candidate_probability(threshold) > budget or 16 * (banding.rows + 1) > 128


def test_impossible_banding_is_refused() -> None:
    with pytest.raises(ValueError, match="raise the threshold"):
        choose_banding(0.05, 0.01, 128, 16)


def _table(n: int, bands: int = 14, seed: int = 0) -> tuple[np.ndarray, BandTable]:
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32, (n, 128), dtype=np.uint64).astype(np.uint32)
    keys = band_keys(sigs, Banding(bands, 2))
    return sigs, BandTable.build(keys)


def test_every_reference_finds_itself_and_nothing_else() -> None:
    sigs, table = _table(5000)
    q, rows = table.query(band_keys(sigs, Banding(14, 2)))
    assert np.array_equal(q, np.arange(5000)) and np.array_equal(rows, np.arange(5000))


def test_one_equal_band_makes_a_candidate() -> None:
    sigs, table = _table(100)
    query = np.random.default_rng(9).integers(0, 2**32, (1, 128), dtype=np.uint64).astype(np.uint32)
    query[0, 10:12] = sigs[42, 10:12]  # band 5 (rows 10, 11) equal
    q, rows = table.query(band_keys(query, Banding(14, 2)))
    assert rows.tolist() == [42]


def test_table_round_trips_its_keys() -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 2**32, (777, 9), dtype=np.uint64).astype(np.uint32)
    assert np.array_equal(BandTable.build(keys).keys_by_ref(), keys)


def test_empty_table_and_empty_query() -> None:
    table = BandTable.build(np.zeros((0, 14), np.uint32))
    q, rows = table.query(np.zeros((3, 14), np.uint32))
    assert len(q) == len(rows) == 0
    assert prefix_bits(0) == 4 and prefix_bits(1_000_000) == 17
