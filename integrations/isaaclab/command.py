"""Multi-motion tracking command for Isaac Lab, driven by the adaptive sampler. Imports isaaclab.

Each environment tracks one motion of a :class:`~adaptive_sampling_isaaclab.motion_library.MotionLibrary` from a
start frame drawn by :class:`adaptive_sampling.AdaptiveSampler`:

- at a reset, the segment that ended is recorded (terminated = failed, time-out = not failed), a new start is
  drawn and the reference state of that frame is written to the robot, randomised like BeyondMimic's command;
- every environment step the frames advance (and ``sampler.step()`` runs once); an environment that reaches its
  clip's end records a success and gets a new start without ending its episode;
- in evaluation mode (``cfg.evaluation``) starts are frame 0 of ``cfg.eval_motion`` (or of a motion drawn from
  the prior) and the statistics are frozen.

The term's ``command`` is the reference joint position and velocity; the reference and robot body states it
exposes feed the observation, reward and termination terms in :mod:`adaptive_sampling_isaaclab.mdp`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING
from typing import TYPE_CHECKING

import torch
from adaptive_sampling_motions.tracking import QuatOps, TrackingCommandMixin, pose_bounds

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
from isaaclab.managers import CommandTerm, CommandTermCfg
from isaaclab.utils import configclass

from .compat import IsaacLabApi
from .motion_library import MotionLibrary
from .rotations import quat_apply, quat_conjugate, quat_error_magnitude, quat_from_euler_xyz, quat_mul, yaw_quat

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedRLEnv

__all__ = ["MotionTrackingCommand", "MotionTrackingCommandCfg"]


def _uniform(ranges: dict[str, tuple[float, float]], num: int, device: torch.device) -> torch.Tensor:
    """Samples from per-axis ranges (missing axes are 0). Shape: (num, 6)."""
    bounds = pose_bounds(ranges, device)
    return bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * torch.rand(num, 6, device=device)


class MotionTrackingCommand(TrackingCommandMixin, CommandTerm):
    """Reference motion command over a library of clips with adaptive start sampling.

    The reference and robot state, the segment bookkeeping and the metrics are the shared
    :class:`~adaptive_sampling_motions.tracking.TrackingCommandMixin`; this class reads and writes Isaac Lab.

    Attributes:
        sampler: The adaptive sampler (also set as ``env.adaptive_sampler`` for the rsl-rl runner).
        library: The motion store on the env's device.
        motion_ids: Motion each environment tracks. Shape: (num_envs,), int64.
        frames: Current local frame of each environment. Shape: (num_envs,), int64.
        start_frames: Frame where each environment's current segment started. Shape: (num_envs,), int64.
    """

    cfg: MotionTrackingCommandCfg
    quat = QuatOps(
        mul=quat_mul, apply=quat_apply, inv=quat_conjugate, yaw=yaw_quat, error_magnitude=quat_error_magnitude
    )

    def __init__(self, cfg: MotionTrackingCommandCfg, env: ManagerBasedRLEnv) -> None:
        super().__init__(cfg, env)
        self.robot: Articulation = env.scene[cfg.asset_name]
        self.api = IsaacLabApi.detect()
        control_fps = 1.0 / env.step_dt
        self.library = MotionLibrary.load(
            cfg.motions, fps=control_fps, device=self.device,
            joint_names=list(self.robot.joint_names), body_names=list(self.robot.body_names),
        )
        self.sampler = AdaptiveSampler(cfg.sampler, **self.library.sampler_kwargs(), device=self.device)
        env.adaptive_sampler = self.sampler
        self._eval_motion = self._resolve_eval_motion(cfg.eval_motion)
        if cfg.evaluation:
            self.sampler.eval()

        body_names = list(self.robot.body_names)
        for name in [*cfg.body_names, cfg.anchor_body_name]:
            if name not in body_names:
                raise ValueError(f"MotionTrackingCommandCfg: body {name!r} is not a body of the robot {body_names}")
        self.body_indexes = torch.tensor([body_names.index(n) for n in cfg.body_names], device=self.device)
        self.anchor_index = body_names.index(cfg.anchor_body_name)
        self.motion_anchor_index = list(cfg.body_names).index(cfg.anchor_body_name) if (
            cfg.anchor_body_name in cfg.body_names) else None

        self._init_tracking()

    def _mode_description(self) -> str:
        return f"{'evaluation' if self.cfg.evaluation else 'training'} mode"

    def _read_robot(self, name: str) -> torch.Tensor:
        return self.api.read(self.robot.data, name)

    def _read_robot_quat(self, name: str) -> torch.Tensor:
        return self.api.read_quat(self.robot.data, name)

    # -- evaluation -----------------------------------------------------------------------------------------------

    def _resolve_eval_motion(self, motion: str | int | None) -> int | None:
        if motion is None:
            return None
        try:
            return self.library.motion_id(motion)
        except (TypeError, ValueError) as err:
            raise ValueError(f"MotionTrackingCommandCfg.eval_motion: {err}") from None

    def set_evaluation(self, evaluation: bool, motion: str | int | None = None) -> None:
        """Switch to evaluation (frame-0 starts of ``motion``, frozen statistics) or back to training."""
        self.cfg.evaluation = bool(evaluation)
        self._eval_motion = self._resolve_eval_motion(motion)
        self.sampler.train(not evaluation)

    # -- CommandTerm implementation -------------------------------------------------------------------------------

    def _write_reference_state(self, env_ids: torch.Tensor) -> None:
        """Put the robots of ``env_ids`` into the reference state of their current frames, randomised."""
        cfg, lib, num = self.cfg, self.library, env_ids.shape[0]
        frames, root_pos, root_quat, root_lin_vel, root_ang_vel = self._reference_root_state(env_ids)
        if cfg.pose_range:
            pose = _uniform(cfg.pose_range, num, self.device)
            root_pos = root_pos + pose[:, :3]
            root_quat = quat_mul(quat_from_euler_xyz(pose[:, 3], pose[:, 4], pose[:, 5]), root_quat)
        if cfg.velocity_range:
            velocity = _uniform(cfg.velocity_range, num, self.device)
            root_lin_vel += velocity[:, :3]
            root_ang_vel += velocity[:, 3:]

        joint_pos = lib.joint_pos[frames].clone()
        joint_vel = lib.joint_vel[frames].clone()
        low, high = cfg.joint_position_range
        if low != 0.0 or high != 0.0:
            joint_pos += low + (high - low) * torch.rand_like(joint_pos)
            limits = self.api.read(self.robot.data, "soft_joint_pos_limits")[env_ids]
            joint_pos = torch.maximum(torch.minimum(joint_pos, limits[..., 1]), limits[..., 0])
        self.api.write_joint_state(self.robot, joint_pos, joint_vel, env_ids)
        self.api.write_root_state(self.robot, root_pos, root_quat, root_lin_vel, root_ang_vel, env_ids)

    def _on_segments_started(self) -> None:
        # Terminations are computed before the next command update: they must see the new reference already.
        self.update_relative_body_poses()

    def _update_command(self) -> None:
        """Advance one env step; clip ends record a success and restart without ending the episode."""
        self._advance_frames()
        self.sampler.step()
        self.update_relative_body_poses()

    def _update_metrics(self) -> None:
        super()._update_metrics()
        self._update_sampler_metrics()


@configclass
class MotionTrackingCommandCfg(CommandTermCfg):
    """Configuration of :class:`MotionTrackingCommand`."""

    class_type: type = MotionTrackingCommand

    asset_name: str = "robot"
    """The robot in the scene."""

    motions: list[str] = MISSING
    """Motion files, directories or globs (BeyondMimic npz, optionally with joint/body names)."""

    sampler: AdaptiveSamplerCfg = dataclasses.field(default_factory=AdaptiveSamplerCfg)
    """The adaptive sampler's configuration."""

    anchor_body_name: str = MISSING
    """The body whose global pose is tracked (BeyondMimic: the torso)."""

    body_names: list[str] = MISSING
    """Bodies whose relative poses and velocities are tracked."""

    pose_range: dict[str, tuple[float, float]] = {}
    """Uniform noise added to the reference root pose at a start: keys x, y, z [m], roll, pitch, yaw [rad]."""

    velocity_range: dict[str, tuple[float, float]] = {}
    """Uniform noise added to the reference root velocity at a start: keys x, y, z [m/s], roll, pitch, yaw [rad/s]."""

    joint_position_range: tuple[float, float] = (0.0, 0.0)
    """Uniform noise added to the reference joint positions at a start [rad] (then clipped to the soft limits)."""

    resampling_time_range: tuple[float, float] = (1.0e9, 1.0e9)
    """Starts are drawn at resets and clip ends only, never on a timer."""

    evaluation: bool = False
    """Evaluation mode: start at frame 0, sampler statistics frozen."""

    eval_motion: str | int | None = None
    """In evaluation mode: the motion (name or index) every start uses; None draws motions from the prior."""
