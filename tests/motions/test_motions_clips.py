"""clips: one reader for every consumer: file resolution and naming, checks, reordering by name, resampling."""

import json
import math
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from _motion_clips import BODIES, JOINTS, make_clip, write, write_flat_library, write_nested_library, yaw_quat
from adaptive_sampling_motions.clips import (
    MotionClip,
    load_clip,
    load_clips,
    reorder_clip,
    resample_clip,
    resolve_motion_files,
)
from adaptive_sampling_motions.motion_file import REQUIRED_FIELDS
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture
def library_dir(tmp_path):
    return write_flat_library(tmp_path / "motions")


def _names(motions):
    return [name for _, name in resolve_motion_files(motions)]


def test_clips_import_neither_mujoco_nor_torch():
    """The reader is numpy-only: importing it pulls in no mujoco, no torch and no simulator."""
    code = ("import sys, adaptive_sampling_motions.clips; "
            "print([m for m in ('mujoco', 'torch', 'isaaclab', 'mjlab') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_resolve_file_directory_and_glob(library_dir):
    """A file, a directory (sorted) and a glob all resolve to absolute files with names; a file given twice counts
    once."""
    assert resolve_motion_files(library_dir) == [
        ((library_dir / "jump.npz").resolve(), "jump"), ((library_dir / "walk.npz").resolve(), "walk")]
    assert resolve_motion_files(str(library_dir / "walk.npz")) == [((library_dir / "walk.npz").resolve(), "walk")]
    assert _names(str(library_dir / "w*.npz")) == ["walk"]
    assert _names([library_dir / "walk.npz", library_dir, str(library_dir / "*.npz")]) == ["walk", "jump"]


def test_names_are_paths_relative_to_the_library(tmp_path):
    """Sub-folders are searched and name their motions (`subject1/walk`); a glob names relative to its directory part;
    a lone file is named by its stem."""
    root = write_nested_library(tmp_path / "lib")
    assert _names(root) == ["subject1/walk", "subject2/run", "top"]
    assert _names(str(root / "*" / "*.npz")) == ["subject1/walk", "subject2/run"]
    assert _names(str(root / "**" / "*.npz")) == ["subject1/walk", "subject2/run", "top"]
    assert _names(root / "subject1" / "walk.npz") == ["walk"]
    assert _names(root / "subject1") == ["walk"]


def test_info_lists_the_names_the_loader_uses(tmp_path, capsys):
    """`adaptive-sampling motions info DIR` lists exactly the motions load_clips loads, by the same names."""
    from adaptive_sampling_motions.cli import main

    root = write_nested_library(tmp_path / "lib")
    assert main(["info", str(root), "--json"]) == 0
    listed = [row["name"] for row in json.loads(capsys.readouterr().out)["motions"]]
    assert listed == [clip.name for clip in load_clips(root)] == ["subject1/walk", "subject2/run", "top"]


def test_duplicate_names_raise(tmp_path):
    """Two different files that would get one name raise, naming the name; their common parent names them apart."""
    for sub in ("a", "b"):
        write(tmp_path / sub / "walk.npz", make_clip())
    with pytest.raises(ValueError, match=r"two files are both named 'walk'"):
        resolve_motion_files([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ValueError, match=r"both named 'walk'"):
        resolve_motion_files([tmp_path / "a" / "walk.npz", tmp_path / "b" / "walk.npz"])
    assert _names(tmp_path) == ["a/walk", "b/walk"]


def test_resolve_errors(tmp_path):
    """Missing paths, empty folders, empty globs, empty lists and non-paths raise, naming what was given."""
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        resolve_motion_files(tmp_path / "nope.npz")
    with pytest.raises(FileNotFoundError, match="no .npz files under"):
        resolve_motion_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="matches no .npz"):
        resolve_motion_files(str(tmp_path / "*.npz"))
    with pytest.raises(ValueError, match="motions is empty"):
        resolve_motion_files([])
    with pytest.raises(TypeError, match="motions must be"):
        resolve_motion_files(3)
    with pytest.raises(TypeError, match="motions entries must be paths"):
        resolve_motion_files([tmp_path, 3])


@given(st.lists(st.sampled_from(["a", "b", "c/d", "c/e", "f/g/h"]), min_size=1, max_size=5, unique=True))
def test_directory_names_are_unique_and_map_back_to_their_files(relative_paths):
    """For any library tree, names are unique and each is its file's path relative to the library without .npz."""
    with tempfile.TemporaryDirectory() as folder:
        base = pathlib.Path(folder)
        for rel in relative_paths:
            write(base / f"{rel}.npz", make_clip(num_frames=3))
        resolved = resolve_motion_files(base)
        names = [name for _, name in resolved]
        assert names == sorted(relative_paths)
        assert all(path == (base / f"{name}.npz").resolve() for path, name in resolved)


def test_load_clip_reads_a_checked_float64_clip(library_dir):
    """A clip loads as float64 with unit wxyz quaternions, its names, its fps and the given (or stem) name."""
    clip = load_clip(library_dir / "walk.npz", name="lib/walk")
    assert isinstance(clip, MotionClip) and clip.name == "lib/walk" and clip.num_frames == 20
    assert clip.fps == 50.0 and clip.joint_names == JOINTS and clip.body_names == BODIES
    assert clip.joint_pos.dtype == np.float64 and clip.body_quat_w.shape == (20, 3, 4)
    np.testing.assert_allclose(np.linalg.norm(clip.body_quat_w, axis=-1), 1.0, atol=1e-12)
    assert load_clip(library_dir / "walk.npz").name == "walk"


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_missing_field(tmp_path, field):
    """Every required field is checked; the error names the file and the field."""
    data = make_clip()
    del data[field]
    with pytest.raises(ValueError, match=rf"bad\.npz': missing field\(s\) \['{field}'\]"):
        load_clip(write(tmp_path / "bad.npz", data))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("joint_pos", np.zeros((11, 3, 1)), "'joint_pos' must have shape"),
        ("joint_vel", np.zeros((11, 4)), "'joint_vel' must have shape"),
        ("body_pos_w", np.zeros((11, 3, 2)), "'body_pos_w' must have shape"),
        ("body_quat_w", np.zeros((11, 3, 3)), "'body_quat_w' must have shape"),
        ("body_lin_vel_w", np.zeros((10, 3, 3)), "'body_lin_vel_w' must have shape"),
        ("body_ang_vel_w", np.zeros((11, 2, 3)), "'body_ang_vel_w' must have shape"),
        ("body_lin_vel_w", np.zeros((11, 3, 3), dtype=np.complex64), "'body_lin_vel_w' must hold real numbers"),
        ("fps", np.array([50.0, 30.0]), "fps must be one number"),
        ("fps", np.array([-1.0]), "fps must be positive"),
        ("joint_names", np.array(["a", "b"]), "'joint_names' has 2 names"),
        ("body_names", np.array(["a", "a", "b"]), "'body_names' has duplicate"),
    ],
)
def test_wrong_shapes_and_values(tmp_path, field, value, match):
    """Wrong shapes, dtypes, counts and values raise, naming the file and the field."""
    data = make_clip()
    data[field] = value
    with pytest.raises(ValueError, match=rf"bad\.npz': field {match}"):
        load_clip(write(tmp_path / "bad.npz", data))


