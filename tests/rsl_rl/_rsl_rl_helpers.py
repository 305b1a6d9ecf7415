"""Helpers shared by the rsl-rl tests and their distributed worker: a small PPO config and a small env."""

from __future__ import annotations

import importlib.util
import inspect

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
from benchmarks.envs import PointMassTrackingEnv, PointMassTrackingEnvCfg, make_motion_library


def _stochastic_actor_cfg(init_std: float) -> dict:
    """The actor's output distribution in the form this rsl-rl version takes (5.x: distribution_cfg; 4.x: flags)."""
    from rsl_rl.models import MLPModel

    if "distribution_cfg" in inspect.signature(MLPModel.__init__).parameters:
        return {"distribution_cfg": {"class_name": "GaussianDistribution", "init_std": init_std}}
    return {"stochastic": True, "init_noise_std": init_std}


def small_train_cfg() -> dict:
    """A tiny PPO configuration in the form of the installed rsl-rl-lib (5.x and 4.x: models; 3.x: ActorCritic)."""
    if importlib.util.find_spec("rsl_rl.models") is None:
        return _small_train_cfg_v3()
    return {
        "num_steps_per_env": 8,
        "save_interval": 1,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "actor": {
            "class_name": "MLPModel",
            "hidden_dims": [16, 16],
            "activation": "elu",
            "obs_normalization": True,
            **_stochastic_actor_cfg(0.5),
        },
        "critic": {"class_name": "MLPModel", "hidden_dims": [16, 16], "activation": "elu", "obs_normalization": True},
        "algorithm": {
            "class_name": "PPO",
            "learning_rate": 1e-3,
            "num_learning_epochs": 1,
            "num_mini_batches": 2,
            "entropy_coef": 0.005,
            "desired_kl": 0.01,
            "schedule": "adaptive",
        },
    }


def _small_train_cfg_v3() -> dict:
    return {
        "num_steps_per_env": 8,
        "save_interval": 1,
        "obs_groups": {"policy": ["policy"], "critic": ["critic"]},
        "empirical_normalization": None,
        "policy": {
            "class_name": "ActorCritic",
            "init_noise_std": 0.5,
            "actor_hidden_dims": [16, 16],
            "critic_hidden_dims": [16, 16],
            "activation": "elu",
            "actor_obs_normalization": True,
            "critic_obs_normalization": True,
        },
        "algorithm": {
            "class_name": "PPO",
            "learning_rate": 1e-3,
            "num_learning_epochs": 1,
            "num_mini_batches": 2,
            "entropy_coef": 0.005,
            "desired_kl": 0.01,
            "schedule": "adaptive",
            "clip_param": 0.2,
            "gamma": 0.99,
            "lam": 0.95,
            "value_loss_coef": 1.0,
            "max_grad_norm": 1.0,
            "use_clipped_value_loss": True,
        },
    }


def make_env(
    num_envs: int = 32,
    seed: int = 0,
    sampler_seed: int = 0,
    cfg: AdaptiveSamplerCfg | None = None,
    num_clips: int = 6,
    num_hard_clips: int = 3,
    library_seed: int = 0,
    **env_cfg: float,
) -> PointMassTrackingEnv:
    clips = make_motion_library(library_seed, num_clips=num_clips, num_hard_clips=num_hard_clips)
    sampler_cfg = cfg if cfg is not None else AdaptiveSamplerCfg(seed=sampler_seed, rebuild_every=4)
    sampler = AdaptiveSampler(
        sampler_cfg, [c.num_frames for c in clips], [c.fps for c in clips], [c.name for c in clips]
    )
    return PointMassTrackingEnv(clips, sampler, cfg=PointMassTrackingEnvCfg(num_envs=num_envs, seed=seed, **env_cfg))


class PlainVecEnv:
    """The tracking env seen through a wrapper that exposes no sampler (a plain rsl-rl VecEnv)."""

    def __init__(self, env: PointMassTrackingEnv) -> None:
        self._env = env
        self.num_envs, self.num_actions, self.device, self.cfg = env.num_envs, env.num_actions, env.device, env.cfg
        self.max_episode_length = env.max_episode_length

    @property
    def episode_length_buf(self):
        return self._env.episode_length_buf

    def get_observations(self):
        return self._env.get_observations()

    def step(self, actions):
        return self._env.step(actions)
