"""Tests of the learning benchmark's peer arms (benchmarks/arms.py) and its rare_hard scenario."""

from __future__ import annotations

import pytest
import torch

from benchmarks.arms import MotionFailureSampler, PrioritizedLevelReplaySampler
from benchmarks.envs.point_mass import make_motion_library, make_rare_hard_library
from benchmarks.stats import chi_square

# two clips at 10 fps: 4 bins of 1 s (40 frames) and 2 bins (15 frames: 10 + 5)
FRAMES, FPS, NAMES = [40, 15], [10.0, 10.0], ["a", "b"]


def _record(sampler, bins_failed: dict[int, list[bool]]) -> None:
    """Segments that started at the first frame of the given flat bins, with the given outcomes; then one step."""
    lay = sampler.layout
    motion_ids, frames, failed = [], [], []
    for b, outcomes in bins_failed.items():
        for f in outcomes:
            motion_ids.append(int(lay.bin_motion[b]))
            frames.append(int(lay.bin_start_frame[b]))
            failed.append(f)
    m, s = torch.tensor(motion_ids), torch.tensor(frames)
    sampler.record(m, s, s, torch.tensor(failed))
    sampler.step()


def test_plr_hand_computed_distribution():
    """Seen bins 0, 1, 2 with failure rates 1/2, 1, 0 (ranks 2, 1, 3); with beta = 1, rho = 0.5 and no draws yet
    (no staleness: P_C uniform over seen), replay mass 3/6 splits as 0.5 P_S + 0.5 P_C and the 3 unseen bins share
    the rest equally."""
    plr = PrioritizedLevelReplaySampler(FRAMES, FPS, NAMES, beta=1.0, rho=0.5, ema_alpha=0.0, rebuild_every=1)
    _record(plr, {0: [True, False], 1: [True], 2: [False]})
    h = torch.tensor([1 / 2, 1.0, 1 / 3], dtype=torch.float64)
    p_score = h / h.sum()
    replay = 0.5 * p_score + 0.5 / 3
    expected = torch.cat((0.5 * replay, torch.full((3,), 0.5 / 3, dtype=torch.float64)))
    torch.testing.assert_close(plr.probs, expected)


def test_plr_staleness_and_temperature():
    """A bin drawn long ago gets the staleness mass; a low temperature puts the score mass on the top rank."""
    plr = PrioritizedLevelReplaySampler(FRAMES, FPS, NAMES, beta=0.1, rho=0.1, ema_alpha=0.0, rebuild_every=1)
    _record(plr, {b: [b == 5] for b in range(6)})  # all seen; bin 5 always fails
    plr.on_sample(torch.tensor([0, 1, 2, 3, 4]))  # bin 5 never drawn: staleness 5, the others 5 - k
    plr.rebuild()
    staleness = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0, 5.0], dtype=torch.float64)
    assert float(plr.probs[5]) > 0.9  # rank 1 with beta = 0.1, plus the largest staleness
    rank = torch.tensor([2.0, 3.0, 4.0, 5.0, 6.0, 1.0], dtype=torch.float64)  # ties in bin order
    p_score = rank.pow(-10.0) / rank.pow(-10.0).sum()
    torch.testing.assert_close(plr.probs, 0.9 * p_score + 0.1 * staleness / staleness.sum())


def test_motion_failure_hand_computed_distribution():
    """Motion failure rates 1/4 (clip a) and 3/4 (clip b), floor 0.2: p_a = 0.8 * 0.25 + 0.1 = 0.3, p_b = 0.7;
    inside a clip each bin gets its share of the frames (b: 10 and 5 of 15)."""
    mf = MotionFailureSampler(FRAMES, FPS, NAMES, floor=0.2, ema_alpha=0.0, rebuild_every=1)
    _record(mf, {0: [True, False], 3: [False, False], 4: [True, True], 5: [True, False]})
    expected = torch.tensor([0.075, 0.075, 0.075, 0.075, 0.7 * 10 / 15, 0.7 * 5 / 15], dtype=torch.float64)
    torch.testing.assert_close(mf.probs, expected)


def test_unvisited_motions_count_as_failing():
    """Before any record every motion weighs the same (rate 1); a motion never visited keeps rate 1."""
    mf = MotionFailureSampler(FRAMES, FPS, NAMES, floor=0.0, ema_alpha=0.0, rebuild_every=1)
    mf.rebuild()
    torch.testing.assert_close(mf.layout.segment_sum(mf.probs), torch.tensor([0.5, 0.5], dtype=torch.float64))
    _record(mf, {0: [False, False]})
    torch.testing.assert_close(mf.layout.segment_sum(mf.probs), torch.tensor([0.0, 1.0], dtype=torch.float64))


