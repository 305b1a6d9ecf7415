"""The exact inverse CDF (adaptive_sampling.cdf): the blocked two-level search equals the full prefix sum, and equals
the plain float64 cumsum + searchsorted of the float32 probabilities whenever that one is exact."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
from adaptive_sampling.cdf import BLOCK, ExactCdf

CPU = torch.device("cpu")


def random_probs(num: int, seed: int, tiny: bool) -> torch.Tensor:
    """Probabilities with zero runs, and (with ``tiny``) a tail of values far below float32's resolution near 1."""
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(num, generator=g, dtype=torch.float64) ** 4
    p[torch.rand(num, generator=g) < 0.2] = 0.0
    p[0] += 0.01  # never all zero
    if tiny:
        p[num // 2 :] *= 1e-9
    return (p / p.sum()).float()


def both(probs: torch.Tensor) -> tuple[ExactCdf, ExactCdf]:
    full, blocked = ExactCdf(probs.numel(), CPU, blocked=False), ExactCdf(probs.numel(), CPU, blocked=True)
    full.build(probs)
    blocked.build(probs)
    return full, blocked


@settings(deadline=None, max_examples=40)
@given(num=st.integers(1, 300), seed=st.integers(0, 2**31), tiny=st.booleans())
def test_blocked_search_equals_full_prefix_sum(num, seed, tiny):
    """Blocked and full layouts give the same total, the same CDF at every slot and the same search result for any
    value, including 0, block ends, the total and values past it (both then point past the last slot)."""
    probs = random_probs(num, seed, tiny)
    full, blocked = both(probs)
    assert torch.equal(full.total, blocked.total)
    slots = torch.arange(num)
    assert torch.equal(full.at(slots), blocked.at(slots))
    g = torch.Generator().manual_seed(seed + 1)
    values = torch.cat(
        (
            torch.rand(2000, generator=g, dtype=torch.float64) * full.total,
            full.cdf,  # exactly on every boundary
            torch.zeros(1, dtype=torch.float64),
            full.total.reshape(1) * 1.5,
        )
    )
    expected = torch.searchsorted(torch.cumsum(full.grid, 0), values, right=True)
    assert torch.equal(full.search(values), expected)
    assert torch.equal(blocked.search(values).clamp_max(num), expected)


def test_search_equals_the_float64_cumsum_of_float32_probabilities():
    """With every probability >= 2^-29 (or 0) the grid is the float32 values themselves and the prefix sum is the
    earlier inverse CDF's ``cumsum(probs, dtype=float64)`` bit for bit, so the draws are the same."""
    probs = random_probs(100_000, 0, tiny=False)
    probs[(probs > 0) & (probs < 2.0**-29)] = 2.0**-29
    full, blocked = both(probs)
    old = torch.cumsum(probs, 0, dtype=torch.float64)
    assert torch.equal(full.cdf, old)
    v = torch.rand(50_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * old[-1]
    assert torch.equal(blocked.search(v), torch.searchsorted(old, v, right=True))


def test_grid_rounds_tiny_probabilities_to_a_multiple_of_2_pow_minus_52():
    """The grid holds each probability rounded to a multiple of 2^-52 (at most 2^-53 away), so partial sums are
    exact: the total is the exact sum of the grid values, whatever the order."""
    probs = torch.tensor([0.5, 3e-17, 1e-10, 0.25, 0.25 - 1e-10], dtype=torch.float32)
    cdf = ExactCdf(probs.numel(), CPU)
    cdf.build(probs)
    grid = cdf.grid[: probs.numel()]
    assert bool(((grid * 2.0**52) == torch.round(grid * 2.0**52)).all())
    assert float((grid - probs.double()).abs().max()) <= 2.0**-53
    assert float(cdf.total) == float(grid.flip(0).sum())


@pytest.mark.parametrize("statistic", ["count", "rate"])
def test_large_library_draws_equal_the_full_cdf(statistic):
    """A library past FULL_CDF_MAX_SLOTS samples through the blocked search: its draws (unconditional and per
    motion) equal those of the same sampler searching the full prefix sum."""
    frames = [50 * (40 + (7 * i) % 130) + 17 for i in range(400)]  # about 35,000 bins
    cfg = AdaptiveSamplerCfg(statistic=statistic, seed=3, rebuild_every=2, uniform_ratio=0.05)
    samplers = [AdaptiveSampler(cfg, frames, 50.0) for _ in range(2)]
    assert samplers[0]._cdf.blocked
    samplers[1]._use_cdf(ExactCdf(samplers[1]._slots.num_slots, CPU, blocked=False))
    assert not samplers[1]._cdf.blocked
    g = torch.Generator().manual_seed(0)
    motion_ids = torch.randint(0, len(frames), (4096,), generator=g)
    starts = (torch.rand(4096, generator=g) * torch.tensor(frames)[motion_ids]).long()
    failed = torch.rand(4096, generator=g) < 0.3
    for s in samplers:
        s.record(motion_ids, starts, starts, failed)
        s.rebuild()
    draws = [s.sample(20_000) for s in samplers]
    assert torch.equal(draws[0][0], draws[1][0]) and torch.equal(draws[0][1], draws[1][1])
    cond = [s.sample(motion_ids=motion_ids) for s in samplers]
    assert torch.equal(cond[0][1], cond[1][1])
    assert torch.equal(cond[0][0], motion_ids)


@pytest.mark.parametrize("frames", [[300], [120, 90, 200, 57]])
@pytest.mark.parametrize("bin_layout", ["duration", "beyondmimic"])
def test_frame_table_equals_the_general_frame_to_slot_map(frames, bin_layout):
    """Small libraries map frames to slots through a lookup table (one motion: without offsets); the recorded state
    equals that of the general arithmetic map, bit for bit."""
    cfg = AdaptiveSamplerCfg(bin_layout=bin_layout, seed=0, rebuild_every=3)
    samplers = [AdaptiveSampler(cfg, frames, 50.0) for _ in range(2)]
    assert samplers[0]._frame_slot is not None
    samplers[1]._frame_slot = None
    g = torch.Generator().manual_seed(5)
    num_frames = torch.tensor(frames)
    for _ in range(7):
        ids = torch.randint(0, len(frames), (64,), generator=g)
        start = (torch.rand(64, generator=g) * num_frames[ids]).long()
        end = start + (torch.rand(64, generator=g) * (num_frames[ids] - start)).long()
        failed = torch.rand(64, generator=g) < 0.4
        for s in samplers:
            s.record(ids, start, end, failed)
            s.step()
    states = [s.state_dict() for s in samplers]
    for key, value in states[0].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, states[1][key]), key
    assert BLOCK == 16
