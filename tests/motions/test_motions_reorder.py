"""reorder: mapping joints and bodies by name, and PhysX breadth-first <-> MuJoCo depth-first."""

import numpy as np
import pytest

pytest.importorskip("mujoco")

from adaptive_sampling_motions.cli import main  # noqa: E402
from adaptive_sampling_motions.motion_file import BODY_FIELDS, JOINT_FIELDS, load_motion, save_motion  # noqa: E402
from adaptive_sampling_motions.reorder import attach_names, reorder_motion, robot_names  # noqa: E402
from adaptive_sampling_motions.validation import validate_motion  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from motions_helpers import TINY_BODIES, TINY_BODIES_BFS, TINY_JOINTS, TINY_JOINTS_BFS  # noqa: E402

FIELDS = JOINT_FIELDS + BODY_FIELDS


def _assert_same_motion(a, b):
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@settings(max_examples=30)
@given(st.permutations(TINY_JOINTS), st.permutations(TINY_BODIES))
def test_reorder_then_inverse_is_identity(tiny_motion, joints, bodies):
    """Reordering to any order and back to the original names gives the original motion, array for array."""
    there = reorder_motion(tiny_motion, joints, bodies)
    back = reorder_motion(there, TINY_JOINTS, TINY_BODIES)
    _assert_same_motion(back, tiny_motion)


@settings(max_examples=30)
@given(st.permutations(TINY_JOINTS), st.permutations(TINY_BODIES))
def test_reorder_preserves_values_by_name(tiny_motion, joints, bodies):
    """After reordering, the data under each name is the data that name had before."""
    out = reorder_motion(tiny_motion, joints, bodies)
    assert out["joint_names"].tolist() == list(joints) and out["body_names"].tolist() == list(bodies)
    for new_index, name in enumerate(joints):
        old_index = TINY_JOINTS.index(name)
        for key in JOINT_FIELDS:
            np.testing.assert_array_equal(out[key][:, new_index], tiny_motion[key][:, old_index])
    for new_index, name in enumerate(bodies):
        old_index = TINY_BODIES.index(name)
        for key in BODY_FIELDS:
            np.testing.assert_array_equal(out[key][:, new_index], tiny_motion[key][:, old_index])
    np.testing.assert_array_equal(out["fps"], tiny_motion["fps"])


def test_pair_swap_applied_twice_is_identity(tiny_motion):
    """The index permutation that swaps neighbours is its own inverse: applied twice it restores the motion."""
    swapped = reorder_motion(tiny_motion, [TINY_JOINTS[i ^ 1] for i in range(len(TINY_JOINTS))])
    assert swapped["joint_names"][1] == "l_hip"
    names = swapped["joint_names"].tolist()
    twice = reorder_motion(swapped, [names[i ^ 1] for i in range(len(names))])
    _assert_same_motion(twice, tiny_motion)


def test_robot_names_orders(tiny_kin):
    """The MuJoCo order is depth-first, the PhysX order breadth-first (hand-computed for the tiny robot)."""
    assert robot_names(tiny_kin, "mujoco") == (TINY_JOINTS, TINY_BODIES)
    assert robot_names(tiny_kin, "physx") == (TINY_JOINTS_BFS, TINY_BODIES_BFS)
    with pytest.raises(ValueError, match="order must be"):
        robot_names(tiny_kin, "bullet")


def test_g1_physx_order(g1_kin):
    """The G1's breadth-first joint order interleaves the legs and the waist, as Isaac Lab lists them."""
    joints, bodies = robot_names(g1_kin, "physx")
    assert joints[:6] == ["left_hip_pitch_joint", "right_hip_pitch_joint", "waist_yaw_joint",
                          "left_hip_roll_joint", "right_hip_roll_joint", "waist_roll_joint"]
    assert bodies[:4] == ["pelvis", "left_hip_pitch_link", "right_hip_pitch_link", "waist_yaw_link"]
    assert sorted(joints) == sorted(g1_kin.joint_names) and len(bodies) == 30


def _physx_unnamed(motion):
    """The tiny motion as an unnamed PhysX-ordered (BeyondMimic-style) file would hold it."""
    out = reorder_motion(motion, TINY_JOINTS_BFS, TINY_BODIES_BFS)
    del out["joint_names"], out["body_names"]
    return out


def test_physx_file_to_mujoco_order(tmp_path, tiny_motion, tiny_mjcf, tiny_kin):
    """An unnamed breadth-first file, reordered with --source-order physx, equals the depth-first original and
    validates against the robot."""
    source = tmp_path / "physx.npz"
    save_motion(source, _physx_unnamed(tiny_motion))
    out = tmp_path / "mujoco.npz"
    assert main(["reorder", str(source), "-o", str(out), "--mjcf", str(tiny_mjcf), "--source-order", "physx"]) == 0
    result = load_motion(out)
    _assert_same_motion(result, {k: np.asarray(v) for k, v in tiny_motion.items()})
    assert validate_motion(result, kinematics=tiny_kin).ok


def test_mujoco_to_physx_and_back(tmp_path, tiny_motion, tiny_mjcf):
    """--target-order physx then back to mujoco returns the original file."""
    source = tmp_path / "a.npz"
    save_motion(source, tiny_motion)
    assert main(["reorder", str(source), "-o", str(tmp_path / "b.npz"), "--mjcf", str(tiny_mjcf),
                 "--target-order", "physx"]) == 0
    physx = load_motion(tmp_path / "b.npz")
    assert physx["body_names"].tolist() == TINY_BODIES_BFS
    assert main(["reorder", str(tmp_path / "b.npz"), "-o", str(tmp_path / "c.npz"), "--mjcf", str(tiny_mjcf)]) == 0
    _assert_same_motion(load_motion(tmp_path / "c.npz"), load_motion(source))


