"""Conditional sampling, evaluation mode and torch.inference_mode."""

from __future__ import annotations

import contextlib

import pytest
import torch
from _core_reference import chi_square_pvalue, state_equal

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

FRAMES = [120, 90, 61]
FPS = [50.0, 30.0, 24.0]


def trained(**kw) -> AdaptiveSampler:
    """A sampler whose distribution is far from its prior."""
    weights = kw.pop("w", None)
    values = dict(rebuild_every=1, ema_alpha=0.0, seed=1)
    values.update(kw)
    s = AdaptiveSampler(AdaptiveSamplerCfg(**values), FRAMES, FPS, ["a", "b", "c"], motion_weights=weights)
    s.record(
        torch.tensor([0, 0, 1, 1, 1, 2]),
        torch.tensor([0, 10, 0, 35, 40, 0]),
        torch.tensor([110, 60, 31, 70, 89, 30]),
        torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 0.3]),
    )
    s.step()
    return s


def frame_counts(sampler: AdaptiveSampler, ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Draws per global frame of the library."""
    lay = sampler.layout
    return torch.bincount(lay.frame_offsets[ids] + frames, minlength=int(lay.frame_offsets[-1]))


def expected_frame_probs(sampler: AdaptiveSampler, probs: torch.Tensor) -> torch.Tensor:
    """Per global frame: the probability of its bin spread uniformly over the bin's frames."""
    lay = sampler.layout
    per_frame = (probs.double() / lay.bin_num_frames.double()).repeat_interleave(lay.bin_num_frames)
    return per_frame


# ---------------------------------------------------------------------------------------------------- conditional


@pytest.mark.parametrize("motion", [0, 1, 2])
def test_conditional_sampling_follows_conditional_distribution(motion):
    """sample(motion_ids=[m] * N) draws only motion m, with frames distributed as p restricted to motion m and
    renormalised (uniform inside each bin): chi-square over the frames of m."""
    s = trained()
    n = 60_000
    ids, frames = s.sample(motion_ids=torch.full((n,), motion, dtype=torch.int64))
    assert bool((ids == motion).all())
    lay = s.layout
    p = torch.where(lay.bin_motion == motion, s.probabilities.double(), torch.zeros(()).double())
    expected = expected_frame_probs(s, p / p.sum()) * n
    assert chi_square_pvalue(frame_counts(s, ids, frames), expected) > 1e-4


def test_conditional_sampling_mixed_ids_keeps_order():
    """With mixed motion ids the i-th draw belongs to the i-th requested motion."""
    s = trained()
    ids = torch.tensor([2, 0, 1, 1, 0, 2, 2] * 50)
    got, frames = s.sample(motion_ids=ids)
    assert torch.equal(got, ids)
    assert bool((frames < s.layout.num_frames[ids]).all())


def test_conditional_sampling_of_a_zero_mass_motion_stays_inside_it():
    """Even a motion of zero probability (count statistic, no floor, no failures there) gives frames inside it."""
    cfg = AdaptiveSamplerCfg(
        statistic="count", ema_alpha=0.0, uniform_ratio=0.0, kernel_size=1, seed=0, rebuild_every=1
    )
    s = AdaptiveSampler(cfg, FRAMES, FPS)
    s.record(torch.tensor([0]), torch.tensor([0]), torch.tensor([10]), torch.tensor([True]))
    s.step()
    assert float(s.layout.segment_sum(s.probabilities.double())[2]) == 0.0
    ids, frames = s.sample(motion_ids=torch.full((100,), 2, dtype=torch.int64))
    assert bool((ids == 2).all()) and bool(((frames >= 0) & (frames < 61)).all())


# ---------------------------------------------------------------------------------------------------- evaluation


def test_eval_starts_at_frame_zero_with_prior_motions():
    """In eval mode (eval_start="zero") every start is frame 0, and motions follow the prior's motion weights, not
    the learned distribution."""
    s = trained(prior="weights", w=[1.0, 2.0, 5.0])
    s.eval()
    n = 40_000
    ids, frames = s.sample(n)
    assert bool((frames == 0).all())
    expected = torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64) / 8 * n
    assert chi_square_pvalue(torch.bincount(ids, minlength=3), expected) > 1e-4
    ids, frames = s.sample(motion_ids=torch.tensor([2, 1, 0]))
    assert ids.tolist() == [2, 1, 0] and frames.tolist() == [0, 0, 0]


def test_eval_uniform_start():
    """eval_start="uniform": frames uniform over the whole motion (chi-square over frames)."""
    s = trained(eval_start="uniform")
    s.eval()
    n = 50_000
    ids, frames = s.sample(motion_ids=torch.full((n,), 1, dtype=torch.int64))
    counts = torch.bincount(frames, minlength=90)
    assert counts.numel() == 90
    assert chi_square_pvalue(counts, torch.full((90,), n / 90, dtype=torch.float64)) > 1e-4


def test_eval_freezes_statistics_and_train_resumes():
    """In eval mode record() and step() change nothing (statistics, clock, distribution); after train() they do."""
    s = trained()
    s.eval()
    assert not s.training
    before = s.state_dict()
    for _ in range(3):
        s.record(torch.tensor([0, 1]), torch.tensor([0, 0]), torch.tensor([100, 80]), torch.tensor([1.0, 1.0]))
        s.step()
    s.record(torch.tensor([2]), torch.tensor([0]), torch.tensor([50]), torch.tensor([True]))
    assert state_equal(before, s.state_dict())
    s.train()
    assert s.training
    s.record(torch.tensor([2]), torch.tensor([0]), torch.tensor([50]), torch.tensor([True]))
    s.step()
    after = s.state_dict()
    assert after["clock"] == before["clock"] + 1
    assert not torch.equal(after["probabilities"], before["probabilities"])


