"""CSV -> npz conversion: forward kinematics, velocities, quaternion order, resampling, frame ranges, errors."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco")

from adaptive_sampling_motions.cli import main  # noqa: E402
from adaptive_sampling_motions.convert import build_motion, convert_csv  # noqa: E402
from adaptive_sampling_motions.csv_format import fps_from_filename, read_csv, write_csv  # noqa: E402
from adaptive_sampling_motions.kinematics import RobotKinematics  # noqa: E402
from adaptive_sampling_motions.motion_file import load_motion  # noqa: E402
from motions_helpers import TINY_BODIES, TINY_JOINTS, tiny_trajectory  # noqa: E402


def _independent_fk(mjcf, root_pos, root_quat_wxyz, joint_pos):
    """Body poses straight from MuJoCo, looked up by name (no code under test involved)."""
    model = mujoco.MjModel.from_xml_path(str(mjcf))
    data = mujoco.MjData(model)
    pos = np.zeros((len(root_pos), len(TINY_BODIES), 3))
    quat = np.zeros((len(root_pos), len(TINY_BODIES), 4))
    for t in range(len(root_pos)):
        data.joint("root").qpos[:] = np.concatenate([root_pos[t], root_quat_wxyz[t]])
        for j, name in enumerate(TINY_JOINTS):
            data.joint(name).qpos[0] = joint_pos[t, j]
        mujoco.mj_forward(model, data)
        for b, name in enumerate(TINY_BODIES):
            pos[t, b] = data.body(name).xpos
            quat[t, b] = data.body(name).xquat
    return pos, quat


@pytest.fixture
def tiny_csv(tmp_path):
    traj = tiny_trajectory(120, 40.0)
    path = tmp_path / "wiggle_40fps.csv"
    write_csv(path, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    return path, traj


def test_round_trip_body_poses_equal_mujoco_fk(tiny_csv, tiny_mjcf, tmp_path):
    """Synthetic trajectory -> CSV -> `motions convert` -> body poses equal MuJoCo FK computed here, by name."""
    path, traj = tiny_csv
    out = tmp_path / "wiggle.npz"
    assert main(["convert", str(path), "-o", str(out), "--mjcf", str(tiny_mjcf)]) == 0
    motion = load_motion(out)
    assert motion["joint_names"].tolist() == TINY_JOINTS
    assert motion["body_names"].tolist() == TINY_BODIES
    pos, quat = _independent_fk(tiny_mjcf, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    np.testing.assert_allclose(motion["body_pos_w"], pos, atol=2e-6)
    # Same rotation (q and -q are equal rotations; the file keeps consecutive frames in one hemisphere).
    np.testing.assert_allclose(np.abs(np.sum(motion["body_quat_w"] * quat, axis=-1)), 1.0, atol=1e-6)
    np.testing.assert_allclose(motion["joint_pos"], traj["joint_pos"], atol=1e-6)
    assert float(motion["fps"][0]) == 40.0
    for key in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        assert motion[key].dtype == np.float32


def test_quaternions_are_stored_wxyz(tiny_csv, tiny_kin):
    """The CSV holds the base quaternion xyzw; the file holds wxyz (the root body's quaternion is the CSV's, reordered,
    and its first component is the scalar cos(yaw / 2))."""
    path, traj = tiny_csv
    csv_row = np.loadtxt(path, delimiter=",")[5]
    motion = convert_csv(path, tiny_kin)
    root = motion["body_quat_w"][5, 0]
    np.testing.assert_allclose(root, csv_row[[6, 3, 4, 5]], atol=1e-7)
    np.testing.assert_allclose(root[0], traj["root_quat"][5, 0], atol=1e-7)
    assert root[0] > 0.9 and abs(root[3]) > 0.01  # yaw only: w large, z nonzero, x = y = 0
    np.testing.assert_allclose(root[1:3], 0.0, atol=1e-9)


def test_velocities_match_analytic_derivatives(tiny_kin):
    """Joint, base linear and base angular velocities match the analytic derivatives of the sinusoidal trajectory."""
    fps = 100.0
    traj = tiny_trajectory(300, fps)
    motion = build_motion(tiny_kin, fps, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    inner = slice(1, -1)
    # Central-difference error bound A w^3 dt^2 / 6 with A w^3 <= 0.5 * 3.0**3 here.
    np.testing.assert_allclose(motion["joint_vel"][inner], traj["joint_vel"][inner], atol=2e-3)
    np.testing.assert_allclose(motion["body_lin_vel_w"][inner, 0], traj["root_vel"][inner], atol=2e-3)
    np.testing.assert_allclose(motion["body_ang_vel_w"][inner, 0], traj["root_ang_vel"][inner], atol=2e-3)
    # One-sided differences at the ends: first order.
    np.testing.assert_allclose(motion["joint_vel"][[0, -1]], traj["joint_vel"][[0, -1]], atol=0.05)


def test_child_body_velocity_matches_mujoco_jacobian(tiny_kin, tiny_mjcf):
    """The finite-difference velocity of a foot equals MuJoCo's analytic body velocity for the exact qvel."""
    fps = 200.0
    traj = tiny_trajectory(100, fps)
    motion = build_motion(tiny_kin, fps, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    model = mujoco.MjModel.from_xml_path(str(tiny_mjcf))
    data = mujoco.MjData(model)
    t = 50
    data.qpos[:] = np.concatenate([traj["root_pos"][t], traj["root_quat"][t], traj["joint_pos"][t]])
    # Free joint qvel: world linear velocity, then body-frame angular velocity.
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, traj["root_quat"][t])
    data.qvel[:] = np.concatenate([traj["root_vel"][t], rot.reshape(3, 3).T @ traj["root_ang_vel"][t],
                                   traj["joint_vel"][t]])
    mujoco.mj_forward(model, data)
    foot = model.body("l_foot").id
    velocity = np.zeros(6)
    mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, foot, velocity, 0)
    index = TINY_BODIES.index("l_foot")
    np.testing.assert_allclose(motion["body_ang_vel_w"][t, index], velocity[:3], atol=5e-4)
    np.testing.assert_allclose(motion["body_lin_vel_w"][t, index], velocity[3:], atol=5e-4)


