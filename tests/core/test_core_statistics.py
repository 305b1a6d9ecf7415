"""Statistical tests of sampling: frequencies match probabilities, also for a tiny-mass tail of a 1M+-bin table."""

from __future__ import annotations

import math

import pytest
import torch
from _core_reference import chi_square_pvalue

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg


def test_sampled_frames_match_probabilities_chi_square():
    """On a small library with a learned, non-uniform distribution, the frequency of every (motion, frame) matches
    p_bin / frames_in_bin (chi-square, fixed seed): bins are drawn by p and frames uniformly inside the bin."""
    cfg = AdaptiveSamplerCfg(rebuild_every=1, ema_alpha=0.0, kernel_size=3, rate_prior=0.1, seed=1234)
    s = AdaptiveSampler(cfg, [120, 90, 61], [50.0, 30.0, 24.0])
    s.record(
        torch.tensor([0, 0, 0, 1, 2, 2]),
        torch.tensor([0, 0, 100, 0, 0, 30]),
        torch.tensor([110, 115, 119, 89, 60, 60]),
        torch.tensor([1.0, 1.0, 1.0, 0.0, 1.0, 0.5]),
    )
    s.step()
    p = s.probabilities.double()
    assert float(p.max() / p.min()) > 3, "the distribution should be far from uniform"
    n = 300_000
    ids, frames = s.sample(n)
    lay = s.layout
    counts = torch.bincount(lay.frame_offsets[ids] + frames, minlength=int(lay.frame_offsets[-1]))
    expected = (p / lay.bin_num_frames.double()).repeat_interleave(lay.bin_num_frames) * n
    assert counts.numel() == expected.numel() == 271
    assert chi_square_pvalue(counts, expected) > 1e-4
    # the same draws, but tested against a slightly wrong distribution, must be rejected (the test has power)
    wrong = expected.clone()
    wrong[:50] *= 1.1
    wrong *= n / wrong.sum()
    assert chi_square_pvalue(counts, wrong) < 1e-6


def test_bin_frequencies_match_on_a_large_table():
    """Bin frequencies on a 5000-bin table with a varied distribution match p (chi-square over bins)."""
    cfg = AdaptiveSamplerCfg(
        rebuild_every=1, ema_alpha=0.0, kernel_size=5, uniform_ratio=0.05, seed=99, bin_duration_s=0.1
    )
    frames = [1000 + 37 * i for i in range(10)]
    s = AdaptiveSampler(cfg, frames, [100.0] * 10)  # 10 frames per bin
    g = torch.Generator().manual_seed(0)
    n_events = 3000
    ids = torch.randint(0, 10, (n_events,), generator=g)
    ends = (torch.rand(n_events, generator=g) ** 3 * s.layout.num_frames[ids]).long()
    s.record(ids, torch.zeros_like(ends), ends, (torch.rand(n_events, generator=g) < 0.6).float())
    s.step()
    n = 1_000_000
    mids, starts = s.sample(n)
    bins = s.layout.bins_of(mids, starts)
    counts = torch.bincount(bins, minlength=s.num_bins)
    assert chi_square_pvalue(counts, s.probabilities.double() * n) > 1e-4


@pytest.mark.slow
def test_tiny_mass_tail_of_million_bin_table():
    """A 1.1M-bin table whose last 100k bins hold 0.03% of the mass: 2M draws put 600 +- 24.5 (1 sd) there; the
    draw lands within 4 sd, also split over the tail's two halves (a float32 CDF or torch.multinomial gets 0)."""
    cfg = AdaptiveSamplerCfg.uniform(prior="weights", seed=2024, bin_duration_s=1.0)
    tail_mass = 0.0003
    s = AdaptiveSampler(
        cfg, [1_000_000, 100_000], [1.0, 1.0], ["body", "tail"], motion_weights=[1.0 - tail_mass, tail_mass]
    )
    assert s.num_bins == 1_100_000
    p = s.probabilities.double()
    assert float(p[1_000_000:].sum()) == pytest.approx(tail_mass, rel=1e-4)
    n = 2_000_000
    tail_hits = torch.zeros(2, dtype=torch.int64)
    body_hits = 0
    for _ in range(2):  # two batches of 1M draws
        ids, frames = s.sample(n // 2)
        in_tail = ids == 1
        tail_hits += torch.bincount((frames[in_tail] >= 50_000).long(), minlength=2)
        body_hits += int((~in_tail).sum())
        assert bool((frames[in_tail] < 100_000).all()) and bool((frames[~in_tail] < 1_000_000).all())
    expected = n * tail_mass
    sd = math.sqrt(n * tail_mass * (1 - tail_mass))
    assert abs(int(tail_hits.sum()) - expected) < 4 * sd, tail_hits
    for half in tail_hits.tolist():
        assert abs(half - expected / 2) < 4 * math.sqrt(expected / 2)
    assert body_hits + int(tail_hits.sum()) == n


@pytest.mark.slow
def test_small_mass_motion_on_adaptive_million_bin_table():
    """On a 1.05M-bin adaptive table (rate statistic, duration prior, failures only in motion 0), the frequency of
    the small-mass motion 1 matches its probability within 4 sd."""
    cfg = AdaptiveSamplerCfg(
        rebuild_every=1, ema_alpha=0.0, kernel_size=3, uniform_ratio=0.001, rate_prior=0.01, prior="duration", seed=5
    )
    frames = [1_000_000, 50_000]
    s = AdaptiveSampler(cfg, frames, [1.0, 1.0])
    # many failures everywhere in motion 0, only clean visits in motion 1: motion 1's rate goes to ~0
    g = torch.Generator().manual_seed(1)
    ends0 = torch.randint(0, 1_000_000, (200_000,), generator=g)
    ends1 = torch.randint(0, 50_000, (200_000,), generator=g)
    s.record(torch.zeros(200_000, dtype=torch.int64), ends0, ends0, torch.ones(200_000))
    s.record(torch.ones(200_000, dtype=torch.int64), ends1, ends1, torch.zeros(200_000))
    s.step()
    mass1 = float(s.layout.segment_sum(s.probabilities.double())[1])
    assert 1e-5 < mass1 < 1e-2
    n = 2_000_000
    ids, _ = s.sample(n)
    hits = int((ids == 1).sum())
    sd = math.sqrt(n * mass1 * (1 - mass1))
    assert abs(hits - n * mass1) < 4 * sd + 1, (hits, n * mass1)