@pytest.mark.parametrize("cls", [PrioritizedLevelReplaySampler, MotionFailureSampler])
def test_draws_follow_the_distribution_and_stay_in_their_bin(cls):
    """Drawn frames lie in their clip; bin frequencies match the distribution (chi-square)."""
    sampler = cls(FRAMES, FPS, NAMES, seed=0, ema_alpha=0.0, rebuild_every=1)
    _record(sampler, {0: [True], 1: [False], 4: [True, True]})
    counts = torch.zeros(6)
    for _ in range(20):
        motion_ids, frames = sampler.sample(5000)
        assert bool((frames < torch.tensor(FRAMES)[motion_ids]).all()) and bool((frames >= 0).all())
        counts += torch.bincount(sampler.layout.bins_of(motion_ids, frames), minlength=6).float()
    assert chi_square(counts, sampler.probs)["p_value"] > 1e-3


@pytest.mark.parametrize("cls", [PrioritizedLevelReplaySampler, MotionFailureSampler])
def test_state_round_trip(cls, tmp_path):
    """A saved state (weights_only loadable) continues with the same draws; another arm's or library's state is
    rejected without changes."""
    a = cls(FRAMES, FPS, NAMES, seed=0, ema_alpha=0.01, rebuild_every=2)
    for _ in range(3):
        m, f = a.sample(32)
        a.record(m, f, f, f % 2 == 0)
        a.step()
    torch.save(a.state_dict(), tmp_path / "s.pt")
    b = cls(FRAMES, FPS, NAMES, seed=5, ema_alpha=0.01, rebuild_every=2)
    b.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert all(torch.equal(x, y) for x, y in zip(a.sample(64), b.sample(64), strict=True))
    other = MotionFailureSampler if cls is PrioritizedLevelReplaySampler else PrioritizedLevelReplaySampler
    with pytest.raises(ValueError, match="state must be"):
        other(FRAMES, FPS, NAMES).load_state_dict(a.state_dict())
    c = cls([40, 16], FPS, NAMES)
    before = c.probs.clone()
    with pytest.raises(ValueError, match="different motion library"):
        c.load_state_dict(a.state_dict())
    assert torch.equal(c.probs, before)


def test_rare_hard_library_matches_its_description():
    """10 clips of 30-120 s; 3 hold 1, 2 and 2 hard segments inside the clip (not in the first 3 s or the last 2 s);
    the hard segments cover at most 2% of all frames; the same seed gives the same library."""
    clips = make_rare_hard_library(0)
    assert len(clips) == 10
    assert all(30.0 <= c.num_frames / c.fps <= 120.0 for c in clips)
    assert sorted(len(c.hard_segments) for c in clips if c.hard_segments) == [1, 2, 2]
    for c in clips:
        for start, end in c.hard_segments:
            assert 3.0 <= start < end <= c.num_frames / c.fps - 2.0
    hard_s = sum(end - start for c in clips for start, end in c.hard_segments)
    assert hard_s / sum(c.num_frames / c.fps for c in clips) <= 0.02
    again = make_rare_hard_library(0)
    assert all(torch.equal(x.positions, y.positions) for x, y in zip(clips, again, strict=True))
    with pytest.raises(ValueError, match="segments_per_hard_clip"):
        make_rare_hard_library(hard_clips=2)


def test_first_scenario_library_is_unchanged():
    """The short-clip library keeps its clips (values from before rare_hard shared its construction): lengths,
    segment starts and checksums of the references and the pushes."""
    clips = make_motion_library(0)
    assert len(clips) == 24 and sum(bool(c.hard_segments) for c in clips) == 8
    assert [c.num_frames for c in clips[:3]] == [1000, 480, 600]
    starts = [s for c in clips for s, _ in c.hard_segments][:3]
    assert starts == pytest.approx([4.5206, 12.3094, 4.9682], abs=1e-4)
    assert float(sum(c.positions.double().abs().sum() for c in clips)) == pytest.approx(5073.123418658752, rel=1e-9)
    assert float(sum(c.disturbance.double().abs().sum() for c in clips)) == pytest.approx(839.0626076075714, rel=1e-9)
