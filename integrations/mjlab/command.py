"""Multi-motion tracking command for mjlab, driven by the adaptive sampler. Imports mjlab.

Each environment tracks one motion of a :class:`~adaptive_sampling_mjlab.motion_store.MotionStore` from a start frame
drawn by :class:`adaptive_sampling.AdaptiveSampler`. It is a drop-in for mjlab's single-motion ``MotionCommand``: it
exposes the same reference and robot quantities (``anchor_pos_w``, ``body_pos_relative_w``, ``robot_body_quat_w``,
...), so mjlab's own tracking observations, rewards and terminations (``mjlab.tasks.tracking.mdp``) work on it
unchanged. What it adds:

- a motion library (files, directories, globs) read by the project's one motion-file layer, named and mapped to the
  robot by joint and body name;
- at a reset, the segment that ended is recorded into the sampler (terminated = failed, time-out = success), a new
  start (motion, frame) is drawn from it and the reference state is written to the robot with mjlab's randomisation;
- every environment step the frames advance and ``sampler.step()`` runs once; an environment that reaches its clip's
  end records a success and gets a new start without ending its episode;
- ``env.adaptive_sampler`` (found by the rsl-rl runner, which checkpoints, syncs and logs it), the motion id one-hot
  and progress (:mod:`adaptive_sampling_mjlab.mdp`), and the sampler's summaries as metrics;
- ``sampling_mode="start"`` (play): frame-0 starts of ``eval_motion`` (or of a motion drawn from the prior), sampler
  statistics frozen.

The step order is mjlab's (``ManagerBasedRlEnv.step``): terminations, reset of the done envs (``reset`` ->
``_resample_command``), then ``compute`` (``_update_command``; the sampler steps there, once per env step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg, segment_ends
from mjlab.managers import CommandTerm, CommandTermCfg
from mjlab.utils.lab_api.math import (
    quat_apply,
    quat_error_magnitude,
    quat_from_euler_xyz,
    quat_inv,
    quat_mul,
    sample_uniform,
    yaw_quat,
)

from .motion_store import MotionStore

if TYPE_CHECKING:
    from mjlab.entity import Entity
    from mjlab.envs import ManagerBasedRlEnv

__all__ = ["MultiMotionCommand", "MultiMotionCommandCfg"]

_POSE_KEYS = ("x", "y", "z", "roll", "pitch", "yaw")

def _uniform_pose(ranges: dict[str, tuple[float, float]], num: int, device: str) -> torch.Tensor:
    """Samples from per-axis ranges (missing axes 0), with mjlab's ``sample_uniform``. Shape: (num, 6)."""
    unknown = sorted(set(ranges) - set(_POSE_KEYS))
    if unknown:
        raise ValueError(f"randomisation ranges take the keys {_POSE_KEYS}, got unknown {unknown}")
    bounds = torch.tensor([ranges.get(key, (0.0, 0.0)) for key in _POSE_KEYS], device=device)
    return sample_uniform(bounds[:, 0], bounds[:, 1], (num, 6), device=device)


