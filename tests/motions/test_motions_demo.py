"""The shipped G1 demo motions: valid, physically placed, reproducible, with one hard segment."""

import numpy as np
import pytest

pytest.importorskip("mujoco")

from adaptive_sampling_motions.cli import main  # noqa: E402
from adaptive_sampling_motions.demo import (  # noqa: E402
    DEMO_CLIPS,
    FEET,
    QUICK_SQUAT_START_S,
    QUICK_SQUAT_WIDTH_S,
    write_demo_motions,
)
from adaptive_sampling_motions.motion_file import FLOAT_FIELDS, load_motion  # noqa: E402
from adaptive_sampling_motions.validation import validate_file  # noqa: E402


@pytest.fixture(scope="module")
def demo_files(demo_dir):
    files = {clip.name: demo_dir / f"{clip.name}.npz" for clip in DEMO_CLIPS}
    missing = [str(path) for path in files.values() if not path.is_file()]
    assert not missing, f"demo motions missing; run python -m adaptive_sampling_motions.demo --out {demo_dir}"
    return files


def test_demo_files_pass_validate_against_g1(demo_dir, demo_files, g1_kin, capsys):
    """`motions validate <demo dir> --mjcf g1` reports every shipped clip clean (joint limits and FK included)."""
    assert main(["validate", str(demo_dir), "--mjcf", str(g1_kin.path)]) == 0
    assert f"{len(DEMO_CLIPS)} clean, 0 with defects" in capsys.readouterr().out
    for path in demo_files.values():
        report = validate_file(path, kinematics=g1_kin)
        assert report.ok and not report.warnings, report.format()


def test_demo_library_shape(demo_files, g1_kin):
    """Different lengths and frame rates, float32, named in the G1's order, small enough to commit."""
    lengths, rates = set(), set()
    for clip in DEMO_CLIPS:
        path = demo_files[clip.name]
        motion = load_motion(path)
        assert path.stat().st_size < 1.5e6
        assert motion["joint_pos"].shape == (round(clip.duration_s * clip.fps), 29)
        assert float(motion["fps"][0]) == clip.fps
        for key in FLOAT_FIELDS:
            assert motion[key].dtype == np.float32, key
        assert motion["joint_names"].tolist() == g1_kin.joint_names
        assert motion["body_names"].tolist() == g1_kin.body_names
        lengths.add(clip.duration_s)
        rates.add(clip.fps)
    assert len(DEMO_CLIPS) >= 3 and len(lengths) >= 3 and len(rates) >= 2


@pytest.mark.parametrize("clip", DEMO_CLIPS, ids=lambda clip: clip.name)
def test_feet_stay_planted_on_the_ground(demo_files, g1_kin, clip):
    """Both feet keep their pose through the clip and the lowest foot point touches z = 0 in every frame."""
    motion = load_motion(demo_files[clip.name])
    names = motion["body_names"].tolist()
    feet = [names.index(name) for name in FEET]
    foot_pos = motion["body_pos_w"][:, feet].astype(np.float64)
    assert np.ptp(foot_pos, axis=0).max() < 1e-5
    foot_quat = motion["body_quat_w"][:, feet].astype(np.float64)
    assert np.abs(np.abs(np.sum(foot_quat * foot_quat[:1], axis=-1)) - 1.0).max() < 1e-6
    lowest = g1_kin.lowest_collision_z(motion["body_pos_w"][:, 0], motion["body_quat_w"][:, 0], motion["joint_pos"],
                                       bodies=FEET)
    np.testing.assert_allclose(lowest, 0.0, atol=1e-5)
    # Nothing else of the robot goes below the ground either.
    everything = g1_kin.lowest_collision_z(motion["body_pos_w"][:, 0], motion["body_quat_w"][:, 0],
                                           motion["joint_pos"])
    assert everything.min() > -1e-5
    # The pelvis stays at a standing-to-squatting height.
    assert 0.45 < motion["body_pos_w"][:, 0, 2].min() and motion["body_pos_w"][:, 0, 2].max() < 0.8


def test_quick_squat_has_one_hard_segment(demo_files):
    """The fastest joint motion of quick_squat lies in its 0.5 s hard segment and is several times faster than the
    rest of the clip."""
    motion = load_motion(demo_files["quick_squat"])
    fps = float(motion["fps"][0])
    t = np.arange(motion["joint_vel"].shape[0]) / fps
    speed = np.abs(motion["joint_vel"]).max(axis=1)
    inside = (t >= QUICK_SQUAT_START_S) & (t <= QUICK_SQUAT_START_S + QUICK_SQUAT_WIDTH_S)
    assert speed[inside].max() > 5.0  # rad/s
    assert speed[inside].max() > 4.0 * speed[~inside].max()
    pelvis_drop = motion["body_pos_w"][~inside, 0, 2].min() - motion["body_pos_w"][inside, 0, 2].min()
    assert pelvis_drop > 0.15  # a deep squat, not a twitch


def test_demo_generation_reproduces_shipped_files(tmp_path, demo_files, g1_kin):
    """Regenerating the demo gives the shipped data (up to float32 rounding)."""
    written = write_demo_motions(tmp_path, mjcf=g1_kin.path)
    assert sorted(path.name for path in written) == sorted(path.name for path in demo_files.values())
    for path in written:
        fresh, shipped = load_motion(path), load_motion(demo_files[path.stem])
        assert set(fresh) == set(shipped)
        for key in fresh:
            if fresh[key].dtype.kind == "f":
                np.testing.assert_allclose(fresh[key], shipped[key], atol=1e-5, err_msg=f"{path.stem}:{key}")
            else:
                np.testing.assert_array_equal(fresh[key], shipped[key])


def test_training_loader_accepts_demo_files(demo_files):
    """The clip reader every simulator integration uses reads every demo file with its names."""
    from adaptive_sampling_motions.clips import load_clip

    for name, path in demo_files.items():
        clip = load_clip(path)
        assert clip.num_frames == load_motion(path)["joint_pos"].shape[0], name
        assert clip.joint_names is not None and len(clip.joint_names) == 29


def test_convert_cli_defaults_to_g1(tmp_path, demo_files, g1_kin):
    """`motions convert <csv dir>` with no --mjcf uses the G1 and reads each rate from the file name; the result
    equals the shipped clip."""
    write_demo_motions(tmp_path / "npz", csv_dir=tmp_path / "csv", mjcf=g1_kin.path)
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(
        f"{clip.name}_{clip.fps:g}fps.csv" for clip in DEMO_CLIPS)
    assert main(["convert", str(tmp_path / "csv"), "-o", str(tmp_path / "converted")]) == 0
    converted = load_motion(tmp_path / "converted" / "quick_squat_50fps.npz")
    shipped = load_motion(demo_files["quick_squat"])
    np.testing.assert_allclose(converted["body_pos_w"], shipped["body_pos_w"], atol=1e-5)
    assert converted["body_names"].tolist() == shipped["body_names"].tolist()
