"""Benchmark environments."""

from .point_mass import (
    PointMassClip,
    PointMassTrackingEnv,
    PointMassTrackingEnvCfg,
    evaluate,
    make_approach_library,
    make_motion_library,
)

__all__ = [
    "PointMassClip",
    "PointMassTrackingEnv",
    "PointMassTrackingEnvCfg",
    "evaluate",
    "make_approach_library",
    "make_motion_library",
]
