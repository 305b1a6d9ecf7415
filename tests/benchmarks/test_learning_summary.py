"""Tests of the learning benchmark's per-arm figures and paired comparisons (benchmarks/learning.py)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from benchmarks import learning


def _run(arm: str, seed: int, clip_success: list[list[bool]], share: float = 0.1) -> dict:
    """A fake run: one evaluation per row of clip outcomes, 100 env steps apart."""
    curve = [
        {
            "iteration": k,
            "env_steps": 100 * k,
            "success": float(np.mean(row)),
            "completed": float(np.mean(row)),
            "clip_success": row,
            "hard_start_share": share if k else float("nan"),
        }
        for k, row in enumerate(clip_success)
    ]
    return {"arm": arm, "seed": seed, "curve": curve, "wall_s": 1.0, "hard_motion_mass": 0.5, "sampler_metrics": {}}


def test_arm_summary_forgetting_stuck_and_auc():
    """Easy clip 0 is solved twice, then lost, then solved again: 1 loss in 2 (evaluation, clip) pairs that held it;
    a run that never has every clip at once is stuck; AUC is the trapezoid of the success curve over the budget."""
    hard = np.array([False, True])
    rows = [[False, False], [True, False], [True, False], [False, False], [True, True]]
    steps = [0, 100, 200, 300, 400]
    s = learning.arm_summary([_run("a", 0, rows), _run("a", 1, rows[:4] + [[True, False]])], hard, steps)
    assert s["forgetting"] == [pytest.approx(0.5), pytest.approx(0.5)]
    assert s["stuck"] == [False, True] and s["stuck_share"] == 0.5
    assert s["first_full_success_steps"] == [400, None]
    assert s["final_hard_success"] == [1.0, 0.0]
    assert s["success_auc"][0] == pytest.approx(1.5 * 100 / 400)
    assert s["hard_start_share"] == [pytest.approx(0.1)] * 2


def test_summarise_steps_to_target_and_paired_claims(monkeypatch):
    """Uniform's mean final success is the target; an arm that reaches it one evaluation earlier on every seed has a
    steps ratio of 2/3 with p = 2/2^8 over 8 seeds; a seed that never reaches it is censored one interval late."""
    late = [[False, False], [False, False], [True, False], [True, True]]
    early = [[False, False], [True, False], [True, True], [True, True]]
    runs = [_run("uniform", s, late) for s in range(8)] + [_run("default", s, early) for s in range(8)]
    args = argparse.Namespace(arms=["uniform", "default"], scenario="short_clips", library_seed=0, library_kwargs=None)
    orig = learning.make_library
    learning.make_library = lambda *a, **k: [
        argparse.Namespace(hard_segments=[]),
        argparse.Namespace(hard_segments=[1]),
    ]
    try:
        out = learning.summarise(runs, args)
    finally:
        learning.make_library = orig
    c = out["claims"]["default_vs_uniform"]
    assert out["target_success"] == 1.0
    assert c["steps_to_target_ratio"] == pytest.approx(200 / 300)
    assert c["steps_to_target_censored_p"] == pytest.approx(2 / 256)
    assert c["stuck_where_other_succeeds"] == 0
    assert out["goals"]["no_default_seed_stuck_where_uniform_succeeds"] is True
    assert out["goals"]["success_auc_at_least_every_peer"] is True
