"""rsl-rl integration: a runner that checkpoints, logs and syncs the sampler, and exports the policy to ONNX.

Names are imported on first use, so the robot-side reader (:mod:`adaptive_sampling_rsl_rl.onnx_policy`, numpy and
onnxruntime only) works where rsl-rl and torch are not installed; the runner imports rsl_rl and torch only.
Importing the package first checks that ``adaptive_sampling`` is this project's core, not the unrelated package of
the same name.
"""

from __future__ import annotations

import importlib
from typing import Any

from adaptive_sampling_motions._core_check import check_core

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


check_core()


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
