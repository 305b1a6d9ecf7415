"""Resampling of motion trajectories to another frame rate.

Positions (and joint angles) are interpolated linearly; orientations by slerp. The output covers the same time span
as the input: frames at ``0, 1/fps_out, 2/fps_out, ...`` up to the last input time (inclusive, within rounding).
"""

from __future__ import annotations

import math

import numpy as np

from .quaternions import slerp

__all__ = ["interpolate_linear", "interpolate_slerp", "resample_times"]


def resample_times(num_frames: int, fps: float, output_fps: float) -> np.ndarray:
    """Sample times of a clip of ``num_frames`` frames at ``fps`` when played at ``output_fps``.

    Returns:
        Times in seconds, starting at 0 and not past ``(num_frames - 1) / fps``. Shape: (T_out,).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    for name, value in (("fps", fps), ("output_fps", output_fps)):
        if not math.isfinite(value) or value <= 0.0:
            raise ValueError(f"{name} must be a positive finite frame rate, got {value}")
    duration = (num_frames - 1) / fps
    # The small tolerance keeps the last frame when duration * output_fps is an integer up to rounding.
    num_out = math.floor(duration * output_fps + 1e-9) + 1
    return np.arange(num_out, dtype=np.float64) / output_fps


def _bracket(times: np.ndarray, num_frames: int, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index of the frame before each time, the frame after it and the fraction between them."""
    position = np.clip(np.asarray(times, dtype=np.float64) * fps, 0.0, num_frames - 1)
    lower = np.minimum(np.floor(position).astype(np.int64), max(num_frames - 2, 0))
    upper = np.minimum(lower + 1, num_frames - 1)
    fraction = position - lower
    return lower, upper, fraction


def interpolate_linear(values: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of per-frame values at arbitrary times.

    Args:
        values: Samples at ``i / fps``. Shape: (T, ...).
        fps: Frame rate of ``values``.
        times: Query times in seconds, clamped to the clip. Shape: (T_out,).

    Returns:
        Interpolated values. Shape: (T_out, ...).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0 or values.shape[0] < 1:
        raise ValueError(f"values needs at least one frame, got shape {values.shape}")
    lower, upper, fraction = _bracket(times, values.shape[0], fps)
    fraction = fraction.reshape((-1,) + (1,) * (values.ndim - 1))
    return (1.0 - fraction) * values[lower] + fraction * values[upper]


def interpolate_slerp(quats: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    """Slerp of per-frame unit quaternions (wxyz) at arbitrary times.

    Args:
        quats: Orientations at ``i / fps``. Shape: (T, ..., 4).
        fps: Frame rate of ``quats``.
        times: Query times in seconds, clamped to the clip. Shape: (T_out,).

    Returns:
        Interpolated unit quaternions. Shape: (T_out, ..., 4).
    """
    quats = np.asarray(quats, dtype=np.float64)
    if quats.ndim < 2 or quats.shape[-1] != 4 or quats.shape[0] < 1:
        raise ValueError(f"quats must have shape (T, ..., 4) with T >= 1, got {quats.shape}")
    lower, upper, fraction = _bracket(times, quats.shape[0], fps)
    fraction = fraction.reshape((-1,) + (1,) * (quats.ndim - 2))
    return slerp(quats[lower], quats[upper], fraction)
