"""Quaternion helpers in the (w, x, y, z) order, torch only.

The adapter keeps every quaternion in wxyz internally - the order of BeyondMimic's npz files and of Isaac Lab 2.x -
and converts to the simulator's order only at the boundary (see :mod:`adaptive_sampling_isaaclab.compat`). Having
our own few functions means the math does not change meaning when Isaac Lab changes its convention. (Clips are
resampled on the host, with the numpy slerp of :mod:`adaptive_sampling_motions.quaternions`.)
"""

from __future__ import annotations

import torch

__all__ = [
    "matrix_from_quat",
    "normalize",
    "quat_apply",
    "quat_apply_inverse",
    "quat_conjugate",
    "quat_error_magnitude",
    "quat_from_euler_xyz",
    "quat_mul",
    "yaw_quat",
]


def normalize(quat: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """Unit quaternions. Shape: (..., 4) -> (..., 4)."""
    return quat / quat.norm(dim=-1, keepdim=True).clamp_min(eps)


def quat_conjugate(quat: torch.Tensor) -> torch.Tensor:
    """Conjugate (the inverse of a unit quaternion). Shape: (..., 4)."""
    return torch.cat([quat[..., :1], -quat[..., 1:]], dim=-1)


def quat_mul(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``q1 * q2`` (apply ``q2`` first). Shapes broadcast: (..., 4)."""
    w1, x1, y1, z1 = q1.unbind(-1)
    w2, x2, y2, z2 = q2.unbind(-1)
    return torch.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        dim=-1,
    )


def quat_apply(quat: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Rotate ``vec`` by ``quat``. Shapes broadcast: (..., 4), (..., 3) -> (..., 3)."""
    xyz, vec = torch.broadcast_tensors(quat[..., 1:], vec)
    w = quat[..., :1].expand(*xyz.shape[:-1], 1)
    t = 2.0 * torch.cross(xyz, vec, dim=-1)
    return vec + w * t + torch.cross(xyz, t, dim=-1)


def quat_apply_inverse(quat: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Rotate ``vec`` by the inverse of ``quat``. Shapes: (..., 4), (..., 3) -> (..., 3)."""
    return quat_apply(quat_conjugate(quat), vec)


def yaw_quat(quat: torch.Tensor) -> torch.Tensor:
    """The heading (rotation about world z) of ``quat``. Shape: (..., 4)."""
    w, x, y, z = quat.unbind(-1)
    yaw = torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    zeros = torch.zeros_like(yaw)
    return torch.stack([torch.cos(yaw / 2), zeros, zeros, torch.sin(yaw / 2)], dim=-1)


def quat_from_euler_xyz(roll: torch.Tensor, pitch: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """Quaternion of the extrinsic x-y-z (roll, pitch, yaw) rotation. Shapes: (...,) each -> (..., 4)."""
    cr, sr = torch.cos(roll / 2), torch.sin(roll / 2)
    cp, sp = torch.cos(pitch / 2), torch.sin(pitch / 2)
    cy, sy = torch.cos(yaw / 2), torch.sin(yaw / 2)
    return torch.stack(
        [
            cy * cr * cp + sy * sr * sp,
            cy * sr * cp - sy * cr * sp,
            cy * cr * sp + sy * sr * cp,
            sy * cr * cp - cy * sr * sp,
        ],
        dim=-1,
    )


def quat_error_magnitude(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """Rotation angle in [0, pi] between ``q1`` and ``q2``. Shape: (..., 4) -> (...,)."""
    diff = quat_mul(quat_conjugate(q1), q2)
    return 2.0 * torch.atan2(diff[..., 1:].norm(dim=-1), diff[..., 0].abs())


def matrix_from_quat(quat: torch.Tensor) -> torch.Tensor:
    """Rotation matrices. Shape: (..., 4) -> (..., 3, 3)."""
    w, x, y, z = normalize(quat).unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*quat.shape[:-1], 3, 3)

