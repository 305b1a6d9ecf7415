"""Gym registration of the tracking tasks (importing this module registers them; it imports only gymnasium).

``AdaptiveSampling-Tracking-G1-v0`` trains, ``AdaptiveSampling-Tracking-G1-Play-v0`` evaluates. The env and agent
configurations are found through the spec's ``env_cfg_entry_point`` / ``rsl_rl_cfg_entry_point`` kwargs, as Isaac
Lab's own tasks are.
"""

from __future__ import annotations

import importlib

import gymnasium as gym

__all__ = ["TASK_PLAY", "TASK_TRAIN", "load_cfg"]

TASK_TRAIN = "AdaptiveSampling-Tracking-G1-v0"
TASK_PLAY = "AdaptiveSampling-Tracking-G1-Play-v0"

_CFG_MODULE = "adaptive_sampling_isaaclab.tracking_env_cfg"

for _task, _env_cfg in ((TASK_TRAIN, "G1TrackingEnvCfg"), (TASK_PLAY, "G1TrackingEnvCfg_PLAY")):
    if _task not in gym.registry:
        gym.register(
            id=_task,
            entry_point="isaaclab.envs:ManagerBasedRLEnv",
            disable_env_checker=True,
            kwargs={
                "env_cfg_entry_point": f"{_CFG_MODULE}:{_env_cfg}",
                "rsl_rl_cfg_entry_point": f"{_CFG_MODULE}:G1TrackingPPORunnerCfg",
            },
        )


def load_cfg(task: str, entry_point: str = "env_cfg_entry_point"):
    """Instantiate the configuration a registered task names under ``entry_point``.

    Raises:
        ValueError: the task is not registered or has no such entry point.
    """
    if task not in gym.registry:
        known = sorted(name for name in gym.registry if name.startswith("AdaptiveSampling-"))
        raise ValueError(f"task {task!r} is not registered; known tasks: {known}")
    target = gym.spec(task).kwargs.get(entry_point)
    if target is None:
        raise ValueError(f"task {task!r} has no {entry_point!r}")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)()
