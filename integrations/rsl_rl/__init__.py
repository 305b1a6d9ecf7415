"""rsl-rl integration: a runner that checkpoints, logs and syncs the sampler, and exports the policy to ONNX.

Names are imported on first use, so the robot-side reader (:mod:`adaptive_sampling_rsl_rl.onnx_policy`, numpy and
onnxruntime only) works where rsl-rl and torch are not installed; the runner imports rsl_rl and torch only.
Importing the package first checks that ``adaptive_sampling`` is this project's core, not the unrelated package of
the same name.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SAMPLER_KEY": "runner",
    "AdaptiveSamplingRunner": "runner",
    "SamplerLike": "runner",
    "find_sampler": "runner",
    "OnnxPolicy": "onnx_policy",
    "PolicyMetadata": "onnx_policy",
    "read_metadata": "onnx_policy",
}

__all__ = sorted(_EXPORTS)


def _check_core() -> None:
    """Fail clearly when 'adaptive_sampling' is the unrelated package of the same name, not our core.

    The core's ``__init__.py`` is read for its ``__distribution__`` marker rather than imported: importing the core
    imports torch, and the robot-side reader must not need it (the motions integration checks the same way).
    """
    import importlib.util
    import pathlib

    spec = importlib.util.find_spec("adaptive_sampling")
    if spec is None:
        return  # no core (e.g. on a robot with the reader only): the modules that need it fail on their own import
    origin = spec.origin
    if origin is None or not origin.endswith(".py"):
        import adaptive_sampling._distribution  # noqa: F401  (an unusual install: import it and let it check)

        return
    if '__distribution__ = "adaptive-sampling-rl"' not in pathlib.Path(origin).read_text(encoding="utf-8"):
        raise ImportError(
            f"the 'adaptive_sampling' imported from {origin} is not adaptive-sampling-rl's package but an unrelated "
            "one of the same name; pip uninstall adaptive-sampling adaptive-sampling-rl, then pip install "
            "adaptive-sampling-rl"
        )


_check_core()


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
