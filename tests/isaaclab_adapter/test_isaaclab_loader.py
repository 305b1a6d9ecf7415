"""Motion library loader: file resolution, name remapping, fps resampling and bad-file errors (no isaaclab needed)."""

import math
import pathlib

import numpy as np
import pytest
import torch
from adaptive_sampling_isaaclab.motion_library import (
    REQUIRED_FIELDS,
    MotionLibrary,
    load_motion_file,
    resample_clip,
    resolve_motion_files,
)

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

JOINTS = ["j_a", "j_b", "j_c"]
BODIES = ["root", "arm", "leg"]


def _yaw_quat(angle: np.ndarray) -> np.ndarray:
    """wxyz rotation about z. Shape: (T,) -> (T, 4)."""
    return np.stack([np.cos(angle / 2), 0 * angle, 0 * angle, np.sin(angle / 2)], axis=-1)


def make_clip(num_frames=11, fps=50.0, joint_names=JOINTS, body_names=BODIES, names=True, yaw_rate=1.0):
    """A clip whose every field is an exact linear function of time (so interpolation is exact)."""
    t = np.arange(num_frames) / fps
    nj, nb = len(joint_names), len(body_names)
    joint_pos = t[:, None] * (1.0 + np.arange(nj))[None, :]
    joint_vel = np.broadcast_to((1.0 + np.arange(nj))[None, :], (num_frames, nj)).copy()
    body_pos = t[:, None, None] * (1.0 + np.arange(nb))[None, :, None] * np.array([1.0, 2.0, 3.0])
    body_quat = np.repeat(_yaw_quat(yaw_rate * t)[:, None, :], nb, axis=1) if num_frames else np.zeros((0, nb, 4))
    data = {
        "fps": np.array([fps], dtype=np.float32),
        "joint_pos": joint_pos.astype(np.float32),
        "joint_vel": joint_vel.astype(np.float32),
        "body_pos_w": body_pos.astype(np.float32),
        "body_quat_w": body_quat.astype(np.float32),
        "body_lin_vel_w": np.zeros((num_frames, nb, 3), np.float32),
        "body_ang_vel_w": np.zeros((num_frames, nb, 3), np.float32),
    }
    if names:
        data["joint_names"] = np.array(joint_names)
        data["body_names"] = np.array(body_names)
    return data


def write(path: pathlib.Path, data: dict) -> pathlib.Path:
    np.savez(path, **data)
    return path


@pytest.fixture
def library_dir(tmp_path):
    folder = tmp_path / "motions"
    folder.mkdir()
    write(folder / "walk.npz", make_clip(num_frames=20))
    write(folder / "jump.npz", make_clip(num_frames=7))
    return folder


def test_resolve_file_directory_and_glob(library_dir, tmp_path):
    """A file, a directory (sorted) and a glob all resolve; duplicates appear once."""
    files = resolve_motion_files(library_dir)
    assert [f.name for f in files] == ["jump.npz", "walk.npz"]
    assert resolve_motion_files(str(library_dir / "walk.npz")) == [(library_dir / "walk.npz").resolve()]
    assert [f.name for f in resolve_motion_files(str(library_dir / "w*.npz"))] == ["walk.npz"]
    both = resolve_motion_files([library_dir / "walk.npz", library_dir, str(library_dir / "*.npz")])
    assert [f.name for f in both] == ["walk.npz", "jump.npz"]


def test_resolve_errors(tmp_path):
    """Missing paths, empty folders, empty globs and empty lists raise, naming what was given."""
    with pytest.raises(ValueError, match="neither a file"):
        resolve_motion_files(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="holds no .npz"):
        resolve_motion_files(tmp_path)
    with pytest.raises(ValueError, match="matches no .npz"):
        resolve_motion_files(str(tmp_path / "*.npz"))
    with pytest.raises(ValueError, match="empty"):
        resolve_motion_files([])
    with pytest.raises(TypeError, match="motions"):
        resolve_motion_files(3)


