"""Tests of the benchmarks' statistics (benchmarks/stats.py): chi-square with pooling, permutation test, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from benchmarks.stats import (
    bootstrap_ci,
    chi_square,
    paired_bootstrap_ci,
    paired_permutation_test,
    permutation_test,
    pool_groups,
)


def test_chi_square_detects_bias():
    """An exact draw passes the pooled chi-square test; a draw that drops a 1% tail fails it."""
    gen = torch.Generator().manual_seed(3)
    probs = torch.rand(2000, generator=gen) ** 4
    probs /= probs.sum()
    draws = torch.multinomial(probs.double(), 200_000, replacement=True, generator=gen)
    exact = chi_square(torch.bincount(draws, minlength=2000), probs)
    assert exact["p_value"] > 1e-3
    assert exact["min_expected"] >= 5.0
    biased = probs.clone()
    tail = biased.cumsum(0) > 0.99
    biased[tail] = 0.0
    draws = torch.multinomial(biased.double(), 200_000, replacement=True, generator=gen)
    assert chi_square(torch.bincount(draws, minlength=2000), probs)["p_value"] < 1e-6


def test_pool_groups_reach_min_expected():
    """Pooling keeps bins in order and gives every group an expected count of at least the minimum."""
    expected = torch.tensor([0.5, 7.0, 1.0, 1.0, 1.0, 1.0, 0.5, 20.0, 0.1, 0.1])
    groups = pool_groups(expected, 5.0)
    assert bool((groups[1:] >= groups[:-1]).all())
    sums = torch.zeros(int(groups.max()) + 1, dtype=torch.float64).index_add_(0, groups, expected.double())
    assert bool((sums >= 5.0).all())
    assert groups.tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]  # the short last group joins the one before


def test_permutation_test_exact_hand_computed():
    """Two groups of two: of the 6 splits of {0, 1, 2, 3}, the observed |diff| = 2 is reached by 2 (p = 1/3)."""
    assert permutation_test([0.0, 1.0], [2.0, 3.0]) == pytest.approx(1 / 3)
    assert permutation_test([1.0, 1.0], [1.0, 1.0]) == 1.0


def test_permutation_test_is_symmetric_and_detects_a_shift():
    """Swapping the groups leaves the exact two-sided p-value unchanged; a large shift over 8 vs 8 values gives
    p < 0.01 and identical groups p = 1 (Monte Carlo branch: more splits than rounds)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 8).tolist(), rng.normal(3, 1, 8).tolist()
    assert permutation_test(a[:4], b[:4]) == permutation_test(b[:4], a[:4])
    assert permutation_test(a, b, rounds=2000) < 0.01
    assert permutation_test(a, a, rounds=2000) == 1.0


def test_bootstrap_ci_covers_the_mean_and_orders_bounds():
    """The CI of a mean lies within the data's range and contains the sample mean; diff and ratio CIs of a shifted
    copy contain the shift and the ratio."""
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    lo, hi = bootstrap_ci(a)
    assert 1.0 <= lo <= np.mean(a) <= hi <= 8.0
    lo, hi = bootstrap_ci([x + 10 for x in a], a)
    assert lo <= 10.0 <= hi
    lo, hi = bootstrap_ci([2 * x for x in a], a, stat="ratio")
    assert lo <= 2.0 <= hi and not math.isnan(lo)
    with pytest.raises(ValueError, match="stat must be"):
        bootstrap_ci(a, a, stat="median")


def test_chi_square_of_exact_counts_is_one():
    """Counts equal to their expectations give a statistic of 0 and p = 1."""
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    result = chi_square(probs * 1000, probs)
    assert result["statistic"] == pytest.approx(0.0, abs=1e-9)
    assert result["p_value"] == pytest.approx(1.0)


def test_paired_permutation_test_hand_computed():
    """Differences (1, 1, 1): of the 8 sign patterns only the all-plus and all-minus reach |mean| = 1 (p = 1/4);
    differences that cancel give p = 1."""
    assert paired_permutation_test([2.0, 3.0, 4.0], [1.0, 2.0, 3.0]) == pytest.approx(0.25)
    assert paired_permutation_test([1.0, 0.0], [0.0, 1.0]) == 1.0
    with pytest.raises(ValueError, match="same length"):
        paired_permutation_test([1.0, 2.0], [1.0])


def test_paired_tests_use_the_pairing():
    """A small shift shared by every pair is significant paired (p = 2/256 over 8 pairs) although the seeds' own
    spread hides it from the unpaired test."""
    base = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]
    shifted = [x + 1.0 for x in base]
    assert paired_permutation_test(shifted, base) == pytest.approx(2 / 256)
    assert permutation_test(shifted, base, rounds=2000) > 0.5
    lo, hi = paired_bootstrap_ci(shifted, base)
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    lo, hi = paired_bootstrap_ci([2 * x + 2 for x in base], [x + 1 for x in base], stat="ratio")
    assert lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
