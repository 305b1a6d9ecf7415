"""info: the library table, and bins computed exactly as the core sampler's layout computes them."""

import json

import numpy as np
import pytest

pytest.importorskip("mujoco")

from adaptive_sampling_motions.cli import main  # noqa: E402
from adaptive_sampling_motions.library import num_bins, summarize_file  # noqa: E402
from adaptive_sampling_motions.motion_file import save_motion  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.mark.parametrize(("frames", "fps", "bin_s", "expected"), [
    (200, 50.0, 1.0, 4),    # 3.98 s
    (201, 50.0, 1.0, 5),    # exactly 4 s span: a last one-frame bin
    (180, 30.0, 1.0, 6),
    (1, 50.0, 1.0, 1),
    (31, 30.0, 1 / 3, 4),   # exact multiple stays exact
    (300, 60.0, 0.5, 10),
])
def test_num_bins_hand_computed(frames, fps, bin_s, expected):
    """floor((T - 1) / (fps * bin_s)) + 1 on hand-checked cases."""
    assert num_bins(frames, fps, bin_s) == expected


@given(st.integers(1, 5000), st.sampled_from([24.0, 25.0, 29.97, 30.0, 50.0, 60.0, 120.0]),
       st.sampled_from([0.25, 1 / 3, 0.5, 1.0, 2.0]), st.sampled_from(["duration", "beyondmimic"]))
def test_num_bins_matches_core_layout(frames, fps, bin_s, layout):
    """Our count equals the core MotionLayout's for any clip (both bin layouts)."""
    adaptive_sampling = pytest.importorskip("adaptive_sampling")
    core = adaptive_sampling.MotionLayout([frames], [fps], bin_duration_s=bin_s, bin_layout=layout)
    assert num_bins(frames, fps, bin_s, layout) == int(core.bins_per_motion[0])


def test_num_bins_rejects_bad_input():
    with pytest.raises(ValueError, match="num_frames"):
        num_bins(0, 50.0, 1.0)
    with pytest.raises(ValueError, match="bin_duration_s"):
        num_bins(10, 50.0, 0.0)
    with pytest.raises(ValueError, match="bin_layout"):
        num_bins(10, 50.0, 1.0, "weird")


@pytest.fixture
def library(tmp_path, tiny_motion):
    short = {k: (v[:60] if k not in ("fps", "joint_names", "body_names") else v) for k, v in tiny_motion.items()}
    save_motion(tmp_path / "lib" / "long.npz", tiny_motion)
    save_motion(tmp_path / "lib" / "set" / "short.npz", {**short, "fps": np.array([30.0])})
    return tmp_path / "lib"


def test_info_table(library, capsys):
    """The table lists each motion by relative name with frames, fps, duration and bins, and a total."""
    assert main(["info", str(library)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line and not line.startswith(("-", "name"))}
    assert rows["long"][:5] == ["long", "150", "50", "3.00", "3"]
    assert rows["set/short"][:5] == ["set/short", "60", "30", "2.00", "2"]
    assert rows["total"][:4] == ["total", "210", "5.00", "5"]
    assert "bins@1s" in lines[0]


def test_info_json_and_bin_width(library, capsys):
    """--json gives machine-readable rows; --bin-duration-s changes the bin count."""
    assert main(["info", str(library), "--json", "--bin-duration-s", "0.5"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {row["name"]: row for row in data["motions"]}
    assert by_name["long"]["num_bins"] == num_bins(150, 50.0, 0.5) == 6
    assert by_name["set/short"]["has_names"] is True
    assert data["bin_duration_s"] == 0.5


def test_summarize_file_names_the_missing_field(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, fps=np.array([50.0]), joint_pos=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="missing field 'body_pos_w'"):
        summarize_file(path)


def test_info_on_missing_path_exits_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nothing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
