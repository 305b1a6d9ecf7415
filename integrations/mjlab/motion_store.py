"""The mjlab adapter's motion library (the shared store) and where the demo clips are. Imports no simulator.

:class:`MotionStore` is :class:`adaptive_sampling_motions.store.MotionStore`, re-exported.
"""

from __future__ import annotations

import importlib.util
import pathlib

from adaptive_sampling_motions.store import MotionStore

__all__ = ["MotionStore", "demo_motions_dir"]


def demo_motions_dir() -> pathlib.Path:
    """The G1 demo clips shipped with the project (MuJoCo body order, named joints and bodies)."""
    spec = importlib.util.find_spec("adaptive_sampling_isaaclab")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the demo motions ship in adaptive_sampling_isaaclab/data/motions; it is not installed")
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "data" / "motions"

