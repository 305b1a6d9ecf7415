"""rsl-rl integration: a runner that checkpoints, logs and syncs the sampler (imports rsl_rl and torch only)."""

from .runner import SAMPLER_KEY, AdaptiveSamplingRunner, SamplerLike, find_sampler

__all__ = ["SAMPLER_KEY", "AdaptiveSamplingRunner", "SamplerLike", "find_sampler"]
