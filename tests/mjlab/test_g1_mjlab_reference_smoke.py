"""benchmarks/g1_mjlab_reference.py for real (mjlab's own G1 tracking task on the CPU, 2 envs): one PPO iteration
records a curve row with every figure the report reads, and the frame-0 evaluation covers the whole clip."""

import argparse
import json

import pytest

pytest.importorskip("mjlab.envs", reason="mjlab is not installed (scripts/setup_mjlab.sh builds .venv-mjlab)")
pytestmark = [pytest.mark.mjlab, pytest.mark.slow]

from benchmarks import g1_mjlab_reference as ref  # noqa: E402


def test_one_iteration_and_a_zero_action_evaluation(tmp_path):
    """The train worker writes run.json with one row holding the episode, reward, error and failure figures; the
    zero-action evaluation steps through the clip and records per-step errors while any env tracks."""
    args = argparse.Namespace(run_dir=str(tmp_path / "run"), num_envs=2, seed=1, motion="quick_squat", iterations=1,
                              init_std=0.3)
    ref.train_worker(args)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["iterations"] == 1 and run["env_steps"] == 24 * 2
    row = run["curves"][0]
    for key in ("episode_length", "return", "step_error_body_pos", "step_error_joint_pos", "reward_action_rate_l2"):
        assert key in row
    assert row["segments_ended"] >= 1 and 0.0 <= row["failure_rate"] <= 1.0
    out = tmp_path / "zero.json"
    ref.eval_worker(argparse.Namespace(eval_envs=2, seed=1, motion="quick_squat", checkpoint="zero",
                                       eval_out=str(out)))
    result = json.loads(out.read_text())["motions"]["quick_squat"]
    assert len(result["per_step"]["alive"]) == result["frames"] - 1 == 149
    assert 0.0 < result["tracked_fraction"] < 1.0  # zero actions fall within the clip (open-loop checks: ~60 steps)