def test_eval_still_validates_input():
    """Bad input is rejected in eval mode too."""
    s = trained()
    s.eval()
    with pytest.raises(ValueError, match=r"motion_ids must be in"):
        s.record(torch.tensor([5]), torch.tensor([0]), torch.tensor([1]), torch.tensor([True]))


# ---------------------------------------------------------------------------------------------------- inference mode


def drive(s: AdaptiveSampler, ctx_factory) -> list[torch.Tensor]:
    """A fixed sequence of record/sample/step/rebuild/metrics/state calls, each phase inside ``ctx_factory()``."""
    out = []
    for step in range(6):
        with ctx_factory(step):
            ids = torch.tensor([0, 1, 2, step % 3])
            s.record(
                ids, torch.tensor([0, 5, 0, 0]), torch.tensor([100, 60, 40, 20]), torch.tensor([1.0, 0.0, 1.0, 1.0])
            )
            out.extend(s.sample(16))
            out.extend(s.sample(motion_ids=ids))
            s.step()
            if step == 3:
                s.rebuild()
                s.metrics()
                s.tables()
    out.append(s.probabilities.clone())
    return out


@pytest.mark.parametrize("where", ["construct_inside", "use_inside", "alternate", "alternate_inside_first"])
def test_inference_mode_both_ways(where):
    """A sampler built inside torch.inference_mode() works outside it and vice versa (also alternating per step),
    with results identical to a sampler never touched by inference mode; its state loads outside."""
    cfg = AdaptiveSamplerCfg(rebuild_every=2, seed=7)
    plain = AdaptiveSampler(cfg, FRAMES, FPS)
    expected = drive(plain, lambda step: contextlib.nullcontext())

    ctx = torch.inference_mode() if where == "construct_inside" else contextlib.nullcontext()
    with ctx:
        s = AdaptiveSampler(AdaptiveSamplerCfg(rebuild_every=2, seed=7), FRAMES, FPS)
    if where == "construct_inside":
        got = drive(s, lambda step: contextlib.nullcontext())
    elif where == "use_inside":
        got = drive(s, lambda step: torch.inference_mode())
    elif where == "alternate":
        got = drive(s, lambda step: torch.inference_mode() if step % 2 else contextlib.nullcontext())
    else:  # work buffers first made inside inference mode are updated outside it
        got = drive(s, lambda step: contextlib.nullcontext() if step % 2 else torch.inference_mode())
    assert len(got) == len(expected)
    for x, y in zip(got, expected, strict=True):
        assert torch.equal(x, y)
    with torch.inference_mode():
        state = s.state_dict()
    other = AdaptiveSampler(AdaptiveSamplerCfg(rebuild_every=2, seed=0), FRAMES, FPS)
    other.load_state_dict(state)
    for x in (s, other):
        x.record(torch.tensor([0]), torch.tensor([0]), torch.tensor([10]), torch.tensor([True]))
        x.step()
        x.step()
    assert torch.equal(other.probabilities, s.probabilities)
    for x, y in zip(other.sample(8), s.sample(8), strict=True):
        assert torch.equal(x, y)


# ---------------------------------------------------------------------------------------------------- input forms


def test_empty_calls_are_no_ops():
    """Recording zero segments changes nothing; sample(0) and sample(motion_ids=[]) return empty int64 tensors."""
    s = trained()
    before = s.state_dict()
    empty = torch.zeros(0, dtype=torch.int64)
    s.record(empty, empty, empty, torch.zeros(0, dtype=torch.bool))
    assert state_equal(before, s.state_dict())
    for ids, frames in (s.sample(0), s.sample(motion_ids=empty)):
        assert ids.shape == frames.shape == (0,)
        assert ids.dtype == frames.dtype == torch.int64


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_other_integer_dtypes_give_the_same_state(dtype):
    """Integer inputs of any width record the same statistics as int64, and half-precision failures the same as
    float32 when the values are exact."""
    a, b = trained(), trained()
    ids, starts, ends = torch.tensor([0, 1, 2]), torch.tensor([0, 5, 0]), torch.tensor([100, 60, 40])
    failed = torch.tensor([1.0, 0.5, 0.0])
    a.record(ids, starts, ends, failed)
    b.record(ids.to(dtype), starts.to(dtype), ends.to(dtype), failed.half())
    a.step()
    b.step()
    assert state_equal(a.state_dict(), b.state_dict())
    got = b.sample(motion_ids=ids.to(dtype))
    assert got[0].dtype == torch.int64 and torch.equal(got[0], ids)


def test_library_from_tensors_and_scalar_fps():
    """num_frames may be an int64 tensor and fps one number for all motions: same layout as lists."""
    a = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), torch.tensor([120, 90]), 30.0)
    b = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), [120, 90], [30.0, 30.0])
    assert a.layout.bins_per_motion.tolist() == b.layout.bins_per_motion.tolist() == [4, 3]
    assert torch.equal(a.probabilities, b.probabilities)
