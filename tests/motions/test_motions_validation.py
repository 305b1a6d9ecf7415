"""validate: a clean file passes; each planted defect is caught by the check meant for it."""

import numpy as np
import pytest

pytest.importorskip("mujoco")

from adaptive_sampling_motions.cli import main  # noqa: E402
from adaptive_sampling_motions.derivatives import linear_velocity  # noqa: E402
from adaptive_sampling_motions.validation import ValidationCfg, validate_file, validate_motion  # noqa: E402
from motions_helpers import TINY_BODIES_BFS, TINY_JOINTS_BFS, tiny_trajectory  # noqa: E402


def _write(tmp_path, motion, name="m.npz"):
    path = tmp_path / name
    np.savez(path, **motion)
    return path


def _checks(report):
    return {defect.check for defect in report.defects}


def _only(report, check):
    """The report fails, and only the expected check complains."""
    assert not report.ok, report.format()
    assert _checks(report) == {check}, report.format()
    return report.format()


def test_clean_file_passes(tmp_path, motion, tiny_kin, tiny_mjcf, capsys):
    """A converted motion has no defects and no warnings, with and without the robot; the CLI exits 0."""
    path = _write(tmp_path, motion)
    report = validate_file(path, kinematics=tiny_kin)
    assert report.ok and not report.warnings, report.format()
    assert (report.num_frames, report.fps, report.num_joints, report.num_bodies) == (150, 50.0, 8, 9)
    assert main(["validate", str(path), "--mjcf", str(tiny_mjcf)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and "1 clean, 0 with defects" in out


def test_missing_field(tmp_path, motion):
    del motion["joint_vel"]
    assert "missing required field(s): joint_vel" in _only(validate_file(_write(tmp_path, motion)), "fields")


def test_wrong_trailing_shape(tmp_path, motion):
    motion["body_pos_w"] = motion["body_pos_w"][..., :2]
    assert "body_pos_w must have shape (T, Nb, 3)" in _only(validate_file(_write(tmp_path, motion)), "shape")


def test_fields_disagree_on_frames(tmp_path, motion):
    motion["joint_vel"] = motion["joint_vel"][:-1]
    assert "fields disagree on T" in _only(validate_file(_write(tmp_path, motion)), "shape")


def test_single_frame(tmp_path, motion):
    for key in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        motion[key] = motion[key][:1]
    assert "at least 2 frames" in _only(validate_file(_write(tmp_path, motion)), "shape")


@pytest.mark.parametrize("dtype", [np.float16, np.int32])
def test_wrong_dtype(tmp_path, motion, dtype):
    motion["joint_pos"] = motion["joint_pos"].astype(dtype)
    report = validate_file(_write(tmp_path, motion))
    assert "joint_pos must be float32 or float64" in report.format()
    assert "dtype" in _checks(report)


def test_names_stored_as_objects(tmp_path, motion):
    """Object arrays need pickle to load: reported, not crashed on."""
    motion["body_names"] = np.array(list(motion["body_names"]), dtype=object)
    assert "body_names cannot be read without pickle" in _only(validate_file(_write(tmp_path, motion)), "dtype")


def test_nan(tmp_path, motion):
    motion["body_lin_vel_w"][7, 2, 1] = np.nan
    text = _only(validate_file(_write(tmp_path, motion)), "finite")
    assert "body_lin_vel_w holds NaN (1 values) at frame 7" in text


def test_inf(tmp_path, motion):
    motion["joint_pos"][3, 0] = np.inf
    assert "joint_pos holds inf" in _only(validate_file(_write(tmp_path, motion)), "finite")


def test_non_unit_quaternion(tmp_path, motion):
    motion["body_quat_w"][20:22, 4] *= 1.1
    text = _only(validate_file(_write(tmp_path, motion)), "quaternion")
    assert "not unit norm at frames 20, 21" in text


@pytest.mark.parametrize("fps", [np.array([0.0]), np.array([-50.0]), np.array([np.nan])])
def test_fps_not_positive(tmp_path, motion, fps):
    motion["fps"] = fps
    assert "fps must be positive and finite" in _only(validate_file(_write(tmp_path, motion)), "fps")


def test_fps_wrong_shape(tmp_path, motion):
    motion["fps"] = np.array([50.0, 50.0])
    assert "fps must have shape (1,)" in _only(validate_file(_write(tmp_path, motion)), "fps")


def test_joint_limits(tmp_path, tiny_kin):
    """A joint beyond its range (with the robot given) is named with its range, excess and frames."""
    from adaptive_sampling_motions.convert import build_motion

    traj = tiny_trajectory(150, 50.0)
    traj["joint_pos"][:, 6] += 1.2  # shoulder: 1.2 + sin(...) peaks at 2.2, range [-2, 2]
    motion = build_motion(tiny_kin, 50.0, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    path = _write(tmp_path, motion)
    assert validate_file(path).ok  # without the robot there is nothing to compare against
    text = _only(validate_file(path, kinematics=tiny_kin), "joint_limits")
    first = int(np.flatnonzero(traj["joint_pos"][:, 6] > 2.02)[0])
    assert "shoulder leaves its range [-2, 2] by up to 0.2" in text and f"frames {first}, {first + 1}" in text


def test_velocity_scaled(tmp_path, motion):
    """Velocities twice as large as the positions imply (e.g. a wrong fps when they were computed)."""
    motion["body_lin_vel_w"] *= 2.0
    assert "body_lin_vel_w disagrees with finite differences of body_pos_w" in _only(
        validate_file(_write(tmp_path, motion)), "velocity")


def test_joint_velocity_zero(tmp_path, motion):
    motion["joint_vel"][:] = 0.0
    assert "joint_vel disagrees" in _only(validate_file(_write(tmp_path, motion)), "velocity")


def test_angular_velocity_in_body_frame(tmp_path, motion):
    """Angular velocities stored in the body frame instead of the world frame are caught."""
    from adaptive_sampling_motions.quaternions import quat_to_matrix

    rot = quat_to_matrix(motion["body_quat_w"].astype(np.float64))
    body_frame = np.einsum("tbji,tbj->tbi", rot, motion["body_ang_vel_w"].astype(np.float64))
    motion["body_ang_vel_w"] = body_frame.astype(np.float32)
    assert "body_ang_vel_w disagrees" in _only(validate_file(_write(tmp_path, motion)), "velocity")


def test_quaternions_stored_xyzw(tmp_path, motion):
    """Scalar-last quaternions are still unit length, but their rates disagree with the angular velocities."""
    motion["body_quat_w"] = motion["body_quat_w"][..., [1, 2, 3, 0]]
    assert "body_ang_vel_w disagrees" in _only(validate_file(_write(tmp_path, motion)), "velocity")


def test_body_teleport(tmp_path, motion):
    """A 1 m jump of the whole robot between frames 99 and 100, with velocities consistent with it."""
    motion["body_pos_w"][100:, :, 0] += 1.0
    motion["body_lin_vel_w"] = linear_velocity(motion["body_pos_w"], 1 / 50).astype(np.float32)
    text = _only(validate_file(_write(tmp_path, motion)), "teleport")
    assert "body_pos_w jumps between frame 99 and the next" in text


def test_joint_teleport(tmp_path, motion):
    motion["joint_pos"][60:, 2] += 1.5
    motion["joint_vel"] = linear_velocity(motion["joint_pos"], 1 / 50).astype(np.float32)
    assert "joint_pos jumps between frame 59" in _only(validate_file(_write(tmp_path, motion)), "teleport")


def test_orientation_teleport(tmp_path, motion):
    """A body flipping 180 degrees in one frame (velocities left as they were)."""
    from adaptive_sampling_motions.quaternions import quat_from_axis_angle, quat_mul

    flip = quat_from_axis_angle(np.array([np.pi - 0.01, 0.0, 0.0]))
    motion["body_quat_w"][80:, 3] = quat_mul(flip, motion["body_quat_w"][80:, 3].astype(np.float64))
    report = validate_file(_write(tmp_path, motion), cfg=ValidationCfg(velocity_rtol=1e3))
    assert "body_quat_w jumps between frame 79" in _only(report, "teleport")


def test_names_wrong_length(tmp_path, motion):
    motion["joint_names"] = motion["joint_names"][:-1]
    assert "joint_names has 7 entries but the arrays have 8" in _only(validate_file(_write(tmp_path, motion)), "names")


def test_names_repeated(tmp_path, motion):
    motion["body_names"] = np.array(["base"] * 9)
    assert "body_names repeats ['base']" in _only(validate_file(_write(tmp_path, motion)), "names")


def test_body_order_does_not_match_robot(tmp_path, motion, tiny_kin, tiny_mjcf):
    """An unnamed file in breadth-first (PhysX) order, checked against the MJCF as if depth-first: forward kinematics
    disagrees and the report points at the order."""
    bodies = [list(motion["body_names"]).index(name) for name in TINY_BODIES_BFS]
    joints = [list(motion["joint_names"]).index(name) for name in TINY_JOINTS_BFS]
    for key in ("body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        motion[key] = motion[key][:, bodies]
    for key in ("joint_pos", "joint_vel"):
        motion[key] = motion[key][:, joints]
    del motion["body_names"], motion["joint_names"]
    path = _write(tmp_path, motion)
    report = validate_file(path, kinematics=tiny_kin, cfg=ValidationCfg(joint_limit_margin=10.0))
    text = _only(report, "robot")
    assert "does not match forward kinematics" in text and "PhysX breadth-first" in text
    assert main(["validate", str(path), "--mjcf", str(tiny_mjcf), "--joint-limit-margin", "10"]) == 1


def test_names_unknown_to_robot(tmp_path, motion, tiny_kin):
    names = list(motion["body_names"])
    names[-1] = "hand"
    motion["body_names"] = np.array(names)
    report = validate_file(_write(tmp_path, motion), kinematics=tiny_kin)
    assert "body_names not in the robot: ['hand']" in _only(report, "robot")


def test_missing_names_is_a_warning(tmp_path, motion):
    """BeyondMimic files have no names: a warning, not a defect."""
    del motion["joint_names"], motion["body_names"]
    report = validate_file(_write(tmp_path, motion))
    assert report.ok and report.warnings and "no joint_names or body_names" in report.warnings[0]


def test_bytes_names_are_accepted(tmp_path, motion, tiny_kin):
    """Names stored as bytes (numpy 'S' arrays) are read as the same names."""
    motion["body_names"] = motion["body_names"].astype("S")
    report = validate_file(_write(tmp_path, motion), kinematics=tiny_kin)
    assert report.ok, report.format()


def test_not_an_npz(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    report = validate_file(path)
    assert _checks(report) == {"fields"} and "not a readable npz" in report.format()


def test_directory_exit_code_and_summary(tmp_path, motion, capsys):
    """A directory with one clean and one broken file: exit 1, the broken one reported, a summary line."""
    _write(tmp_path, motion, "good.npz")
    motion["joint_pos"][0, 0] = np.nan
    _write(tmp_path, motion, "bad.npz")
    assert main(["validate", str(tmp_path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAIL bad.npz" in out and "good.npz" not in out
    assert "validated 2 file(s): 1 clean, 1 with defects" in out


def test_validate_motion_accepts_float64_dicts(tiny_kin, motion):
    """In-memory motions (as build_motion returns them, float64) validate too."""
    as64 = {k: (v.astype(np.float64) if v.dtype == np.float32 else v) for k, v in motion.items()}
    assert validate_motion(as64, kinematics=tiny_kin).ok


def test_cfg_check_names_the_field():
    with pytest.raises(ValueError, match="ValidationCfg.max_body_speed"):
        ValidationCfg(max_body_speed=-1.0).check()
