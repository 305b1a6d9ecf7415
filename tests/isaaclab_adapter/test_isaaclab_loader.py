"""Motion library: clips from the shared reader concatenated into one store on the device (no isaaclab needed).

Finding, naming, checking, reordering and resampling files is tested once, in tests/motions/test_motions_clips.py;
here: the store, and that it names, maps and resamples exactly as that reader does.
"""

import json
import math

import numpy as np
import pytest
import torch
from _motion_clips import BODIES, JOINTS, make_clip, write, write_flat_library, write_nested_library, yaw_quat
from adaptive_sampling_isaaclab.motion_library import MotionLibrary

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg


@pytest.fixture
def library_dir(tmp_path):
    return write_flat_library(tmp_path / "motions")


def test_flat_store_offsets_and_sampler_kwargs(library_dir):
    """Clips are concatenated; offsets, frame counts and names line up and feed a real AdaptiveSampler."""
    lib = MotionLibrary.load(library_dir, fps=50.0)
    assert lib.motion_names == ["jump", "walk"]
    assert lib.num_frames.tolist() == [7, 20]
    assert lib.offsets.tolist() == [0, 7]
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


def test_library_names_match_motions_info(tmp_path, capsys):
    """`train.py --motions DIR` and `adaptive-sampling motions info DIR` list the same motions by the same names
    for a library with sub-folders; two files that would share a name are an error, not renamed."""
    from adaptive_sampling_motions.cli import main

    root = write_nested_library(tmp_path / "lib")
    assert main(["info", str(root), "--json"]) == 0
    listed = [row["name"] for row in json.loads(capsys.readouterr().out)["motions"]]
    lib = MotionLibrary.load(root, fps=50.0)
    assert lib.motion_names == listed == ["subject1/walk", "subject2/run", "top"]
    assert lib.num_frames.tolist() == [20, 9, 7]
    write(tmp_path / "other" / "walk.npz", make_clip())
    with pytest.raises(ValueError, match="both named 'walk'"):
        MotionLibrary.load([root / "subject1", tmp_path / "other"], fps=50.0)


def test_joint_and_body_names_are_mapped_to_the_robot_order(tmp_path):
    """A file listing joints/bodies in another order lands in the store in the robot's order (by name)."""
    path = write(tmp_path / "c.npz", make_clip(joint_names=["j_c", "j_a", "j_b"], body_names=["leg", "root", "arm"]))
    raw = np.load(path)
    lib = MotionLibrary.load(path, fps=50.0, joint_names=JOINTS, body_names=BODIES)
    # robot joint j_a is file column 1, j_b column 2, j_c column 0
    np.testing.assert_allclose(lib.joint_pos.numpy(), raw["joint_pos"][:, [1, 2, 0]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(lib.body_pos_w.numpy(), raw["body_pos_w"][:, [1, 2, 0]], rtol=0, atol=1e-6)
    assert lib.joint_names == JOINTS and lib.body_names == BODIES


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
    expected_quat = torch.from_numpy(yaw_quat(2.0 * t.numpy())).float()
    torch.testing.assert_close(lib.body_quat_w[:, 0], expected_quat, atol=1e-5, rtol=0)


def test_library_rejects_mismatched_clips(tmp_path):
    """Clips with different joint counts cannot share one store."""
    write(tmp_path / "a.npz", make_clip(names=False))
    write(tmp_path / "b.npz", make_clip(joint_names=["j_a", "j_b"], names=False))
    with pytest.raises(ValueError, match=r"clips must share one layout: joint_pos of \S*b\.npz has per-frame shape"):
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
