"""Does adaptive start sampling make PPO learn a motion library faster? (rsl-rl on the pure-torch tracking env)

Arms: ``uniform`` (AdaptiveSamplerCfg.uniform()), ``beyondmimic`` and ``paper`` presets, and the library ``default``.
Every arm trains the same PPO (rsl-rl, through AdaptiveSamplingRunner) for the same number of env steps, over
several seeds. Every ``--eval-every`` iterations the deterministic policy is started at frame 0 of every clip and
run until it fails or reaches the clip's end: full-clip success rate and mean completed fraction vs env steps.

Statistics are over seeds: two-sided permutation tests of the difference in means and percentile-bootstrap 95%
confidence intervals. "Steps to target" is the first evaluation at which a run reaches the uniform arm's mean final
success; runs that never do are censored at the budget (counted in ``censored``), which favours the arm that fails.

    OMP_NUM_THREADS=1 python benchmarks/learning.py            # full run (about 40 min on 2 cores)
    OMP_NUM_THREADS=1 python benchmarks/learning.py --quick    # a few minutes

Writes ``benchmarks/results/learning.json``, ``learning_curves.png`` and ``learning_heatmap.png``.
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

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
ARMS = ("uniform", "beyondmimic", "paper", "default")
EXTRA_ARMS = ("oracle",)
"""Diagnostic arms, run only when named: ``oracle`` puts half the starts just before a known hard segment."""


def make_sampler(arm: str, seed: int, clips: list):
    """The arm's sampler; ``oracle`` is a uniform sampler whose draws are half replaced by known-good starts."""
    from adaptive_sampling import AdaptiveSampler

    frames, fps, names = [c.num_frames for c in clips], [c.fps for c in clips], [c.name for c in clips]
    if arm != "oracle":
        return AdaptiveSampler(sampler_cfg(arm, seed), frames, fps, names)
    return _oracle_class()(sampler_cfg("uniform", seed), frames, fps, names, clips=clips)


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
    if arm == "oracle":
        return AdaptiveSamplerCfg.uniform(seed=seed)
    raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")


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

    from benchmarks.envs import PointMassTrackingEnv, PointMassTrackingEnvCfg, evaluate, make_motion_library

    args = argparse.Namespace(**opts)
    clips = make_motion_library(args.library_seed)
    env_cfg = PointMassTrackingEnvCfg(num_envs=args.num_envs, seed=seed)
    sampler = make_sampler(arm, seed, clips)
    env = PointMassTrackingEnv(clips, sampler, cfg=env_cfg)
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
        "sampler_state": sampler.state_dict() if seed == args.seeds[0] else None,
    }


