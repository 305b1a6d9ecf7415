"""Observation terms of the multi-motion command (mjlab's ``func(env, **params)`` convention).

mjlab's own tracking terms (``mjlab.tasks.tracking.mdp``: anchor/body observations, rewards, terminations) work on
:class:`~adaptive_sampling_mjlab.command.MultiMotionCommand` unchanged; these are the two it adds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import torch

from .command import MultiMotionCommand

if TYPE_CHECKING:
    from mjlab.envs import ManagerBasedRlEnv

__all__ = ["motion_one_hot", "motion_progress"]


def motion_one_hot(env: ManagerBasedRlEnv, command_name: str) -> torch.Tensor:
    """Which motion each env tracks, one-hot. Shape: (num_envs, num_motions)."""
    return cast(MultiMotionCommand, env.command_manager.get_term(command_name)).motion_one_hot


def motion_progress(env: ManagerBasedRlEnv, command_name: str) -> torch.Tensor:
    """Position in the tracked clip, 0 at its first frame and 1 at its last. Shape: (num_envs, 1)."""
    return cast(MultiMotionCommand, env.command_manager.get_term(command_name)).motion_progress[:, None]
