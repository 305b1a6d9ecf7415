"""Pure math of the motion tools: quaternions, finite differences, resampling."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco")

from adaptive_sampling_motions.derivatives import angular_velocity, linear_velocity  # noqa: E402
from adaptive_sampling_motions.quaternions import (  # noqa: E402
    axis_angle_from_quat,
    quat_conjugate,
    quat_from_axis_angle,
    quat_mul,
    quat_normalize,
    quat_to_matrix,
    quat_unroll,
    slerp,
    wxyz_to_xyzw,
    xyzw_to_wxyz,
)
from adaptive_sampling_motions.resample import interpolate_linear, interpolate_slerp, resample_times  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

finite = st.floats(-10.0, 10.0, allow_nan=False)
quats = arrays(np.float64, (4,), elements=finite).filter(lambda q: np.linalg.norm(q) > 1e-2).map(quat_normalize)
rotvecs = arrays(np.float64, (3,), elements=st.floats(-3.0, 3.0)).filter(lambda v: np.linalg.norm(v) < np.pi - 1e-3)


def _mj_mat(q):
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, q)
    return mat.reshape(3, 3)


@given(quats)
def test_xyzw_wxyz_round_trip(q):
    """Converting to scalar-last and back is the identity, and the scalar moves from first to last."""
    xyzw = wxyz_to_xyzw(q)
    assert xyzw[3] == q[0]
    np.testing.assert_array_equal(xyzw_to_wxyz(xyzw), q)


@given(quats, quats)
def test_quat_mul_matches_matrix_product_and_mujoco(a, b):
    """R(a * b) = R(a) R(b), and our matrices equal MuJoCo's for wxyz quaternions."""
    np.testing.assert_allclose(quat_to_matrix(quat_mul(a, b)), quat_to_matrix(a) @ quat_to_matrix(b), atol=1e-9)
    np.testing.assert_allclose(quat_to_matrix(a), _mj_mat(a), atol=1e-9)
    mj = np.zeros(4)
    mujoco.mju_mulQuat(mj, a, b)
    np.testing.assert_allclose(quat_mul(a, b), mj, atol=1e-12)


@given(rotvecs)
def test_axis_angle_round_trip(v):
    """axis_angle_from_quat inverts quat_from_axis_angle for angles below pi, also for -q."""
    q = quat_from_axis_angle(v)
    np.testing.assert_allclose(axis_angle_from_quat(q), v, atol=1e-9)
    np.testing.assert_allclose(axis_angle_from_quat(-q), v, atol=1e-9)


def test_axis_angle_small_angles_are_exact():
    """Tiny rotations keep their direction and size (no 0/0)."""
    v = np.array([1e-12, -2e-12, 3e-12])
    np.testing.assert_allclose(axis_angle_from_quat(quat_from_axis_angle(v)), v, rtol=1e-6)


def test_quat_normalize_rejects_zero():
    """A zero quaternion has no orientation."""
    with pytest.raises(ValueError, match="zero norm"):
        quat_normalize(np.zeros(4))


def test_quat_shape_is_checked():
    """A trailing size other than 4 is an error naming the argument."""
    with pytest.raises(ValueError, match="q must have shape"):
        quat_conjugate(np.zeros(3))


@given(quats, rotvecs, st.floats(0.0, 1.0))
def test_slerp_walks_the_geodesic(q0, v, fraction):
    """slerp(q0, exp(v) q0, f) = exp(f v) q0, whatever the sign of the end quaternion."""
    q1 = quat_mul(quat_from_axis_angle(v), q0)
    expected = quat_mul(quat_from_axis_angle(fraction * v), q0)
    for end in (q1, -q1):
        result = slerp(q0, end, fraction)
        assert abs(abs(np.dot(result, expected)) - 1.0) < 1e-9


def test_quat_unroll_removes_sign_flips():
    """After unrolling, consecutive quaternions have non-negative dot products and the same rotations."""
    v = np.linspace(0, 2.5, 20)[:, None] * np.array([0.0, 0.0, 1.0])
    q = quat_from_axis_angle(v)
    q[::3] *= -1
    unrolled = quat_unroll(q)
    assert np.all(np.sum(unrolled[1:] * unrolled[:-1], axis=-1) > 0)
    np.testing.assert_allclose(np.abs(np.sum(unrolled * q, axis=-1)), 1.0)


def test_linear_velocity_of_sinusoid_matches_derivative():
    """Central differences of sin(w t) at 50 fps match w cos(w t) to second order inside, first order at the ends."""
    fps, w = 50.0, 2.0
    t = np.arange(200) / fps
    v = linear_velocity(np.sin(w * t), 1 / fps)
    np.testing.assert_allclose(v[1:-1], w * np.cos(w * t[1:-1]), atol=w**3 / fps**2 / 6 * 1.01)
    np.testing.assert_allclose(v[[0, -1]], w * np.cos(w * t[[0, -1]]), atol=w**2 / fps)