class MultiMotionCommand(CommandTerm):
    """Reference motion over a library of clips, with adaptive start sampling.

    Attributes:
        sampler: The adaptive sampler (also ``env.adaptive_sampler``).
        motions: The motion library on the env's device.
        motion_ids: Motion each environment tracks. Shape: (num_envs,), int64.
        time_steps: Current local frame of each environment (mjlab's name). Shape: (num_envs,), int64.
        start_frames: Frame where each environment's current segment started. Shape: (num_envs,), int64.
    """

    cfg: MultiMotionCommandCfg
    _env: ManagerBasedRlEnv

    def __init__(self, cfg: MultiMotionCommandCfg, env: ManagerBasedRlEnv) -> None:
        super().__init__(cfg, env)
        self.robot: Entity = env.scene[cfg.entity_name]
        body_names = list(self.robot.body_names)
        for name in (*cfg.body_names, cfg.anchor_body_name):
            if name not in body_names:
                raise ValueError(
                    f"MultiMotionCommandCfg: body {name!r} is not a body of {cfg.entity_name!r}: {body_names}"
                )
        if cfg.anchor_body_name not in cfg.body_names:
            raise ValueError(
                f"MultiMotionCommandCfg.anchor_body_name {cfg.anchor_body_name!r} must be one of body_names "
                f"{tuple(cfg.body_names)}"
            )
        if cfg.sampling_mode not in ("adaptive", "start"):
            raise ValueError(
                f"MultiMotionCommandCfg.sampling_mode must be 'adaptive' or 'start', got {cfg.sampling_mode!r}"
            )
        self.robot_anchor_body_index = body_names.index(cfg.anchor_body_name)
        self.motion_anchor_body_index = list(cfg.body_names).index(cfg.anchor_body_name)
        self.body_indexes = torch.tensor(
            self.robot.find_bodies(list(cfg.body_names), preserve_order=True)[0], dtype=torch.long, device=self.device
        )

        self.motions = MotionStore.load(
            cfg.motions,
            fps=1.0 / env.step_dt,
            joint_names=list(self.robot.joint_names),
            body_names=body_names,
            device=self.device,
        )
        self.sampler = AdaptiveSampler(
            cfg.sampler, self.motions.num_frames, self.motions.fps, self.motions.motion_names, device=self.device
        )
        env.adaptive_sampler = self.sampler
        self._eval_motion = None if cfg.eval_motion is None else self.motions.motion_id(cfg.eval_motion)
        if cfg.sampling_mode == "start":
            self.sampler.eval()

        num = self.num_envs
        self.motion_ids = torch.zeros(num, dtype=torch.long, device=self.device)
        self.time_steps = torch.zeros(num, dtype=torch.long, device=self.device)
        self.start_frames = torch.zeros(num, dtype=torch.long, device=self.device)
        self._segment_started_at = torch.full((num,), -1, dtype=torch.long, device=self.device)
        self._all_started = False
        self._pending_forward = False
        nb = len(cfg.body_names)
        self.body_pos_relative_w = torch.zeros(num, nb, 3, device=self.device)
        self.body_quat_relative_w = torch.zeros(num, nb, 4, device=self.device)
        self.body_quat_relative_w[..., 0] = 1.0
        self._one_hot = torch.eye(self.motions.num_motions, device=self.device)
        for name in (
            "error_anchor_pos", "error_anchor_rot", "error_anchor_lin_vel", "error_anchor_ang_vel", "error_body_pos",
            "error_body_rot", "error_body_lin_vel", "error_body_ang_vel", "error_joint_pos", "error_joint_vel",
            "motion_progress", "sampling_entropy", "sampling_top1_prob", "sampling_top1_bin",
        ):
            self.metrics[name] = torch.zeros(num, device=self.device)

    def __str__(self) -> str:
        names = ", ".join(self.motions.motion_names[:8]) + (", ..." if self.motions.num_motions > 8 else "")
        return (
            f"MultiMotionCommand: {self.motions.num_motions} motions ({names}), {self.motions.total_frames} frames at "
            f"{self.motions.fps:g} fps, {self.sampler.num_bins} sampler bins, mode {self.cfg.sampling_mode}"
        )

    @property
    def adaptive_sampler(self) -> AdaptiveSampler:
        """The sampler (for the rsl-rl runner)."""
        return self.sampler

    # -- reference at the current frames ------------------------------------------------------------------------

    @property
    def _frames(self) -> torch.Tensor:
        return self.motions.frame_index(self.motion_ids, self.time_steps)

    @property
    def command(self) -> torch.Tensor:
        """Reference joint positions and velocities. Shape: (num_envs, 2 * num_joints)."""
        return torch.cat([self.joint_pos, self.joint_vel], dim=1)

    @property
    def joint_pos(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self.motions.joint_pos[self._frames]

    @property
    def joint_vel(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self.motions.joint_vel[self._frames]

    @property
    def body_pos_w(self) -> torch.Tensor:
        """Reference positions of the tracked bodies, env origin added. Shape: (num_envs, nb, 3)."""
        return self.motions.body_pos_w[self._frames][:, self.body_indexes] + self._env.scene.env_origins[:, None, :]

    @property
    def body_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, nb, 4)."""
        return self.motions.body_quat_w[self._frames][:, self.body_indexes]

    @property
    def body_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.motions.body_lin_vel_w[self._frames][:, self.body_indexes]

    @property
    def body_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.motions.body_ang_vel_w[self._frames][:, self.body_indexes]

    @property
    def anchor_pos_w(self) -> torch.Tensor:
        """Reference anchor position, env origin added. Shape: (num_envs, 3)."""
        return self.motions.body_pos_w[self._frames, self.robot_anchor_body_index] + self._env.scene.env_origins

    @property
    def anchor_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, 4)."""
        return self.motions.body_quat_w[self._frames, self.robot_anchor_body_index]

    @property
    def anchor_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.motions.body_lin_vel_w[self._frames, self.robot_anchor_body_index]

    @property
    def anchor_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.motions.body_ang_vel_w[self._frames, self.robot_anchor_body_index]

    @property
    def motion_one_hot(self) -> torch.Tensor:
        """One-hot motion id. Shape: (num_envs, num_motions)."""
        return self._one_hot[self.motion_ids]

    @property
    def motion_progress(self) -> torch.Tensor:
        """Position in the clip, 0 at the first frame and 1 at the last. Shape: (num_envs,)."""
        last = (self.motions.num_frames[self.motion_ids] - 1).clamp_min(1)
        return self.time_steps.clamp_max(last).float() / last.float()

    # -- robot ------------------------------------------------------------------------------------------------------

    @property
    def robot_joint_pos(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self.robot.data.joint_pos

    @property
    def robot_joint_vel(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self.robot.data.joint_vel

    @property
    def robot_body_pos_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.robot.data.body_link_pos_w[:, self.body_indexes]

    @property
    def robot_body_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, nb, 4)."""
        return self.robot.data.body_link_quat_w[:, self.body_indexes]

    @property
    def robot_body_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.robot.data.body_link_lin_vel_w[:, self.body_indexes]

    @property
    def robot_body_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self.robot.data.body_link_ang_vel_w[:, self.body_indexes]

    @property
    def robot_anchor_pos_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.robot.data.body_link_pos_w[:, self.robot_anchor_body_index]

    @property
    def robot_anchor_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, 4)."""
        return self.robot.data.body_link_quat_w[:, self.robot_anchor_body_index]

    @property
    def robot_anchor_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.robot.data.body_link_lin_vel_w[:, self.robot_anchor_body_index]

    @property
    def robot_anchor_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self.robot.data.body_link_ang_vel_w[:, self.robot_anchor_body_index]

    # -- evaluation -------------------------------------------------------------------------------------------------

    def set_evaluation(self, evaluation: bool, motion: str | int | None = None) -> None:
        """Switch to play (frame-0 starts of ``motion``, frozen statistics) or back to adaptive training."""
        self._eval_motion = None if motion is None else self.motions.motion_id(motion)
        self.cfg.sampling_mode = "start" if evaluation else "adaptive"
        self.sampler.train(not evaluation)

    # -- CommandTerm ------------------------------------------------------------------------------------------------

    def reset(self, env_ids: torch.Tensor | slice | None) -> dict[str, float]:
        """Log the ending episodes' metrics (sampler summaries refreshed first), then start new segments."""
        self._update_sampler_metrics()
        extras = super().reset(env_ids)
        # the env runs forward() after a reset itself; only compute-path restarts need our own
        self._pending_forward = False
        return extras

    def _resample_command(self, env_ids: torch.Tensor) -> None:
        """Episode reset (or timer): record the segments that ended (terminated = failed), then start new ones."""
        env_ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.device).reshape(-1)
        terminations = getattr(self._env, "termination_manager", None)
        if terminations is not None:
            # A segment that started in this very env step has not run: the step's termination flags belong to
            # the segment before it, already recorded (env.reset() after an auto-reset, timer resamples).
            step = self._env.common_step_counter
            failed = terminations.terminated[env_ids] & (self._segment_started_at[env_ids] < step)
        else:  # the first reset runs while the env builds its managers
            failed = torch.zeros(env_ids.shape[0], dtype=torch.bool, device=self.device)
        self._start_segments(env_ids, failed)

    def _start_segments(self, env_ids: torch.Tensor, failed: torch.Tensor) -> None:
        """Record the running segments of ``env_ids``, draw new starts, write the reference state to the sim."""
        if env_ids.numel() == 0:
            return
        evaluating = self.cfg.sampling_mode == "start"
        if self.sampler.training == evaluating:  # the mode is the config's (a loaded checkpoint may say otherwise)
            self.sampler.train(not evaluating)
        recorded, recorded_failed = env_ids, failed
        if not self._all_started:
            running = self._segment_started_at[env_ids] >= 0
            recorded, recorded_failed = env_ids[running], failed[running]
        if recorded.numel() > 0:
            motion_ids = self.motion_ids[recorded]
            start_frames = self.start_frames[recorded]
            end_frames, _ = self._segment_ends(motion_ids, start_frames, self.time_steps[recorded])
            self.sampler.record(motion_ids, start_frames, end_frames, recorded_failed)

        if self._eval_motion is not None and evaluating:
            motion_ids, start_frames = self.sampler.sample(motion_ids=torch.full_like(env_ids, self._eval_motion))
        else:
            motion_ids, start_frames = self.sampler.sample(int(env_ids.shape[0]))
        self.motion_ids[env_ids] = motion_ids
        self.time_steps[env_ids] = start_frames
        self.start_frames[env_ids] = start_frames
        self._segment_started_at[env_ids] = getattr(self._env, "common_step_counter", 0)
        if not self._all_started:
            self._all_started = bool((self._segment_started_at >= 0).all())
        self._write_reference_state(env_ids)
        self._pending_forward = True

    def _write_reference_state(self, env_ids: torch.Tensor) -> None:
        """Put the robots of ``env_ids`` into the reference state of their frames, randomised as mjlab's command."""
        cfg = self.cfg
        frames = self.motions.frame_index(self.motion_ids[env_ids], self.time_steps[env_ids])
        store = self.motions
        num = env_ids.shape[0]
        root_pos = store.body_pos_w[frames, 0] + self._env.scene.env_origins[env_ids]
        root_quat = store.body_quat_w[frames, 0]
        root_lin_vel = store.body_lin_vel_w[frames, 0]
        root_ang_vel = store.body_ang_vel_w[frames, 0]
        pose = _uniform_pose(cfg.pose_range, num, self.device)
        root_pos = root_pos + pose[:, :3]
        root_quat = quat_mul(quat_from_euler_xyz(pose[:, 3], pose[:, 4], pose[:, 5]), root_quat)
        velocity = _uniform_pose(cfg.velocity_range, num, self.device)
        root_lin_vel = root_lin_vel + velocity[:, :3]
        root_ang_vel = root_ang_vel + velocity[:, 3:]

        low, high = cfg.joint_position_range
        joint_pos = store.joint_pos[frames] + sample_uniform(low, high, (num, store.joint_pos.shape[1]), self.device)
        limits = self.robot.data.soft_joint_pos_limits[env_ids]
        joint_pos = torch.clip(joint_pos, limits[..., 0], limits[..., 1])
        self.robot.write_joint_state_to_sim(joint_pos, store.joint_vel[frames], env_ids=env_ids)
        root_state = torch.cat([root_pos, root_quat, root_lin_vel, root_ang_vel], dim=-1)
        self.robot.write_root_state_to_sim(root_state, env_ids=env_ids)
        self.robot.reset(env_ids=env_ids)

    def _segment_ends(
        self, motion_ids: torch.Tensor, start_frames: torch.Tensor, frames: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """End frames and clip ends of segments tracked up to ``frames`` (the core's segment rule). Shape: (E,) each."""
        fps = self.motions.fps
        return segment_ends(start_frames, frames.double() / fps, fps, self.motions.num_frames[motion_ids])

    def _update_command(self, env_ids: torch.Tensor | None = None) -> None:
        """Advance the frames; clip ends record a success and restart without ending the episode.

        ``env_ids is None`` is the per-step path (all envs; the sampler steps once); otherwise the reset path of
        ``env.reset()``, scoped to those envs. A segment that was on its clip's last frame has reached the clip's end:
        it restarts in this update (mjlab's command wraps at the same step).
        """
        _, clip_end = self._segment_ends(self.motion_ids, self.start_frames, self.time_steps)
        if env_ids is None:
            self.time_steps += 1
        else:
            self.time_steps[env_ids] += 1
            scoped = torch.zeros_like(clip_end)
            scoped[env_ids] = True
            clip_end &= scoped
        ended = clip_end.nonzero().flatten()
        if ended.numel() > 0:
            self._start_segments(ended, torch.zeros(ended.shape[0], dtype=torch.bool, device=self.device))
        if self._pending_forward:
            # restarts wrote qpos/qvel; refresh derived quantities before reading the robot's anchor below
            self._pending_forward = False
            self._env.sim.forward()
        self.update_relative_body_poses()
        if env_ids is None:
            self.sampler.step()

    def update_relative_body_poses(self) -> None:
        """Reference body poses moved onto the robot's anchor (its xy position and heading), as mjlab's command."""
        nb = len(self.cfg.body_names)
        anchor_pos = self.anchor_pos_w[:, None, :].expand(-1, nb, -1)
        anchor_quat = self.anchor_quat_w[:, None, :].expand(-1, nb, -1)
        delta_pos = self.robot_anchor_pos_w[:, None, :].expand(-1, nb, -1).clone()
        delta_pos[..., 2] = anchor_pos[..., 2]
        robot_anchor_quat = self.robot_anchor_quat_w[:, None, :].expand(-1, nb, -1)
        delta_quat = yaw_quat(quat_mul(robot_anchor_quat, quat_inv(anchor_quat)))
        self.body_quat_relative_w = quat_mul(delta_quat, self.body_quat_w)
        self.body_pos_relative_w = delta_pos + quat_apply(delta_quat, self.body_pos_w - anchor_pos)

    def _update_metrics(self) -> None:
        m = self.metrics
        m["error_anchor_pos"] = torch.norm(self.anchor_pos_w - self.robot_anchor_pos_w, dim=-1)
        m["error_anchor_rot"] = quat_error_magnitude(self.anchor_quat_w, self.robot_anchor_quat_w)
        m["error_anchor_lin_vel"] = torch.norm(self.anchor_lin_vel_w - self.robot_anchor_lin_vel_w, dim=-1)
        m["error_anchor_ang_vel"] = torch.norm(self.anchor_ang_vel_w - self.robot_anchor_ang_vel_w, dim=-1)
        m["error_body_pos"] = torch.norm(self.body_pos_relative_w - self.robot_body_pos_w, dim=-1).mean(dim=-1)
        m["error_body_rot"] = quat_error_magnitude(self.body_quat_relative_w, self.robot_body_quat_w).mean(dim=-1)
        m["error_body_lin_vel"] = torch.norm(self.body_lin_vel_w - self.robot_body_lin_vel_w, dim=-1).mean(dim=-1)
        m["error_body_ang_vel"] = torch.norm(self.body_ang_vel_w - self.robot_body_ang_vel_w, dim=-1).mean(dim=-1)
        m["error_joint_pos"] = torch.norm(self.joint_pos - self.robot_joint_pos, dim=-1)
        m["error_joint_vel"] = torch.norm(self.joint_vel - self.robot_joint_vel, dim=-1)
        m["motion_progress"] = self.motion_progress

    def _update_sampler_metrics(self) -> None:
        """Mjlab's ``sampling_*`` summaries from the sampler's distribution, on the device (no host sync)."""
        probs = self.sampler.probabilities
        num_bins = probs.shape[0]
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
        top1_prob, top1_bin = probs.max(dim=0)
        m = self.metrics
        m["sampling_entropy"][:] = entropy / math.log(num_bins) if num_bins > 1 else 1.0
        m["sampling_top1_prob"][:] = top1_prob
        m["sampling_top1_bin"][:] = top1_bin.float() / num_bins


@dataclass(kw_only=True)
class MultiMotionCommandCfg(CommandTermCfg):
    """Configuration of :class:`MultiMotionCommand` (mjlab's ``MotionCommandCfg`` fields, for a motion library)."""

    motions: list[str]
    """Motion files, directories or globs (BeyondMimic npz; named joints/bodies are mapped by name)."""

    anchor_body_name: str
    """The body whose global pose is tracked (the G1: ``torso_link``); one of ``body_names``."""

    body_names: tuple[str, ...]
    """Bodies whose relative poses and velocities are tracked."""

    entity_name: str = "robot"
    """The robot in the scene."""

    sampler: AdaptiveSamplerCfg = field(default_factory=AdaptiveSamplerCfg)
    """The adaptive sampler (``AdaptiveSamplerCfg.beyondmimic()`` reproduces mjlab's built-in sampler)."""

    sampling_mode: Literal["adaptive", "start"] = "adaptive"
    """``"adaptive"``: starts from the sampler (training). ``"start"``: frame-0 starts, statistics frozen (play)."""

    eval_motion: str | int | None = None
    """With ``sampling_mode="start"``: the motion (name or index) every start uses; ``None`` draws from the prior."""

    pose_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Uniform noise on the reference root pose at a start: keys x, y, z [m], roll, pitch, yaw [rad]."""

    velocity_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Uniform noise on the reference root velocity at a start: keys x, y, z [m/s], roll, pitch, yaw [rad/s]."""

    joint_position_range: tuple[float, float] = (-0.52, 0.52)
    """Uniform noise on the reference joint positions at a start [rad], then clipped to the soft limits."""

    resampling_time_range: tuple[float, float] = (1.0e9, 1.0e9)
    """Starts are drawn at resets and clip ends, never on a timer."""

    def build(self, env: ManagerBasedRlEnv) -> MultiMotionCommand:
        """Build the command term."""
        return MultiMotionCommand(self, env)
