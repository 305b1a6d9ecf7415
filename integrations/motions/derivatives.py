"""Velocities from sampled positions and orientations by finite differences.

Both functions use the same stencil: central differences inside the sequence (second order) and one-sided
differences at the two ends (first order), like ``numpy.gradient`` with ``edge_order=1``.
"""

from __future__ import annotations

import numpy as np

from .quaternions import axis_angle_from_quat, quat_conjugate, quat_mul, quat_normalize

__all__ = ["angular_velocity", "linear_velocity"]


def _check_dt(dt: float) -> float:
    if not np.isfinite(dt) or dt <= 0.0:
        raise ValueError(f"dt must be a positive finite time step, got {dt}")
    return float(dt)


def linear_velocity(positions: np.ndarray, dt: float) -> np.ndarray:
    """Time derivative of positions (or any per-frame quantity) along axis 0.

    Args:
        positions: Samples at times ``0, dt, 2 dt, ...``. Shape: (T, ...), T >= 2.
        dt: Time between samples in seconds.

    Returns:
        Velocities at the sample times. Shape: (T, ...).
    """
    dt = _check_dt(dt)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim == 0 or positions.shape[0] < 2:
        raise ValueError(f"positions needs at least 2 frames along axis 0, got shape {positions.shape}")
    return np.gradient(positions, dt, axis=0, edge_order=1)


def angular_velocity(quats: np.ndarray, dt: float) -> np.ndarray:
    """World-frame angular velocity of a sequence of orientations, from quaternion differences.

    Between frames a and b the world-frame rotation is ``q_b * conj(q_a)``; its rotation vector divided by the
    elapsed time is the mean angular velocity. No Euler angles are involved, so there are no gimbal or wrap-around
    artefacts, and the sign ambiguity of quaternions is handled (the shorter rotation is taken).

    Args:
        quats: Unit quaternions, wxyz, at times ``0, dt, 2 dt, ...``. Shape: (T, ..., 4), T >= 2.
        dt: Time between samples in seconds.

    Returns:
        Angular velocities in rad/s, world frame. Shape: (T, ..., 3).
    """
    dt = _check_dt(dt)
    quats = np.asarray(quats, dtype=np.float64)
    if quats.ndim < 2 or quats.shape[-1] != 4 or quats.shape[0] < 2:
        raise ValueError(f"quats must have shape (T, ..., 4) with T >= 2, got {quats.shape}")
    quats = quat_normalize(quats)
    omega = np.empty(quats.shape[:-1] + (3,), dtype=np.float64)
    if quats.shape[0] > 2:
        omega[1:-1] = axis_angle_from_quat(quat_mul(quats[2:], quat_conjugate(quats[:-2]))) / (2.0 * dt)
    omega[0] = axis_angle_from_quat(quat_mul(quats[1], quat_conjugate(quats[0]))) / dt
    omega[-1] = axis_angle_from_quat(quat_mul(quats[-1], quat_conjugate(quats[-2]))) / dt
    return omega
