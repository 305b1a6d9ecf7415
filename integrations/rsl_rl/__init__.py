"""rsl-rl integration: a runner that checkpoints, logs and syncs the sampler (imports rsl_rl and torch only)."""

try:  # importing it checks that 'adaptive_sampling' is our core, not the unrelated package of the same name
    import adaptive_sampling._distribution  # noqa: F401
except ModuleNotFoundError as err:  # that package hides ours entirely (it has no _distribution module)
    if err.name != "adaptive_sampling._distribution":
        raise
    raise ImportError(
        f"{err}: the 'adaptive_sampling' found first is not adaptive-sampling-rl's package but an unrelated one of "
        "the same name; pip uninstall adaptive-sampling adaptive-sampling-rl, then pip install adaptive-sampling-rl"
    ) from None

from .runner import SAMPLER_KEY, AdaptiveSamplingRunner, SamplerLike, find_sampler

__all__ = ["SAMPLER_KEY", "AdaptiveSamplingRunner", "SamplerLike", "find_sampler"]
