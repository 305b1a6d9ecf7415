"""The simulator-agnostic half of a multi-motion tracking command term, shared by the Isaac Lab and mjlab adapters.

:class:`TrackingCommandMixin` goes before the simulator's ``CommandTerm`` in the bases of each adapter's command. It
holds what does not depend on the simulator: the reference state read from a
:class:`~adaptive_sampling_motions.store.MotionStore` at each environment's frame, the robot state through one read
hook, the segment bookkeeping (what a reset or a clip end records into the sampler, by the core's
:func:`adaptive_sampling.segment_ends` rule, and how new starts are drawn), the tracking-error metrics and the
sampler's summaries. Each adapter keeps its own simulator calls: reading the robot, writing the reference state,
its quaternion functions and randomisation. Imports torch and the core only (no simulator).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch

from adaptive_sampling import AdaptiveSampler, segment_ends
from adaptive_sampling.kernels import entropy

from .store import MotionStore

__all__ = ["POSE_KEYS", "QuatOps", "TrackingCommandMixin", "pose_bounds"]

POSE_KEYS = ("x", "y", "z", "roll", "pitch", "yaw")
"""The keys of a root pose or velocity randomisation range."""

_METRICS = (
    "error_anchor_pos", "error_anchor_rot", "error_anchor_lin_vel", "error_anchor_ang_vel", "error_body_pos",
    "error_body_rot", "error_body_lin_vel", "error_body_ang_vel", "error_joint_pos", "error_joint_vel",
    "motion_progress", "sampling_entropy", "sampling_top1_prob", "sampling_top1_bin",
)


class QuatOps(NamedTuple):
    """The quaternion functions (wxyz) of a simulator's math library that the command uses."""

    mul: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    apply: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    inv: Callable[[torch.Tensor], torch.Tensor]
    yaw: Callable[[torch.Tensor], torch.Tensor]
    """The yaw-only part of a rotation."""
    error_magnitude: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    """The angle between two rotations."""


def pose_bounds(ranges: dict[str, tuple[float, float]], device: torch.device | str) -> torch.Tensor:
    """Per-axis ``(low, high)`` of a randomisation range in :data:`POSE_KEYS` order (missing axes 0). Shape: (6, 2)."""
    unknown = sorted(set(ranges) - set(POSE_KEYS))
    if unknown:
        raise ValueError(f"randomisation ranges take the keys {POSE_KEYS}, got unknown {unknown}")
    return torch.tensor([ranges.get(key, (0.0, 0.0)) for key in POSE_KEYS], dtype=torch.float32, device=device)


