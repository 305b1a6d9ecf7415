"""Tests of the mjlab reference benchmark's arguments, figures and verdict (benchmarks/g1_mjlab_reference.py), on
synthetic runs: no simulator needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import g1_mjlab_reference as ref

MOTION = "torso_twist"


def _curve(length: tuple[float, float], error: tuple[float, float], iterations: int = 20) -> list[dict]:
    """A linear curve from the first to the last value of the episode length and both position errors."""
    rows = []
    for k in range(iterations):
        t = k / (iterations - 1)
        e = error[0] + t * (error[1] - error[0])
        rows.append({"iteration": k, "episode_length": length[0] + t * (length[1] - length[0]), "return": 1.0 + t,
                     "failure_rate": 0.9, "step_error_anchor_pos": 0.1, "step_error_anchor_rot": 0.3,
                     "step_error_body_pos": e, "step_error_body_rot": 0.5, "step_error_joint_pos": 10 * e})
    return rows


def _write_run(folder: Path, seed: int, curve: list[dict], tracked: float | None, zero: float | None) -> None:
    run_dir = folder / f"{MOTION}_s{seed}"
    run_dir.mkdir(parents=True)
    run = {"seed": seed, "iterations": len(curve), "env_steps": 24 * 32 * len(curve), "s_per_iteration": 1.0,
           "num_envs": 32, "init_std": 0.3, "steps_per_env_per_iteration": 24, "curves": curve}
    (run_dir / "run.json").write_text(json.dumps(run))
    if tracked is not None:
        (run_dir / "eval.json").write_text(json.dumps({"motions": {MOTION: {"frames": 300, "success": 0.0,
                                                                            "tracked_fraction": tracked}}}))
    if zero is not None:
        (folder / f"{MOTION}_zero").mkdir(exist_ok=True)
        (folder / f"{MOTION}_zero" / "eval.json").write_text(json.dumps(
            {"motions": {MOTION: {"frames": 300, "success": 0.0, "tracked_fraction": zero}}}))


@pytest.fixture
def folders(tmp_path):
    """Empty folders for mjlab's runs, our single-clip runs and the results."""
    paths = {name: tmp_path / name for name in ("mjlab", "single", "results")}
    for path in paths.values():
        path.mkdir()
    return paths


@pytest.mark.parametrize(("argv", "match"), [
    (["--motion", "no_such_clip", "--report"], "--motion: expected one of the demo clips"),
    (["--num_envs", "0", "--report"], "--num_envs: expected a positive integer, got 0"),
    (["--iterations", "-3", "--report"], "--iterations: expected a positive integer, got -3"),
    (["--init_std", "0", "--report"], "--init_std: expected a positive float, got 0.0"),
])
def test_bad_arguments_are_rejected(argv, match):
    """Bad flags raise a ValueError naming the flag, the expectation and the value, before anything runs."""
    with pytest.raises(ValueError, match=match):
        ref.main(argv)


def test_run_figures_gains_and_error_drop():
    """Episode length 10 -> 20 over 20 iterations: the first/last 10% windows give a gain of +0.92; errors falling
    by half count as fallen by >= 10%, flat errors do not."""
    falling = ref.run_figures(_curve((10.0, 20.0), (0.1, 0.05)))
    # windows of 2 rows: (10 + 10.53) / 2 -> (19.47 + 20) / 2, figures kept to 4 significant digits
    assert falling["episode_length_gain"] == pytest.approx((19.474 + 20.0) / (10.0 + 10.526) - 1.0, rel=2e-3)
    assert falling["errors_fell_10pct"] is True
    flat = ref.run_figures(_curve((10.0, 12.0), (0.1, 0.1)))
    assert flat["errors_fell_10pct"] is False
    assert flat["body_pos_error_change"] == pytest.approx(0.0, abs=1e-9)


def test_verdict_scale_when_mjlab_learns_as_little_as_ours(folders):
    """Same episode-length gain, flat errors and the same frame-0 gain in both simulators: R-scale."""
    for seed in (1, 2, 3):
        _write_run(folders["mjlab"], seed, _curve((10.0, 13.0), (0.1, 0.1)), tracked=0.15, zero=0.10)
    _write_run(folders["single"], 1, _curve((10.0, 13.0), (0.1, 0.1)), tracked=0.20, zero=0.14)
    summary = ref.summarise(MOTION, folders["mjlab"], folders["single"], folders["results"])
    assert summary["verdict"]["verdict"] == "R-scale"
    assert summary["verdict"]["basis"].startswith("our Isaac Lab task on the same single clip")
    assert len(summary["mjlab"]["per_run"]) == 3


