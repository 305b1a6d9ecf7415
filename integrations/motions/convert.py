"""From a base + joint trajectory to a motion file's fields: resampling, forward kinematics, finite differences.

:func:`build_motion` is the one path every motion we write goes through (the ``convert`` command and the demo
motions alike).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .csv_format import fps_from_filename, read_csv
from .derivatives import angular_velocity, linear_velocity
from .kinematics import RobotKinematics
from .motion_file import names_array
from .quaternions import quat_normalize, quat_unroll
from .resample import interpolate_linear, interpolate_slerp, resample_times

__all__ = ["build_motion", "convert_csv"]


def build_motion(
    kinematics: RobotKinematics,
    fps: float,
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    output_fps: float | None = None,
) -> dict[str, np.ndarray]:
    """Fields of a motion file for a base pose and joint trajectory.

    Args:
        kinematics: The robot.
        fps: Frame rate of the given trajectory.
        root_pos: Base position, world frame. Shape: (T, 3).
        root_quat: Base orientation, **wxyz**. Shape: (T, 4).
        joint_pos: Joint positions in ``kinematics.joint_names`` order. Shape: (T, J).
        output_fps: Resample to this frame rate first (positions linearly, the base orientation by slerp).

    Returns:
        ``fps``, ``joint_pos``, ``joint_vel``, ``body_pos_w``, ``body_quat_w`` (wxyz), ``body_lin_vel_w``,
        ``body_ang_vel_w`` (float64; :func:`~.motion_file.save_motion` stores float32), ``joint_names`` and
        ``body_names``.
    """
    if not np.isfinite(fps) or fps <= 0.0:
        raise ValueError(f"fps must be positive and finite, got {fps}")
    root_pos = np.asarray(root_pos, dtype=np.float64)
    root_quat = np.asarray(root_quat, dtype=np.float64)
    joint_pos = np.asarray(joint_pos, dtype=np.float64)
    if root_pos.ndim != 2 or root_pos.shape[0] < 2:
        raise ValueError(f"root_pos must have shape (T, 3) with T >= 2 frames, got {root_pos.shape}")
    if root_quat.shape != (root_pos.shape[0], 4):
        raise ValueError(f"root_quat must have shape ({root_pos.shape[0]}, 4), got {root_quat.shape}")
    root_quat = quat_unroll(quat_normalize(root_quat))
    if output_fps is not None:
        times = resample_times(root_pos.shape[0], fps, float(output_fps))
        if times.shape[0] < 2:
            raise ValueError(f"output_fps={output_fps} leaves fewer than 2 frames of a {root_pos.shape[0]}-frame clip")
        root_pos = interpolate_linear(root_pos, fps, times)
        root_quat = interpolate_slerp(root_quat, fps, times)
        joint_pos = interpolate_linear(joint_pos, fps, times)
        fps = float(output_fps)
    body_pos, body_quat = kinematics.forward(root_pos, root_quat, joint_pos)
    # Consecutive frames in one hemisphere: q and -q are the same rotation, and a sign flip would break naive
    # interpolation in readers.
    body_quat = quat_unroll(body_quat, axis=0)
    dt = 1.0 / fps
    return {
        "fps": np.asarray([fps], dtype=np.float64),
        "joint_pos": joint_pos,
        "joint_vel": linear_velocity(joint_pos, dt),
        "body_pos_w": body_pos,
        "body_quat_w": body_quat,
        "body_lin_vel_w": linear_velocity(body_pos, dt),
        "body_ang_vel_w": angular_velocity(body_quat, dt),
        "joint_names": names_array(kinematics.joint_names, "joint_names"),
        "body_names": names_array(kinematics.body_names, "body_names"),
    }


def convert_csv(
    path: str | os.PathLike,
    kinematics: RobotKinematics,
    fps: float | None = None,
    output_fps: float | None = None,
    frame_range: tuple[int, int] | None = None,
    csv_joint_names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Convert one LAFAN1-G1-style CSV to motion-file fields.

    Args:
        path: The CSV.
        kinematics: The robot.
        fps: Frame rate of the CSV; ``None`` parses it from the file name.
        output_fps: Resample to this rate (``None`` keeps the CSV's rate).
        frame_range: ``(first, last)`` CSV frames to keep, 1-based and inclusive (as BeyondMimic's ``frame_range``).
        csv_joint_names: Names of the CSV's joint columns in order, if they are not in the robot's joint order.

    Returns:
        The fields, as :func:`build_motion` returns them.
    """
    if fps is None:
        fps = fps_from_filename(path)
        if fps is None:
            raise ValueError(
                f"fps: no frame rate given and none in the file name {os.fspath(path)!r} (e.g. walk_30fps.csv)"
            )
    columns = kinematics.num_joints if csv_joint_names is None else len(csv_joint_names)
    root_pos, root_quat, joint_pos = read_csv(path, columns)
    if csv_joint_names is not None:
        joint_pos = _to_robot_joint_order(joint_pos, list(csv_joint_names), kinematics.joint_names)
    if frame_range is not None:
        first, last = frame_range
        if not 1 <= first < last <= root_pos.shape[0]:
            raise ValueError(
                f"frame_range must satisfy 1 <= first < last <= {root_pos.shape[0]} (frames in {os.fspath(path)!r}), "
                f"got ({first}, {last})"
            )
        keep = slice(first - 1, last)
        root_pos, root_quat, joint_pos = root_pos[keep], root_quat[keep], joint_pos[keep]
    return build_motion(kinematics, float(fps), root_pos, root_quat, joint_pos, output_fps=output_fps)


def _to_robot_joint_order(joint_pos: np.ndarray, csv_names: list[str], robot_names: list[str]) -> np.ndarray:
    """Reorder CSV joint columns (named ``csv_names``) into ``robot_names`` order."""
    missing = [name for name in robot_names if name not in csv_names]
    if missing:
        raise ValueError(f"csv_joint_names lacks joints of the robot: {missing}")
    extra = [name for name in csv_names if name not in robot_names]
    if extra:
        raise ValueError(f"csv_joint_names has joints the robot does not: {extra}")
    if len(set(csv_names)) != len(csv_names):
        raise ValueError("csv_joint_names must be unique")
    return joint_pos[:, [csv_names.index(name) for name in robot_names]]
