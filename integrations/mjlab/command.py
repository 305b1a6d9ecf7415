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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import torch
from adaptive_sampling_motions.tracking import QuatOps, TrackingCommandMixin, pose_bounds

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
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


def _uniform_pose(ranges: dict[str, tuple[float, float]], num: int, device: str) -> torch.Tensor:
    """Samples from per-axis ranges (missing axes 0), with mjlab's ``sample_uniform``. Shape: (num, 6)."""
    bounds = pose_bounds(ranges, device)
    return sample_uniform(bounds[:, 0], bounds[:, 1], (num, 6), device=device)


class MultiMotionCommand(TrackingCommandMixin, CommandTerm):
    """Reference motion over a library of clips, with adaptive start sampling.

    The reference and robot state, the segment bookkeeping and the metrics are the shared
    :class:`~adaptive_sampling_motions.tracking.TrackingCommandMixin`; this class reads and writes mjlab.

    Attributes:
        sampler: The adaptive sampler (also ``env.adaptive_sampler``).
        library: The motion store on the env's device.
        motion_ids: Motion each environment tracks. Shape: (num_envs,), int64.
        frames: Current local frame of each environment (also ``time_steps``, mjlab's name). Shape: (num_envs,).
        start_frames: Frame where each environment's current segment started. Shape: (num_envs,), int64.
    """

    cfg: MultiMotionCommandCfg
    _env: ManagerBasedRlEnv
    quat = QuatOps(mul=quat_mul, apply=quat_apply, inv=quat_inv, yaw=yaw_quat, error_magnitude=quat_error_magnitude)

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
        self.anchor_index = self.robot_anchor_body_index
        self.motion_anchor_body_index = list(cfg.body_names).index(cfg.anchor_body_name)
        self.body_indexes = torch.tensor(
            self.robot.find_bodies(list(cfg.body_names), preserve_order=True)[0], dtype=torch.long, device=self.device
        )

        self.library = MotionStore.load(
            cfg.motions,
            fps=1.0 / env.step_dt,
            joint_names=list(self.robot.joint_names),
            body_names=body_names,
            device=self.device,
        )
        self.sampler = AdaptiveSampler(
            cfg.sampler, self.library.num_frames, self.library.fps, self.library.motion_names, device=self.device
        )
        env.adaptive_sampler = self.sampler
        self._eval_motion = None if cfg.eval_motion is None else self.library.motion_id(cfg.eval_motion)
        if cfg.sampling_mode == "start":
            self.sampler.eval()

        self._pending_forward = False
        self._init_tracking()

    def _mode_description(self) -> str:
        return f"mode {self.cfg.sampling_mode}"

    @property
    def time_steps(self) -> torch.Tensor:
        """Current local frame of each environment (``frames``, under mjlab's name). Shape: (num_envs,), int64."""
        return self.frames

    def _read_robot(self, name: str) -> torch.Tensor:
        return getattr(self.robot.data, name)

    _read_robot_quat = _read_robot  # mjlab's quaternions are wxyz already

    # -- evaluation -------------------------------------------------------------------------------------------------

    def set_evaluation(self, evaluation: bool, motion: str | int | None = None) -> None:
        """Switch to play (frame-0 starts of ``motion``, frozen statistics) or back to adaptive training."""
        self._eval_motion = None if motion is None else self.library.motion_id(motion)
        self.cfg.sampling_mode = "start" if evaluation else "adaptive"
        self.sampler.train(not evaluation)

    # -- CommandTerm ------------------------------------------------------------------------------------------------

    def reset(self, env_ids: torch.Tensor | slice | None) -> dict[str, float]:
        """Log the ending episodes' metrics (sampler summaries refreshed first), then start new segments."""
        extras = super().reset(env_ids)
        # the env runs forward() after a reset itself; only compute-path restarts need our own
        self._pending_forward = False
        return extras

    def _sync_sampler_mode(self) -> None:
        evaluating = self.cfg.sampling_mode == "start"
        if self.sampler.training == evaluating:  # the mode is the config's (a loaded checkpoint may say otherwise)
            self.sampler.train(not evaluating)

    def _on_segments_started(self) -> None:
        self._pending_forward = True

    def _write_reference_state(self, env_ids: torch.Tensor) -> None:
        """Put the robots of ``env_ids`` into the reference state of their frames, randomised as mjlab's command."""
        cfg, store, num = self.cfg, self.library, env_ids.shape[0]
        frames, root_pos, root_quat, root_lin_vel, root_ang_vel = self._reference_root_state(env_ids)
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

    def _update_command(self, env_ids: torch.Tensor | None = None) -> None:
        """Advance the frames; clip ends record a success and restart without ending the episode.

        ``env_ids is None`` is the per-step path (all envs; the sampler steps once); otherwise the reset path of
        ``env.reset()``, scoped to those envs. A segment that was on its clip's last frame has reached the clip's end:
        it restarts in this update (mjlab's command wraps at the same step).
        """
        self._advance_frames(env_ids)
        if self._pending_forward:
            # restarts wrote qpos/qvel; refresh derived quantities before reading the robot's anchor below
            self._pending_forward = False
            self._env.sim.forward()
        self.update_relative_body_poses()
        if env_ids is None:
            self.sampler.step()


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
