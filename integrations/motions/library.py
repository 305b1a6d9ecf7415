"""Summaries of a motion library: frames, frame rate, duration and the sampler's bins per motion."""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
from collections.abc import Sequence
from typing import Literal

import numpy as np

from .motion_file import motion_fps, motion_name, read_npz

__all__ = ["MotionSummary", "format_table", "num_bins", "summarize_file"]


def num_bins(num_frames: int, fps: float, bin_duration_s: float,
             bin_layout: Literal["duration", "beyondmimic"] = "duration") -> int:
    """Number of sampler bins of one motion, computed as the core's ``MotionLayout`` does.

    ``"duration"``: ``floor((T - 1) / (fps * bin_duration_s)) + 1`` (every bin spans ``bin_duration_s`` seconds, the
    last may be partial). ``"beyondmimic"``: ``min(T // (fps * bin_duration_s) + 1, T)``.
    """
    if isinstance(num_frames, bool) or int(num_frames) != num_frames or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
    if not math.isfinite(fps) or fps <= 0.0:
        raise ValueError(f"fps must be positive and finite, got {fps!r}")
    if not math.isfinite(bin_duration_s) or bin_duration_s <= 0.0:
        raise ValueError(f"bin_duration_s must be positive and finite, got {bin_duration_s!r}")
    frames_per_bin = fps * bin_duration_s
    if frames_per_bin < 1.0:
        raise ValueError(f"fps * bin_duration_s must be >= 1 frame per bin, got {fps} * {bin_duration_s}")
    if bin_layout == "beyondmimic":
        return min(int(num_frames // frames_per_bin) + 1, int(num_frames))
    if bin_layout == "duration":
        # The tolerance keeps exact multiples exact, as the core does (30 fps x 1/3 s).
        return int(math.floor((num_frames - 1) / frames_per_bin + 1e-9)) + 1
    raise ValueError(f"bin_layout must be 'duration' or 'beyondmimic', got {bin_layout!r}")


@dataclasses.dataclass
class MotionSummary:
    """One row of the library table."""

    name: str
    num_frames: int
    fps: float
    duration_s: float
    """``num_frames / fps``."""
    num_bins: int
    num_joints: int
    num_bodies: int
    has_names: bool
    """True when the file stores ``joint_names`` and ``body_names``."""


def summarize_file(
    path: str | os.PathLike,
    bin_duration_s: float = 1.0,
    root: str | os.PathLike | None = None,
    bin_layout: Literal["duration", "beyondmimic"] = "duration",
) -> MotionSummary:
    """Summary of one motion file (no value checks; run ``validate`` for those).

    Raises:
        ValueError: the file lacks ``fps``, ``joint_pos`` or ``body_pos_w``, or they have the wrong rank.
    """
    path = pathlib.Path(path)
    fields, _ = read_npz(path)
    for key in ("fps", "joint_pos", "body_pos_w"):
        if key not in fields:
            raise ValueError(f"{str(path)!r}: missing field {key!r}")
    try:
        fps = motion_fps(fields)
    except ValueError as error:
        raise ValueError(f"{str(path)!r}: {error}") from error
    joint_shape, body_shape = np.shape(fields["joint_pos"]), np.shape(fields["body_pos_w"])
    if len(joint_shape) != 2 or len(body_shape) != 3:
        raise ValueError(f"{str(path)!r}: joint_pos must be (T, J) and body_pos_w (T, Nb, 3), got {joint_shape} and "
                         f"{body_shape}")
    num_frames = int(joint_shape[0])
    if num_frames < 1:
        raise ValueError(f"{str(path)!r}: no frames")
    return MotionSummary(
        name=motion_name(path, root),
        num_frames=num_frames,
        fps=fps,
        duration_s=num_frames / fps,
        num_bins=num_bins(num_frames, fps, bin_duration_s, bin_layout),
        num_joints=int(joint_shape[1]),
        num_bodies=int(body_shape[1]),
        has_names="joint_names" in fields and "body_names" in fields,
    )


def format_table(rows: Sequence[MotionSummary], bin_duration_s: float) -> str:
    """A plain-text table, one row per motion and a total row."""
    header = ("name", "frames", "fps", "duration_s", f"bins@{bin_duration_s:g}s", "joints", "bodies", "names")
    body = [
        (row.name, str(row.num_frames), f"{row.fps:g}", f"{row.duration_s:.2f}", str(row.num_bins),
         str(row.num_joints), str(row.num_bodies), "yes" if row.has_names else "no")
        for row in rows
    ]
    total = ("total", str(sum(r.num_frames for r in rows)), "", f"{sum(r.duration_s for r in rows):.2f}",
             str(sum(r.num_bins for r in rows)), "", "", f"{len(rows)} motions")
    table = [header, *body, total]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    numeric = [False, True, True, True, True, True, True, False]

    def render(line: Sequence[str]) -> str:
        cells = [cell.rjust(w) if num else cell.ljust(w) for cell, w, num in zip(line, widths, numeric, strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(header), rule, *(render(line) for line in body), rule, render(total)])
