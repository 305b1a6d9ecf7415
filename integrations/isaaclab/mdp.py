"""Observation, reward and termination terms of the multi-motion tracking task. Imports isaaclab (via the command).

The reward and termination definitions follow BeyondMimic's tracking task: Gaussian kernels ``exp(-err / std^2)``
of the anchor's global pose error and of the tracked bodies' relative pose and global velocity errors, and
terminations when the anchor height, the anchor's tilt or an end effector's height drift too far from the
reference. All quaternions are wxyz (see :mod:`adaptive_sampling_isaaclab.compat`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from .command import MotionTrackingCommand
from .rotations import matrix_from_quat, quat_apply_inverse, quat_conjugate, quat_error_magnitude, quat_mul

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

__all__ = [
    "bad_anchor_ori",
    "bad_anchor_pos_z_only",
    "bad_motion_body_pos_z_only",
    "motion_anchor_ori_b",
    "motion_anchor_pos_b",
    "motion_global_anchor_orientation_error_exp",
    "motion_global_anchor_position_error_exp",
    "motion_global_body_angular_velocity_error_exp",
    "motion_global_body_linear_velocity_error_exp",
    "motion_id_one_hot",
    "motion_progress",
    "motion_relative_body_orientation_error_exp",
    "motion_relative_body_position_error_exp",
    "robot_body_ori_b",
    "robot_body_pos_b",
]

_GRAVITY_DIR = (0.0, 0.0, -1.0)


def _command(env: ManagerBasedRLEnv, command_name: str) -> MotionTrackingCommand:
    term = env.command_manager.get_term(command_name)
    if not isinstance(term, MotionTrackingCommand):
        raise TypeError(f"command {command_name!r} must be a MotionTrackingCommand, got {type(term).__name__}")
    return term


def _body_subset(command: MotionTrackingCommand, body_names: list[str] | None) -> list[int]:
    if body_names is None:
        return list(range(len(command.cfg.body_names)))
    tracked = list(command.cfg.body_names)
    missing = [name for name in body_names if name not in tracked]
    if missing:
        raise ValueError(f"body_names {missing} are not among the command's tracked bodies {tracked}")
    return [tracked.index(name) for name in body_names]


# -- observations ---------------------------------------------------------------------------------------------------


def motion_id_one_hot(env: ManagerBasedRLEnv, command_name: str) -> torch.Tensor:
    """Which clip each environment tracks, one-hot. Shape: (num_envs, num_motions)."""
    return _command(env, command_name).motion_one_hot


def motion_progress(env: ManagerBasedRLEnv, command_name: str) -> torch.Tensor:
    """How far each environment is into its clip, in [0, 1]. Shape: (num_envs, 1)."""
    return _command(env, command_name).motion_progress[:, None]


def motion_anchor_pos_b(env: ManagerBasedRLEnv, command_name: str) -> torch.Tensor:
    """Reference anchor position in the robot anchor's frame. Shape: (num_envs, 3)."""
    command = _command(env, command_name)
    return quat_apply_inverse(command.robot_anchor_quat_w, command.anchor_pos_w - command.robot_anchor_pos_w)


def motion_anchor_ori_b(env: ManagerBasedRLEnv, command_name: str) -> torch.Tensor:
    """Reference anchor orientation in the robot anchor's frame, as the first two matrix columns. Shape: (N, 6)."""
    command = _command(env, command_name)
    relative = quat_mul(quat_conjugate(command.robot_anchor_quat_w), command.anchor_quat_w)
    return matrix_from_quat(relative)[..., :2].reshape(relative.shape[0], -1)


def robot_body_pos_b(env: ManagerBasedRLEnv, command_name: str) -> torch.Tensor:
    """Tracked body positions of the robot in its anchor's frame. Shape: (num_envs, 3 * nb)."""
    command = _command(env, command_name)
    nb = len(command.cfg.body_names)
    anchor_quat = command.robot_anchor_quat_w[:, None, :].expand(-1, nb, -1)
    offset = command.robot_body_pos_w - command.robot_anchor_pos_w[:, None, :]
    return quat_apply_inverse(anchor_quat, offset).reshape(offset.shape[0], -1)


def robot_body_ori_b(env: ManagerBasedRLEnv, command_name: str) -> torch.Tensor:
    """Tracked body orientations of the robot in its anchor's frame (two matrix columns). Shape: (N, 6 * nb)."""
    command = _command(env, command_name)
    nb = len(command.cfg.body_names)
    anchor_quat = command.robot_anchor_quat_w[:, None, :].expand(-1, nb, -1)
    relative = quat_mul(quat_conjugate(anchor_quat), command.robot_body_quat_w)
    return matrix_from_quat(relative)[..., :2].reshape(relative.shape[0], -1)