class TrackingCommandMixin:
    """Reference and robot state, segment bookkeeping and metrics of a motion tracking command term.

    The command sets ``library`` (the motion store), ``sampler``, ``body_indexes`` (robot indices of the tracked
    bodies, which are also the store's: the store is in the robot's body order) and ``anchor_index`` (the robot's
    anchor body), then calls :meth:`_init_tracking`. It implements :meth:`_read_robot`, :meth:`_read_robot_quat`,
    :meth:`_write_reference_state` and :meth:`_on_segments_started`, and sets ``quat`` to its simulator's
    quaternion functions.

    Attributes:
        motion_ids: Motion each environment tracks. Shape: (num_envs,), int64.
        frames: Current local frame of each environment. Shape: (num_envs,), int64.
        start_frames: Frame where each environment's current segment started. Shape: (num_envs,), int64.
    """

    library: MotionStore
    sampler: AdaptiveSampler
    body_indexes: torch.Tensor
    anchor_index: int
    _eval_motion: int | None
    quat: QuatOps
    # from the simulator's CommandTerm
    cfg: Any
    device: Any
    num_envs: int
    metrics: dict[str, torch.Tensor]
    _env: Any

    def _init_tracking(self) -> None:
        """Allocate the per-environment state and the metrics (after ``library`` and ``sampler`` exist)."""
        num = self.num_envs
        self.motion_ids = torch.zeros(num, dtype=torch.long, device=self.device)
        self.frames = torch.zeros(num, dtype=torch.long, device=self.device)
        self.start_frames = torch.zeros(num, dtype=torch.long, device=self.device)
        self._segment_started_at = torch.full((num,), -1, dtype=torch.long, device=self.device)
        self._all_started = False
        nb = len(self.cfg.body_names)
        self.body_pos_relative_w = torch.zeros(num, nb, 3, device=self.device)
        self.body_quat_relative_w = torch.zeros(num, nb, 4, device=self.device)
        self.body_quat_relative_w[..., 0] = 1.0
        self._one_hot_eye = torch.eye(self.library.num_motions, device=self.device)
        for name in _METRICS:
            self.metrics[name] = torch.zeros(num, device=self.device)

    def __str__(self) -> str:
        lib = self.library
        names = ", ".join(lib.motion_names[:8]) + (", ..." if lib.num_motions > 8 else "")
        return (
            f"{type(self).__name__}: {lib.num_motions} motions ({names}), {lib.total_frames} frames at "
            f"{lib.fps:g} fps, {self.sampler.num_bins} sampler bins, {self._mode_description()}"
        )

    def _mode_description(self) -> str:
        """How the command draws starts now, for ``str()``."""
        raise NotImplementedError

    @property
    def adaptive_sampler(self) -> AdaptiveSampler:
        """The sampler (for the rsl-rl runner's checkpointing and logging)."""
        return self.sampler

    # -- hooks of the simulator adapter ----------------------------------------------------------------------------

    def _read_robot(self, name: str) -> torch.Tensor:
        """The robot's data field ``name`` (``joint_pos``, ``body_link_pos_w``, ...)."""
        raise NotImplementedError

    def _read_robot_quat(self, name: str) -> torch.Tensor:
        """The robot's quaternion field ``name``, wxyz."""
        raise NotImplementedError

    def _write_reference_state(self, env_ids: torch.Tensor) -> None:
        """Put the robots of ``env_ids`` into the reference state of their current frames."""
        raise NotImplementedError

    def _on_segments_started(self) -> None:
        """Called after new segments started and their reference state was written."""

    def _sync_sampler_mode(self) -> None:
        """Called before segments are recorded and started: the place to put the sampler in the config's mode."""

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
        """Position in the clip, 0 at the first frame and 1 at the last. Shape: (num_envs,)."""
        last = (self.library.num_frames[self.motion_ids] - 1).clamp_min(1)
        return self.frames.clamp_max(last).float() / last.float()

    def _reference_root_state(self, env_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Global frames of ``env_ids``, and their reference root pose and velocity as new tensors.

        The root position has the env origin added. Shape: (E,) -> (E,), (E, 3), (E, 4) wxyz, (E, 3), (E, 3).
        """
        store = self.library
        frames = store.frame_index(self.motion_ids[env_ids], self.frames[env_ids])
        root_pos = store.body_pos_w[frames, 0] + self._env.scene.env_origins[env_ids]
        root_quat = store.body_quat_w[frames, 0]
        return frames, root_pos, root_quat, store.body_lin_vel_w[frames, 0], store.body_ang_vel_w[frames, 0]

    # -- robot state (wxyz) ---------------------------------------------------------------------------------------

    @property
    def robot_joint_pos(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self._read_robot("joint_pos")

    @property
    def robot_joint_vel(self) -> torch.Tensor:
        """Shape: (num_envs, num_joints)."""
        return self._read_robot("joint_vel")

    @property
    def robot_body_pos_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self._read_robot("body_link_pos_w")[:, self.body_indexes]

    @property
    def robot_body_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, nb, 4)."""
        return self._read_robot_quat("body_link_quat_w")[:, self.body_indexes]

    @property
    def robot_body_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self._read_robot("body_link_lin_vel_w")[:, self.body_indexes]

    @property
    def robot_body_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, nb, 3)."""
        return self._read_robot("body_link_ang_vel_w")[:, self.body_indexes]

    @property
    def robot_anchor_pos_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self._read_robot("body_link_pos_w")[:, self.anchor_index]

    @property
    def robot_anchor_quat_w(self) -> torch.Tensor:
        """Wxyz. Shape: (num_envs, 4)."""
        return self._read_robot_quat("body_link_quat_w")[:, self.anchor_index]

    @property
    def robot_anchor_lin_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self._read_robot("body_link_lin_vel_w")[:, self.anchor_index]

    @property
    def robot_anchor_ang_vel_w(self) -> torch.Tensor:
        """Shape: (num_envs, 3)."""
        return self._read_robot("body_link_ang_vel_w")[:, self.anchor_index]

    # -- segments -------------------------------------------------------------------------------------------------

    def reset(self, env_ids: Sequence[int] | torch.Tensor | slice | None = None) -> dict:
        """Log the metrics of the ending episodes (sampler summaries refreshed first), then start new segments."""
        self._update_sampler_metrics()
        return super().reset(env_ids)  # type: ignore[misc]

    def _resample_command(self, env_ids: Sequence[int] | torch.Tensor | slice) -> None:
        """Episode reset: record the segments that ended (terminated = failed), then start new ones."""
        if isinstance(env_ids, slice):
            env_ids = torch.arange(self.num_envs, device=self.device)[env_ids]
        env_ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.device).reshape(-1)
        terminations = getattr(self._env, "termination_manager", None)
        if terminations is not None:
            # A segment that started in this very env step has not run (env.reset() right after an in-step reset, a
            # timer resample): the step's termination flags belong to the segment before it, already recorded.
            step = self._env.common_step_counter
            failed = terminations.terminated[env_ids] & (self._segment_started_at[env_ids] < step)
        else:  # the first reset runs while the env builds its managers
            failed = torch.zeros(env_ids.shape[0], dtype=torch.bool, device=self.device)
        self._start_segments(env_ids, failed)

    def _start_segments(self, env_ids: torch.Tensor, failed: torch.Tensor) -> None:
        """Record the segments of ``env_ids`` that were running, draw new starts, write the reference state."""
        if env_ids.numel() == 0:
            return
        self._sync_sampler_mode()
        recorded, failed_recorded = env_ids, failed
        if not self._all_started:
            running = self._segment_started_at[env_ids] >= 0
            recorded, failed_recorded = env_ids[running], failed[running]
        if recorded.numel() > 0:
            motion_ids, start_frames = self.motion_ids[recorded], self.start_frames[recorded]
            end_frames, _ = self._segment_ends(motion_ids, start_frames, self.frames[recorded])
            self.sampler.record(motion_ids, start_frames, end_frames, failed_recorded)

        if self._eval_motion is not None and not self.sampler.training:
            motion_ids, start_frames = self.sampler.sample(motion_ids=torch.full_like(env_ids, self._eval_motion))
        else:
            motion_ids, start_frames = self.sampler.sample(int(env_ids.shape[0]))
        self.motion_ids[env_ids] = motion_ids
        self.frames[env_ids] = start_frames
        self.start_frames[env_ids] = start_frames
        self._segment_started_at[env_ids] = getattr(self._env, "common_step_counter", 0)
        if not self._all_started:
            self._all_started = bool((self._segment_started_at >= 0).all())
        self._write_reference_state(env_ids)
        self._on_segments_started()

    def _segment_ends(
        self, motion_ids: torch.Tensor, start_frames: torch.Tensor, frames: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """End frames and clip ends of segments whose reference has been tracked up to ``frames`` (the core's rule).

        Shape: (E,) each -> (E,), (E,).
        """
        fps = self.library.fps
        return segment_ends(start_frames, frames.double() / fps, fps, self.library.num_frames[motion_ids])

    def _advance_frames(self, env_ids: torch.Tensor | None = None) -> None:
        """Advance the frames of ``env_ids`` (None: all) by one; clip ends record a success and restart.

        The step's terminations were checked against the current frames: a segment on its clip's last frame is done
        and restarts here without ending its episode.
        """
        _, clip_end = self._segment_ends(self.motion_ids, self.start_frames, self.frames)
        if env_ids is None:
            self.frames += 1
        else:
            self.frames[env_ids] += 1
            scoped = torch.zeros_like(clip_end)
            scoped[env_ids] = True
            clip_end &= scoped
        ended = clip_end.nonzero().flatten()
        if ended.numel() > 0:
            self._start_segments(ended, torch.zeros(ended.shape[0], dtype=torch.bool, device=self.device))

    # -- relative poses and metrics -------------------------------------------------------------------------------

    def update_relative_body_poses(self) -> None:
        """Reference body poses moved onto the robot's anchor (its xy position and heading), as BeyondMimic."""
        nb = len(self.cfg.body_names)
        anchor_pos = self.anchor_pos_w[:, None, :].expand(-1, nb, -1)
        anchor_quat = self.anchor_quat_w[:, None, :].expand(-1, nb, -1)
        delta_pos = self.robot_anchor_pos_w[:, None, :].expand(-1, nb, -1).clone()
        delta_pos[..., 2] = anchor_pos[..., 2]
        robot_anchor_quat = self.robot_anchor_quat_w[:, None, :].expand(-1, nb, -1)
        quat = self.quat
        delta_quat = quat.yaw(quat.mul(robot_anchor_quat, quat.inv(anchor_quat)))
        self.body_quat_relative_w = quat.mul(delta_quat, self.body_quat_w)
        self.body_pos_relative_w = delta_pos + quat.apply(delta_quat, self.body_pos_w - anchor_pos)

    def _update_metrics(self) -> None:
        m, error_rot = self.metrics, self.quat.error_magnitude
        m["error_anchor_pos"] = torch.norm(self.anchor_pos_w - self.robot_anchor_pos_w, dim=-1)
        m["error_anchor_rot"] = error_rot(self.anchor_quat_w, self.robot_anchor_quat_w)
        m["error_anchor_lin_vel"] = torch.norm(self.anchor_lin_vel_w - self.robot_anchor_lin_vel_w, dim=-1)
        m["error_anchor_ang_vel"] = torch.norm(self.anchor_ang_vel_w - self.robot_anchor_ang_vel_w, dim=-1)
        m["error_body_pos"] = torch.norm(self.body_pos_relative_w - self.robot_body_pos_w, dim=-1).mean(-1)
        m["error_body_rot"] = error_rot(self.body_quat_relative_w, self.robot_body_quat_w).mean(-1)
        m["error_body_lin_vel"] = torch.norm(self.body_lin_vel_w - self.robot_body_lin_vel_w, dim=-1).mean(-1)
        m["error_body_ang_vel"] = torch.norm(self.body_ang_vel_w - self.robot_body_ang_vel_w, dim=-1).mean(-1)
        m["error_joint_pos"] = torch.norm(self.joint_pos - self.robot_joint_pos, dim=-1)
        m["error_joint_vel"] = torch.norm(self.joint_vel - self.robot_joint_vel, dim=-1)
        m["motion_progress"] = self.motion_progress

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