def test_angular_velocity_constant_rate_is_exact():
    """Rotation at a constant rate about a fixed axis gives exactly that rate at every frame, ends included."""
    fps = 30.0
    omega = np.array([0.3, -1.2, 2.0])
    t = np.arange(40) / fps
    base = quat_from_axis_angle(np.array([0.4, 0.1, -0.7]))
    q = quat_mul(quat_from_axis_angle(t[:, None] * omega), base)
    np.testing.assert_allclose(angular_velocity(q, 1 / fps), np.broadcast_to(omega, (40, 3)), atol=1e-9)


def test_angular_velocity_is_world_frame():
    """For q(t) = exp(w t) q0 the world-frame rate is w, not its body-frame counterpart R(q)^T w."""
    fps = 50.0
    omega = np.array([0.0, 0.0, 1.5])
    q0 = quat_from_axis_angle(np.array([np.pi / 2, 0.0, 0.0]))
    q = quat_mul(quat_from_axis_angle((np.arange(10) / fps)[:, None] * omega), q0)
    result = angular_velocity(q, 1 / fps)
    np.testing.assert_allclose(result, np.broadcast_to(omega, (10, 3)), atol=1e-9)
    body_frame = quat_to_matrix(q0).T @ omega
    assert not np.allclose(result[0], body_frame)


def test_angular_velocity_ignores_quaternion_signs():
    """Flipping the sign of some frames changes nothing."""
    q = quat_from_axis_angle(np.linspace(0, 1, 12)[:, None] * np.array([1.0, 2.0, 0.5]))
    flipped = q.copy()
    flipped[1::2] *= -1
    np.testing.assert_allclose(angular_velocity(flipped, 0.02), angular_velocity(q, 0.02), atol=1e-12)


@pytest.mark.parametrize("dt", [0.0, -0.1, float("nan")])
def test_derivatives_reject_bad_dt(dt):
    """dt must be positive and finite."""
    with pytest.raises(ValueError, match="dt must be"):
        linear_velocity(np.zeros((3, 2)), dt)
    with pytest.raises(ValueError, match="dt must be"):
        angular_velocity(np.tile([1.0, 0, 0, 0], (3, 1)), dt)


def test_derivatives_need_two_frames():
    """One frame has no velocity."""
    with pytest.raises(ValueError, match="at least 2 frames"):
        linear_velocity(np.zeros((1, 3)), 0.1)
    with pytest.raises(ValueError, match="T >= 2"):
        angular_velocity(np.array([[1.0, 0, 0, 0]]), 0.1)


@pytest.mark.parametrize(("num_frames", "fps", "output_fps", "expected"), [
    (151, 30.0, 50.0, 251),   # 5 s: 0 .. 5 s at 50 fps
    (251, 50.0, 30.0, 151),
    (100, 50.0, 50.0, 100),
    (10, 30.0, 50.0, 16),     # 0.3 s -> frames at 0, 0.02, ..., 0.3
])
def test_resample_times_cover_the_clip(num_frames, fps, output_fps, expected):
    """The output spans the clip from 0 to its last frame time, both included when they fall on the grid."""
    times = resample_times(num_frames, fps, output_fps)
    assert times.shape == (expected,)
    assert times[0] == 0.0
    assert times[-1] <= (num_frames - 1) / fps + 1e-12


def test_interpolate_linear_is_exact_on_lines():
    """Linear interpolation reproduces a linear function at any time."""
    fps = 30.0
    t = np.arange(31) / fps
    values = np.stack([2 * t + 1, -t], axis=1)
    times = resample_times(31, fps, 50.0)
    np.testing.assert_allclose(interpolate_linear(values, fps, times), np.stack([2 * times + 1, -times], 1), atol=1e-12)


def test_interpolate_slerp_is_exact_for_constant_rotation_rate():
    """Slerp between samples of exp(w t) q0 gives exp(w t') q0 at the query times."""
    fps, omega = 30.0, np.array([0.5, -1.0, 0.8])
    t = np.arange(31) / fps
    q0 = quat_from_axis_angle(np.array([0.2, 0.3, 0.1]))
    q = quat_mul(quat_from_axis_angle(t[:, None] * omega), q0)
    times = resample_times(31, fps, 50.0)
    expected = quat_mul(quat_from_axis_angle(times[:, None] * omega), q0)
    result = interpolate_slerp(q, fps, times)
    np.testing.assert_allclose(np.abs(np.sum(result * expected, axis=-1)), 1.0, atol=1e-12)


def test_resample_rejects_bad_rates():
    """Frame rates must be positive."""
    with pytest.raises(ValueError, match="output_fps"):
        resample_times(10, 30.0, 0.0)
    with pytest.raises(ValueError, match="num_frames"):
        resample_times(0, 30.0, 50.0)
