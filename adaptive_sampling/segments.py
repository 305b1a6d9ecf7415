"""The segment rule: which frame of its clip a tracked segment ends on, and when it has reached the clip's end.

A segment starts at a frame the sampler drew and is tracked until it fails, times out or reaches its clip's end; the
sampler records it as ``(motion, start frame, end frame, failed)``. Every environment turns its own clock into that
end frame with :func:`segment_ends`, so a failure lands on the same frame whatever the simulator.
"""

from __future__ import annotations

import torch

FRAME_TOLERANCE = 1e-4
"""A clock within this fraction of a frame below a frame boundary counts as on it (a float32 time of a whole number of
frames can fall just short of it)."""
END_TOLERANCE_S = 1e-6
"""A clock within this many seconds of the clip's last frame has reached the clip's end."""


def segment_ends(
    start_frames: torch.Tensor,
    time_s: torch.Tensor,
    fps: torch.Tensor | float,
    num_frames: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The frame each segment ends on, and whether it has reached its clip's end.

    The segment has reached the clip time ``time_s``: its start frame's time ``start_frames / fps`` plus the time it
    has been tracked. It has reached its clip's end when that time is the last frame's, ``(T - 1) / fps``, or later
    (within :data:`END_TOLERANCE_S`). It ends on the frame it reached, ``floor(time_s * fps)`` (within
    :data:`FRAME_TOLERANCE`), never before its start and never past the clip's last frame: a clip end records the last
    frame ``T - 1``. A start can never be past the clip's last frame; one given there counts as the last frame.

    Computed in the floating dtype of ``time_s * fps``: float64 times of whole frames (``frames.double() / fps``) give
    exact frames in clips of any length, float32 ones up to about a thousand frames. A float32 clock that adds ``dt``
    every step drifts further than the tolerance: it can end a frame early at a frame boundary.

    Args:
        start_frames: Frame each segment started on. Shape: (E,), integer.
        time_s: Clip time each segment has reached, in seconds. Shape: (E,), floating.
        fps: Frame rate of each segment's clip. Shape: (E,), or a number.
        num_frames: Frames ``T`` of each segment's clip. Shape: (E,), integer.

    Returns:
        ``(end_frames, clip_end)``: the end frames, in ``[min(start, T - 1), T - 1]`` (int64), and whether each
        segment has reached its clip's end (bool). Shape: (E,) each.

    Raises:
        TypeError: ``time_s`` is not a floating tensor, or ``start_frames`` / ``num_frames`` not integer tensors.
        ValueError: ``start_frames``, ``time_s``, ``num_frames`` (and a tensor ``fps``) differ in shape.
    """
    for name, value, floating in (
        ("start_frames", start_frames, False),
        ("time_s", time_s, True),
        ("num_frames", num_frames, False),
    ):
        if not isinstance(value, torch.Tensor) or value.is_floating_point() != floating or value.dtype == torch.bool:
            kind = "a floating" if floating else "an integer"
            got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
            raise TypeError(f"{name} must be {kind} tensor, got {got}")
    shapes = {"start_frames": start_frames.shape, "time_s": time_s.shape, "num_frames": num_frames.shape}
    if isinstance(fps, torch.Tensor) and fps.dim() > 0:
        shapes["fps"] = fps.shape
    if len(set(shapes.values())) > 1:
        raise ValueError(f"start_frames, time_s, num_frames and fps must have one shape, got {shapes}")
    position = time_s * fps
    last = num_frames.long() - 1
    clip_end = time_s >= last.to(position.dtype) / fps - END_TOLERANCE_S
    reached = torch.floor(position + FRAME_TOLERANCE).long()
    start = torch.minimum(start_frames.long(), last)
    end_frames = torch.where(clip_end, last, torch.minimum(torch.maximum(reached, start), last))
    return end_frames, clip_end