def test_flat_store_offsets_and_sampler_kwargs(library_dir):
    """Clips are concatenated; offsets, frame counts and names line up and feed a real AdaptiveSampler."""
    lib = MotionLibrary.load(library_dir, fps=50.0)
    assert lib.motion_names == ["jump", "walk"]
    assert lib.num_frames.tolist() == [7, 20]
    assert lib.motion_offsets.tolist() == [0, 7, 27]
    assert lib.joint_pos.shape == (27, 3) and lib.body_quat_w.shape == (27, 3, 4)
    assert lib.joint_pos.dtype == torch.float32
    # frame 5 of "walk" is global frame 12 and holds t = 5 / 50
    index = lib.frame_index(torch.tensor([1, 1, 0]), torch.tensor([5, 99, -3]))
    assert index.tolist() == [12, 26, 0]
    torch.testing.assert_close(lib.joint_pos[12], torch.tensor([0.1, 0.2, 0.3]))
    kwargs = lib.sampler_kwargs()
    assert kwargs == {"num_frames": [7, 20], "fps": [50.0, 50.0], "motion_names": ["jump", "walk"]}
    sampler = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), **kwargs, device="cpu")
    motion_ids, frames = sampler.sample(64)
    assert bool((frames < lib.num_frames[motion_ids]).all())


def test_duplicate_stems_are_qualified(tmp_path):
    """Two files with the same stem in different folders get distinct motion names."""
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        write(tmp_path / sub / "walk.npz", make_clip())
    lib = MotionLibrary.load([tmp_path / "a", tmp_path / "b"], fps=50.0)
    assert lib.motion_names == ["a/walk", "b/walk"]