def test_output_fps_resamples(tiny_csv, tiny_kin):
    """--output-fps keeps the duration; frames on both grids equal the original ones."""
    path, _ = tiny_csv
    original = convert_csv(path, tiny_kin)
    resampled = convert_csv(path, tiny_kin, output_fps=50.0)
    assert original["joint_pos"].shape[0] == 120
    assert resampled["joint_pos"].shape[0] == int(np.floor(119 / 40 * 50)) + 1
    assert float(resampled["fps"][0]) == 50.0
    # t = 0.1 s is frame 4 at 40 fps and frame 5 at 50 fps.
    np.testing.assert_allclose(resampled["body_pos_w"][5], original["body_pos_w"][4], atol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(resampled["body_quat_w"][5] * original["body_quat_w"][4], -1)), 1.0)
    # t = 0.02 s lies 0.8 of the way from frame 0 to frame 1 at 40 fps.
    expected = original["joint_pos"][0] * 0.2 + original["joint_pos"][1] * 0.8
    np.testing.assert_allclose(resampled["joint_pos"][1], expected)


def test_frame_range_is_one_based_inclusive(tiny_csv, tiny_kin):
    """frame_range (11, 40) keeps CSV rows 11..40: 30 frames starting at index 10."""
    path, _ = tiny_csv
    full = convert_csv(path, tiny_kin)
    part = convert_csv(path, tiny_kin, frame_range=(11, 40))
    assert part["joint_pos"].shape[0] == 30
    np.testing.assert_allclose(part["body_pos_w"], full["body_pos_w"][10:40])


@pytest.mark.parametrize("bad", [(0, 10), (10, 10), (5, 121)])
def test_frame_range_rejects_out_of_bounds(tiny_csv, tiny_kin, bad):
    """Ranges outside 1..T or empty are errors naming frame_range."""
    path, _ = tiny_csv
    with pytest.raises(ValueError, match="frame_range"):
        convert_csv(path, tiny_kin, frame_range=bad)


@pytest.mark.parametrize(("name", "fps"), [
    ("walk_30fps.csv", 30.0), ("walk-fps50.csv", 50.0), ("run_29.97fps.csv", 29.97), ("jump@60Hz.csv", 60.0),
    ("dance1_subject1.csv", None), ("fps.csv", None),
])
def test_fps_from_filename(name, fps):
    """The frame rate is read from common file-name spellings, and only from them."""
    assert fps_from_filename(name) == fps


