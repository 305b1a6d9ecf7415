"""The segment rule: end frames and clip ends from a segment's clock."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from adaptive_sampling import segment_ends


def _ends(start, time_s, fps, num_frames, dtype=torch.float64):
    end, clip_end = segment_ends(
        torch.tensor([start]), torch.tensor([time_s], dtype=dtype), fps, torch.tensor([num_frames])
    )
    return int(end[0]), bool(clip_end[0])


@pytest.mark.parametrize(
    ("start", "time_s", "fps", "num_frames", "expected"),
    [
        (3, 0.10, 50.0, 10, (5, False)),  # 5 frames into the clip
        (3, 0.119, 50.0, 10, (5, False)),  # between frames: the frame reached, not the nearest
        (3, 0.18, 50.0, 10, (9, True)),  # the last frame: a clip end
        (3, 0.50, 50.0, 10, (9, True)),  # past the end: the last frame is recorded
        (9, 0.18, 50.0, 10, (9, True)),  # a start on the last frame
        (12, 0.30, 50.0, 10, (9, True)),  # a start past the last frame counts as the last frame
        (0, 0.0, 30.0, 1, (0, True)),  # a one-frame clip ends where it starts
        (4, 0.02, 50.0, 10, (4, False)),  # a clock behind the start never gives an end before it
    ],
)
def test_hand_computed(start, time_s, fps, num_frames, expected):
    """End frame = floor(time * fps) kept in [start, T - 1]; a clip end is the last frame's time or later."""
    assert _ends(start, time_s, fps, num_frames) == expected


def test_tolerance_absorbs_float32_rounding():
    """A float32 time of a whole number of frames lands on that frame, though its product with fps can fall short."""
    frames = torch.arange(1000)
    time_s = frames.float() / 50.0
    end, clip_end = segment_ends(torch.zeros_like(frames), time_s, torch.tensor(50.0), torch.full_like(frames, 1000))
    assert torch.equal(end, frames) and torch.equal(clip_end, frames == 999)
    # the rounding is real: without the tolerance some of these times fall a frame short
    assert bool((torch.floor(time_s * 50.0).long() < frames).any())


@pytest.mark.parametrize("fps", [29.97, 50.0, 60.0, 120.0])
def test_integer_frame_clocks_are_exact(fps):
    """A clock of whole frames (frames / fps in float64) ends on that frame in clips of any length; the clip end is
    reached exactly on the last frame."""
    num_frames = 200_000
    frames = torch.arange(num_frames + 3)
    start = torch.zeros_like(frames)
    end, clip_end = segment_ends(start, frames.double() / fps, fps, torch.full_like(frames, num_frames))
    assert torch.equal(end, frames.clamp(max=num_frames - 1))
    assert torch.equal(clip_end, frames >= num_frames - 1)


@given(
    num_frames=st.integers(1, 5000),
    start_fraction=st.floats(0.0, 1.0),
    elapsed_s=st.floats(0.0, 300.0),
    fps=st.sampled_from([24.0, 25.0, 29.97, 30.0, 50.0, 60.0, 120.0]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_end_frame_is_within_the_segment_and_the_clip(num_frames, start_fraction, elapsed_s, fps, dtype):
    """For any start in the clip and any elapsed time, the end frame lies in [start, T - 1], a clip end records the
    last frame, and a later clock never gives an earlier end."""
    start = min(int(start_fraction * num_frames), num_frames - 1)
    times = torch.tensor([start / fps + elapsed_s, start / fps + elapsed_s + 0.5], dtype=dtype)
    end, clip_end = segment_ends(
        torch.tensor([start, start]), times, torch.tensor(fps, dtype=dtype), torch.tensor([num_frames, num_frames])
    )
    assert bool(((end >= start) & (end <= num_frames - 1)).all())
    assert bool((end[clip_end] == num_frames - 1).all())
    assert int(end[1]) >= int(end[0]) and bool(clip_end[1]) >= bool(clip_end[0])
    assert end.dtype == torch.int64 and clip_end.dtype == torch.bool


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"time_s": torch.tensor([1, 2])}, TypeError, "time_s must be a floating tensor, got torch.int64"),
        ({"start_frames": torch.tensor([0.0, 1.0])}, TypeError, "start_frames must be an integer tensor"),
        ({"num_frames": [10, 10]}, TypeError, "num_frames must be an integer tensor, got list"),
        ({"start_frames": torch.tensor([True, False])}, TypeError, "start_frames must be an integer tensor"),
        ({"time_s": torch.tensor([0.1, 0.2, 0.3])}, ValueError, "must have one shape"),
        ({"fps": torch.tensor([50.0, 50.0, 50.0])}, ValueError, r"'fps': torch.Size\(\[3\]\)"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    """Wrong dtypes and mismatched shapes raise, naming the argument."""
    args = {
        "start_frames": torch.tensor([0, 1]),
        "time_s": torch.tensor([0.1, 0.2]),
        "fps": 50.0,
        "num_frames": torch.tensor([10, 10]),
    }
    with pytest.raises(error, match=match):
        segment_ends(**{**args, **kwargs})
