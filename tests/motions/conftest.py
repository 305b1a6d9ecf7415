"""Fixtures for the motion tools: a tiny MJCF robot, smooth synthetic trajectories, clean motions, the G1."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from motions_helpers import TINY_MJCF, tiny_trajectory


@pytest.fixture(scope="session")
def tiny_mjcf(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("tiny_robot") / "tiny.xml"
    path.write_text(TINY_MJCF)
    return path


@pytest.fixture(scope="session")
def tiny_kin(tiny_mjcf):
    from adaptive_sampling_motions.kinematics import RobotKinematics

    return RobotKinematics(tiny_mjcf)


@pytest.fixture(scope="session")
def tiny_motion(tiny_kin) -> dict[str, np.ndarray]:
    """A clean motion of the tiny robot (float32, as saved), 3 s at 50 fps."""
    from adaptive_sampling_motions.convert import build_motion

    traj = tiny_trajectory(150, 50.0)
    motion = build_motion(tiny_kin, 50.0, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    return {key: (value.astype(np.float32) if value.dtype == np.float64 else value) for key, value in motion.items()}


@pytest.fixture
def motion(tiny_motion) -> dict[str, np.ndarray]:
    """A private copy of the clean tiny motion, free to corrupt."""
    return {key: value.copy() for key, value in tiny_motion.items()}


@pytest.fixture(scope="session")
def g1_kin():
    from adaptive_sampling_motions.assets import g1_mjcf
    from adaptive_sampling_motions.kinematics import RobotKinematics

    try:
        path = g1_mjcf()
    except RuntimeError as error:  # no network and no cache
        pytest.skip(f"G1 model unavailable: {error}")
    return RobotKinematics(path)


@pytest.fixture(scope="session")
def demo_dir() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parents[2] / "integrations" / "isaaclab" / "data" / "motions"
