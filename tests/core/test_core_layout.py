"""Hand-computed bins: partial last bins, varying fps, bin widths that are not whole frames, BeyondMimic's layout."""

import random
from fractions import Fraction

import pytest
import torch
from _core_reference import ref_bin_starts

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg, MotionLayout


@pytest.mark.parametrize(
    ("num_frames", "fps", "bin_duration", "starts", "widths"),
    [
        (100, 50.0, 1.0, [0, 50], [50, 50]),  # exact multiple: no empty trailing bin
        (101, 50.0, 1.0, [0, 50, 100], [50, 50, 1]),  # one frame left over: a 1-frame bin
        (120, 50.0, 1.0, [0, 50, 100], [50, 50, 20]),  # partial last bin
        (1, 50.0, 1.0, [0], [1]),  # a one-frame motion
        (50, 50.0, 1.0, [0], [50]),
        (90, 30.0, 1.0, [0, 30, 60], [30, 30, 30]),  # 30 fps: 30 frames per 1 s bin
        (100, 30.0, 1.0 / 3.0, list(range(0, 100, 10)), [10] * 10),  # 30 fps x 1/3 s = 10 frames, exactly
        (60, 50.0, 1.0 / 3.0, [0, 17, 34, 50], [17, 17, 16, 10]),  # 16.67 frames per bin: bin j starts ceil(j*50/3)
        (7, 2.0, 1.0, [0, 2, 4, 6], [2, 2, 2, 1]),
        (250, 100.0, 0.5, [0, 50, 100, 150, 200], [50] * 5),
        (61, 24.0, 2.5, [0, 60], [60, 1]),
    ],
)
def test_duration_bins_hand_computed(num_frames, fps, bin_duration, starts, widths):
    """Bins are ``bin_duration_s`` wide in time (bin j starts at frame ceil(j * fps * bin_duration_s)); the last bin
    holds what is left, at least one frame, and no bin is empty."""
    lay = MotionLayout([num_frames], [fps], bin_duration_s=bin_duration)
    assert lay.bin_start_frame.tolist() == starts
    assert lay.bin_num_frames.tolist() == widths
    assert lay.bins_per_motion.tolist() == [len(starts)]
    assert sum(widths) == num_frames


def test_bins_of_varying_fps_in_one_library():
    """Motions at 30 and 50 fps in one library get 1 s bins of 30 and 50 frames, flattened motion-major with
    offsets, and every (motion, frame) maps to the flat bin whose frames contain it."""
    lay = MotionLayout([120, 100, 31], [50.0, 30.0, 30.0], ["a", "b", "c"])
    assert lay.bins_per_motion.tolist() == [3, 4, 2]
    assert lay.bin_offsets.tolist() == [0, 3, 7, 9]
    assert lay.bin_num_frames.tolist() == [50, 50, 20, 30, 30, 30, 10, 30, 1]
    assert lay.bin_motion.tolist() == [0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert lay.bin_index.tolist() == [0, 1, 2, 0, 1, 2, 3, 0, 1]
    # hand-picked frames around bin edges
    ids = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    frames = torch.tensor([0, 49, 50, 119, 0, 29, 30, 99, 29, 30])
    assert lay.bins_of(ids, frames).tolist() == [0, 0, 1, 2, 3, 3, 4, 6, 7, 8]


@pytest.mark.parametrize("fps", ["24", "29.97", "30", "50", "60", "120"])
@pytest.mark.parametrize(
    "bin_duration", [Fraction(1, 5), Fraction(1, 4), Fraction(1, 3), Fraction(1, 2), Fraction(1), Fraction(2)]
)
def test_every_frame_maps_into_its_bin(fps, bin_duration):
    """For every frame f of a motion, bins_of gives the bin b with start_b <= f < start_b + width_b, and the bin
    starts equal the exact-arithmetic ceil(j * fps * bin_duration)."""
    num_frames = 257
    lay = MotionLayout([num_frames], [float(fps)], bin_duration_s=float(bin_duration))
    frames = torch.arange(num_frames)
    bins = lay.bins_of(torch.zeros(num_frames, dtype=torch.int64), frames)
    start = lay.bin_start_frame[bins]
    assert bool(((start <= frames) & (frames < start + lay.bin_num_frames[bins])).all())
    assert lay.bin_start_frame.tolist() == ref_bin_starts(num_frames, Fraction(fps), bin_duration)


@pytest.mark.parametrize(
    ("num_frames", "starts"),
    [
        (120, [0, 40, 80]),  # B = int(120 // 50) + 1 = 3, frame f in bin (3 f) // 120
        (100, [0, 34, 67]),  # B = 3: (34 * 3) // 100 = 1, (33 * 3) // 100 = 0
        (537, [0, 49, 98, 147, 196, 245, 293, 342, 391, 440, 489]),  # B = 11
        (49, [0]),
        (1, [0]),
    ],
)
def test_beyondmimic_bins_hand_computed(num_frames, starts):
    """BeyondMimic's layout at 50 fps and 1 s: B = int(T // 50) + 1 equal bins, frame f in bin (f * B) // T."""
    lay = MotionLayout([num_frames], [50.0], bin_layout="beyondmimic")
    assert lay.bin_start_frame.tolist() == starts
    frames = torch.arange(num_frames)
    bins = lay.bins_of(torch.zeros(num_frames, dtype=torch.int64), frames)
    assert bins.tolist() == ((frames * len(starts)) // num_frames).tolist()


def test_sampler_layout_uses_config_bin_width():
    """The sampler cuts bins with cfg.bin_duration_s and cfg.bin_layout."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(bin_duration_s=0.5, seed=0), [100, 45], [50.0, 30.0])
    assert s.layout.bins_per_motion.tolist() == [4, 3]
    assert s.layout.bin_num_frames.tolist() == [25, 25, 25, 25, 15, 15, 15]
    assert s.num_bins == 7
    assert s.num_motions == 2


@pytest.mark.parametrize("bin_layout", ["duration", "beyondmimic"])
def test_bins_of_is_the_inverse_of_the_bin_starts(bin_layout):
    """The arithmetic frame -> bin map agrees with the bin starts for every frame of many layouts, including
    frame rates and bin widths that are not exact in binary (24 fps x 0.1 s = 2.4000000000000004 frames)."""
    rng = random.Random(0)
    checked = 0
    for _ in range(400):
        frames = [rng.randint(1, 400) for _ in range(rng.randint(1, 4))]
        fps = [rng.choice([24, 25, 29.97, 30, 50, 59.94, 60, 120, rng.uniform(5, 200)]) for _ in frames]
        duration = rng.choice([1.0, 1 / 3, 0.5, 0.2, 2.0, 0.1, rng.uniform(0.05, 3)])
        try:
            lay = MotionLayout(frames, fps, bin_duration_s=duration, bin_layout=bin_layout)
        except ValueError:  # fewer than one frame per bin
            continue
        motion = torch.repeat_interleave(torch.arange(len(frames)), lay.num_frames)
        local = torch.cat([torch.arange(t) for t in frames])
        starts = lay.bin_start_frame + lay.frame_offsets[lay.bin_motion]
        expected = torch.searchsorted(starts, lay.frame_offsets[motion] + local, right=True) - 1
        assert torch.equal(lay.bins_of(motion, local), expected), (frames, fps, duration)
        checked += 1
    assert checked > 300
