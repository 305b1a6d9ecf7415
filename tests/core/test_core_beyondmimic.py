"""The ``beyondmimic`` preset against an independent implementation of BeyondMimic's formulas (single motion)."""

from __future__ import annotations

import pytest
import torch
from _core_reference import beyondmimic_reference_probs

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg


@pytest.mark.parametrize(
    ("num_frames", "kernel_size", "alpha"),
    [(537, 1, 0.001), (537, 3, 0.001), (1200, 3, 0.02), (101, 1, 0.001), (49, 3, 0.001)],
)
def test_beyondmimic_preset_matches_reference(num_frames, kernel_size, alpha):
    """For one 50 fps motion, with a random sequence of steps (0-30 terminations each, some time-outs, several in
    the same bin), the preset's probabilities after every step equal BeyondMimic's: B = int(T // 50) + 1, failure
    bin (t * B) // T, q <- alpha c + (1 - alpha) q with c the per-step bincount (added up), p~ = q + 0.1 / B,
    replicate pad K - 1, conv1d with lambda^u / sum, normalise; the reference is exact float64, the preset's
    float32 probabilities agree to 1e-7 absolute (measured: 8.5e-8)."""
    cfg = AdaptiveSamplerCfg.beyondmimic(kernel_size=kernel_size, ema_alpha=alpha, seed=0)
    sampler = AdaptiveSampler(cfg, [num_frames], [50.0])
    num_bins = int(num_frames // 50) + 1
    assert sampler.num_bins == num_bins
    q = torch.zeros(num_bins, dtype=torch.float64)
    g = torch.Generator().manual_seed(num_frames + kernel_size)
    initial = beyondmimic_reference_probs(q, 0.1, kernel_size, 0.8)
    torch.testing.assert_close(sampler.probabilities.double(), initial, rtol=0, atol=1e-7)
    for _ in range(300):
        n = int(torch.randint(0, 31, (1,), generator=g))
        t = torch.randint(0, num_frames, (n,), generator=g)  # frame where the episode ended
        # concentrate some failures in a hard segment so the distribution is far from uniform
        hard = torch.rand(n, generator=g) < 0.5
        t = torch.where(hard, torch.randint(0, max(1, num_frames // 5), (n,), generator=g) + num_frames // 2, t)
        t = t.clamp_max(num_frames - 1)
        start = (torch.rand(n, generator=g) * (t + 1).double()).long()
        terminated = torch.rand(n, generator=g) < 0.8  # the others timed out: no failure
        sampler.record(torch.zeros(n, dtype=torch.int64), start, t, terminated)
        c = torch.bincount((t[terminated] * num_bins) // num_frames, minlength=num_bins).double()
        q = alpha * c + (1 - alpha) * q
        sampler.step()
        expected = beyondmimic_reference_probs(q, 0.1, kernel_size, 0.8)
        torch.testing.assert_close(sampler.probabilities.double(), expected, rtol=0, atol=1e-7)
    # the run must have left uniform, or the comparison proves little
    assert float(expected.max()) > 1.5 / num_bins or num_bins == 1


def test_beyondmimic_preset_adds_duplicate_failures_up():
    """Two terminations in the same bin in one step count twice, as BeyondMimic's ``bincount`` counts them: the
    preset's q for that bin is 2 alpha, not alpha."""
    cfg = AdaptiveSamplerCfg.beyondmimic(seed=0)
    sampler = AdaptiveSampler(cfg, [500], [50.0])  # 11 bins
    ends = torch.tensor([120, 125])
    sampler.record(torch.zeros(2, dtype=torch.int64), ends, ends, torch.tensor([True, True]))
    sampler.step()
    q = torch.zeros(11, dtype=torch.float64)
    q[(120 * 11) // 500] = 2 * 0.001
    torch.testing.assert_close(
        sampler.probabilities.double(), beyondmimic_reference_probs(q, 0.1, 1, 0.8), rtol=0, atol=1e-7
    )
