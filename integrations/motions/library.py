"""Summaries of a motion library: frames, frame rate, duration and the sampler's bins per motion."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np

from adaptive_sampling import MotionLayout

from .motion_file import motion_fps, motion_name, read_npz

__all__ = ["MotionSummary", "format_table", "summarize_files"]


@dataclasses.dataclass
class MotionSummary:
    """One row of the library table."""

    name: str
    num_frames: int
    fps: float
    duration_s: float
    """``num_frames / fps``."""
    num_bins: int
    """Sampler bins, as the core's :class:`adaptive_sampling.MotionLayout` cuts the motion."""
    num_joints: int
    num_bodies: int
    has_names: bool
    """True when the file stores ``joint_names`` and ``body_names``."""


def _summarize(path: pathlib.Path, name: str) -> MotionSummary:
    """One row without the bin count (no value checks; run ``validate`` for those)."""
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
        name=name,
        num_frames=num_frames,
        fps=fps,
        duration_s=num_frames / fps,
        num_bins=0,
        num_joints=int(joint_shape[1]),
        num_bodies=int(body_shape[1]),
        has_names="joint_names" in fields and "body_names" in fields,
    )


def summarize_files(
    files: Iterable[tuple[str | os.PathLike, str | None]],
    bin_duration_s: float = 1.0,
    bin_layout: Literal["duration", "beyondmimic"] = "duration",
) -> list[MotionSummary]:
    """Summaries of motion files, with the bins the sampler would cut them into.

    Args:
        files: ``(path, name)`` pairs, as :func:`adaptive_sampling_motions.clips.resolve_motion_files` gives them
            (a ``None`` name: the file's stem).
        bin_duration_s: The sampler's bin width in seconds.
        bin_layout: The sampler's bin layout.

    Raises:
        ValueError: a file lacks ``fps``, ``joint_pos`` or ``body_pos_w``, or they have the wrong rank; or the bin
            settings are invalid for a motion (the core's message).
    """
    rows = [_summarize(pathlib.Path(path), name if name is not None else motion_name(path)) for path, name in files]
    if not rows:
        return rows
    layout = MotionLayout([row.num_frames for row in rows], [row.fps for row in rows],
                          bin_duration_s=bin_duration_s, bin_layout=bin_layout)
    for row, bins in zip(rows, layout.bins_per_motion.tolist(), strict=True):
        row.num_bins = int(bins)
    return rows


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