def test_missing_fps_is_an_error(tmp_path, tiny_kin):
    """Without --fps and without a rate in the name, conversion fails naming fps."""
    traj = tiny_trajectory(5, 30.0)
    path = tmp_path / "dance1_subject1.csv"
    write_csv(path, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    with pytest.raises(ValueError, match="fps"):
        convert_csv(path, tiny_kin)
    assert convert_csv(path, tiny_kin, fps=30.0)["joint_pos"].shape == (5, 8)


def test_wrong_column_count_names_the_line(tmp_path):
    """A row with the wrong number of columns is reported with its line number."""
    path = tmp_path / "bad_30fps.csv"
    path.write_text("0,0,1,0,0,0,1,0.1,0.2\n0,0,1,0,0,0,1,0.1\n")
    with pytest.raises(ValueError, match="line 2: expected 9 columns"):
        read_csv(path, num_joints=2)


def test_header_row_is_skipped(tmp_path):
    """A non-numeric first line is a header."""
    path = tmp_path / "h_30fps.csv"
    path.write_text("x,y,z,qx,qy,qz,qw,j0\n0,0,1,0,0,0,1,0.5\n0,0,1,0,0,0,1,0.6\n")
    root_pos, root_quat, joint_pos = read_csv(path, num_joints=1)
    assert joint_pos[:, 0].tolist() == [0.5, 0.6]
    np.testing.assert_array_equal(root_quat[0], [1.0, 0.0, 0.0, 0.0])


def test_nan_in_csv_is_an_error(tmp_path):
    """NaN in the CSV is rejected with the line."""
    path = tmp_path / "n_30fps.csv"
    path.write_text("0,0,1,0,0,0,1,0.5\n0,0,nan,0,0,0,1,0.6\n")
    with pytest.raises(ValueError, match="line 2: NaN"):
        read_csv(path, num_joints=1)


def test_csv_joint_names_reorder_columns(tmp_path, tiny_kin):
    """With csv_joint_names the CSV columns are mapped to the robot's joint order by name."""
    traj = tiny_trajectory(20, 30.0)
    permutation = [7, 6, 5, 4, 3, 2, 1, 0]
    path = tmp_path / "perm_30fps.csv"
    write_csv(path, traj["root_pos"], traj["root_quat"], traj["joint_pos"][:, permutation])
    motion = convert_csv(path, tiny_kin, csv_joint_names=[TINY_JOINTS[i] for i in permutation])
    np.testing.assert_allclose(motion["joint_pos"], traj["joint_pos"], atol=1e-7)


def test_convert_directory_writes_and_validates_each_file(tmp_path, tiny_mjcf, capsys):
    """A directory of CSVs becomes a directory of validated npz files with the same relative names."""
    src = tmp_path / "csv"
    (src / "sub").mkdir(parents=True)
    for name, frames in (("a_30fps.csv", 40), ("sub/b_50fps.csv", 70)):
        traj = tiny_trajectory(frames, 30.0)
        write_csv(src / name, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    out = tmp_path / "npz"
    assert main(["convert", str(src), "-o", str(out), "--mjcf", str(tiny_mjcf)]) == 0
    assert load_motion(out / "a_30fps.npz")["joint_pos"].shape == (40, 8)
    assert float(load_motion(out / "sub" / "b_50fps.npz")["fps"][0]) == 50.0
    assert "converted 2 of 2" in capsys.readouterr().out


def test_convert_reports_defects_of_its_output(tmp_path, tiny_mjcf, capsys):
    """convert validates what it wrote: a joint outside its limits makes it exit 1 with a joint_limits report."""
    traj = tiny_trajectory(30, 30.0)
    traj["joint_pos"][:, 1] = 3.0  # l_knee range is [0, 2.5]
    path = tmp_path / "over_30fps.csv"
    write_csv(path, traj["root_pos"], traj["root_quat"], traj["joint_pos"])
    assert main(["convert", str(path), "--mjcf", str(tiny_mjcf)]) == 1
    out = capsys.readouterr().out
    assert "[joint_limits] l_knee" in out
    assert (tmp_path / "over_30fps.npz").is_file()


def test_kinematics_rejects_robots_without_free_joint(tmp_path):
    """A fixed-base MJCF is refused with a message naming mjcf."""
    path = tmp_path / "fixed.xml"
    path.write_text('<mujoco><worldbody><body name="a"><joint name="j" axis="0 0 1"/><geom size="0.1"/>'
                    "</body></worldbody></mujoco>")
    with pytest.raises(ValueError, match="mjcf: .* no free joint"):
        RobotKinematics(path)


def test_kinematics_rejects_ball_joints(tmp_path):
    """Joints with more than one value below the base are refused."""
    path = tmp_path / "ball.xml"
    path.write_text('<mujoco><worldbody><body name="a"><freejoint/><geom size="0.1"/><body name="b">'
                    '<joint name="ball" type="ball"/><geom size="0.1"/></body></body></worldbody></mujoco>')
    with pytest.raises(ValueError, match="'ball' is not a hinge or slide"):
        RobotKinematics(path)


def test_kinematics_checks_trajectory_shapes(tiny_kin):
    """Shape errors name the argument."""
    with pytest.raises(ValueError, match="joint_pos must have shape"):
        tiny_kin.forward(np.zeros((3, 3)), np.tile([1.0, 0, 0, 0], (3, 1)), np.zeros((3, 7)))
    with pytest.raises(FileNotFoundError, match="mjcf"):
        RobotKinematics("/nonexistent/robot.xml")


def test_lowest_collision_z_matches_geometry(tiny_kin):
    """Standing straight at base height 1 m, the lowest point is the foot box bottom: 1 - 0.05 - 0.4 - 0.42 - 0.02."""
    lowest = tiny_kin.lowest_collision_z(np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0, 0, 0]]), np.zeros((1, 8)))
    np.testing.assert_allclose(lowest, [1.0 - 0.05 - 0.4 - 0.42 - 0.02], atol=1e-9)
    only_arm = tiny_kin.lowest_collision_z(np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0, 0, 0]]),
                                           np.zeros((1, 8)), bodies=["arm"])
    np.testing.assert_allclose(only_arm, [1.1 - 0.05], atol=1e-9)
