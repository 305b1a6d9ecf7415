"""The adapter's wxyz quaternion helpers."""

import math

import torch
from adaptive_sampling_isaaclab import rotations as R
from hypothesis import given
from hypothesis import strategies as st

angles = st.floats(-math.pi, math.pi, allow_nan=False)


def test_hand_computed_rotation():
    """90 degrees about z maps x to y; its matrix agrees; the inverse maps back."""
    quat = torch.tensor([math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)])
    x = torch.tensor([1.0, 0.0, 0.0])
    torch.testing.assert_close(R.quat_apply(quat, x), torch.tensor([0.0, 1.0, 0.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(R.matrix_from_quat(quat) @ x, torch.tensor([0.0, 1.0, 0.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(R.quat_apply_inverse(quat, torch.tensor([0.0, 1.0, 0.0])), x, atol=1e-6, rtol=0)


@given(angles, angles, angles)
def test_euler_composition_and_yaw(roll, pitch, yaw):
    """quat_from_euler_xyz equals yaw * pitch * roll; yaw_quat recovers the heading of a yaw-only rotation."""
    r, p, y = (torch.tensor(a, dtype=torch.float64) for a in (roll, pitch, yaw))
    zero = torch.zeros((), dtype=torch.float64)
    composed = R.quat_mul(R.quat_from_euler_xyz(zero, zero, y),
                          R.quat_mul(R.quat_from_euler_xyz(zero, p, zero), R.quat_from_euler_xyz(r, zero, zero)))
    q = R.quat_from_euler_xyz(r, p, y)
    assert float(R.quat_error_magnitude(q, composed)) < 1e-6
    assert float(R.quat_error_magnitude(R.yaw_quat(R.quat_from_euler_xyz(zero, zero, y)),
                                        R.quat_from_euler_xyz(zero, zero, y))) < 1e-6