@pytest.mark.parametrize("field", ["joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w"])
def test_nan_is_rejected(tmp_path, field):
    """NaN anywhere raises, naming the file, the field and the first bad frame."""
    data = make_clip()
    data[field] = data[field].copy()
    data[field][4, ...] = np.nan
    with pytest.raises(ValueError, match=rf"bad\.npz': field '{field}' holds NaN.*frame 4"):
        load_clip(write(tmp_path / "bad.npz", data))


def test_zero_frames_and_zero_quaternions(tmp_path):
    """A clip without frames, or with a zero quaternion, is rejected."""
    with pytest.raises(ValueError, match=r"empty\.npz': field 'joint_pos' has zero frames"):
        load_clip(write(tmp_path / "empty.npz", make_clip(num_frames=0)))
    data = make_clip()
    data["body_quat_w"][2, 1] = 0.0
    with pytest.raises(ValueError, match=r"zq\.npz': field 'body_quat_w' holds zero quaternions"):
        load_clip(write(tmp_path / "zq.npz", data))


def test_unreadable_file(tmp_path):
    """A missing file, a file that is not an npz archive, and a single array raise, naming the file."""
    with pytest.raises(FileNotFoundError, match=r"nope\.npz"):
        load_clip(tmp_path / "nope.npz")
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz' is not a readable npz"):
        load_clip(path)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        load_clip(single)


