"""The exact inverse CDF (adaptive_sampling.cdf): its branch-free search, in one level or two (block ends, then the
block), equals ``torch.searchsorted`` over the exact prefix sum of the grid values, and equals the plain float64
cumsum + searchsorted of the float32 probabilities whenever that one is exact."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
from adaptive_sampling.cdf import ExactCdf

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


def reference(probs: torch.Tensor) -> torch.Tensor:
    """The definition: the float64 prefix sum of ``(p + 1) - 1`` (each p on the 2^-52 grid)."""
    return torch.cumsum((probs.double() + 1.0) - 1.0, 0)


def check_against_searchsorted(probs: torch.Tensor, seed: int, block: int | None = None, rounds: bool = True) -> None:
    num = probs.numel()
    cdf = ExactCdf(num, CPU, block=block)
    cdf.rounds_min_values = 0 if rounds else None  # the branch-free rounds, or torch.searchsorted, for every search
    cdf.build(probs)
    ref = reference(probs)
    assert torch.equal(cdf.cdf.double() * 2.0**-52, ref)
    assert torch.equal(cdf.total, ref[-1])
    slots = torch.arange(probs.numel())
    assert torch.equal(cdf.at(slots), ref)
    g = torch.Generator().manual_seed(seed + 1)
    values = torch.cat(
        (
            torch.rand(2000, generator=g, dtype=torch.float64) * ref[-1],
            ref[:-1],  # exactly on every boundary below the total
            torch.nextafter(ref, torch.zeros_like(ref)),  # just below them
            torch.zeros(1, dtype=torch.float64),
        )
    )
    # a boundary followed by zero-mass slots may equal the total: then any index >= S (clamped here)
    assert torch.equal(cdf.search(values).long().clamp_max(num), torch.searchsorted(ref, values, right=True))
    past = cdf.search(torch.cat((ref[-1:], ref[-1:] * 1.5)))  # at and past the total: no slot, an index >= S
    assert bool(((past >= num) & (past <= cdf.max_result)).all())
    u = torch.rand(2002, generator=g, dtype=torch.float64)
    u[-2:] = torch.tensor([0.0, 1.0 - 2.0**-53], dtype=torch.float64)  # the extremes of torch.rand
    assert torch.equal(cdf.draw(u).long(), torch.searchsorted(ref, u * ref[-1], right=True))


@settings(deadline=None, max_examples=40)
@given(
    num=st.integers(1, 300),
    seed=st.integers(0, 2**31),
    tiny=st.booleans(),
    block=st.sampled_from([1, 2, 16]),
    rounds=st.booleans(),
)
def test_search_equals_searchsorted_over_the_exact_prefix_sum(num, seed, tiny, block, rounds):
    """The CDF is the exact prefix sum of the grid values, and a search (branch-free rounds in one level or two, or
    torch.searchsorted) gives ``searchsorted(cdf, v, right=True)`` for any value below the total: random ones, 0,
    every boundary and just below it; at or past the total it gives an index past the last slot."""
    check_against_searchsorted(random_probs(num, seed, tiny), seed, block, rounds)


@pytest.mark.parametrize("block", [None, 1, 16])
@pytest.mark.parametrize("num", [1, 2, 3, 7, 8, 9, 15, 16, 17, 1023, 1024, 1025, 32768, 65535, 65536, 65537])
def test_search_around_powers_of_two(num, block):
    """The search schedule (a first round to a power of two of candidates, then halvings; blocks past 2^15 slots by
    default) is exact at the sizes where it changes."""
    check_against_searchsorted(random_probs(num, num, tiny=num > 100), num, block)
    check_against_searchsorted(random_probs(num, num, tiny=num > 100), num, block, rounds=False)
    assert ExactCdf(num, CPU).block == (16 if num >= 2**15 else 1)


def test_search_equals_the_float64_cumsum_of_float32_probabilities():
    """With every probability >= 2^-29 (or 0) the grid is the float32 values themselves and the prefix sum is the
    earlier inverse CDF's ``cumsum(probs, dtype=float64)`` bit for bit, so the draws are the same."""
    probs = random_probs(100_000, 0, tiny=False)
    probs[(probs > 0) & (probs < 2.0**-29)] = 2.0**-29
    cdf = ExactCdf(probs.numel(), CPU)
    cdf.build(probs)
    old = torch.cumsum(probs, 0, dtype=torch.float64)
    assert torch.equal(cdf.cdf.double() * 2.0**-52, old)
    u = torch.rand(50_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(cdf.draw(u).long(), torch.searchsorted(old, u * old[-1], right=True))


def test_grid_rounds_tiny_probabilities_to_a_multiple_of_2_pow_minus_52():
    """The grid holds each probability rounded to a multiple of 2^-52 (at most 2^-53 away), so partial sums are
    exact: the total is the exact sum of the grid values, whatever the order."""
    probs = torch.tensor([0.5, 3e-17, 1e-10, 0.25, 0.25 - 1e-10], dtype=torch.float32)
    cdf = ExactCdf(probs.numel(), CPU)
    cdf.build(probs)
    grid = cdf.grid
    assert bool(((grid * 2.0**52) == torch.round(grid * 2.0**52)).all())
    assert float((grid - probs.double()).abs().max()) <= 2.0**-53
    assert float(cdf.total) == float(grid.flip(0).sum())
    assert torch.equal(grid, (probs.double() + 1.0) - 1.0)


@pytest.mark.parametrize("statistic", ["count", "rate"])
def test_sampler_draws_equal_searchsorted(statistic):
    """A sampler's draws (unconditional and per motion) equal those of ``torch.searchsorted`` over the exact prefix
    sum with the same uniforms: the slot, then a uniform frame inside its bin."""
    frames = [50 * (40 + (7 * i) % 130) + 17 for i in range(400)]  # about 35,000 bins
    cfg = AdaptiveSamplerCfg(statistic=statistic, seed=3, rebuild_every=2, uniform_ratio=0.05)
    s = AdaptiveSampler(cfg, frames, 50.0)
    g = torch.Generator().manual_seed(0)
    motion_ids = torch.randint(0, len(frames), (4096,), generator=g)
    starts = (torch.rand(4096, generator=g) * torch.tensor(frames)[motion_ids]).long()
    s.record(motion_ids, starts, starts, torch.rand(4096, generator=g) < 0.3)
    s.rebuild()
    ref = reference(s._probs)
    lay, slots = s.layout, s._slots
    start = s._to_slots(lay.bin_start_frame)
    width = s._to_slots(lay.bin_num_frames, fill=1)

    def expected(slot: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        slot = slot.clamp_max(s._last_real_slot)
        return slots.slot_motion[slot], start[slot] + torch.minimum((r * width[slot]).long(), width[slot] - 1)

    state = s.generator.get_state()
    u, r = torch.rand((2, 20_000), dtype=torch.float64, generator=torch.Generator().set_state(state))
    got = s.sample(20_000)
    want = expected(torch.searchsorted(ref, u * ref[-1], right=True), r)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert got[0].dtype == torch.int64 and got[1].dtype == torch.int64

    state = s.generator.get_state()
    u, r = torch.rand((2, 4096), dtype=torch.float64, generator=torch.Generator().set_state(state))
    first = slots.slot_offsets[motion_ids]
    last = first + lay.bins_per_motion[motion_ids] - 1
    low = torch.where(first > 0, ref[(first - 1).clamp_min(0)], 0.0)
    high = ref[last]
    slot = torch.searchsorted(ref, low + u * (high - low), right=True)
    want = expected(torch.minimum(torch.maximum(slot, first), last), r)
    got = s.sample(motion_ids=motion_ids)
    assert torch.equal(got[0], motion_ids) and torch.equal(got[1], want[1])


@pytest.mark.parametrize("frames", [[300], [120, 90, 200, 57]])
@pytest.mark.parametrize("bin_layout", ["duration", "beyondmimic"])
@pytest.mark.parametrize("attribution", ["failure", "start"])
@pytest.mark.parametrize("validate_args", [True, False])
def test_frame_table_equals_the_general_frame_to_slot_map(frames, bin_layout, attribution, validate_args):
    """Small libraries map frames to slots through lookup tables (one motion: without offsets); the recorded state
    equals that of the general arithmetic map, bit for bit, for int64 and int32 inputs, bool and soft failures, and
    (unchecked) out-of-range values, which both clamp the same way."""
    cfg = AdaptiveSamplerCfg(
        bin_layout=bin_layout, attribution=attribution, validate_args=validate_args, seed=0, rebuild_every=3
    )
    samplers = [AdaptiveSampler(cfg, frames, 50.0) for _ in range(2)]
    assert samplers[0]._frame_slot is not None
    samplers[1]._frame_slot = None
    g = torch.Generator().manual_seed(5)
    num_frames = torch.tensor(frames)
    for step in range(8):
        ids = torch.randint(0, len(frames), (64,), generator=g)
        start = (torch.rand(64, generator=g) * num_frames[ids]).long()
        end = start + (torch.rand(64, generator=g) * (num_frames[ids] - start)).long()
        failed = torch.rand(64, generator=g) < 0.4
        if step % 2:
            ids, start, end, failed = ids.int(), start.int(), end.int(), failed.float() * 0.7
        if not validate_args and step == 3:
            ids, start, end = ids + 5, start - 1000, end + 1000
        for s in samplers:
            s.record(ids, start, end, failed)
            s.step()
    states = [s.state_dict() for s in samplers]
    for key, value in states[0].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, states[1][key]), key
    assert bool(states[0]["failures"].sum() > 0) and bool(states[0]["visits"].sum() > 0)
