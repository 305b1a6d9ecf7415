"""Quaternion math on numpy arrays, scalar-first (``wxyz``) unless a name says otherwise.

All functions broadcast over leading dimensions: a quaternion array has shape ``(..., 4)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "axis_angle_from_quat",
    "quat_conjugate",
    "quat_from_axis_angle",
    "quat_mul",
    "quat_normalize",
    "quat_to_matrix",
    "quat_unroll",
    "slerp",
    "wxyz_to_xyzw",
    "xyzw_to_wxyz",
]


def _check_quat(q: np.ndarray, name: str) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.ndim == 0 or q.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4), got {q.shape}")
    return q


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    """Reorder scalar-last quaternions to scalar-first.

    Shape: (..., 4) -> (..., 4).
    """
    q = _check_quat(q, "q")
    return np.concatenate([q[..., 3:4], q[..., 0:3]], axis=-1)


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    """Reorder scalar-first quaternions to scalar-last.

    Shape: (..., 4) -> (..., 4).
    """
    q = _check_quat(q, "q")
    return np.concatenate([q[..., 1:4], q[..., 0:1]], axis=-1)


def quat_normalize(q: np.ndarray) -> np.ndarray:
    """Scale quaternions to unit norm.

    Raises:
        ValueError: a quaternion has (near) zero norm.
    """
    q = _check_quat(q, "q")
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(norm < 1e-9):
        raise ValueError("q holds a quaternion with zero norm; it has no orientation")
    return q / norm


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    """Conjugate (the inverse of a unit quaternion)."""
    q = _check_quat(q, "q")
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``).

    Shape: (..., 4), (..., 4) -> (..., 4), broadcast.
    """
    a = _check_quat(a, "a")
    b = _check_quat(b, "b")
    aw, av = a[..., :1], a[..., 1:]
    bw, bv = b[..., :1], b[..., 1:]
    # (aw, av)(bw, bv) = (aw bw - av . bv, aw bv + bw av + av x bv)
    w = aw * bw - np.sum(av * bv, axis=-1, keepdims=True)
    return np.concatenate([w, aw * bv + bw * av + np.cross(av, bv)], axis=-1)


def quat_from_axis_angle(rotvec: np.ndarray) -> np.ndarray:
    """Unit quaternion of a rotation vector (axis times angle in radians).

    Shape: (..., 3) -> (..., 4).
    """
    rotvec = np.asarray(rotvec, dtype=np.float64)
    if rotvec.ndim == 0 or rotvec.shape[-1] != 3:
        raise ValueError(f"rotvec must have shape (..., 3), got {rotvec.shape}")
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(angle/2)/angle -> 1/2 as angle -> 0; the series keeps it exact for tiny angles.
    small = angle < 1e-8
    scale = np.where(small, 0.5 - angle**2 / 48.0, np.sin(half) / np.where(small, 1.0, angle))
    return np.concatenate([np.cos(half), rotvec * scale], axis=-1)


def axis_angle_from_quat(q: np.ndarray) -> np.ndarray:
    """Rotation vector (axis times angle in [0, pi]) of unit quaternions, taking the shorter way round.

    Shape: (..., 4) -> (..., 3).
    """
    q = _check_quat(q, "q")
    q = np.where(q[..., :1] < 0.0, -q, q)
    w = np.clip(q[..., :1], -1.0, 1.0)
    xyz = q[..., 1:]
    sin_half = np.linalg.norm(xyz, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, w)
    small = sin_half < 1e-8
    # angle / sin(angle/2) -> 2 / w as the angle -> 0.
    scale = np.where(small, 2.0 / np.where(w == 0.0, 1.0, w), angle / np.where(small, 1.0, sin_half))
    return xyz * scale


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices of unit quaternions.

    Shape: (..., 4) -> (..., 3, 3).
    """
    q = quat_normalize(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def quat_unroll(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along ``axis`` so consecutive quaternions lie in the same hemisphere.

    ``q`` and ``-q`` are the same rotation; interpolating between opposite signs would take the long way round.

    Shape: (..., 4) -> (..., 4).
    """
    q = _check_quat(q, "q").copy()
    q = np.moveaxis(q, axis, 0)
    for t in range(1, q.shape[0]):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0.0
        q[t][flip] = -q[t][flip]
    return np.moveaxis(q, 0, axis)


def slerp(q0: np.ndarray, q1: np.ndarray, fraction: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation between unit quaternions along the shorter arc.

    Args:
        q0: Start rotations. Shape: (..., 4).
        q1: End rotations. Shape: (..., 4).
        fraction: Interpolation parameter in [0, 1]; 0 gives ``q0``, 1 gives ``q1`` (up to sign). Shape: (...,) or
            scalar, broadcast against the quaternions' leading dimensions.

    Returns:
        Unit quaternions. Shape: (..., 4).
    """
    q0 = quat_normalize(q0)
    q1 = quat_normalize(q1)
    fraction = np.asarray(fraction, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.clip(np.abs(dot), -1.0, 1.0)
    theta = np.arccos(dot)
    sin_theta = np.sin(theta)
    nearly_equal = sin_theta < 1e-6
    safe_sin = np.where(nearly_equal, 1.0, sin_theta)
    w0 = np.where(nearly_equal, 1.0 - fraction, np.sin((1.0 - fraction) * theta) / safe_sin)
    w1 = np.where(nearly_equal, fraction, np.sin(fraction * theta) / safe_sin)
    return quat_normalize(w0 * q0 + w1 * q1)
