"""Synthetic motion files whose every field is an exact function of time, for loader and resampler tests."""

from __future__ import annotations

import pathlib

import numpy as np

JOINTS = ["j_a", "j_b", "j_c"]
BODIES = ["root", "arm", "leg"]


def yaw_quat(angle: np.ndarray) -> np.ndarray:
    """wxyz rotation about z. Shape: (T,) -> (T, 4)."""
    return np.stack([np.cos(angle / 2), 0 * angle, 0 * angle, np.sin(angle / 2)], axis=-1)


def make_clip(num_frames=11, fps=50.0, joint_names=JOINTS, body_names=BODIES, names=True, yaw_rate=1.0):
    """Fields of a clip whose positions are linear in time and whose yaw turns at a constant rate.

    Linear interpolation and slerp are exact on it, so a resampled clip has known values at every new time.
    """
    t = np.arange(num_frames) / fps
    nj, nb = len(joint_names), len(body_names)
    joint_pos = t[:, None] * (1.0 + np.arange(nj))[None, :]
    joint_vel = np.broadcast_to((1.0 + np.arange(nj))[None, :], (num_frames, nj)).copy()
    body_pos = t[:, None, None] * (1.0 + np.arange(nb))[None, :, None] * np.array([1.0, 2.0, 3.0])
    body_quat = np.repeat(yaw_quat(yaw_rate * t)[:, None, :], nb, axis=1) if num_frames else np.zeros((0, nb, 4))
    data = {
        "fps": np.array([fps], dtype=np.float32),
        "joint_pos": joint_pos.astype(np.float32),
        "joint_vel": joint_vel.astype(np.float32),
        "body_pos_w": body_pos.astype(np.float32),
        "body_quat_w": body_quat.astype(np.float32),
        "body_lin_vel_w": np.zeros((num_frames, nb, 3), np.float32),
        "body_ang_vel_w": np.zeros((num_frames, nb, 3), np.float32),
    }
    if names:
        data["joint_names"] = np.array(joint_names)
        data["body_names"] = np.array(body_names)
    return data


def write(path: pathlib.Path, data: dict) -> pathlib.Path:
    """Save ``data`` as an npz at ``path`` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return path


def write_flat_library(root: pathlib.Path) -> pathlib.Path:
    """A library of two clips in one folder: ``jump`` (7 frames) and ``walk`` (20 frames)."""
    write(root / "walk.npz", make_clip(num_frames=20))
    write(root / "jump.npz", make_clip(num_frames=7))
    return root


def write_nested_library(root: pathlib.Path) -> pathlib.Path:
    """A library with sub-folders: ``subject1/walk``, ``subject2/run`` and ``top``."""
    write(root / "subject1" / "walk.npz", make_clip(num_frames=20))
    write(root / "subject2" / "run.npz", make_clip(num_frames=9))
    write(root / "top.npz", make_clip(num_frames=7))
    return root