# -- rewards --------------------------------------------------------------------------------------------------------


def _squared_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Shape: (..., 3), (..., 3) -> (...)."""
    return torch.sum(torch.square(a - b), dim=-1)


def _squared_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Shape: (..., 4), (..., 4) -> (...)."""
    return quat_error_magnitude(a, b) ** 2


def motion_global_anchor_position_error_exp(env: ManagerBasedRLEnv, command_name: str, std: float) -> torch.Tensor:
    """Shape: (num_envs,)."""
    command = _command(env, command_name)
    return torch.exp(-_squared_distance(command.anchor_pos_w, command.robot_anchor_pos_w) / std**2)


def motion_global_anchor_orientation_error_exp(env: ManagerBasedRLEnv, command_name: str,
                                               std: float) -> torch.Tensor:
    """Shape: (num_envs,)."""
    command = _command(env, command_name)
    return torch.exp(-_squared_angle(command.anchor_quat_w, command.robot_anchor_quat_w) / std**2)


def _body_error_reward(name: str, reference: str, robot: str, error: Callable = _squared_distance) -> Callable:
    """The reward term ``name``: ``exp(-mean over body_names of error(reference, robot) / std^2)``.

    ``reference`` and ``robot`` name the command's per-body quantities; ``body_names=None`` takes every tracked body.
    """

    def term(env: ManagerBasedRLEnv, command_name: str, std: float,
             body_names: list[str] | None = None) -> torch.Tensor:
        command = _command(env, command_name)
        index = _body_subset(command, body_names)
        return torch.exp(-error(getattr(command, reference)[:, index], getattr(command, robot)[:, index]).mean(-1)
                         / std**2)

    term.__name__ = term.__qualname__ = name
    term.__doc__ = f"Gaussian kernel of the error between ``{reference}`` and ``{robot}``. Shape: (num_envs,)."
    return term


motion_relative_body_position_error_exp = _body_error_reward(
    "motion_relative_body_position_error_exp", "body_pos_relative_w", "robot_body_pos_w")
motion_relative_body_orientation_error_exp = _body_error_reward(
    "motion_relative_body_orientation_error_exp", "body_quat_relative_w", "robot_body_quat_w", error=_squared_angle)
motion_global_body_linear_velocity_error_exp = _body_error_reward(
    "motion_global_body_linear_velocity_error_exp", "body_lin_vel_w", "robot_body_lin_vel_w")
motion_global_body_angular_velocity_error_exp = _body_error_reward(
    "motion_global_body_angular_velocity_error_exp", "body_ang_vel_w", "robot_body_ang_vel_w")


# -- terminations ---------------------------------------------------------------------------------------------------


def bad_anchor_pos_z_only(env: ManagerBasedRLEnv, command_name: str, threshold: float) -> torch.Tensor:
    """The anchor's height differs from the reference by more than ``threshold`` [m]. Shape: (num_envs,)."""
    command = _command(env, command_name)
    return torch.abs(command.anchor_pos_w[:, 2] - command.robot_anchor_pos_w[:, 2]) > threshold


def bad_anchor_ori(env: ManagerBasedRLEnv, command_name: str, threshold: float) -> torch.Tensor:
    """The z components of gravity seen from the anchor and from the reference anchor differ by > ``threshold``."""
    command = _command(env, command_name)
    gravity = torch.tensor(_GRAVITY_DIR, device=env.device).expand(env.num_envs, 3)
    motion_gravity = quat_apply_inverse(command.anchor_quat_w, gravity)
    robot_gravity = quat_apply_inverse(command.robot_anchor_quat_w, gravity)
    return torch.abs(motion_gravity[:, 2] - robot_gravity[:, 2]) > threshold


def bad_motion_body_pos_z_only(env: ManagerBasedRLEnv, command_name: str, threshold: float,
                               body_names: list[str] | None = None) -> torch.Tensor:
    """Any of ``body_names`` is off its (anchor-relative) reference height by > ``threshold`` [m]."""
    command = _command(env, command_name)
    index = _body_subset(command, body_names)
    error = torch.abs(command.body_pos_relative_w[:, index, 2] - command.robot_body_pos_w[:, index, 2])
    return torch.any(error > threshold, dim=-1)