def test_joint_and_body_names_are_mapped_to_the_robot_order(tmp_path):
    """A file listing joints/bodies in another order is permuted into the robot's order by name."""
    path = write(tmp_path / "c.npz", make_clip(joint_names=["j_c", "j_a", "j_b"], body_names=["leg", "root", "arm"]))
    raw = np.load(path)
    lib = MotionLibrary.load(path, fps=50.0, joint_names=JOINTS, body_names=BODIES)
    # robot joint j_a is file column 1, j_b column 2, j_c column 0
    np.testing.assert_allclose(lib.joint_pos.numpy(), raw["joint_pos"][:, [1, 2, 0]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(lib.body_pos_w.numpy(), raw["body_pos_w"][:, [1, 2, 0]], rtol=0, atol=1e-6)
    assert lib.joint_names == JOINTS and lib.body_names == BODIES


def test_robot_may_use_a_subset_of_the_file_bodies(tmp_path):
    """Extra bodies in the file are dropped; the robot's bodies are picked by name."""
    path = write(tmp_path / "c.npz", make_clip(body_names=["root", "arm", "leg"]))
    lib = MotionLibrary.load(path, fps=50.0, body_names=["leg", "root"])
    np.testing.assert_allclose(lib.body_pos_w.numpy(), np.load(path)["body_pos_w"][:, [2, 0]], atol=1e-6)


def test_missing_robot_name_is_an_error(tmp_path):
    """A robot joint absent from the file's joint_names raises, naming the file, the field and the joint."""
    path = write(tmp_path / "c.npz", make_clip())
    with pytest.raises(ValueError, match=r"c\.npz.*'joint_names'.*j_missing"):
        MotionLibrary.load(path, fps=50.0, joint_names=["j_a", "j_missing", "j_c"])


def test_without_names_counts_must_match(tmp_path):
    """Files without names keep their order when the counts match and raise a clear error otherwise."""
    path = write(tmp_path / "bm.npz", make_clip(names=False))
    lib = MotionLibrary.load(path, fps=50.0, joint_names=["x", "y", "z"], body_names=["p", "q", "r"])
    np.testing.assert_allclose(lib.joint_pos.numpy(), np.load(path)["joint_pos"], atol=1e-6)
    with pytest.raises(ValueError, match=r"bm\.npz.*3 joints.*no 'joint_names'.*4 joints"):
        MotionLibrary.load(path, fps=50.0, joint_names=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"bm\.npz.*3 bodies and no 'body_names'.*2 bodies"):
        MotionLibrary.load(path, fps=50.0, body_names=["a", "b"])


@pytest.mark.parametrize(("source_fps", "num_frames"), [(25.0, 11), (30.0, 31), (100.0, 41), (50.0, 9)])
def test_fps_resampling_keeps_duration_and_speed(tmp_path, source_fps, num_frames):
    """Clips at another fps are resampled to the control rate: same duration, values exact at the new times."""
    path = write(tmp_path / "m.npz", make_clip(num_frames=num_frames, fps=source_fps, yaw_rate=2.0))
    lib = MotionLibrary.load(path, fps=50.0)
    duration = (num_frames - 1) / source_fps
    expected_frames = math.floor(duration * 50.0 + 1e-9) + 1
    assert lib.num_frames.tolist() == [expected_frames]
    assert lib.fps == 50.0 and lib.source_fps == [source_fps]
    t = torch.arange(expected_frames, dtype=torch.float64) / 50.0
    # joint j_c moves at 3 rad/s: played at the wrong speed it would not match
    torch.testing.assert_close(lib.joint_pos[:, 2].double(), 3.0 * t, atol=1e-5, rtol=0)
    torch.testing.assert_close(lib.body_pos_w[:, 1, 2].double(), 2.0 * 3.0 * t, atol=1e-5, rtol=0)
    # slerp of a constant-rate yaw is exact at the new times
    expected_quat = torch.from_numpy(_yaw_quat(2.0 * t.numpy())).float()
    torch.testing.assert_close(lib.body_quat_w[:, 0], expected_quat, atol=1e-5, rtol=0)


def test_resample_clip_slerps_along_the_short_arc(tmp_path):
    """Quaternions of opposite sign are interpolated along the short arc and stay unit length."""
    data = make_clip(num_frames=2, fps=10.0, yaw_rate=0.0)
    data["body_quat_w"][1] *= -1.0  # same rotation, other sign
    clip = load_motion_file(write(tmp_path / "s.npz", data))
    out = resample_clip(clip, 20.0)
    assert out.num_frames == 3
    np.testing.assert_allclose(np.abs(out.body_quat_w[1, :, 0]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out.body_quat_w, axis=-1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="fps"):
        resample_clip(clip, 0.0)


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_missing_field(tmp_path, field):
    """Every required field is checked; the error names the file and the field."""
    data = make_clip()
    del data[field]
    path = write(tmp_path / "bad.npz", data)
    with pytest.raises(ValueError, match=rf"bad\.npz: missing field\(s\) \['{field}'\]"):
        load_motion_file(path)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("joint_pos", np.zeros((11, 3, 1)), "'joint_pos' must have shape"),
        ("joint_vel", np.zeros((11, 4)), "'joint_vel' must have the shape"),
        ("body_pos_w", np.zeros((11, 3, 2)), "'body_pos_w' must have shape"),
        ("body_quat_w", np.zeros((11, 3, 3)), "'body_quat_w' must have shape"),
        ("body_lin_vel_w", np.zeros((10, 3, 3)), "'body_lin_vel_w' must have shape"),
        ("body_ang_vel_w", np.zeros((11, 2, 3)), "'body_ang_vel_w' must have shape"),
        ("fps", np.array([50.0, 30.0]), "'fps' must hold one value"),
        ("fps", np.array([-1.0]), "'fps' must be a positive"),
        ("joint_names", np.array(["a", "b"]), "'joint_names' has 2 names"),
        ("body_names", np.array(["a", "a", "b"]), "'body_names' has duplicate"),
    ],
)
def test_wrong_shapes_and_values(tmp_path, field, value, match):
    """Wrong shapes, counts and values raise, naming the file and the field."""
    data = make_clip()
    data[field] = value
    with pytest.raises(ValueError, match=rf"bad\.npz: field {match}"):
        load_motion_file(write(tmp_path / "bad.npz", data))


@pytest.mark.parametrize("field", ["joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w"])
def test_nan_is_rejected(tmp_path, field):
    """NaN anywhere raises, naming the file, the field and the first bad frame."""
    data = make_clip()
    data[field] = data[field].copy()
    data[field][4, ...] = np.nan
    with pytest.raises(ValueError, match=rf"bad\.npz: field '{field}' holds NaN.*frame 4"):
        load_motion_file(write(tmp_path / "bad.npz", data))


def test_zero_frames_and_zero_quaternions(tmp_path):
    """A clip without frames, or with a zero quaternion, is rejected."""
    with pytest.raises(ValueError, match=r"empty\.npz: field 'joint_pos' has zero frames"):
        load_motion_file(write(tmp_path / "empty.npz", make_clip(num_frames=0)))
    data = make_clip()
    data["body_quat_w"][2, 1] = 0.0
    with pytest.raises(ValueError, match=r"zq\.npz: field 'body_quat_w' holds zero quaternions"):
        load_motion_file(write(tmp_path / "zq.npz", data))


def test_unreadable_file(tmp_path):
    """A file that is not an npz archive raises, naming the file."""
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz: cannot be read"):
        load_motion_file(path)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        load_motion_file(single)


def test_library_rejects_mismatched_clips(tmp_path):
    """Clips with different joint counts cannot share one store."""
    write(tmp_path / "a.npz", make_clip(names=False))
    write(tmp_path / "b.npz", make_clip(joint_names=["j_a", "j_b"], names=False))
    with pytest.raises(ValueError, match=r"b\.npz: field 'joint_pos' has per-frame shape"):
        MotionLibrary.load(tmp_path, fps=50.0)


def test_demo_motions_load_against_the_g1_names():
    """The shipped demo clips carry names and load at 50 Hz with the G1's 29 joints and 30 bodies."""
    from adaptive_sampling_isaaclab.assets import demo_motions_dir

    folder = demo_motions_dir()
    if not any(folder.glob("*.npz")):
        pytest.skip("demo motions not generated")
    lib = MotionLibrary.load(folder, fps=50.0)
    assert lib.num_motions >= 3
    assert lib.joint_pos.shape[1] == 29 and lib.body_pos_w.shape[1] == 30
    assert lib.body_names[0] == "pelvis"
    assert len(set(lib.num_frames.tolist())) > 1


def test_loader_accepts_files_converted_by_the_motion_tools(tmp_path):
    """A retargeted CSV converted by `adaptive-sampling motions convert` (MuJoCo FK, names) loads into the adapter's
    motion library, mapped by name to a robot whose joint order differs, resampled from 30 fps to 50 Hz, with the
    body states equal to the converted file's (same bodies, same names, wxyz kept)."""
    pytest.importorskip("mujoco")
    from adaptive_sampling_motions.cli import main as motions_cli
    from adaptive_sampling_motions.demo import write_demo_motions

    csv_dir = tmp_path / "csv"
    write_demo_motions(tmp_path / "npz", csv_dir=csv_dir)
    csv = next(csv_dir.glob("slow_squat_30fps.csv"))
    out = tmp_path / "converted" / "slow_squat.npz"
    assert motions_cli(["convert", str(csv), "-o", str(out)]) == 0
    converted = np.load(out)
    joint_names = [str(n) for n in converted["joint_names"]][::-1]  # a robot with the joints in another order
    library = MotionLibrary.load(out, fps=50.0, joint_names=joint_names)
    assert library.motion_names == ["slow_squat"]
    assert library.source_fps == [30.0]
    duration = (converted["joint_pos"].shape[0] - 1) / 30.0
    assert library.num_frames.tolist() == [round(duration * 50.0) + 1]
    # frame 0 is not interpolated: joints arrive reversed by name, bodies unchanged
    np.testing.assert_allclose(library.joint_pos[0].numpy(), converted["joint_pos"][0][::-1], atol=1e-6)
    np.testing.assert_allclose(library.body_pos_w[0].numpy(), converted["body_pos_w"][0], atol=1e-6)
    np.testing.assert_allclose(library.body_quat_w[0].numpy(), converted["body_quat_w"][0], atol=1e-6)
