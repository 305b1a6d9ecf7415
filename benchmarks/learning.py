"""Does adaptive start sampling make PPO learn a motion library faster? (rsl-rl on the point-mass tracking env)

Scenarios (``--scenario``):

- ``short_clips`` (the first scenario, unchanged): 24 clips of 6-24 s, 8 of them with one or two hard segments.
- ``rare_hard``: 10 long clips of 30-120 s; 3 of them hold 1, 2 and 2 short hard segments (1.4% of all frames).
- ``approach``: 8 clips of 15-30 s; 3 of them hold 1, 2 and 2 hidden pushes (0.8 of the authority for 1 s) that only
  a rested body survives, and every start is tired (0.3 of the authority, recovering with a 1.5 s time constant,
  observed by the policy): starts in the last 2-3 s before a push are doomed whatever the policy does (the stuck mode
  of issue 13).
- ``hidden_approach``: ``approach``'s library with slower-recovering tired starts (``stamina_tau_s`` 3 s) whose
  stamina the policy does not observe (the critic does): every start the look-ahead kernel adds before a failing push
  (up to 2 s before it) is doomed even for a controller that knows the push and its stamina, and the policy cannot
  tell such starts from rested arrivals (calibrated to reproduce the stuck mode:
  ``benchmarks/results/learning_hidden_approach_calibration.json``).
- ``short_clips_long``: ``short_clips`` at 4x its budget (640 iterations, 3.9M env steps), where uniform starts solve
  every clip, so that a seed stuck where uniform succeeds (the stuck mode) can show.

Arms: ``uniform`` (AdaptiveSamplerCfg.uniform()), the ``beyondmimic`` and ``paper`` presets, the library
``default`` and ``default_duration`` (the default with ``prior="duration"``), two peers written from their papers
(``benchmarks/arms.py``): ``plr`` (Prioritized Level Replay over start bins) and ``motion_failure`` (PHC /
ProtoMotions motion-level failure-proportional sampling), and the ``oracle`` diagnostic (half the starts just before
a known hard segment). Every arm trains the same PPO (rsl-rl, through AdaptiveSamplingRunner) for the same number of
env steps, with the same seeds (paired: seed s of every arm shares the env, the policy initialisation and the sampler
seed). Every ``--eval-every`` iterations the deterministic policy is started at frame 0 of every clip and run until it
fails or reaches the clip's end.

For the stuck mode (issue 13 item 5): ``default_0_2``, the default before the stall clocks spelled out (runs of the
default recorded with that configuration are labelled so once the default changes), and the stall candidates
(``CANDIDATES``: ``AdaptiveSamplerCfg(stall_patience=...)``), measured on ``approach``. For the default's knobs
(issue 13 item 6): ``KNOBS``, the default with one field changed (kernel size 1 or 5, floor 0.2, EMA 0.003).

Reported per scenario and arm: final success (all clips, hard clips), success AUC, env steps to uniform's mean final
success (runs that never get there are censored one evaluation after the budget, which favours the arm that fails),
forgetting of easy clips (share of evaluations in which an easy clip solved at the previous evaluation is lost), the
share of starts on hard segments (a hard segment or the ``HARD_LEAD_S`` seconds before it) per evaluation interval,
and stuck seeds (never all clips at once within the budget). Comparisons are paired over seeds: exact two-sided
sign-flip permutation tests of the mean difference and paired percentile-bootstrap 95% CIs.

    OMP_NUM_THREADS=1 python benchmarks/learning.py                        # short_clips, all arms, 8 seeds
    OMP_NUM_THREADS=1 python benchmarks/learning.py --scenario rare_hard   # rare_hard
    OMP_NUM_THREADS=1 python benchmarks/learning.py --quick                # 2 seeds, short budget

Writes ``benchmarks/results/<tag>.json`` (``learning`` / ``learning_rare_hard``), ``<tag>_curves.png``,
``<tag>_heatmap.png`` and ``learning_arms.json`` (one entry per scenario and arm, from every scenario's JSON).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
ARMS = ("uniform", "beyondmimic", "paper", "default", "plr", "motion_failure", "oracle", "default_duration")
LIBRARY_ARMS = ("uniform", "beyondmimic", "paper", "default", "oracle", "default_duration")
"""Arms whose sampler is the library's (their state plots as a heatmap)."""
# issue 13 item 5 (the stuck mode): the previous default spelled out, and the candidates measured against it
PREVIOUS_DEFAULT = {"default_0_2": {"stall_patience": 0.0}}
"""The default with the stall clocks off, spelled out (failure attribution, rate, K = 3, floor 0.1): today the same as
``default``; if the default ever turns the clocks on, its stored runs are labelled so (``stored_label``)."""
CANDIDATES = {
    "stall_500": {"stall_patience": 500.0, "stall_moves": "fall"},
    "stall_1000": {"stall_patience": 1000.0, "stall_moves": "fall"},
    "stall_1000_any": {"stall_patience": 1000.0, "stall_moves": "any"},
}
"""Fixes of the stuck mode measured on ``approach`` before the default was chosen (README)."""
KNOBS = {
    "k1": {"kernel_size": 1},
    "k5": {"kernel_size": 5},
    "floor_0.2": {"uniform_ratio": 0.2},
    "ema_0.003": {"ema_alpha": 0.003},
}
"""The knob study (issue 13 item 6, "improve the default"): the default with one field changed, measured on
``short_clips`` and ``hidden_approach`` at 16 paired seeds; hypotheses and the rule for changing the default were
committed before the runs (``results/learning_knobs_plan.json``)."""
ARMS = (*ARMS, *PREVIOUS_DEFAULT, *CANDIDATES, *KNOBS)
LIBRARY_ARMS = (*LIBRARY_ARMS, *PREVIOUS_DEFAULT, *CANDIDATES, *KNOBS)
PEERS = ("uniform", "beyondmimic", "paper", "plr", "motion_failure")
"""The arms the default must match or beat (``oracle`` is a diagnostic bound, not a method)."""
SCENARIOS = {
    "short_clips": {"library": "make_motion_library", "iterations": 160, "eval_every": 20, "tag": "learning"},
    "short_clips_long": {
        "library": "make_motion_library",
        "iterations": 640,
        "eval_every": 20,
        "tag": "learning_short_clips_long",
    },
    "rare_hard": {
        "library": "make_rare_hard_library",
        "iterations": 160,
        "eval_every": 20,
        "tag": "learning_rare_hard",
    },
    "approach": {
        "library": "make_approach_library",
        "env_kwargs": {"reset_stamina": 0.3, "stamina_use": 0.02},
        "iterations": 160,
        "eval_every": 20,
        "tag": "learning_approach",
    },
    "hidden_approach": {
        "library": "make_approach_library",
        "env_kwargs": {"reset_stamina": 0.3, "stamina_use": 0.02, "stamina_tau_s": 3.0, "observe_stamina": False},
        "iterations": 160,
        "eval_every": 20,
        "tag": "learning_hidden_approach",
    },
}
"""Library and default budget per scenario (``rare_hard``'s budget was fixed with the uniform arm only: README)."""
LATE = 3
"""Evaluation intervals at the end of the budget over which the stuck mode is measured."""
HARD_LEAD_S = 2.0
"""A start counts as "on a hard segment" inside a hard segment or up to this long before it (its approach)."""