def test_reorder_from_name_files(tmp_path, tiny_motion):
    """--joint-names/--body-names files give the target order."""
    source = tmp_path / "a.npz"
    save_motion(source, tiny_motion)
    (tmp_path / "joints.txt").write_text("\n".join(reversed(TINY_JOINTS)) + "\n")
    (tmp_path / "bodies.txt").write_text("# target bodies\n" + "\n".join(TINY_BODIES_BFS))
    out = tmp_path / "b.npz"
    assert main(["reorder", str(source), "-o", str(out), "--joint-names", str(tmp_path / "joints.txt"),
                 "--body-names", str(tmp_path / "bodies.txt")]) == 0
    result = load_motion(out)
    assert result["joint_names"].tolist() == TINY_JOINTS[::-1]
    np.testing.assert_array_equal(result["joint_pos"][:, 0], tiny_motion["joint_pos"][:, -1])


def test_reorder_directory(tmp_path, tiny_motion, tiny_mjcf):
    """A directory is reordered file by file into the output directory."""
    src = tmp_path / "src"
    for name in ("a.npz", "b.npz"):
        save_motion(src / name, _physx_unnamed(tiny_motion))
    assert main(["reorder", str(src), "-o", str(tmp_path / "out"), "--mjcf", str(tiny_mjcf),
                 "--source-order", "physx"]) == 0
    for name in ("a.npz", "b.npz"):
        assert load_motion(tmp_path / "out" / name)["body_names"].tolist() == TINY_BODIES


def test_source_name_files_with_extra_body(tmp_path, tiny_motion, tiny_mjcf, tiny_kin):
    """An unnamed file from another simulator with one extra body: name it from lists, map it to the MJCF by name
    and drop the extra body with --allow-drop."""
    unnamed = _physx_unnamed(tiny_motion)
    for key in ("body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        unnamed[key] = np.concatenate([unnamed[key], unnamed[key][:, :1]], axis=1)  # e.g. an IMU link on the base
    source = tmp_path / "sim.npz"
    save_motion(source, unnamed)
    (tmp_path / "joints.txt").write_text("\n".join(TINY_JOINTS_BFS))
    (tmp_path / "bodies.txt").write_text("\n".join([*TINY_BODIES_BFS, "imu_link"]))
    out = tmp_path / "named.npz"
    base = ["reorder", str(source), "-o", str(out), "--mjcf", str(tiny_mjcf),
            "--source-joint-names", str(tmp_path / "joints.txt"), "--source-body-names", str(tmp_path / "bodies.txt")]
    assert main(base) == 2  # imu_link is not in the MJCF
    assert main([*base, "--allow-drop"]) == 0
    result = load_motion(out)
    _assert_same_motion(result, {k: np.asarray(v) for k, v in tiny_motion.items()})
    assert validate_motion(result, kinematics=tiny_kin).ok


def test_source_names_need_both_lists(tmp_path, tiny_motion, capsys):
    source = tmp_path / "a.npz"
    save_motion(source, _physx_unnamed(tiny_motion))
    (tmp_path / "joints.txt").write_text("\n".join(TINY_JOINTS))
    assert main(["reorder", str(source), "-o", str(tmp_path / "b.npz"),
                 "--source-joint-names", str(tmp_path / "joints.txt")]) == 2
    assert "go together" in capsys.readouterr().err


def test_unnamed_file_needs_source_order(tmp_path, tiny_motion, tiny_mjcf, capsys):
    """Without names and without --source-order there is no safe mapping: exit 2 with advice."""
    source = tmp_path / "a.npz"
    save_motion(source, _physx_unnamed(tiny_motion))
    assert main(["reorder", str(source), "-o", str(tmp_path / "b.npz"), "--mjcf", str(tiny_mjcf)]) == 2
    assert "--source-order physx" in capsys.readouterr().err


def test_source_order_on_named_file_is_refused(tmp_path, tiny_motion, tiny_mjcf, capsys):
    source = tmp_path / "a.npz"
    save_motion(source, tiny_motion)
    assert main(["reorder", str(source), "-o", str(tmp_path / "b.npz"), "--mjcf", str(tiny_mjcf),
                 "--source-order", "physx"]) == 2
    assert "has names already" in capsys.readouterr().err


def test_dropping_needs_allow_drop(tiny_motion):
    """A target that lacks some of the motion's bodies is an error unless dropping is allowed."""
    with pytest.raises(ValueError, match=r"body_names: the motion has \['forearm'\]"):
        reorder_motion(tiny_motion, body_names=TINY_BODIES[:-1])
    out = reorder_motion(tiny_motion, body_names=TINY_BODIES[:-1], allow_drop=True)
    assert out["body_pos_w"].shape[1] == 8


def test_unknown_target_names(tiny_motion):
    with pytest.raises(ValueError, match=r"joint_names: the target order names \['wrist'\]"):
        reorder_motion(tiny_motion, joint_names=[*TINY_JOINTS, "wrist"])


def test_attach_names_checks_counts(tiny_motion):
    unnamed = {k: v for k, v in tiny_motion.items() if not k.endswith("_names")}
    with pytest.raises(ValueError, match="joint_names: 7 names given but joint_pos has J=8"):
        attach_names(unnamed, TINY_JOINTS[:-1], TINY_BODIES)
    named = attach_names(unnamed, TINY_JOINTS, TINY_BODIES)
    assert named["joint_names"].dtype.kind == "U"
