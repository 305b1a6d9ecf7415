"""rsl-rl integration: a runner that checkpoints, logs and syncs the sampler, and a tracking benchmark env."""

from .runner import SAMPLER_KEY, AdaptiveSamplingRunner, SamplerLike, find_sampler
from .tracking_env import MotionClip, TrackingEnv, TrackingEnvCfg, evaluate, make_motion_library

__all__ = [
    "SAMPLER_KEY",
    "AdaptiveSamplingRunner",
    "MotionClip",
    "SamplerLike",
    "TrackingEnv",
    "TrackingEnvCfg",
    "evaluate",
    "find_sampler",
    "make_motion_library",
]
