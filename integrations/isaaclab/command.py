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
import math
from collections.abc import Sequence
from dataclasses import MISSING
from typing import TYPE_CHECKING

import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg, segment_ends
from adaptive_sampling.kernels import entropy
from isaaclab.managers import CommandTerm, CommandTermCfg
from isaaclab.utils import configclass

from .compat import IsaacLabApi
from .motion_library import MotionLibrary
from .rotations import quat_apply, quat_conjugate, quat_error_magnitude, quat_from_euler_xyz, quat_mul, yaw_quat

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedRLEnv

__all__ = ["MotionTrackingCommand", "MotionTrackingCommandCfg"]

_POSE_KEYS = ("x", "y", "z", "roll", "pitch", "yaw")


def _uniform(ranges: dict[str, tuple[float, float]], num: int, device: torch.device) -> torch.Tensor:
    """Samples from per-axis ranges (missing axes are 0). Shape: (num, 6)."""
    unknown = set(ranges) - set(_POSE_KEYS)
    if unknown:
        raise ValueError(f"randomisation ranges accept the keys {_POSE_KEYS}, got unknown {sorted(unknown)}")
    bounds = torch.tensor([ranges.get(key, (0.0, 0.0)) for key in _POSE_KEYS], dtype=torch.float32, device=device)
    return bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * torch.rand(num, 6, device=device)


