"""The motion library on the device: the clips of the shared motion-file layer concatenated into flat tensors.

Files are found, named, checked, mapped to the robot's joint and body order and resampled to the control rate by
:func:`adaptive_sampling_motions.clips.load_clips` (the one reader every loader uses); this module only stacks the
clips so that a reference frame is one gather. Imports torch and numpy only (no simulator).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
from collections.abc import Sequence

import numpy as np
import torch
from adaptive_sampling_motions.clips import MotionClip, MotionSource, load_clips

__all__ = ["MotionStore", "demo_motions_dir"]

_FIELDS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")


def demo_motions_dir() -> pathlib.Path:
    """The G1 demo clips shipped with the project (MuJoCo body order, named joints and bodies)."""
    spec = importlib.util.find_spec("adaptive_sampling_isaaclab")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the demo motions ship in adaptive_sampling_isaaclab/data/motions; it is not installed")
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "data" / "motions"


@dataclasses.dataclass
class MotionStore:
    """All frames of a motion library in flat float32 tensors (quaternions wxyz).

    Motion ``m`` occupies global frames ``offsets[m] .. offsets[m] + num_frames[m] - 1``; every frame is one control
    step (the clips were resampled to ``fps``).
    """

    names: list[str]
    """Motion names (what sampler checkpoints are remapped by)."""
    paths: list[str]
    """The file each motion was read from."""
    fps: float
    """Frame rate of every clip (the env's control rate)."""
    num_frames: torch.Tensor
    """Frames per motion. Shape: (M,), int64."""
    offsets: torch.Tensor
    """First global frame of each motion. Shape: (M,), int64."""
    joint_pos: torch.Tensor
    """Shape: (F, J)."""
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

    @classmethod
    def load(
        cls,
        motions: MotionSource,
        *,
        fps: float,
        joint_names: Sequence[str],
        body_names: Sequence[str],
        device: torch.device | str = "cpu",
    ) -> MotionStore:
        """Load motion files (files, directories or globs) for a robot with these joints and bodies, at ``fps``."""
        clips = load_clips(motions, fps=fps, joint_names=list(joint_names), body_names=list(body_names))
        return cls.from_clips(clips, device=device)

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
                raise ValueError(f"clips must share one fps: {first.name!r} has {first.fps}, {clip.name!r} {clip.fps}")
            for key in ("joint_pos", "body_pos_w"):
                if getattr(clip, key).shape[1:] != getattr(first, key).shape[1:]:
                    raise ValueError(
                        f"clips must share one layout: {key} of {first.name!r} has shape "
                        f"{getattr(first, key).shape[1:]} per frame, {clip.name!r} {getattr(clip, key).shape[1:]}"
                    )
        num_frames = torch.tensor([clip.num_frames for clip in clips], dtype=torch.long, device=device)
        offsets = torch.cumsum(num_frames, 0) - num_frames
        stacked = {
            key: torch.as_tensor(np.concatenate([getattr(c, key) for c in clips]), dtype=torch.float32, device=device)
            for key in _FIELDS
        }
        return cls(names=[clip.name for clip in clips], paths=[str(clip.path) for clip in clips], fps=float(first.fps),
                   num_frames=num_frames, offsets=offsets, **stacked)

    @property
    def num_motions(self) -> int:
        """Number of motions M."""
        return len(self.names)

    @property
    def total_frames(self) -> int:
        """Number of frames F over all motions."""
        return int(self.joint_pos.shape[0])

    def frame_index(self, motion_ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Global frame of local ``frames`` of ``motion_ids``. Shape: (N,)."""
        return self.offsets[motion_ids] + frames

    def motion_id(self, name_or_index: str | int) -> int:
        """Index of a motion given by name or index.

        Raises:
            ValueError: no such motion.
        """
        if isinstance(name_or_index, str):
            if name_or_index not in self.names:
                raise ValueError(f"motion {name_or_index!r} is not one of the motions {self.names}")
            return self.names.index(name_or_index)
        if isinstance(name_or_index, bool) or not isinstance(name_or_index, int):
            raise TypeError(f"motion must be a name or an index, got {type(name_or_index).__name__}")
        if not 0 <= name_or_index < self.num_motions:
            raise ValueError(f"motion index must be in [0, {self.num_motions}), got {name_or_index}")
        return name_or_index
