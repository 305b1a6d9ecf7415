"""Motion library: motion clips in one flat store on the device, at the control rate.

Files are found, named, checked, mapped to the robot's joint and body order by name and resampled by
:func:`adaptive_sampling_motions.clips.load_clips` (numpy only); this module only concatenates the clips and moves
them to the device. The store concatenates all frames; ``motion_offsets[m]`` is the first global frame of motion
``m``. No simulator is imported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from adaptive_sampling_motions.clips import MotionClip, MotionSource, load_clips, resample_clip

from .rotations import normalize

__all__ = ["MotionLibrary"]


class MotionLibrary:
    """All clips in one flat store on a device, at one frame rate.

    Attributes:
        joint_pos: Shape: (F, J). F is the total number of frames.
        joint_vel: Shape: (F, J).
        body_pos_w: Shape: (F, Nb, 3).
        body_quat_w: wxyz. Shape: (F, Nb, 4).
        body_lin_vel_w: Shape: (F, Nb, 3).
        body_ang_vel_w: Shape: (F, Nb, 3).
        motion_offsets: First global frame of each motion, and F last. Shape: (M + 1,), int64.
        num_frames: Frames per motion. Shape: (M,), int64.
        fps: The common frame rate (the control rate).
        motion_names: One name per motion (see :func:`adaptive_sampling_motions.clips.resolve_motion_files`).
        files: The source file of each motion.
        source_fps: Each file's own frame rate.
    """

    def __init__(self, clips: Sequence[MotionClip], device: str | torch.device = "cpu") -> None:
        """Build the store from clips that already share one fps and one joint/body order."""
        if not clips:
            raise ValueError("clips is empty: a motion library needs at least one motion")
        fps = clips[0].fps
        for clip in clips:
            if not math.isclose(clip.fps, fps, rel_tol=1e-9):
                raise ValueError(f"clips must share one fps; {clip.path} has {clip.fps}, the first has {fps}")
            for field in ("joint_pos", "body_pos_w"):
                if getattr(clip, field).shape[1:] != getattr(clips[0], field).shape[1:]:
                    raise ValueError(
                        f"{clip.path}: field '{field}' has per-frame shape {getattr(clip, field).shape[1:]}, but "
                        f"{clips[0].path} has {getattr(clips[0], field).shape[1:]}"
                    )
        self.device = torch.device(device)
        self.fps = float(fps)
        self.motion_names = [clip.name for clip in clips]
        self.files = [clip.path for clip in clips]
        self.joint_names = clips[0].joint_names
        self.body_names = clips[0].body_names

        def cat(field: str) -> torch.Tensor:
            array = np.concatenate([getattr(clip, field) for clip in clips], axis=0)
            return torch.as_tensor(array, dtype=torch.float32, device=self.device)

        self.joint_pos = cat("joint_pos")
        self.joint_vel = cat("joint_vel")
        self.body_pos_w = cat("body_pos_w")
        self.body_quat_w = normalize(cat("body_quat_w"))
        self.body_lin_vel_w = cat("body_lin_vel_w")
        self.body_ang_vel_w = cat("body_ang_vel_w")
        counts = [clip.num_frames for clip in clips]
        self.num_frames = torch.tensor(counts, dtype=torch.long, device=self.device)
        self.motion_offsets = torch.tensor([0, *np.cumsum(counts).tolist()], dtype=torch.long, device=self.device)
        self.source_fps: list[float] = []

    @classmethod
    def load(
        cls,
        motions: MotionSource,
        fps: float,
        device: str | torch.device = "cpu",
        joint_names: Sequence[str] | None = None,
        body_names: Sequence[str] | None = None,
    ) -> MotionLibrary:
        """Load files, directories or globs, map them to the robot's order and resample them to ``fps``.

        Args:
            motions: One path, directory or glob, or a sequence of them.
            fps: The control rate (1 / env step) every clip is resampled to.
            device: Where the store lives.
            joint_names: The robot's joints, in its order (None: keep the files' order).
            body_names: The robot's bodies, in its order (None: keep the files' order).
        """
        clips = load_clips(motions, joint_names=joint_names, body_names=body_names)
        library = cls([resample_clip(clip, fps) for clip in clips], device=device)
        library.source_fps = [clip.fps for clip in clips]
        return library

    @property
    def num_motions(self) -> int:
        """Number of motions M."""
        return len(self.motion_names)

    @property
    def total_frames(self) -> int:
        """Number of frames F over all motions."""
        return int(self.joint_pos.shape[0])

    def frame_index(self, motion_ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Global frame indices of local ``frames`` of ``motion_ids``, clamped into each clip.

        Shape: (N,), (N,) -> (N,), int64.
        """
        last = self.num_frames[motion_ids] - 1
        return self.motion_offsets[motion_ids] + torch.minimum(frames.clamp_min(0), last)

    def sampler_kwargs(self) -> dict[str, list]:
        """``num_frames``, ``fps`` and ``motion_names`` for :class:`adaptive_sampling.AdaptiveSampler`."""
        return {
            "num_frames": [int(n) for n in self.num_frames.tolist()],
            "fps": [self.fps] * self.num_motions,
            "motion_names": list(self.motion_names),
        }