class MotionTrackingCommand(CommandTerm):
    """Reference motion command over a library of clips with adaptive start sampling.

    Attributes:
        sampler: The adaptive sampler (also set as ``env.adaptive_sampler`` for the rsl-rl runner).
        library: The motion store on the env's device.
        motion_ids: Motion each environment tracks. Shape: (num_envs,), int64.
        frames: Current local frame of each environment. Shape: (num_envs,), int64.
        start_frames: Frame where each environment's current segment started. Shape: (num_envs,), int64.
    """

    cfg: MotionTrackingCommandCfg

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

        num = self.num_envs
        self.motion_ids = torch.zeros(num, dtype=torch.long, device=self.device)
        self.frames = torch.zeros(num, dtype=torch.long, device=self.device)
        self.start_frames = torch.zeros(num, dtype=torch.long, device=self.device)
        self._segment_started_at = torch.full((num,), -1, dtype=torch.long, device=self.device)
        self._all_started = False
        nb = len(cfg.body_names)
        self.body_pos_relative_w = torch.zeros(num, nb, 3, device=self.device)
        self.body_quat_relative_w = torch.zeros(num, nb, 4, device=self.device)
        self.body_quat_relative_w[..., 0] = 1.0
        self._one_hot_eye = torch.eye(self.library.num_motions, device=self.device)
        for name in ("error_anchor_pos", "error_anchor_rot", "error_anchor_lin_vel", "error_anchor_ang_vel",
                     "error_body_pos", "error_body_rot", "error_body_lin_vel", "error_body_ang_vel",
                     "error_joint_pos", "error_joint_vel", "motion_progress", "sampling_entropy",
                     "sampling_top1_prob", "sampling_top1_bin"):
            self.metrics[name] = torch.zeros(num, device=self.device)

    def __str__(self) -> str:
        names = ", ".join(self.library.motion_names[:8]) + (", ..." if self.library.num_motions > 8 else "")
        return (
            f"MotionTrackingCommand: {self.library.num_motions} motions ({names}), {self.library.total_frames} "
            f"frames at {self.library.fps:g} fps, {self.sampler.num_bins} sampler bins, "
            f"{'evaluation' if self.cfg.evaluation else 'training'} mode"
        )

    @property
    def adaptive_sampler(self) -> AdaptiveSampler:
        """The sampler (for the rsl-rl runner's checkpointing and logging)."""
        return self.sampler

    # -- reference state at the current frames -------------------------------------------------------------------

    @property
    def _global_frames(self) -> torch.Tensor:
        return self.library.frame_index(self.motion_ids, self.frames)

    @property
    def command(self) -> torch.Tensor:
        """Reference joint positions and velocities. Shape: (num_envs, 2 * num_joints)."""
        return torch.cat([self.joint_pos, self.joint_vel], dim=1)

    @property
    def joint_pos(self) -> torch.Tensor:
        """Reference joint positions. Shape: (num_envs, num_joints)."""
        return self.library.joint_pos[self._global_frames]

    @property
    def joint_vel(self) -> torch.Tensor:
        """Reference joint velocities. Shape: (num_envs, num_joints)."""
        return self.library.joint_vel[self._global_frames]

    @property
    def body_pos_w(self) -> torch.Tensor:
        """Reference positions of the tracked bodies, env origin added. Shape: (num_envs, nb, 3)."""
        pos = self.library.body_pos_w[self._global_frames][:, self.body_indexes]
        return pos + self._env.scene.env_origins[:, None, :]

    @property
    def body_quat_w(self) -> torch.Tensor:
        """Reference orientations (wxyz) of the tracked bodies. Shape: (num_envs, nb, 4)."""
        return self.library.body_quat_w[self._global_frames][:, self.body_indexes]

    @property
    def body_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.library.body_lin_vel_w[self._global_frames][:, self.body_indexes]

    @property
    def body_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.library.body_ang_vel_w[self._global_frames][:, self.body_indexes]

    @property
    def anchor_pos_w(self) -> torch.Tensor:
        """Reference anchor position, env origin added. Shape: (num_envs, 3)."""
        return self.library.body_pos_w[self._global_frames, self.anchor_index] + self._env.scene.env_origins

    @property
    def anchor_quat_w(self) -> torch.Tensor:
        """Reference anchor orientation, wxyz. Shape: (num_envs, 4)."""
        return self.library.body_quat_w[self._global_frames, self.anchor_index]

    @property
    def anchor_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.library.body_lin_vel_w[self._global_frames, self.anchor_index]

    @property
    def anchor_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.library.body_ang_vel_w[self._global_frames, self.anchor_index]

    @property
    def motion_one_hot(self) -> torch.Tensor:
        """One-hot motion id. Shape: (num_envs, num_motions)."""
        return self._one_hot_eye[self.motion_ids]

    @property
    def motion_progress(self) -> torch.Tensor:
        """Position in the clip in [0, 1]. Shape: (num_envs,)."""
        last = (self.library.num_frames[self.motion_ids] - 1).clamp_min(1)
        return self.frames.float() / last.float()

    # -- robot state (wxyz) ---------------------------------------------------------------------------------------

    @property
    def robot_joint_pos(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self.api.read(self.robot.data, "joint_pos")

    @property
    def robot_joint_vel(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self.api.read(self.robot.data, "joint_vel")

    @property
    def robot_body_pos_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.api.read(self.robot.data, "body_link_pos_w")[:, self.body_indexes]

    @property
    def robot_body_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, nb, 4)."""
        return self.api.read_quat(self.robot.data, "body_link_quat_w")[:, self.body_indexes]

    @property
    def robot_body_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.api.read(self.robot.data, "body_link_lin_vel_w")[:, self.body_indexes]

    @property
    def robot_body_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.api.read(self.robot.data, "body_link_ang_vel_w")[:, self.body_indexes]

    @property
    def robot_anchor_pos_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.api.read(self.robot.data, "body_link_pos_w")[:, self.anchor_index]

    @property
    def robot_anchor_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, 4)."""
        return self.api.read_quat(self.robot.data, "body_link_quat_w")[:, self.anchor_index]

    @property
    def robot_anchor_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.api.read(self.robot.data, "body_link_lin_vel_w")[:, self.anchor_index]

    @property
    def robot_anchor_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.api.read(self.robot.data, "body_link_ang_vel_w")[:, self.anchor_index]

    # -- evaluation -----------------------------------------------------------------------------------------------

    def _resolve_eval_motion(self, motion: str | int | None) -> int | None:
        if motion is None:
            return None
        names = self.library.motion_names
        if isinstance(motion, str):
            if motion not in names:
                raise ValueError(f"MotionTrackingCommandCfg.eval_motion {motion!r} is not one of the motions {names}")
            return names.index(motion)
        if isinstance(motion, bool) or not isinstance(motion, int) or not 0 <= motion < len(names):
            raise ValueError(f"MotionTrackingCommandCfg.eval_motion must be a name or an index in [0, {len(names)}), "
                             f"got {motion!r}")
        return motion

    def set_evaluation(self, evaluation: bool, motion: str | int | None = None) -> None:
        """Switch to evaluation (frame-0 starts of ``motion``, frozen statistics) or back to training."""
        self.cfg.evaluation = bool(evaluation)
        self._eval_motion = self._resolve_eval_motion(motion)
        self.sampler.train(not evaluation)

    # -- CommandTerm implementation -------------------------------------------------------------------------------

    def reset(self, env_ids: Sequence[int] | slice | None = None) -> dict[str, torch.Tensor]:
        """Log the metrics of the ending episodes (sampler summaries refreshed first), then start new segments."""
        self._update_sampler_metrics()
        return super().reset(env_ids)

    def _env_ids_tensor(self, env_ids: Sequence[int] | slice | torch.Tensor) -> torch.Tensor:
        if isinstance(env_ids, slice):
            return torch.arange(self.num_envs, device=self.device)[env_ids]
        return torch.as_tensor(env_ids, dtype=torch.long, device=self.device).reshape(-1)

    def _resample_command(self, env_ids: Sequence[int] | slice) -> None:
        """Episode reset: record the ended segments (terminated = failed), then start new ones."""
        env_ids = self._env_ids_tensor(env_ids)
        # A segment that started in this very env step has not run (e.g. env.reset() right after an in-step
        # reset): the termination flags of the step belong to the segment before it, already recorded.
        step = self._env.common_step_counter
        terminated = getattr(self._env, "termination_manager", None)
        if terminated is not None:
            failed = terminated.terminated[env_ids] & (self._segment_started_at[env_ids] < step)
        else:
            failed = torch.zeros(env_ids.shape[0], dtype=torch.bool, device=self.device)
        self._start_segments(env_ids, failed)

    def _start_segments(self, env_ids: torch.Tensor, failed: torch.Tensor) -> None:
        """Record the segments of ``env_ids`` that were running, draw new starts, write the reference state."""
        if env_ids.numel() == 0:
            return
        recorded, failed_recorded = env_ids, failed
        if not self._all_started:
            running = self._segment_started_at[env_ids] >= 0
            recorded, failed_recorded = env_ids[running], failed[running]
        if recorded.numel() > 0:
            motion_ids, start_frames = self.motion_ids[recorded], self.start_frames[recorded]
            end_frames, _ = self._segment_ends(motion_ids, start_frames, self.frames[recorded])
            self.sampler.record(motion_ids, start_frames, end_frames, failed_recorded)

        if self._eval_motion is not None and not self.sampler.training:
            chosen = torch.full_like(env_ids, self._eval_motion)
            motion_ids, start_frames = self.sampler.sample(motion_ids=chosen)
        else:
            motion_ids, start_frames = self.sampler.sample(int(env_ids.shape[0]))
        self.motion_ids[env_ids] = motion_ids
        self.frames[env_ids] = start_frames
        self.start_frames[env_ids] = start_frames
        self._segment_started_at[env_ids] = self._env.common_step_counter
        if not self._all_started:
            self._all_started = bool((self._segment_started_at >= 0).all())
        self._write_reference_state(env_ids)
        # Terminations are computed before the next command update: they must see the new reference already.
        self._update_relative_bodies()

    def _write_reference_state(self, env_ids: torch.Tensor) -> None:
        """Put the robots of ``env_ids`` into the reference state of their current frames, randomised."""
        cfg = self.cfg
        frames = self.library.frame_index(self.motion_ids[env_ids], self.frames[env_ids])
        lib = self.library
        num = env_ids.shape[0]
        root_pos = lib.body_pos_w[frames, 0] + self._env.scene.env_origins[env_ids]
        root_quat = lib.body_quat_w[frames, 0]
        root_lin_vel = lib.body_lin_vel_w[frames, 0].clone()
        root_ang_vel = lib.body_ang_vel_w[frames, 0].clone()
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

    def _segment_ends(
        self, motion_ids: torch.Tensor, start_frames: torch.Tensor, frames: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """End frames and clip ends of segments whose reference has been tracked up to ``frames`` (the core's rule).

        Shape: (E,) each -> (E,), (E,).
        """
        fps = self.library.fps
        return segment_ends(start_frames, frames.double() / fps, fps, self.library.num_frames[motion_ids])

    def _update_command(self) -> None:
        """Advance one env step; clip ends record a success and restart without ending the episode."""
        # This step's terminations were checked against the current frames: a segment on its clip's last frame is done.
        _, clip_end = self._segment_ends(self.motion_ids, self.start_frames, self.frames)
        self.frames += 1
        ended = clip_end.nonzero().flatten()
        if ended.numel() > 0:
            self._start_segments(ended, torch.zeros(ended.shape[0], dtype=torch.bool, device=self.device))
        self.sampler.step()
        self._update_relative_bodies()

    def _update_relative_bodies(self) -> None:
        """Reference body poses moved onto the robot's anchor (its xy position and heading), as BeyondMimic."""
        nb = len(self.cfg.body_names)
        anchor_pos = self.anchor_pos_w[:, None, :].expand(-1, nb, -1)
        anchor_quat = self.anchor_quat_w[:, None, :].expand(-1, nb, -1)
        robot_anchor_pos = self.robot_anchor_pos_w[:, None, :].expand(-1, nb, -1)
        robot_anchor_quat = self.robot_anchor_quat_w[:, None, :].expand(-1, nb, -1)
        delta_pos = robot_anchor_pos.clone()
        delta_pos[..., 2] = anchor_pos[..., 2]
        delta_quat = yaw_quat(quat_mul(robot_anchor_quat, quat_conjugate(anchor_quat)))
        self.body_quat_relative_w = quat_mul(delta_quat, self.body_quat_w)
        self.body_pos_relative_w = delta_pos + quat_apply(delta_quat, self.body_pos_w - anchor_pos)

    def _update_metrics(self) -> None:
        m = self.metrics
        m["error_anchor_pos"] = torch.norm(self.anchor_pos_w - self.robot_anchor_pos_w, dim=-1)
        m["error_anchor_rot"] = quat_error_magnitude(self.anchor_quat_w, self.robot_anchor_quat_w)
        m["error_anchor_lin_vel"] = torch.norm(self.anchor_lin_vel_w - self.robot_anchor_lin_vel_w, dim=-1)
        m["error_anchor_ang_vel"] = torch.norm(self.anchor_ang_vel_w - self.robot_anchor_ang_vel_w, dim=-1)
        m["error_body_pos"] = torch.norm(self.body_pos_relative_w - self.robot_body_pos_w, dim=-1).mean(-1)
        m["error_body_rot"] = quat_error_magnitude(self.body_quat_relative_w, self.robot_body_quat_w).mean(-1)
        m["error_body_lin_vel"] = torch.norm(self.body_lin_vel_w - self.robot_body_lin_vel_w, dim=-1).mean(-1)
        m["error_body_ang_vel"] = torch.norm(self.body_ang_vel_w - self.robot_body_ang_vel_w, dim=-1).mean(-1)
        m["error_joint_pos"] = torch.norm(self.joint_pos - self.robot_joint_pos, dim=-1)
        m["error_joint_vel"] = torch.norm(self.joint_vel - self.robot_joint_vel, dim=-1)
        m["motion_progress"] = self.motion_progress
        self._update_sampler_metrics()

    def _update_sampler_metrics(self) -> None:
        """Summaries of the sampler's current distribution on the device (no host sync), as BeyondMimic logs them.

        The distribution is read at every call, so the values follow each rebuild; the runner logs the full set.
        """
        m = self.metrics
        probs = self.sampler.probabilities
        num_bins = probs.shape[0]
        top1_prob, top1_bin = probs.max(dim=0)
        m["sampling_entropy"][:] = entropy(probs) / math.log(num_bins) if num_bins > 1 else 1.0
        m["sampling_top1_prob"][:] = top1_prob
        m["sampling_top1_bin"][:] = top1_bin.float() / num_bins


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