@pytest.mark.parametrize(("source_fps", "num_frames"), [(25.0, 11), (30.0, 31), (100.0, 41), (50.0, 9), (29.97, 30)])
def test_resampling_keeps_duration_and_speed(tmp_path, source_fps, num_frames):
    """A clip at another fps is resampled: floor((T - 1) * fps / fps_src) + 1 frames, values exact at the new
    times (linear fields interpolated, a constant-rate yaw slerped)."""
    clip = load_clip(write(tmp_path / "m.npz", make_clip(num_frames=num_frames, fps=source_fps, yaw_rate=2.0)))
    out = resample_clip(clip, 50.0)
    expected_frames = math.floor((num_frames - 1) / clip.fps * 50.0 + 1e-9) + 1
    assert out.num_frames == expected_frames and out.fps == 50.0 and out.name == clip.name
    t = np.arange(expected_frames) / 50.0
    np.testing.assert_allclose(out.joint_pos[:, 2], 3.0 * t, atol=1e-5, rtol=0)
    np.testing.assert_allclose(out.body_pos_w[:, 1, 2], 2.0 * 3.0 * t, atol=1e-5, rtol=0)
    np.testing.assert_allclose(out.body_quat_w[:, 0], yaw_quat(2.0 * t), atol=1e-5, rtol=0)


def test_resample_clip_slerps_along_the_short_arc(tmp_path):
    """Quaternions of opposite sign are interpolated along the short arc and stay unit length."""
    data = make_clip(num_frames=2, fps=10.0, yaw_rate=0.0)
    data["body_quat_w"][1] *= -1.0  # same rotation, other sign
    clip = load_clip(write(tmp_path / "s.npz", data))
    out = resample_clip(clip, 20.0)
    assert out.num_frames == 3
    np.testing.assert_allclose(np.abs(out.body_quat_w[1, :, 0]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out.body_quat_w, axis=-1), 1.0, atol=1e-6)


@pytest.mark.parametrize(("fps", "error"), [(0.0, ValueError), (math.inf, ValueError), (True, TypeError),
                                            ("50", TypeError)])
def test_resample_clip_rejects_bad_fps(tmp_path, fps, error):
    """A rate that is not a positive finite real number raises, naming fps."""
    clip = load_clip(write(tmp_path / "m.npz", make_clip()))
    with pytest.raises(error, match="fps must be"):
        resample_clip(clip, fps)


def test_load_clips_maps_joints_and_bodies_by_name(tmp_path):
    """A file listing joints/bodies in another order is permuted into the given order by name; a subset of the
    bodies may be asked for."""
    path = write(tmp_path / "c.npz", make_clip(joint_names=["j_c", "j_a", "j_b"], body_names=["leg", "root", "arm"]))
    raw = np.load(path)
    (clip,) = load_clips(path, joint_names=JOINTS, body_names=BODIES)
    np.testing.assert_allclose(clip.joint_pos, raw["joint_pos"][:, [1, 2, 0]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(clip.body_pos_w, raw["body_pos_w"][:, [1, 2, 0]], rtol=0, atol=1e-6)
    assert clip.joint_names == JOINTS and clip.body_names == BODIES
    (subset,) = load_clips(path, body_names=["arm", "leg"])
    np.testing.assert_allclose(subset.body_quat_w, clip.body_quat_w[:, [1, 2]], atol=1e-12)
    assert subset.joint_names == ["j_c", "j_a", "j_b"]


def test_load_clips_name_errors(tmp_path):
    """A name missing from the file raises naming the file, the field and the name; files without names keep their
    order when the counts match and raise otherwise."""
    path = write(tmp_path / "c.npz", make_clip())
    with pytest.raises(ValueError, match=r"c\.npz'.*'joint_names'.*j_missing"):
        load_clips(path, joint_names=["j_a", "j_missing", "j_c"])
    unnamed = write(tmp_path / "bm.npz", make_clip(names=False))
    (clip,) = load_clips(unnamed, joint_names=["x", "y", "z"], body_names=["p", "q", "r"])
    np.testing.assert_allclose(clip.joint_pos, np.load(unnamed)["joint_pos"], atol=1e-6)
    assert clip.joint_names is None
    with pytest.raises(ValueError, match=r"bm\.npz'.*3 joints.*no 'joint_names'.*4 joints"):
        load_clips(unnamed, joint_names=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"bm\.npz'.*3 bodies and no 'body_names'.*2 bodies"):
        reorder_clip(clip, body_names=["a", "b"])


def test_load_clips_resamples_when_asked(tmp_path):
    """fps resamples every clip; without it each keeps its own rate."""
    root = tmp_path / "lib"
    write(root / "a.npz", make_clip(num_frames=31, fps=30.0))
    write(root / "b.npz", make_clip(num_frames=11, fps=50.0))
    assert [(c.fps, c.num_frames) for c in load_clips(root)] == [(30.0, 31), (50.0, 11)]
    assert [(c.fps, c.num_frames) for c in load_clips(root, fps=50.0)] == [(50.0, 51), (50.0, 11)]
