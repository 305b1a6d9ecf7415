"""The Isaac Lab adapter's motion library: the shared :class:`~adaptive_sampling_motions.store.MotionStore`.

Files are found, named, checked, mapped to the robot and resampled by :mod:`adaptive_sampling_motions.clips`, and
stacked on the device by the store; this adapter only renormalises the reference quaternions in float32, as it always
has. No simulator is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from adaptive_sampling_motions.clips import MotionClip
from adaptive_sampling_motions.store import MotionStore

from .rotations import normalize

__all__ = ["MotionLibrary"]


class MotionLibrary(MotionStore):
    """A :class:`~adaptive_sampling_motions.store.MotionStore` whose ``body_quat_w`` are unit in float32."""

    @classmethod
    def from_clips(cls, clips: Sequence[MotionClip], *, device: torch.device | str = "cpu") -> MotionLibrary:
        """Stack the clips (see :meth:`MotionStore.from_clips`) and renormalise the quaternions after the cast."""
        library = super().from_clips(clips, device=device)
        library.body_quat_w = normalize(library.body_quat_w)
        return library
