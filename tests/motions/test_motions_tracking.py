"""The simulator-agnostic half of the tracking command: randomisation bounds (the rest runs in the simulator tests)."""

import pytest
import torch
from adaptive_sampling_motions.tracking import POSE_KEYS, pose_bounds


def test_pose_bounds_in_key_order_with_missing_axes_zero():
    """pose_bounds puts each given axis's (low, high) in POSE_KEYS order and 0 for the others."""
    bounds = pose_bounds({"yaw": (-0.5, 0.5), "x": (-1.0, 2.0)}, "cpu")
    assert POSE_KEYS == ("x", "y", "z", "roll", "pitch", "yaw")
    expected = torch.tensor([[-1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [-0.5, 0.5]])
    assert bounds.dtype == torch.float32 and torch.equal(bounds, expected)


def test_pose_bounds_rejects_unknown_keys():
    """An axis that is not a pose key raises ValueError naming it."""
    with pytest.raises(ValueError, match=r"got unknown \['w'\]"):
        pose_bounds({"w": (0.0, 1.0)}, "cpu")
