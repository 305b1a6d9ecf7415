"""info: the library table, with the bins of the core sampler's own layout."""

import json

import numpy as np
import pytest

pytest.importorskip("mujoco")

from adaptive_sampling_motions.cli import main  # noqa: E402
from adaptive_sampling_motions.library import summarize_files  # noqa: E402
from adaptive_sampling_motions.motion_file import save_motion  # noqa: E402

from adaptive_sampling import MotionLayout  # noqa: E402


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
    assert by_name["long"]["num_bins"] == 6
    assert by_name["set/short"]["has_names"] is True
    assert data["bin_duration_s"] == 0.5


@pytest.mark.parametrize("layout", ["duration", "beyondmimic"])
def test_info_bins_are_the_sampler_layout_bins(library, capsys, layout):
    """The bin column is what the core's MotionLayout gives the same motions (both bin layouts)."""
    assert main(["info", str(library), "--json", "--bin-duration-s", "0.4", "--bin-layout", layout]) == 0
    rows = json.loads(capsys.readouterr().out)["motions"]
    core = MotionLayout([r["num_frames"] for r in rows], [r["fps"] for r in rows], bin_duration_s=0.4,
                        bin_layout=layout)
    assert [r["num_bins"] for r in rows] == core.bins_per_motion.tolist()


@pytest.mark.parametrize("width", ["0", "-1", "0.01"])
def test_info_rejects_bad_bin_widths(library, capsys, width):
    """A bin width the sampler would reject exits 2 with the core's message naming bin_duration_s."""
    assert main(["info", str(library), "--bin-duration-s", width]) == 2
    assert "bin_duration_s" in capsys.readouterr().err


def test_summarize_files_names_the_missing_field(tmp_path):
    """A file without body_pos_w raises, naming the field."""
    path = tmp_path / "x.npz"
    np.savez(path, fps=np.array([50.0]), joint_pos=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"x\.npz': missing field 'body_pos_w'"):
        summarize_files([(path, None)])


def test_info_on_missing_path_exits_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nothing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
