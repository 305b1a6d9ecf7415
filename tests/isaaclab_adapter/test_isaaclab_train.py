"""train.py end to end on the demo motions (CPU, 2 envs): checkpoints carry the sampler and --resume restores it."""

import os
import pathlib
import re
import subprocess
import sys

import pytest
import torch

# isaaclab_newton, not isaaclab: the Newton backend is what these tests need.
pytest.importorskip("isaaclab_newton", reason="Isaac Lab 3.x is not installed (scripts/setup_isaaclab.sh installs it)")
pytestmark = [pytest.mark.isaaclab, pytest.mark.slow]

REPO = pathlib.Path(__file__).resolve().parents[2]
TRAIN = REPO / "integrations" / "isaaclab" / "train.py"
PLAY = REPO / "integrations" / "isaaclab" / "play.py"


def run(script, *args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def find_sampler_state(obj):
    """The sampler state dict nested anywhere in a checkpoint (None if absent)."""
    if isinstance(obj, dict):
        if {"version", "layout", "clock"} <= set(obj):
            return obj
        for value in obj.values():
            found = find_sampler_state(value)
            if found is not None:
                return found
    return None


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("train")
    out = run(TRAIN, "--num_envs", "2", "--max_iterations", "2", "--seed", "1", "--headless",
              "--log_root", str(workdir / "logs"), cwd=workdir)
    return workdir, out


def test_train_two_iterations_writes_checkpoint_with_sampler_and_heatmap(trained):
    """Two PPO iterations run, print the sampler metrics, write model_1.pt holding the sampler state and the PNG."""
    workdir, out = trained
    assert "Learning iteration 1/2" in out
    assert re.search(r"\[sampler at end\] clock=48 ", out), out[-2000:]
    assert "entropy=" in out and "motion mass:" in out
    checkpoint = pathlib.Path(re.search(r"\[train\] checkpoint: (\S+)", out).group(1))
    assert checkpoint.name == "model_1.pt" and checkpoint.is_file()
    state = find_sampler_state(torch.load(checkpoint, map_location="cpu", weights_only=False))
    assert state is not None, "the checkpoint does not carry the sampler state"
    assert state["clock"] == 48
    from adaptive_sampling_isaaclab.assets import demo_motions_dir

    demo_names = sorted(path.stem for path in demo_motions_dir().glob("*.npz"))
    assert list(state["layout"]["motion_names"]) == demo_names
    heatmap = pathlib.Path(re.search(r"\[train\] heatmap: (\S+)", out).group(1))
    assert heatmap.is_file() and heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_restores_the_sampler(trained):
    """--resume loads the latest checkpoint and with it the sampler's clock and statistics."""
    workdir, _ = trained
    out = run(TRAIN, "--num_envs", "2", "--max_iterations", "1", "--resume", "--log_root", str(workdir / "logs"),
              cwd=workdir)
    restored = re.search(r"\[train\] restored sampler clock=(\d+)", out)
    assert restored is not None, out[-3000:]
    assert int(restored.group(1)) == 48
    assert re.search(r"\[sampler at end\] clock=72 ", out), out[-2000:]


def test_play_runs_a_chosen_motion_from_the_checkpoint(trained):
    """play.py loads the trained policy and plays one chosen motion from frame 0."""
    workdir, _ = trained
    from adaptive_sampling_isaaclab.assets import demo_motions_dir

    chosen = sorted(path.stem for path in demo_motions_dir().glob("*.npz"))[1]
    out = run(PLAY, "--num_envs", "2", "--num_steps", "20", "--motion", chosen, "--log_root",
              str(workdir / "logs"), cwd=workdir)
    assert f"motions [{chosen!r}]" in out
    assert "mean error_body_pos" in out
