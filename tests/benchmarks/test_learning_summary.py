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


def _pre_tilt(run: dict) -> dict:
    """The run as the first version of the benchmark stored it: no start counts, no sampler configuration."""
    for p in run["curve"]:
        del p["hard_start_share"]
    return run


@pytest.mark.parametrize(
    ("arm", "label"),
    [
        ("uniform", "uniform"),  # uniform starts: the tilt does not change its draws
        ("oracle", "oracle"),
        ("beyondmimic", "beyondmimic"),  # statistic="count", prior="duration"
        ("default_duration", "default_duration"),  # prior="duration" reproduces the untilted rate path
        ("paper", "paper_previous"),  # rate statistic, prior="motion": its draws changed
        ("default", "default_previous"),
        ("default_0_1", "default_0_1"),  # a name this version does not define stays as stored
    ],
)
def test_stored_label_of_pre_tilt_runs(arm, label):
    """A run made before the prior-tilted failure part counts for its arm only if the tilt left the arm's draws
    unchanged; otherwise it is the arm's previous version."""
    rows = [[False, False], [True, True]]
    assert learning.stored_label(_pre_tilt(_run(arm, 3, rows))) == label
    assert learning.stored_label(_run(arm, 3, rows)) == arm  # made after the tilt, no stored config: as stored


def test_stored_label_compares_the_recorded_config():
    """A run that recorded its sampler configuration counts for its arm only while the configuration is the same."""
    run = _run("default", 2, [[True, True]]) | {"sampler_cfg": learning._cfg_dict("default", 2)}
    assert learning.stored_label(run) == "default"
    run["sampler_cfg"] = learning._cfg_dict("default", 2) | {"uniform_ratio": 0.5}
    assert learning.stored_label(run) == "default_previous"
    peer = _run("plr", 0, [[True, True]]) | {"sampler_cfg": None}
    assert learning.stored_label(peer) == "plr"


def test_pre_tilt_runs_show_no_start_share():
    """A run without start counts gives no share (None per seed, "n/a" in the tables), never a mean over the other
    seeds; the mean curves use the runs that counted."""
    hard = np.array([False, True])
    rows = [[False, False], [True, False], [True, True]]
    s = learning.arm_summary([_run("a", 0, rows, share=0.2), _pre_tilt(_run("a", 1, rows))], hard, [0, 100, 200])
    assert s["hard_start_share"] == [pytest.approx(0.2), None]
    assert s["late_hard_start_share"] == [pytest.approx(0.2), None]
    assert s["pre_tilt_runs"] == 1
    assert s["hard_start_share_mean"] == [pytest.approx(0.2)] * 2
    assert learning._share(s) == "n/a"
    only_old = learning.arm_summary([_pre_tilt(_run("a", 1, rows))], hard, [0, 100, 200])
    assert only_old["hard_start_share_mean"] == [] and learning._share(only_old) == "n/a"
    assert learning._share(learning.arm_summary([_run("a", 0, rows, share=0.2)], hard, [0, 100, 200])) == "0.200"


def test_summary_table_labels_previous_arms(monkeypatch):
    """--extra-arms summarises stored labels next to today's arms; the README table marks pre-tilt rows and shows
    their start share as n/a."""
    rows = [[False, False], [True, False], [True, True]]
    runs = [_pre_tilt(_run("uniform", s, rows)) for s in range(2)]
    runs += [_pre_tilt(_run("default_previous", s, rows)) for s in range(2)] + [
        _run("paper", s, rows) for s in range(2)
    ]
    args = argparse.Namespace(
        arms=["uniform", "paper"],
        extra_arms=["default_previous"],
        scenario="short_clips",
        library_seed=0,
        library_kwargs=None,
    )
    monkeypatch.setattr(
        learning,
        "make_library",
        lambda *a, **k: [argparse.Namespace(hard_segments=[]), argparse.Namespace(hard_segments=[1])],
    )
    out = learning.summarise(runs, args)
    assert list(out["arms"]) == ["uniform", "paper", "default_previous"]
    table = learning.markdown_table(out)
    assert "| default_previous \\* | 2 |" in table and "| paper | 2 |" in table
    assert "`default_previous` is `default` before it" in table and "`uniform` are unchanged" in table
    paper_row = next(line for line in table.splitlines() if line.startswith("| paper |"))
    assert "n/a" not in paper_row and "n/a" in next(line for line in table.splitlines() if "default_previous" in line)


def test_stored_label_fills_fields_added_since_and_finds_the_matching_arm():
    """A recorded configuration without the stall fields (written before they existed) means them off: it is the
    default's while the default keeps them off; a run recorded under another arm's name with exactly another arm's
    configuration counts for that arm; an unknown configuration is the arm's previous version."""
    old = {k: v for k, v in learning._cfg_dict("default", 1).items() if not k.startswith("stall_")}
    assert learning.stored_label(_run("default", 1, [[True, True]]) | {"sampler_cfg": old}) == "default"
    moved = _run("stall_1000", 1, [[True, True]]) | {"sampler_cfg": learning._cfg_dict("default_duration", 1)}
    assert learning.stored_label(moved) == "default_duration"
    other = learning._cfg_dict("default", 1) | {"kernel_size": 7}
    assert learning.stored_label(_run("default", 1, [[True, True]]) | {"sampler_cfg": other}) == "default_previous"
