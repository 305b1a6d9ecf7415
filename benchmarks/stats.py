"""Statistics shared by the benchmarks and their tests: exactness of sampling, and comparisons over seeds.

- :func:`chi_square` (with :func:`pool_groups`): Pearson's goodness-of-fit test of drawn bin counts against the
  probabilities they were drawn from, tiny bins pooled so every expected count is large enough.
- :func:`permutation_test`: two-sided p-value of a difference in means (exact when the splits are few).
- :func:`bootstrap_ci`: percentile 95% confidence interval of a mean, a difference or a ratio of means.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch


def pool_groups(expected: torch.Tensor, min_expected: float = 5.0) -> torch.Tensor:
    """Group consecutive bins so that every group's expected count is >= ``min_expected``.

    Greedy left to right; a short last group joins the one before. Shape: (B,) -> (B,) group ids.
    """
    exp = expected.tolist()
    groups = [0] * len(exp)
    g, acc = 0, 0.0
    for i, e in enumerate(exp):
        groups[i] = g
        acc += e
        if acc >= min_expected:
            g += 1
            acc = 0.0
    out = torch.tensor(groups, dtype=torch.int64)
    if acc < min_expected and g > 0:  # last group short (or empty): merge with the previous one
        out[out == g] = g - 1
    return out


def chi_square(counts: torch.Tensor, probs: torch.Tensor, min_expected: float = 5.0) -> dict[str, float]:
    """Chi-square goodness of fit of bin counts against probabilities, tiny bins pooled. Shape: (B,), (B,).

    The p-value is ``Q(dof / 2, X^2 / 2)`` (regularised upper incomplete gamma), ``dof = groups - 1``.
    """
    counts = counts.double().cpu()
    probs = probs.double().cpu()
    probs = probs / probs.sum()
    total = float(counts.sum())
    expected = probs * total
    groups = pool_groups(expected, min_expected)
    num_groups = int(groups.max()) + 1
    obs_g = torch.zeros(num_groups, dtype=torch.float64).index_add_(0, groups, counts)
    exp_g = torch.zeros(num_groups, dtype=torch.float64).index_add_(0, groups, expected)
    stat = float(((obs_g - exp_g) ** 2 / exp_g).sum())
    dof = num_groups - 1
    p_value = float(
        torch.special.gammaincc(
            torch.tensor(dof / 2.0, dtype=torch.float64), torch.tensor(stat / 2.0, dtype=torch.float64)
        )
    )
    return {
        "statistic": stat,
        "dof": dof,
        "groups": num_groups,
        "min_expected": float(exp_g.min()),
        "p_value": p_value,
        "samples": int(total),
    }


def permutation_test(a: list[float], b: list[float], rounds: int = 20000, seed: int = 0) -> float:
    """Two-sided p-value of ``mean(a) - mean(b)`` under exchangeability (exact when there are few splits).

    With at most ``rounds`` ways to split the pooled values every split is enumerated; otherwise ``rounds`` random
    permutations, with the ``(count + 1) / (rounds + 1)`` estimate.
    """
    a_arr, b_arr = np.asarray(a, float), np.asarray(b, float)
    pooled = np.concatenate([a_arr, b_arr])
    observed = abs(a_arr.mean() - b_arr.mean())
    n = len(a_arr)
    if math.comb(len(pooled), n) <= rounds:
        diffs = []
        idx = np.arange(len(pooled))
        for combo in itertools.combinations(idx, n):
            mask = np.zeros(len(pooled), bool)
            mask[list(combo)] = True
            diffs.append(abs(pooled[mask].mean() - pooled[~mask].mean()))
        diffs = np.asarray(diffs)
        return float((diffs >= observed - 1e-12).mean())
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(rounds):
        perm = rng.permutation(pooled)
        count += abs(perm[:n].mean() - perm[n:].mean()) >= observed - 1e-12
    return float((count + 1) / (rounds + 1))


def bootstrap_ci(
    a: list[float], b: list[float] | None = None, stat: str = "diff", rounds: int = 10000, seed: int = 0
) -> list[float]:
    """Percentile 95% CI of ``mean(a)`` (``b`` None), ``mean(a) - mean(b)`` ("diff") or ``mean(a) / mean(b)``
    ("ratio"); ``a`` and ``b`` are resampled independently."""
    if stat not in ("diff", "ratio"):
        raise ValueError(f"stat must be 'diff' or 'ratio', got {stat!r}")
    rng = np.random.default_rng(seed)
    a_arr = np.asarray(a, float)
    ra = a_arr[rng.integers(0, len(a_arr), (rounds, len(a_arr)))].mean(1)
    if b is None:
        values = ra
    else:
        b_arr = np.asarray(b, float)
        rb = b_arr[rng.integers(0, len(b_arr), (rounds, len(b_arr)))].mean(1)
        values = ra - rb if stat == "diff" else ra / np.maximum(rb, 1e-12)
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [float(lo), float(hi)]


def paired_permutation_test(a: list[float], b: list[float], rounds: int = 20000, seed: int = 0) -> float:
    """Two-sided p-value of the mean paired difference ``mean(a - b)`` (sign-flip test; ``a[i]``, ``b[i]`` paired).

    Under the null each difference is as likely negated: every one of the ``2^n`` sign patterns is enumerated when
    there are at most ``rounds`` of them, else ``rounds`` random ones with the ``(count + 1) / (rounds + 1)``
    estimate.
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    if d.size == 0:
        raise ValueError("a and b must hold at least one pair")
    if d.shape != (len(a),) or len(a) != len(b):
        raise ValueError(f"a and b must have the same length, got {len(a)} and {len(b)}")
    observed = abs(d.mean())
    n = d.size
    if 2**n <= rounds:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1)
        return float((np.abs((signs * d).mean(1)) >= observed - 1e-12).mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(rounds, n))
    count = int((np.abs((signs * d).mean(1)) >= observed - 1e-12).sum())
    return float((count + 1) / (rounds + 1))


def paired_bootstrap_ci(
    a: list[float], b: list[float], stat: str = "diff", rounds: int = 10000, seed: int = 0
) -> list[float]:
    """Percentile 95% CI of ``mean(a) - mean(b)`` ("diff") or ``mean(a) / mean(b)`` ("ratio"), resampling the pairs
    ``(a[i], b[i])`` together."""
    if stat not in ("diff", "ratio"):
        raise ValueError(f"stat must be 'diff' or 'ratio', got {stat!r}")
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"a and b must have the same, non-zero length, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    a_arr, b_arr = np.asarray(a, float), np.asarray(b, float)
    idx = rng.integers(0, len(a_arr), (rounds, len(a_arr)))
    ra, rb = a_arr[idx].mean(1), b_arr[idx].mean(1)
    values = ra - rb if stat == "diff" else ra / np.maximum(rb, 1e-12)
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [float(lo), float(hi)]