def make_library(scenario: str, seed: int, overrides: dict | None = None) -> list:
    """The scenario's clips (``overrides``: keyword arguments of the library function, for calibration)."""
    from benchmarks.envs import point_mass

    kwargs = {**SCENARIOS[scenario].get("library_kwargs", {}), **(overrides or {})}
    return getattr(point_mass, SCENARIOS[scenario]["library"])(seed, **kwargs)


def env_kwargs(scenario: str, overrides: dict | None = None) -> dict:
    """The scenario's ``PointMassTrackingEnvCfg`` fields (``overrides``: for calibration)."""
    return {**SCENARIOS[scenario].get("env_kwargs", {}), **(overrides or {})}


def make_sampler(arm: str, seed: int, clips: list):
    """The arm's sampler; ``oracle`` is a uniform sampler whose draws are half replaced by known-good starts."""
    from adaptive_sampling import AdaptiveSampler
    from benchmarks.arms import MotionFailureSampler, PrioritizedLevelReplaySampler

    frames, fps, names = [c.num_frames for c in clips], [c.fps for c in clips], [c.name for c in clips]
    if arm == "plr":
        return PrioritizedLevelReplaySampler(frames, fps, names, seed=seed)
    if arm == "motion_failure":
        return MotionFailureSampler(frames, fps, names, seed=seed)
    if arm != "oracle":
        return AdaptiveSampler(sampler_cfg(arm, seed), frames, fps, names)
    return _oracle_class()(sampler_cfg("uniform", seed), frames, fps, names, clips=clips)


class StartCounter:
    """The arm's sampler as the env and the runner see it, counting the starts that land on a hard segment.

    Forwards the sampler protocol unchanged (the draws are the sampler's own); :meth:`take` returns the share of
    starts since the previous call that fell inside a hard segment or ``lead_s`` before it.
    """

    def __init__(self, sampler, clips: list, lead_s: float) -> None:
        import torch

        self.sampler = sampler
        masks = []
        for c in clips:
            t = torch.arange(c.num_frames, dtype=torch.float64) / c.fps
            mask = torch.zeros(c.num_frames, dtype=torch.bool)
            for start, end in c.hard_segments:
                mask |= (t >= start - lead_s) & (t < end)
            masks.append(mask)
        self._mask = torch.cat(masks)
        self._offsets = torch.tensor([0, *torch.tensor([c.num_frames for c in clips]).cumsum(0).tolist()[:-1]])
        self.time_share = float(sum(float(m.sum()) / c.fps for m, c in zip(masks, clips, strict=True)))
        self.time_share /= sum(c.num_frames / c.fps for c in clips)
        """Share of the library's time in hard windows (what starts uniform in time would give)."""
        self._starts, self._hard = 0, 0

    def sample(self, num=None, **kwargs):
        motion_ids, frames = self.sampler.sample(num, **kwargs)
        self._starts += int(motion_ids.numel())
        self._hard += int(self._mask[self._offsets[motion_ids] + frames].sum())
        return motion_ids, frames

    def take(self) -> float:
        share = self._hard / self._starts if self._starts else float("nan")
        self._starts, self._hard = 0, 0
        return share

    def record(self, *args):
        return self.sampler.record(*args)

    def step(self):
        return self.sampler.step()

    def state_dict(self):
        return self.sampler.state_dict()

    def load_state_dict(self, state, *, remap=False):
        return self.sampler.load_state_dict(state, remap=remap)

    def metrics(self):
        return self.sampler.metrics()

    def sync(self):
        return self.sampler.sync()


