"""Motion clips on a device: the clips of :mod:`.clips` stacked into flat per-frame tensors, one gather per frame.

Every simulator integration keeps its reference motions in a :class:`MotionStore`. Files are found, named, checked,
mapped to the robot's joint and body order and resampled to the control rate by :func:`.clips.load_clips` (the one
reader); this module only stacks the clips and moves them to the device. Imports torch and numpy only (no simulator).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from .clips import MotionClip, MotionSource, load_clips, resample_clip

__all__ = ["MotionStore"]

_FIELDS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")


@dataclasses.dataclass
class MotionStore:
    """All frames of a motion library in flat float32 tensors (quaternions wxyz).

    Motion ``m`` occupies global frames ``offsets[m] .. offsets[m] + num_frames[m] - 1``; every frame is one control
    step (the clips were resampled to ``fps``).
    """

    motion_names: list[str]
    """One name per motion (what sampler checkpoints are remapped by; see :func:`.clips.resolve_motion_files`)."""
    paths: list[str]
    """The file each motion was read from."""
    fps: float
    """Frame rate of every clip (the env's control rate)."""
    num_frames: torch.Tensor
    """Frames per motion. Shape: (M,), int64."""
    offsets: torch.Tensor
    """First global frame of each motion. Shape: (M,), int64."""
    joint_pos: torch.Tensor
    """Shape: (F, J). F is the total number of frames."""
    joint_vel: torch.Tensor
    """Shape: (F, J)."""
    body_pos_w: torch.Tensor
    """Shape: (F, Nb, 3)."""
    body_quat_w: torch.Tensor
    """Wxyz. Shape: (F, Nb, 4)."""
    body_lin_vel_w: torch.Tensor
    """Shape: (F, Nb, 3)."""
    body_ang_vel_w: torch.Tensor
    """Shape: (F, Nb, 3)."""
    joint_names: list[str] | None = None
    """The joints' names in column order (``None``: the files name none)."""
    body_names: list[str] | None = None
    """The bodies' names in order (``None``: the files name none)."""
    source_fps: list[float] = dataclasses.field(default_factory=list)
    """Each file's own frame rate (filled by :meth:`load`)."""

    @classmethod
    def load(
        cls,
        motions: MotionSource,
        *,
        fps: float,
        joint_names: Sequence[str] | None = None,
        body_names: Sequence[str] | None = None,
        device: torch.device | str = "cpu",
    ) -> MotionStore:
        """Load files, directories or globs, map them to the robot's order and resample them to ``fps``.

        Args:
            motions: One path, directory or glob, or a sequence of them.
            fps: The control rate (1 / env step) every clip is resampled to.
            joint_names: The robot's joints, in its order (None: keep the files' order).
            body_names: The robot's bodies, in its order (None: keep the files' order).
            device: Where the store lives.
        """
        clips = load_clips(motions, joint_names=joint_names, body_names=body_names)
        store = cls.from_clips([resample_clip(clip, fps) for clip in clips], device=device)
        store.source_fps = [clip.fps for clip in clips]
        return store

    @classmethod
    def from_clips(cls, clips: Sequence[MotionClip], *, device: torch.device | str = "cpu") -> MotionStore:
        """Stack clips that share one frame rate and one joint and body layout.

        Raises:
            ValueError: no clips, or the clips differ in frame rate or joint/body counts.
        """
        if not clips:
            raise ValueError("clips must hold at least one MotionClip, got none")
        first = clips[0]
        for clip in clips[1:]:
            if not np.isclose(clip.fps, first.fps, rtol=1e-9):
                raise ValueError(f"clips must share one fps: {first.path} has {first.fps}, {clip.path} {clip.fps}")
            for key in ("joint_pos", "body_pos_w"):
                if getattr(clip, key).shape[1:] != getattr(first, key).shape[1:]:
                    raise ValueError(
                        f"clips must share one layout: {key} of {clip.path} has per-frame shape "
                        f"{getattr(clip, key).shape[1:]}, of {first.path} {getattr(first, key).shape[1:]}"
                    )
        num_frames = torch.tensor([clip.num_frames for clip in clips], dtype=torch.long, device=device)
        stacked = {
            key: torch.as_tensor(np.concatenate([getattr(c, key) for c in clips]), dtype=torch.float32, device=device)
            for key in _FIELDS
        }
        return cls(
            motion_names=[clip.name for clip in clips], paths=[str(clip.path) for clip in clips],
            fps=float(first.fps), num_frames=num_frames, offsets=torch.cumsum(num_frames, 0) - num_frames, **stacked,
            joint_names=first.joint_names, body_names=first.body_names,
        )

    @property
    def num_motions(self) -> int:
        """Number of motions M."""
        return len(self.motion_names)

    @property
    def total_frames(self) -> int:
        """Number of frames F over all motions."""
        return int(self.joint_pos.shape[0])

    def frame_index(self, motion_ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Global frames of local ``frames`` of ``motion_ids``, clamped into each clip. Shape: (N,), (N,) -> (N,)."""
        last = self.num_frames[motion_ids] - 1
        return self.offsets[motion_ids] + torch.minimum(frames.clamp_min(0), last)

    def motion_id(self, name_or_index: str | int) -> int:
        """Index of a motion given by name or index.

        Raises:
            TypeError: neither a name nor an int.
            ValueError: no such motion.
        """
        if isinstance(name_or_index, str):
            if name_or_index not in self.motion_names:
                raise ValueError(f"motion {name_or_index!r} is not one of the motions {self.motion_names}")
            return self.motion_names.index(name_or_index)
        if isinstance(name_or_index, bool) or not isinstance(name_or_index, int):
            raise TypeError(f"motion must be a name or an index, got {type(name_or_index).__name__}")
        if not 0 <= name_or_index < self.num_motions:
            raise ValueError(f"motion index must be in [0, {self.num_motions}), got {name_or_index}")
        return name_or_index

    def sampler_kwargs(self) -> dict[str, list]:
        """``num_frames``, ``fps`` and ``motion_names`` for :class:`adaptive_sampling.AdaptiveSampler`."""
        return {
            "num_frames": [int(n) for n in self.num_frames.tolist()],
            "fps": [self.fps] * self.num_motions,
            "motion_names": list(self.motion_names),
        }