def summarise(runs: list[dict], args: argparse.Namespace) -> dict:
    import numpy as np

    from benchmarks.envs import make_motion_library
    from benchmarks.stats import bootstrap_ci, permutation_test

    by_arm = {arm: sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"]) for arm in args.arms}
    steps = [p["env_steps"] for p in runs[0]["curve"]]
    budget = steps[-1]
    hard = np.array([bool(c.hard_segments) for c in make_motion_library(args.library_seed)])
    out: dict = {"env_steps": steps, "num_hard_clips": int(hard.sum()), "arms": {}}
    for arm, rs in by_arm.items():
        succ = np.array([[p["success"] for p in r["curve"]] for r in rs])
        comp = np.array([[p["completed"] for p in r["curve"]] for r in rs])
        hard_succ = np.array([[np.asarray(p["clip_success"])[hard].mean() for p in r["curve"]] for r in rs])
        out["arms"][arm] = {
            "hard_success_mean": hard_succ.mean(0).tolist(),
            "hard_success_std": hard_succ.std(0).tolist(),
            "final_hard_success": hard_succ[:, -1].tolist(),
            "seeds": [r["seed"] for r in rs],
            "success_mean": succ.mean(0).tolist(),
            "success_std": succ.std(0).tolist(),
            "success_min": succ.min(0).tolist(),
            "success_max": succ.max(0).tolist(),
            "completed_mean": comp.mean(0).tolist(),
            "completed_std": comp.std(0).tolist(),
            "final_success": succ[:, -1].tolist(),
            "final_completed": comp[:, -1].tolist(),
            "success_auc": (np.trapezoid(succ, steps, axis=1) / budget).tolist(),
            "hard_motion_mass": [r["hard_motion_mass"] for r in rs],
            "wall_s": [r["wall_s"] for r in rs],
            "final_sampler_metrics_seed0": rs[0]["sampler_metrics"],
        }
    if "uniform" not in by_arm:
        return out
    target = float(np.mean(out["arms"]["uniform"]["final_success"]))
    out["target_success"] = target
    censor = budget + (steps[-1] - steps[-2] if len(steps) > 1 else budget)
    for arm, rs in by_arm.items():
        hits = []
        for r in rs:
            hit = next((p["env_steps"] for p in r["curve"] if p["success"] >= target - 1e-9), None)
            hits.append(hit)
        out["arms"][arm]["steps_to_target"] = hits
        out["arms"][arm]["steps_to_target_censored"] = [h if h is not None else censor for h in hits]
        out["arms"][arm]["censored"] = sum(h is None for h in hits)
    uni = out["arms"]["uniform"]
    claims = {}
    for arm in by_arm:
        if arm == "uniform":
            continue
        a = out["arms"][arm]
        claims[f"{arm}_vs_uniform"] = {
            "final_hard_success_diff": float(np.mean(a["final_hard_success"]) - np.mean(uni["final_hard_success"])),
            "final_hard_success_diff_ci95": bootstrap_ci(a["final_hard_success"], uni["final_hard_success"]),
            "final_hard_success_p": permutation_test(a["final_hard_success"], uni["final_hard_success"]),
            "final_success_diff": float(np.mean(a["final_success"]) - np.mean(uni["final_success"])),
            "final_success_diff_ci95": bootstrap_ci(a["final_success"], uni["final_success"]),
            "final_success_p": permutation_test(a["final_success"], uni["final_success"]),
            "success_auc_diff": float(np.mean(a["success_auc"]) - np.mean(uni["success_auc"])),
            "success_auc_diff_ci95": bootstrap_ci(a["success_auc"], uni["success_auc"]),
            "success_auc_p": permutation_test(a["success_auc"], uni["success_auc"]),
            "steps_to_target_ratio": float(
                np.mean(a["steps_to_target_censored"]) / max(np.mean(uni["steps_to_target_censored"]), 1e-12)
            ),
            "steps_to_target_ratio_ci95": bootstrap_ci(
                a["steps_to_target_censored"], uni["steps_to_target_censored"], stat="ratio"
            ),
            "steps_to_target_p": permutation_test(a["steps_to_target_censored"], uni["steps_to_target_censored"]),
            "reaches_target_in_half_the_steps": None,
        }
        c = claims[f"{arm}_vs_uniform"]
        c["reaches_target_in_half_the_steps"] = bool(
            c["steps_to_target_ratio_ci95"][1] <= 0.5 and c["steps_to_target_p"] < 0.05
        )
    if "default" in by_arm and "beyondmimic" in by_arm:
        d, b = out["arms"]["default"], out["arms"]["beyondmimic"]
        claims["default_vs_beyondmimic"] = {
            "final_hard_success_diff": float(np.mean(d["final_hard_success"]) - np.mean(b["final_hard_success"])),
            "final_hard_success_diff_ci95": bootstrap_ci(d["final_hard_success"], b["final_hard_success"]),
            "final_hard_success_p": permutation_test(d["final_hard_success"], b["final_hard_success"]),
            "final_success_diff": float(np.mean(d["final_success"]) - np.mean(b["final_success"])),
            "final_success_diff_ci95": bootstrap_ci(d["final_success"], b["final_success"]),
            "final_success_p": permutation_test(d["final_success"], b["final_success"]),
            "success_auc_diff": float(np.mean(d["success_auc"]) - np.mean(b["success_auc"])),
            "success_auc_diff_ci95": bootstrap_ci(d["success_auc"], b["success_auc"]),
            "success_auc_p": permutation_test(d["success_auc"], b["success_auc"]),
        }
    out["claims"] = claims
    return out


# ------------------------------------------------------------------------------------------------------------ plots
COLORS = {"uniform": "#555555", "beyondmimic": "#d62728", "paper": "#1f77b4", "default": "#2ca02c", "oracle": "#9467bd"}


def plot_curves(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    steps = np.asarray(summary["env_steps"]) / 1e6
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.4), constrained_layout=True)
    for ax, key, label in (
        (axes[0], "success", "full-clip success rate (all clips)"),
        (axes[1], "hard_success", f"success on the {summary['num_hard_clips']} clips with hard segments"),
        (axes[2], "completed", "mean completed fraction"),
    ):
        for arm, a in summary["arms"].items():
            mean, std = np.asarray(a[f"{key}_mean"]), np.asarray(a[f"{key}_std"])
            n = len(a["seeds"])
            ax.plot(steps, mean, color=COLORS.get(arm), label=f"{arm} (n={n})", lw=1.8)
            ax.fill_between(steps, mean - std, mean + std, color=COLORS.get(arm), alpha=0.15, lw=0)
        ax.set_xlabel("env steps (millions)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if "target_success" in summary:
        axes[0].axhline(summary["target_success"], color="k", ls=":", lw=1, label="uniform's final success")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        "PPO on the tracking benchmark: deterministic policy from frame 0 of every clip (mean +- std over seeds)"
    )
    fig.savefig(path, dpi=120)
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
    parser.add_argument("--quick", action="store_true", help="2 seeds, short budget: a few minutes")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS + EXTRA_ARMS)
    parser.add_argument("--num-seeds", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=160, help="PPO iterations per run (24 steps x num_envs)")
    parser.add_argument("--eval-every", type=int, default=20)
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--library-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (<= 2 on the shared machine)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--tag", default="learning", help="file name stem of the outputs")
    args = parser.parse_args(argv)
    if args.quick:
        args.num_seeds, args.iterations, args.eval_every = 2, 60, 15
        if args.tag == "learning":
            args.tag = "learning_quick"
    if not 1 <= args.workers <= 2:
        raise ValueError(f"--workers must be 1 or 2, got {args.workers}")
    args.seeds = list(range(args.num_seeds))
    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / f"{args.tag}.partial.jsonl"
    opts = {k: v for k, v in vars(args).items() if k not in ("out",)}
    done = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            r = json.loads(line)
            if r.get("opts_key") == _opts_key(opts):
                done[(r["arm"], r["seed"])] = r
    # Interleave arms so a stopped run still has every arm.
    jobs = [(arm, seed, opts) for seed in args.seeds for arm in args.arms if (arm, seed) not in done]
    print(f"{len(jobs)} runs to go ({len(done)} reused), {args.workers} workers", flush=True)
    start = time.time()
    runs = list(done.values())
    states = {}
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        for r in pool.imap_unordered(run_one, jobs):
            state = r.pop("sampler_state")
            if state is not None:
                states[r["arm"]] = state
                import torch

                torch.save(state, args.out / f"{args.tag}_sampler_{r['arm']}.pt")
            r["opts_key"] = _opts_key(opts)
            runs.append(r)
            with partial.open("a") as f:
                f.write(json.dumps(r) + "\n")
            last = r["curve"][-1]
            print(
                f"[{time.time() - start:6.0f}s] {r['arm']:>11} seed {r['seed']}: success {last['success']:.3f} "
                f"completed {last['completed']:.3f} ({r['wall_s']:.0f}s)",
                flush=True,
            )
    summary = summarise(runs, args)
    from benchmarks.envs import PointMassTrackingEnvCfg, make_motion_library

    clips = make_motion_library(args.library_seed)
    summary["setup"] = {
        "arms": args.arms,
        "seeds": args.seeds,
        "iterations": args.iterations,
        "num_envs": args.num_envs,
        "steps_per_iteration": args.num_envs * 24,
        "eval_every": args.eval_every,
        "hidden": [args.hidden, args.hidden],
        "env": PointMassTrackingEnvCfg(num_envs=args.num_envs).__dict__
        | {"lookahead_s": list(PointMassTrackingEnvCfg().lookahead_s)},
        "library": [
            {"name": c.name, "fps": c.fps, "num_frames": c.num_frames, "hard_segments": c.hard_segments} for c in clips
        ],
        "sampler_cfgs": {arm: sampler_cfg(arm, 0).to_dict() for arm in args.arms},
        "wall_s": time.time() - start,
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
    print_table(summary)
    print(f"wrote {json_path}", flush=True)
    return 0


def _opts_key(opts: dict) -> str:
    keys = ("iterations", "eval_every", "num_envs", "hidden", "library_seed")
    return json.dumps({k: opts[k] for k in keys}, sort_keys=True)


def print_table(summary: dict) -> None:
    import numpy as np

    print(f"\n{'arm':>12} {'final success':>15} {'final completed':>16} {'success AUC':>12} {'steps to target':>17}")
    for arm, a in summary["arms"].items():
        fs, fc, auc = np.mean(a["final_success"]), np.mean(a["final_completed"]), np.mean(a["success_auc"])
        stt = np.mean(a.get("steps_to_target_censored", [float("nan")]))
        print(
            f"{arm:>12} {fs:8.3f} +- {np.std(a['final_success']):.3f} {fc:9.3f} +- {np.std(a['final_completed']):.3f}"
            f" {auc:12.3f} {stt / 1e6:12.2f}M ({a.get('censored', 0)} cens.)"
        )
    for name, c in summary.get("claims", {}).items():
        print(name, json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items()}))


if __name__ == "__main__":
    sys.exit(main())