def _oracle_class():
    import torch

    from adaptive_sampling import AdaptiveSampler

    class HardSegmentOracle(AdaptiveSampler):
        """Knows where the hard segments are: with probability ``share`` a start lands in the ``lead_s`` seconds
        before a hard segment's cue (segment chosen uniformly), otherwise a uniform start. Not a method to use,
        a bound on what better targeting could buy in this env."""

        def __init__(self, *args, clips: list, share: float = 0.5, lead_s: float = 1.5, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            segs = [(m, start, c.fps) for m, c in enumerate(clips) for start, _ in c.hard_segments]
            self._seg_motion = torch.tensor([s[0] for s in segs])
            self._seg_start = torch.tensor([s[1] for s in segs], dtype=torch.float64)
            self._seg_fps = torch.tensor([s[2] for s in segs], dtype=torch.float64)
            self._share, self._lead = share, lead_s

        def sample(self, num=None, *, motion_ids=None):
            out_m, out_f = super().sample(num, motion_ids=motion_ids)
            if motion_ids is not None or not self.training or out_m.numel() == 0:
                return out_m, out_f
            n, g = out_m.numel(), self.generator
            pick = torch.rand(n, generator=g) < self._share
            seg = torch.randint(len(self._seg_motion), (n,), generator=g)
            t = (self._seg_start[seg] - self._lead * torch.rand(n, generator=g, dtype=torch.float64)).clamp_min(0.0)
            frames = (t * self._seg_fps[seg]).long()
            return torch.where(pick, self._seg_motion[seg], out_m), torch.where(pick, frames, out_f)

    return HardSegmentOracle


def sampler_cfg(arm: str, seed: int):
    from adaptive_sampling import AdaptiveSamplerCfg

    if arm == "uniform":
        return AdaptiveSamplerCfg.uniform(seed=seed)
    if arm == "beyondmimic":
        return AdaptiveSamplerCfg.beyondmimic(seed=seed)
    if arm == "paper":
        return AdaptiveSamplerCfg.paper(seed=seed)
    if arm == "default":
        return AdaptiveSamplerCfg(seed=seed)
    if arm == "default_duration":
        return AdaptiveSamplerCfg(seed=seed, prior="duration")
    if arm == "oracle":
        return AdaptiveSamplerCfg.uniform(seed=seed)
    if arm in ("plr", "motion_failure"):
        return None  # not a library configuration (benchmarks/arms.py)
    if arm in PREVIOUS_DEFAULT or arm in CANDIDATES or arm in KNOBS:
        return AdaptiveSamplerCfg(seed=seed, **{**PREVIOUS_DEFAULT, **CANDIDATES, **KNOBS}[arm])
    raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")


def _cfg_dict(arm: str, seed: int) -> dict | None:
    """The arm's library configuration as stored with a run (JSON round trip), ``None`` for the peer arms."""
    cfg = sampler_cfg(arm, seed)
    return None if cfg is None else json.loads(json.dumps(cfg.to_dict()))


def is_pre_tilt(run: dict) -> bool:
    """A run made before the prior-tilted failure part (issue 13 item 3): it has no ``hard_start_share``."""
    return any("hard_start_share" not in p for p in run["curve"])


def stored_label(run: dict) -> str:
    """The arm a stored run counts for with today's code: its own, or ``<arm>_previous`` when the arm's draws have
    changed since it ran.

    Runs that record their sampler configuration count for their arm while it is unchanged. Runs made before the
    prior-tilted failure part record none: they still count for arms whose draws the tilt left alone (uniform starts,
    ``statistic="count"``, ``prior="duration"``). Names this version does not define stay as stored.
    """
    arm = run["arm"]
    if arm not in ARMS:
        return arm
    if "sampler_cfg" in run:
        return _arm_of_config(arm, run["seed"], run["sampler_cfg"])
    cfg = sampler_cfg(arm, run["seed"])
    tilted = cfg is not None and cfg.statistic == "rate" and cfg.prior != "duration" and cfg.uniform_ratio < 1.0
    if is_pre_tilt(run) and tilted:
        return f"{arm}_previous"
    # made after the tilt but before runs recorded their configuration, and before the stall clocks
    return _arm_of_config(arm, run["seed"], None if cfg is None else _legacy(_cfg_dict(arm, run["seed"])))


def _legacy(values: dict) -> dict:
    """A configuration as recorded before the stall clocks: their fields at the values that behave as before."""
    from adaptive_sampling.state import ADDED_FIELDS

    return {**values, **ADDED_FIELDS}


def _arm_of_config(arm: str, seed: int, recorded: dict | None) -> str:
    """``arm`` if its configuration today is ``recorded`` (fields added since filled as before), else the arm
    whose configuration it is (e.g. ``default_0_2``), else ``<arm>_previous``."""
    from adaptive_sampling.state import ADDED_FIELDS

    if recorded is not None:
        recorded = {**ADDED_FIELDS, **recorded}
    if recorded == _cfg_dict(arm, seed):
        return arm
    if recorded is not None:
        for other in ARMS:
            if other not in ("oracle",) and (cfg := _cfg_dict(other, seed)) is not None and cfg == recorded:
                return other
    return f"{arm}_previous"


def train_cfg(args: argparse.Namespace) -> dict:
    hidden = [args.hidden, args.hidden]
    return {
        "num_steps_per_env": 24,
        "save_interval": 10**9,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "actor": {
            "class_name": "MLPModel",
            "hidden_dims": hidden,
            "activation": "elu",
            "obs_normalization": True,
            "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 0.5},
        },
        "critic": {"class_name": "MLPModel", "hidden_dims": hidden, "activation": "elu", "obs_normalization": True},
        "algorithm": {
            "class_name": "PPO",
            "learning_rate": 1e-3,
            "num_learning_epochs": 5,
            "num_mini_batches": 4,
            "entropy_coef": 0.005,
            "gamma": 0.99,
            "lam": 0.95,
            "desired_kl": 0.01,
            "schedule": "adaptive",
            "max_grad_norm": 1.0,
        },
    }


def run_one(job: tuple[str, int, dict]) -> dict:
    """Train one (arm, seed) and evaluate along the way. Runs in a worker process."""
    arm, seed, opts = job
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import contextlib
    import io

    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner

    from benchmarks.envs import PointMassTrackingEnv, PointMassTrackingEnvCfg, evaluate

    args = argparse.Namespace(**opts)
    clips = make_library(args.scenario, args.library_seed, args.library_kwargs)
    env_cfg = PointMassTrackingEnvCfg(
        num_envs=args.num_envs, seed=seed, **env_kwargs(args.scenario, getattr(args, "env_kwargs", None))
    )
    sampler = make_sampler(arm, seed, clips)
    counter = StartCounter(sampler, clips, HARD_LEAD_S)
    env = PointMassTrackingEnv(clips, counter, cfg=env_cfg)
    with contextlib.redirect_stdout(io.StringIO()):
        runner = AdaptiveSamplingRunner(env, train_cfg(args), log_dir=None)
    policy = runner.alg.get_policy()
    steps_per_iter = args.num_envs * 24
    curve = []
    start = time.time()

    def record(iterations: int) -> None:
        with torch.inference_mode():
            result = evaluate(lambda obs: policy(obs), clips, env_cfg)
        curve.append(
            {
                "iteration": iterations,
                "env_steps": iterations * steps_per_iter,
                "success": float(result["success"].float().mean()),
                "completed": float(result["completed"].mean()),
                "clip_success": [bool(x) for x in result["success"].tolist()],
                "hard_start_share": counter.take(),  # over the interval that ends here
            }
        )

    record(0)
    done = 0
    while done < args.iterations:
        n = min(args.eval_every, args.iterations - done)
        with contextlib.redirect_stdout(io.StringIO()):
            runner.learn(n)
        done += n
        record(done)
    tables = sampler.tables()
    hard = [i for i, c in enumerate(clips) if c.hard_segments]
    return {
        "arm": arm,
        "seed": seed,
        "curve": curve,
        "wall_s": time.time() - start,
        "hard_motion_mass": float(tables["motion_mass"][hard].sum()),
        "sampler_metrics": runner.sampler_metrics,
        "hard_time_share": counter.time_share,
        "sampler_cfg": _cfg_dict(arm, seed),
        "sampler_state": sampler.state_dict() if seed == 0 and arm in LIBRARY_ARMS else None,
    }


def arm_summary(rs: list[dict], hard: np.ndarray, steps: list[int]) -> dict:
    """Per-seed figures and mean curves of one arm (runs sorted by seed)."""
    budget = steps[-1]
    clip_success = np.array([[p["clip_success"] for p in r["curve"]] for r in rs], bool)  # (seeds, evals, clips)
    succ = clip_success.mean(2)
    hard_succ = clip_success[:, :, hard].mean(2)
    comp = np.array([[p["completed"] for p in r["curve"]] for r in rs])
    share = np.array([[p.get("hard_start_share", np.nan) for p in r["curve"][1:]] for r in rs], float)
    measured = np.array([not is_pre_tilt(r) for r in rs], bool)  # runs that counted their starts
    # forgetting: easy clips solved at one evaluation and lost at the next, over all such (evaluation, clip) pairs
    easy = clip_success[:, :, ~hard]
    held = easy[:, :-1].sum((1, 2))
    lost = (easy[:, :-1] & ~easy[:, 1:]).sum((1, 2))
    full = succ >= 1.0 - 1e-9
    first_full = [next((s for s, f in zip(steps, row, strict=True) if f), None) for row in full]
    return {
        "seeds": [r["seed"] for r in rs],
        "success_mean": succ.mean(0).tolist(),
        "success_std": succ.std(0).tolist(),
        "hard_success_mean": hard_succ.mean(0).tolist(),
        "hard_success_std": hard_succ.std(0).tolist(),
        "completed_mean": comp.mean(0).tolist(),
        "completed_std": comp.std(0).tolist(),
        # over the runs that counted their starts only (none: an empty curve, "n/a" in the tables)
        "hard_start_share_mean": np.nanmean(share[measured], 0).tolist() if measured.any() else [],
        "hard_start_share_std": np.nanstd(share[measured], 0).tolist() if measured.any() else [],
        "final_success": succ[:, -1].tolist(),
        "final_hard_success": hard_succ[:, -1].tolist(),
        "final_completed": comp[:, -1].tolist(),
        "success_auc": (np.trapezoid(succ, steps, axis=1) / budget).tolist(),
        "hard_success_auc": (np.trapezoid(hard_succ, steps, axis=1) / budget).tolist(),
        "forgetting": np.where(held > 0, lost / np.maximum(held, 1), 0.0).tolist(),
        "hard_start_share": [float(np.nanmean(x)) if m else None for x, m in zip(share, measured, strict=True)],
        # the stuck mode: starts still spent on hard segments late in training, and what they still bought
        "late_hard_start_share": [
            float(np.nanmean(x[-LATE:])) if m else None for x, m in zip(share, measured, strict=True)
        ],
        "pre_tilt_runs": int((~measured).sum()),
        "late_hard_success_gain": (hard_succ[:, -1] - hard_succ[:, -1 - min(LATE, hard_succ.shape[1] - 1)]).tolist(),
        "first_full_success_steps": first_full,
        "stuck": [f is None for f in first_full],
        "stuck_share": float(np.mean([f is None for f in first_full])),
        "hard_motion_mass": [r["hard_motion_mass"] for r in rs],
        "wall_s": [r["wall_s"] for r in rs],
        "final_sampler_metrics_seed0": rs[0]["sampler_metrics"],
    }


COMPARED = ("final_success", "final_hard_success", "success_auc", "steps_to_target_censored", "forgetting")


def compare_arms(a: dict, b: dict) -> dict:
    """Paired comparison of two arms over their common seeds: mean difference, CI and p per figure."""
    from benchmarks.stats import paired_bootstrap_ci, paired_permutation_test

    common = sorted(set(a["seeds"]) & set(b["seeds"]))
    out: dict = {"seeds": common}
    for key in COMPARED:
        if key not in a or key not in b:
            continue
        x = [a[key][a["seeds"].index(s)] for s in common]
        y = [b[key][b["seeds"].index(s)] for s in common]
        out[f"{key}_diff"] = float(np.mean(x) - np.mean(y))
        out[f"{key}_diff_ci95"] = paired_bootstrap_ci(x, y)
        out[f"{key}_p"] = paired_permutation_test(x, y)
        if key == "steps_to_target_censored":
            out["steps_to_target_ratio"] = float(np.mean(x) / max(np.mean(y), 1e-12))
            out["steps_to_target_ratio_ci95"] = paired_bootstrap_ci(x, y, stat="ratio")
    stuck_a = [a["stuck"][a["seeds"].index(s)] for s in common]
    stuck_b = [b["stuck"][b["seeds"].index(s)] for s in common]
    out["stuck_where_other_succeeds"] = int(sum(x and not y for x, y in zip(stuck_a, stuck_b, strict=True)))
    return out


def summarise(runs: list[dict], args: argparse.Namespace) -> dict:
    names = [*args.arms, *(getattr(args, "extra_arms", None) or [])]
    arms = [arm for arm in dict.fromkeys(names) if any(r["arm"] == arm for r in runs)]
    by_arm = {arm: sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"]) for arm in arms}
    steps = [p["env_steps"] for p in runs[0]["curve"]]
    budget = steps[-1]
    hard = np.array(
        [bool(c.hard_segments) for c in make_library(args.scenario, args.library_seed, args.library_kwargs)]
    )
    out: dict = {
        "scenario": args.scenario,
        "env_steps": steps,
        "num_hard_clips": int(hard.sum()),
        "hard_time_share": next((r["hard_time_share"] for r in runs if r.get("hard_time_share") is not None), None),
        "arms": {arm: arm_summary(rs, hard, steps) for arm, rs in by_arm.items()},
    }
    if "uniform" not in by_arm:
        return out
    target = float(np.mean(out["arms"]["uniform"]["final_success"]))
    out["target_success"] = target
    censor = budget + (steps[-1] - steps[-2] if len(steps) > 1 else budget)
    for arm, rs in by_arm.items():
        hits = [
            next((p["env_steps"] for p in r["curve"] if np.mean(p["clip_success"]) >= target - 1e-9), None) for r in rs
        ]
        out["arms"][arm]["steps_to_target"] = hits
        out["arms"][arm]["steps_to_target_censored"] = [h if h is not None else censor for h in hits]
        out["arms"][arm]["censored"] = sum(h is None for h in hits)
    claims = {
        f"{arm}_vs_uniform": compare_arms(out["arms"][arm], out["arms"]["uniform"]) for arm in arms if arm != "uniform"
    }
    if "default" in by_arm:
        for arm in arms:
            if arm not in ("default", "uniform"):
                claims[f"default_vs_{arm}"] = compare_arms(out["arms"]["default"], out["arms"][arm])
        out["goals"] = goals(out, claims)
    out["claims"] = claims
    return out


def goals(out: dict, claims: dict) -> dict:
    """Issue 13's goals as measured: met (True), missed (False) or not measured (None)."""
    d = out["arms"]["default"]
    res: dict = {}
    c = claims.get("default_vs_uniform")
    if c and out["scenario"] == "rare_hard":
        res["steps_to_uniform_final_le_half_p_lt_0.05"] = bool(
            c["steps_to_target_ratio"] <= 0.5 and c["steps_to_target_censored_p"] < 0.05
        )
    for key in ("final_success", "success_auc"):
        peers = [arm for arm in PEERS if arm in out["arms"]]
        res[f"{key}_at_least_every_peer"] = all(np.mean(d[key]) >= np.mean(out["arms"][a][key]) - 1e-12 for a in peers)
        for arm in ("beyondmimic", "uniform"):
            cl = claims.get(f"default_vs_{arm}") if arm != "uniform" else claims.get("default_vs_uniform")
            res[f"{key}_significantly_above_{arm}"] = (
                None if cl is None else bool(cl[f"{key}_diff"] > 0 and cl[f"{key}_p"] < 0.05)
            )
    if c:
        res["no_default_seed_stuck_where_uniform_succeeds"] = c["stuck_where_other_succeeds"] == 0
    return res


# ------------------------------------------------------------------------------------------------------------ plots
COLORS = {
    "uniform": "#555555",
    "beyondmimic": "#d62728",
    "paper": "#1f77b4",
    "default": "#2ca02c",
    "oracle": "#9467bd",
    "plr": "#ff7f0e",
    "motion_failure": "#8c564b",
    "default_duration": "#17becf",
    "stall_1000": "#e377c2",
    "k1": "#bcbd22",
    "k5": "#1a55a0",
    "floor_0.2": "#7f7f7f",
    "ema_0.003": "#aa3377",
}


def plot_curves(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(summary["env_steps"]) / 1e6
    fig, axes = plt.subplots(1, 4, figsize=(22, 4.6), constrained_layout=True)
    panels = (
        (axes[0], "success", "full-clip success rate (all clips)", steps),
        (axes[1], "hard_success", f"success on the {summary['num_hard_clips']} clips with hard segments", steps),
        (axes[2], "completed", "mean completed fraction", steps),
        (axes[3], "hard_start_share", f"share of starts on hard segments (or {HARD_LEAD_S:g} s before)", steps[1:]),
    )
    for ax, key, label, x in panels:
        for arm, a in summary["arms"].items():
            mean, std = np.asarray(a[f"{key}_mean"]), np.asarray(a[f"{key}_std"])
            if mean.size == 0:
                continue
            n = len(a["seeds"])
            color = COLORS.get(arm, COLORS.get(arm.removesuffix("_previous")))  # a previous version: dashed
            ls = "--" if arm.endswith("_previous") else "-"
            ax.plot(x, mean, color=color, ls=ls, label=f"{arm} (n={n})", lw=1.8)
            ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.12, lw=0)
        ax.set_xlabel("env steps (millions)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if summary.get("hard_time_share") is not None:
        axes[3].axhline(summary["hard_time_share"], color="k", ls=":", lw=1, label="share of the library's time")
        axes[3].set_yscale("log")
    if "target_success" in summary:
        axes[0].axhline(summary["target_success"], color="k", ls=":", lw=1, label="uniform's final success")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        f"PPO on the point-mass tracking env, scenario '{summary['scenario']}': deterministic policy from frame 0 of "
        "every clip (mean +- std over seeds)"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_heatmap(state: dict, clips: list, path: Path, arm: str) -> None:
    from adaptive_sampling import AdaptiveSampler
    from adaptive_sampling.plot import plot_sampler

    sampler = AdaptiveSampler.from_state_dict(state)
    hard = {c.name: c.hard_segments for c in clips if c.hard_segments}
    plot_sampler(
        sampler,
        str(path),
        title=f"final sampler table, arm '{arm}' (seed {state['config'].get('seed')})",
        hard_segments=hard,
    )


# ------------------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=tuple(SCENARIOS), default="short_clips")
    parser.add_argument("--quick", action="store_true", help="2 seeds, short budget: a few minutes")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--num-seeds", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="run these seeds (default 0..num-seeds-1)")
    parser.add_argument("--iterations", type=int, default=None, help="PPO iterations per run (24 steps x num_envs)")
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--library-seed", type=int, default=0)
    parser.add_argument(
        "--library-kwargs", type=json.loads, default=None, help="JSON overrides of the library's parameters"
    )
    parser.add_argument(
        "--env-kwargs", type=json.loads, default=None, help="JSON overrides of the env config (for calibration)"
    )
    parser.add_argument(
        "--extra-arms",
        nargs="+",
        default=[],
        help="stored arm labels to summarise too, never trained (e.g. default_previous: runs of the default made "
        "before its draws changed)",
    )
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (<= 2 on the shared machine)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--tag", default=None, help="file name stem of the outputs (default: the scenario's)")
    args = parser.parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    args.iterations = args.iterations or scenario["iterations"]
    args.eval_every = args.eval_every or scenario["eval_every"]
    args.tag = args.tag or scenario["tag"]
    if args.quick:
        args.num_seeds, args.iterations, args.eval_every = 2, 60, 15
        args.tag = f"{args.tag}_quick"
    if not 1 <= args.workers <= 2:
        raise ValueError(f"--workers must be 1 or 2, got {args.workers}")
    args.seeds = args.seeds if args.seeds is not None else list(range(args.num_seeds))
    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / f"{args.tag}.partial.jsonl"
    opts = {k: v for k, v in vars(args).items() if k not in ("out",)}
    done = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            r = json.loads(line)
            if r.get("opts_key") == _opts_key(opts):
                r["arm"] = stored_label(r)
                done[(r["arm"], r["seed"])] = r
    # Interleave arms so a stopped run still has every arm.
    jobs = [(arm, seed, opts) for seed in args.seeds for arm in args.arms if (arm, seed) not in done]
    print(f"{len(jobs)} runs to go ({len(done)} reused), {args.workers} workers", flush=True)
    start = time.time()
    runs = [r for r in done.values() if r["arm"] in (*args.arms, *args.extra_arms) and r["seed"] in args.seeds]
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        for r in pool.imap_unordered(run_one, jobs):
            state = r.pop("sampler_state")
            if state is not None:
                import torch

                torch.save(state, args.out / f"{args.tag}_sampler_{r['arm']}.pt")
            r["opts_key"] = _opts_key(opts)
            runs.append(r)
            with partial.open("a") as f:
                f.write(json.dumps(r) + "\n")
            last = r["curve"][-1]
            print(
                f"[{time.time() - start:6.0f}s] {r['arm']:>14} seed {r['seed']}: success {last['success']:.3f} "
                f"completed {last['completed']:.3f} ({r['wall_s']:.0f}s)",
                flush=True,
            )
    summary = summarise(runs, args)
    from benchmarks.envs import PointMassTrackingEnvCfg

    clips = make_library(args.scenario, args.library_seed, args.library_kwargs)
    summary["setup"] = {
        "scenario": args.scenario,
        "arms": list(summary["arms"]),
        "seeds": args.seeds,
        "iterations": args.iterations,
        "num_envs": args.num_envs,
        "steps_per_iteration": args.num_envs * 24,
        "eval_every": args.eval_every,
        "hidden": [args.hidden, args.hidden],
        "hard_lead_s": HARD_LEAD_S,
        "library_kwargs": {**SCENARIOS[args.scenario].get("library_kwargs", {}), **(args.library_kwargs or {})},
        "env": PointMassTrackingEnvCfg(num_envs=args.num_envs, **env_kwargs(args.scenario, args.env_kwargs)).__dict__
        | {"lookahead_s": list(PointMassTrackingEnvCfg().lookahead_s)},
        "library": [
            {"name": c.name, "fps": c.fps, "num_frames": c.num_frames, "hard_segments": c.hard_segments} for c in clips
        ],
        "sampler_cfgs": {
            arm: (cfg.to_dict() if (cfg := sampler_cfg(arm, 0)) is not None else "benchmarks/arms.py")
            for arm in args.arms
        },
        "stored_labels": "<arm>_previous: runs of <arm> whose draws differ from today's <arm> (an older configuration, "
        "or made before the prior-tilted failure part while the arm's draws depend on it); pre_tilt_runs: runs made "
        "before the prior-tilted failure part (no start counts: hard_start_share n/a)",
        "wall_s": time.time() - start,
        "run_wall_s": {arm: summary["arms"][arm]["wall_s"] for arm in summary["arms"]},
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, python {sys.version.split()[0]}",
    }
    json_path = args.out / f"{args.tag}.json"
    json_path.write_text(json.dumps(summary, indent=1))
    plot_curves(summary, args.out / f"{args.tag}_curves.png")
    import torch

    for arm in ("default", "paper", "beyondmimic", "uniform"):
        state_path = args.out / f"{args.tag}_sampler_{arm}.pt"
        if arm in args.arms and state_path.exists():
            plot_heatmap(torch.load(state_path, weights_only=True), clips, args.out / f"{args.tag}_heatmap.png", arm)
            break
    if not args.quick:
        write_combined(args.out)
    print_table(summary)
    print(f"wrote {json_path}", flush=True)
    return 0


def write_combined(out: Path) -> None:
    """``learning_arms.json``: one entry per scenario and arm, from the scenarios' own result files."""
    combined: dict = {"scenarios": {}}
    for name, scenario in SCENARIOS.items():
        path = out / f"{scenario['tag']}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        setup = data.get("setup", {})
        combined["scenarios"][name] = {
            "source": path.name,
            "env_steps_budget": data["env_steps"][-1],
            "target_success": data.get("target_success"),
            "goals": data.get("goals"),
            "arms": {
                arm: {k: v for k, v in a.items() if not k.endswith(("_mean", "_std"))}
                | {"vs_uniform": data.get("claims", {}).get(f"{arm}_vs_uniform")}
                | {"default_vs_this": data.get("claims", {}).get(f"default_vs_{arm}")}
                | ({"note": _pre_tilt_note(arm)} if a.get("pre_tilt_runs") else {})
                for arm, a in data["arms"].items()
            },
            "seeds": setup.get("seeds"),
        }
        if "scenario" not in data:  # written by the first version of this benchmark
            combined["scenarios"][name]["note"] = (
                "measured before the prior-tilted failure part (issue 13 item 3), with unpaired tests; "
                "arms plr and motion_failure not run on this scenario"
            )
    (out / "learning_arms.json").write_text(json.dumps(combined, indent=1))


def _pre_tilt_note(arm: str) -> str:
    if arm.endswith("_previous"):
        return (
            f"measured before the prior-tilted failure part (issue 13 item 3), whose draws changed with it: "
            f"today's {arm.removesuffix('_previous')} is another arm"
        )
    return (
        "measured before the prior-tilted failure part (issue 13 item 3), whose draws it leaves unchanged; "
        "no start counts (hard_start_share n/a)"
    )


def _opts_key(opts: dict) -> str:
    keys = ("iterations", "eval_every", "num_envs", "hidden", "library_seed")
    key = {k: opts[k] for k in keys}
    if opts.get("scenario", "short_clips") != "short_clips":  # keeps the first scenario's partial files valid
        key["scenario"] = opts["scenario"]
    if opts.get("library_kwargs"):
        key["library_kwargs"] = opts["library_kwargs"]
    if opts.get("env_kwargs"):
        key["env_kwargs"] = opts["env_kwargs"]
    return json.dumps(key, sort_keys=True)


def _mean_ci(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    from benchmarks.stats import bootstrap_ci

    lo, hi = bootstrap_ci(values)
    return f"{np.mean(values) * scale:.{digits}f} [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]"


def markdown_table(summary: dict) -> str:
    """The README's table: per arm the figures (mean and 95% bootstrap CI over seeds) and the paired comparison
    with uniform (difference, CI, p)."""
    target = summary.get("target_success", float("nan"))
    lines = [
        f"| arm | seeds | final success | hard clips | success AUC | env steps to {target:.3f} (never) | forgetting "
        "| starts on hard segments | stuck | vs uniform (paired) |",
        "|---|--:|---|---|---|---|---|---|--:|---|",
    ]
    old = []
    for arm, a in summary["arms"].items():
        c = summary.get("claims", {}).get(f"{arm}_vs_uniform")
        if c is None:
            versus = "-"
        else:
            versus = (
                f"AUC {c['success_auc_diff']:+.3f} {_fmt_ci(c['success_auc_diff_ci95'])}, "
                f"p = {c['success_auc_p']:.3f}; "
                f"steps x{c['steps_to_target_ratio']:.2f} {_fmt_ci(c['steps_to_target_ratio_ci95'], 2)}, "
                f"p = {c['steps_to_target_censored_p']:.3f}"
            )
        stt = a.get("steps_to_target_censored")
        mark = ""
        if a.get("pre_tilt_runs"):
            old.append(arm)
            mark = " \\*"
        lines.append(
            f"| {arm}{mark} | {len(a['seeds'])} | {_mean_ci(a['final_success'])} | {_mean_ci(a['final_hard_success'])} "
            f"| {_mean_ci(a['success_auc'])} | "
            + (f"{np.mean(stt) / 1e6:.2f}M ({a['censored']})" if stt else "-")
            + f" | {np.mean(a['forgetting']):.3f} | {_share(a)} "
            f"| {sum(a['stuck'])}/{len(a['stuck'])} | {versus} |"
        )
    if old:
        lines.append(
            "\n\\* measured before the prior-tilted failure part (issue 13 item 3), without start counts (n/a)"
            + "; the draws of "
            + ", ".join(f"`{arm}`" for arm in old if not arm.endswith("_previous"))
            + " are unchanged by it"
            + "".join(
                f"; `{arm}` is `{arm.removesuffix('_previous')}` before it (its draws changed)"
                for arm in old
                if arm.endswith("_previous")
            )
        )
    return "\n".join(lines)


def _share(a: dict, digits: int = 3) -> str:
    """Mean share of starts on hard segments over seeds; "n/a" when a run did not count its starts."""
    shares = a["hard_start_share"]
    if not shares or any(x is None for x in shares):
        return "n/a"
    return f"{np.mean(shares):.{digits}f}"


def _fmt_ci(ci: list[float], digits: int = 3) -> str:
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def print_table(summary: dict) -> None:
    print(
        f"\nscenario {summary['scenario']}\n{'arm':>14} {'final success':>15} {'hard clips':>10} {'success AUC':>12} "
        f"{'steps to target':>17} {'forgetting':>10} {'hard starts':>11} {'stuck':>6}"
    )
    for arm, a in summary["arms"].items():
        fs, auc = np.mean(a["final_success"]), np.mean(a["success_auc"])
        stt = np.mean(a.get("steps_to_target_censored", [float("nan")]))
        share = _share(a)
        print(
            f"{arm:>14} {fs:8.3f} +- {np.std(a['final_success']):.3f} {np.mean(a['final_hard_success']):10.3f}"
            f" {auc:12.3f} {stt / 1e6:9.2f}M ({a.get('censored', 0)} c.) {np.mean(a['forgetting']):10.3f}"
            f" {share:>11} {a['stuck_share']:6.2f}"
        )
    for name, c in summary.get("claims", {}).items():
        print(name, json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items()}))
    if "goals" in summary:
        print("goals:", json.dumps(summary["goals"]))
    print(markdown_table(summary))


if __name__ == "__main__":
    sys.exit(main())
