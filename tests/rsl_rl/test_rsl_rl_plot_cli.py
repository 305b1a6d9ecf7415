"""The plot command on a real checkpoint written by AdaptiveSamplingRunner.learn()."""

from __future__ import annotations

import glob

import pytest

pytest.importorskip("rsl_rl")
pytest.importorskip("matplotlib")

import torch  # noqa: E402
from _rsl_rl_helpers import make_env, small_train_cfg  # noqa: E402
from adaptive_sampling_rsl_rl import SAMPLER_KEY, AdaptiveSamplingRunner  # noqa: E402

from adaptive_sampling.cli import main  # noqa: E402
from adaptive_sampling.plot import CHECKPOINT_KEYS, load_sampler  # noqa: E402


def test_plot_cli_renders_a_runner_checkpoint(tmp_path, capsys):
    """`adaptive-sampling plot model_X.pt -o heatmap.png` writes a PNG from a checkpoint learn() wrote, and the
    sampler it rebuilds holds the trained sampler's tables."""
    env = make_env()
    runner = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=str(tmp_path / "logs"))
    runner.learn(2)
    checkpoint = sorted(glob.glob(str(tmp_path / "logs" / "model_*.pt")))[-1]
    out = tmp_path / "heatmap.png"
    assert main(["plot", checkpoint, "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert "6 motions" in capsys.readouterr().out
    rebuilt = load_sampler(checkpoint)
    assert rebuilt.layout.motion_names == env.adaptive_sampler.layout.motion_names
    for key in ("probability", "failure_rate"):
        a, b = rebuilt.tables()[key], env.adaptive_sampler.tables()[key]
        assert torch.allclose(a.nan_to_num(-1.0), b.nan_to_num(-1.0)), key


def test_runner_key_is_one_the_plot_command_knows():
    """The runner's checkpoint key is among the keys the core's plot command looks for."""
    assert SAMPLER_KEY == CHECKPOINT_KEYS[0]