def test_verdict_term_when_mjlab_learns_much_more(folders):
    """mjlab's episode length doubles on every seed while ours gains 30%: R-term."""
    for seed in (1, 2):
        _write_run(folders["mjlab"], seed, _curve((10.0, 22.0), (0.1, 0.1)), tracked=0.15, zero=0.10)
    _write_run(folders["single"], 1, _curve((10.0, 13.0), (0.1, 0.1)), tracked=0.20, zero=0.14)
    assert ref.summarise(MOTION, folders["mjlab"], folders["single"], folders["results"])["verdict"]["verdict"] == \
        "R-term"


def test_verdict_inconclusive_between_the_two(folders):
    """mjlab gains +0.63 and ours +0.33: above R-scale's 1.5x + 0.10 (0.59), below R-term's 2x (0.66):
    inconclusive."""
    for seed in (1, 2):
        _write_run(folders["mjlab"], seed, _curve((10.0, 17.0), (0.1, 0.1)), tracked=0.15, zero=0.10)
    _write_run(folders["single"], 1, _curve((10.0, 13.5), (0.1, 0.1)), tracked=0.20, zero=0.14)
    verdict = ref.summarise(MOTION, folders["mjlab"], folders["single"], folders["results"])["verdict"]
    assert verdict["verdict"] == "inconclusive"


def test_four_clip_results_are_the_fallback_comparison(folders):
    """Without a single-clip run, the 4-clip g1.json figures (per-clip frame-0 evaluation) are the basis, flagged as
    weaker."""
    _write_run(folders["mjlab"], 1, _curve((10.0, 13.0), (0.1, 0.1)), tracked=0.15, zero=0.10)
    per_run = [{"arm": "default", "seed": 1, "episode_length": {"first": 18.0, "last": 23.0},
                "step_error_body_pos": {"first": 0.09, "last": 0.1},
                "step_error_joint_pos": {"first": 0.9, "last": 1.0},
                "eval_tracked_fraction": {MOTION: 0.16}}]
    record = {"summary": {"per_run": per_run, "zero_actions": {MOTION: {"tracked_fraction": 0.09, "frames": 300}}}}
    (folders["results"] / "g1.json").write_text(json.dumps(record))
    verdict = ref.summarise(MOTION, folders["mjlab"], folders["single"], folders["results"])["verdict"]
    assert "4-clip runs (g1.json" in verdict["basis"]
    assert verdict["our_episode_length_gain"] == pytest.approx(23.0 / 18.0 - 1.0, rel=1e-3)
    assert verdict["our_frame0_gain"] == pytest.approx(0.07, rel=1e-3)
    assert verdict["verdict"] == "R-scale"


def test_matched_change_compares_only_steps_where_both_still_track():
    """Errors are compared over the steps at which at least half of the envs track in both evaluations: the trained
    policy's later, larger errors (after zero actions have failed) do not count."""
    trained = {"per_step": {"alive": [4, 4, 4, 4], "error_body_pos": [0.1, 0.1, 0.5, 0.9],
                            "error_joint_pos": [1.0, 1.0, 3.0, 3.0]}}
    zero = {"per_step": {"alive": [4, 3, 1, 0], "error_body_pos": [0.2, 0.2, 0.2, None],
                         "error_joint_pos": [1.0, 1.0, 1.0, None]}}
    change = ref.matched_change(trained, zero)
    assert change == {"steps": 2, "error_body_pos": pytest.approx(-0.5), "error_joint_pos": pytest.approx(0.0)}
    assert ref.matched_change(trained, {"tracked_fraction": 0.1}) is None


def test_iteration_row_from_the_accumulators_hand_computed():
    """Both G1 scripts record an iteration the same way (g1.py's helpers): per-step means of the reward terms and
    errors, the failed share of ended segments, the logger's end-of-episode errors and termination shares; the
    accumulators start over."""
    import torch

    from benchmarks.g1 import ERRORS, accumulate_step, iteration_row, new_accumulators

    acc = new_accumulators(2)
    for reward in ([[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]):  # 2 steps of 2 envs
        accumulate_step(acc, torch.tensor(reward), {e: torch.tensor([0.5, 1.5]) for e in ERRORS})
    acc["ended"] += 4
    acc["failed"] += 1
    logged = {"Episode_Termination/anchor_pos": 0.25, "Metrics/motion/error_body_pos": 0.3, "Train/other": 9.0}
    row = iteration_row(acc, ["a", "b"], logged, 3, 1.5, 10.0, 2.0)
    assert row["iteration"] == 3 and row["episode_length"] == 10.0 and row["return"] == 2.0
    assert row["failure_rate"] == 0.25 and row["segments_ended"] == 4.0
    assert (row["reward_a"], row["reward_b"]) == (4.0, 5.0)  # (2 + 6) / 2, (3 + 7) / 2
    assert all(row[f"step_{e}"] == 1.0 for e in ERRORS)
    assert row["end_error_body_pos"] == 0.3 and row["end_error_joint_pos"] is None
    assert row["termination_anchor_pos"] == 0.25 and "Train/other" not in row
    assert all(not value.any() for value in acc.values())
