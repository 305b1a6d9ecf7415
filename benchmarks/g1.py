"""Does the G1 tracker learn on the CPU? PPO on the Isaac Lab G1 task, demo motions, arms ``default`` / ``uniform``.

Each run is ``integrations/isaaclab/train.py``'s machinery in a process of its own (``make_env`` / ``make_runner``
of ``adaptive_sampling_isaaclab.launch``: the same task, PPO settings and sampler presets), 1 torch thread, niced:
``--num_envs`` envs (default 32) for a fixed number of PPO iterations (default 150), with the policy's initial action
noise std ``--init_std`` (default 0.3; BeyondMimic's is 1.0, see below). Arms: ``default`` (the library's
``AdaptiveSamplerCfg()``) and ``uniform`` (``AdaptiveSamplerCfg.uniform()``, starts uniform over the clips'
frames); seed ``s`` of both arms shares the env, the policy initialisation and the sampler seed (paired).

Recorded every iteration: mean episode length and return (rsl-rl's rolling window of the last 100 episodes), the
mean per env step of each weighted reward term, the tracking errors averaged over every env step of the iteration
(anchor position / orientation, body position / rotation, joint position: the motion command's metrics) and at
episode ends (what BeyondMimic logs), the termination shares, and the failure rate (failed segments / ended
segments: a segment ends at a termination = failure, at a time-out or at its clip's end = success). After training
the last checkpoint is evaluated in ``AdaptiveSampling-Tracking-G1-Play-v0`` (frame-0 starts of each motion, frozen
sampler statistics, no pushes, no start or observation noise, deterministic actions, as ``play.py``): per motion the
share of envs that track the whole clip without a termination (full-clip success) and the mean fraction of the clip
tracked before the first termination; zero actions (the PD targets held at the default pose) are the baseline.

Why ``--init_std 0.3``: a probe (8 iterations, 64 envs) showed the first rewards per env step: tracking terms
+2.4 in all, action rate -5.6 from BeyondMimic's initial exploration noise (std 1.0 on 29 joints), so the return
per step is negative and short episodes pay; a first attempt of this benchmark with std 1.0 (16 envs, ~21 of 220
iterations done, ``results/g1_init_std1_aborted.json``) left the std at 1.00 and the return falling (-0.77 ->
-1.4). With 4096 envs (98k samples per iteration) PPO shrinks the std within its first iterations; with tens of envs
the signal is 100x thinner and the phase outlasts a CPU budget. Std 0.3 makes the action-rate penalty ~-0.5 per
step from the start; the task (rewards, terminations, physics) is unchanged. A probe also took 7.2, 5.5 and 3.2 s
per iteration at 64, 32 and 16 envs (most of the cost is per env step, not per env).

Acceptance, stated before the runs (with the open-loop checks: with PD targets on the reference the G1 falls within
13-68 steps on every clip, in this task and in mjlab's alike, so the policy must learn balance and gravity
compensation before anything tracks):

- A0, learning (every seed of every arm): the mean episode return of the last 10% of iterations exceeds that of the
  first 10%.
- A1, learning (every seed of every arm): the step-mean joint-position and body-position errors of the last 10% of
  iterations are at least 10% below those of the first 10%.
- A2, learning (every seed of every arm): the mean episode length of the last 10% of iterations is at least 25%
  above that of the first 10%.
- A3, evaluation: averaged over seeds, the trained policy tracks a larger fraction of the clip from frame 0 than zero
  actions on at least 3 of the 4 motions (larger by more than one frame: added after the runs, when ``arm_wave``'s
  float-level tie, both failing at step 7, had counted as better). Full-clip success is expected to stay near 0 at
  this budget (BeyondMimic trains 4096 envs for thousands of iterations).
- A4, arms: no difference between ``default`` and ``uniform`` is expected to be detectable. With 3 seeds the exact
  paired sign-flip test cannot give p < 0.25: it has no power, and the table says so.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/g1.py --probe                 # 1 run of a few iterations: s / iteration
    OMP_NUM_THREADS=1 python benchmarks/g1.py --iterations 150        # 2 arms x 3 seeds, 2 runs at a time, niced
    python benchmarks/g1.py --report                                   # table and plot from the runs on disk

Writes ``benchmarks/results/g1.json`` and ``benchmarks/results/g1_curves.png``; runs (checkpoints, per-run JSON)
go to ``logs/bench_g1/<arm>_s<seed>/``. ``results/g1_prefix.json`` keeps the first runs, made before the Newton ground's
friction was set to 0 (it was 0.5, so the robot's friction draw acted as [0.5, 1.6]).

Added after the first runs, not part of the acceptance: the evaluation records each clip's errors step by step, and
the report compares them with zero actions' at equal time since the start (A1's step-mean errors mix precision with
survival). ``g1_mjlab_reference.py`` runs mjlab's own task at this budget for comparison; our task on its clip is
this script's workers with ``--motions`` (the commands are in its docstring).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
RUNS = ROOT / "logs" / "bench_g1"
ARMS = ("default", "uniform")
ERRORS = ("error_anchor_pos", "error_anchor_rot", "error_body_pos", "error_body_rot", "error_joint_pos")
"""The motion command's tracking errors recorded per iteration."""
PER_STEP_ERRORS = ("error_body_pos", "error_joint_pos")
"""Errors the frame-0 evaluation records step by step (mean over the envs still tracking): precision at equal time
since the start, which the step-mean training errors mix with survival."""
CURVE_KEYS = ("episode_length", "return", "failure_rate", *(f"step_{e}" for e in ERRORS))


def _sig(value: float, digits: int = 4) -> float | None:
    """``value`` rounded to ``digits`` significant digits (None for NaN), to keep the JSON small."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


# ---------------------------------------------------------------------------------------------------- training
def train_worker(args: argparse.Namespace) -> None:
    """One run: train with PPO, record every iteration, write ``run.json`` and the last checkpoint."""
    from adaptive_sampling_isaaclab.launch import latest_checkpoint_in, make_env, make_runner, motion_command
    from adaptive_sampling_isaaclab.train import build_parser, record_iterations

    out = Path(args.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_args = build_parser().parse_args([
        "--num_envs", str(args.num_envs), "--seed", str(args.seed), "--sampler", args.arm,
        "--max_iterations", str(args.iterations), "--image_interval", "0", "--no-export_onnx",
        "--init_std", str(args.init_std), *(["--motions", *args.motions] if args.motions else []),
    ])
    start = time.time()
    env, agent_cfg = make_env(train_args)
    agent_cfg.save_interval = 10**9  # only the final checkpoint (learn() always writes it)
    agent_cfg.sampler_image_interval = 0
    unwrapped = env.unwrapped
    command = motion_command(env)
    sampler = command.sampler
    build_s = time.time() - start

    # per-iteration accumulators, on the device (no host sync per step)
    reward_names = list(unwrapped.reward_manager.active_terms)
    acc = new_accumulators(len(reward_names))
    real_step, real_record = env.step, sampler.record

    def step(actions):
        result = real_step(actions)
        accumulate_step(acc, unwrapped.reward_manager._step_reward, command.metrics)
        return result

    def record(motion_ids, start_frames, end_frames, failed):
        acc["ended"] += failed.numel()
        acc["failed"] += failed.double().sum()
        return real_record(motion_ids, start_frames, end_frames, failed)

    env.step = step
    sampler.record = record
    runner = make_runner(env, agent_cfg, str(out), export_onnx=False)
    history = record_iterations(runner)
    rows: list[dict] = []
    logger = runner.logger
    inner_log = logger.log

    def log_and_accumulate(*a, **k):
        result = inner_log(*a, **k)
        logged = history[-1] if history else {}
        rows.append(iteration_row(acc, reward_names, logged, len(rows), time.time() - start,
                                  logged.get("Train/mean_episode_length"), logged.get("Train/mean_reward")))
        return result

    logger.log = log_and_accumulate
    learn_start = time.time()
    runner.learn(num_learning_iterations=agent_cfg.max_iterations, init_at_random_ep_len=True)
    learn_s = time.time() - learn_start
    checkpoint = latest_checkpoint_in(out)
    metrics = sampler.metrics()
    record = {
        "arm": args.arm, "seed": args.seed, "num_envs": env.num_envs, "iterations": len(rows),
        "init_std": args.init_std,
        "steps_per_env_per_iteration": agent_cfg.num_steps_per_env,
        "env_steps": len(rows) * agent_cfg.num_steps_per_env * env.num_envs,
        "build_s": round(build_s, 1), "learn_s": round(learn_s, 1),
        "s_per_iteration": round(learn_s / max(len(rows), 1), 3),
        "checkpoint": str(checkpoint), "motion_names": list(sampler.layout.motion_names),
        "sampler": {k: _sig(float(v)) for k, v in metrics.items() if isinstance(v, (int, float))},
        "motion_mass": [_sig(float(v)) for v in sampler.tables()["motion_mass"]],
        "reward_terms": reward_names, "curves": rows,
    }
    (out / "run.json").write_text(json.dumps(record, indent=None))
    print(f"[g1] {args.arm} seed {args.seed}: {len(rows)} iterations in {learn_s:.0f} s "
          f"({record['s_per_iteration']} s/it, build {build_s:.0f} s) -> {out / 'run.json'}", flush=True)
    env.close()


# -------------------------------------------------------------------------------------------------- evaluation
def eval_worker(args: argparse.Namespace) -> None:
    """Frame-0 tracking of every motion by a checkpoint (or zero actions): full-clip success and tracked fraction."""
    from adaptive_sampling_isaaclab.launch import add_common_args, make_env, make_runner, motion_command

    parser = argparse.ArgumentParser()
    add_common_args(parser, play=True)
    play_args = parser.parse_args(["--num_envs", str(args.eval_envs), "--seed", str(args.seed),
                                   *(["--motions", *args.motions] if args.motions else [])])
    env, agent_cfg = make_env(play_args, play=True)
    command = motion_command(env)
    if args.checkpoint == "zero":
        def policy(obs):
            return torch.zeros(env.num_envs, env.num_actions, device=env.device)
    else:
        runner = make_runner(env, agent_cfg, log_dir=None, export_onnx=False)
        runner.load(args.checkpoint)
        policy = runner.get_inference_policy(device=env.device)
    command.sampler.eval()
    results = {}
    with torch.inference_mode():
        for motion, name in enumerate(command.library.motion_names):
            command.set_evaluation(True, name)
            obs, _ = env.reset()
            steps = int(command.library.num_frames[motion]) - 1  # frame 0 -> the clip's last frame
            alive = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
            survived = torch.zeros(env.num_envs, device=env.device)
            error_sum = torch.zeros(len(ERRORS), dtype=torch.float64)
            error_count = 0.0
            per_step: dict[str, list] = {"alive": [], **{e: [] for e in PER_STEP_ERRORS}}
            for _ in range(steps):
                obs, _, dones, extras = env.step(policy(obs))
                time_outs = extras.get("time_outs", torch.zeros_like(dones)).bool()
                failed = dones.bool() & ~time_outs
                alive &= ~failed
                survived += alive.float()
                per_step["alive"].append(int(alive.sum()))
                if bool(alive.any()):
                    values = torch.stack([command.metrics[e][alive].double().mean() for e in ERRORS])
                    error_sum += values * float(alive.sum())
                    error_count += float(alive.sum())
                for e in PER_STEP_ERRORS:
                    per_step[e].append(_sig(float(values[ERRORS.index(e)])) if bool(alive.any()) else None)
            results[name] = {
                "frames": steps + 1,
                "success": float(alive.float().mean()),
                "tracked_fraction": float((survived / steps).mean()),
                "errors_while_tracking": {e: _sig(float(v / max(error_count, 1.0))) for e, v in zip(
                    ERRORS, error_sum, strict=True)},
                "per_step": per_step,
            }
            print(f"[g1-eval] {name}: success {results[name]['success']:.2f}, tracked fraction "
                  f"{results[name]['tracked_fraction']:.3f}", flush=True)
    Path(args.eval_out).write_text(json.dumps({"checkpoint": args.checkpoint, "num_envs": env.num_envs,
                                               "motions": results}))
    env.close()


# ------------------------------------------------------------------------------------------------ orchestration
def _command(*extra: str) -> list[str]:
    return ["nice", "-n", str(NICE), sys.executable, str(Path(__file__).resolve()), *extra]


NICE = 10


def new_accumulators(num_rewards: int) -> dict[str, torch.Tensor]:
    """Per-iteration sums, on the device (no host sync per step): env steps, each reward term's per-env mean, each
    tracking error's per-env mean, ended and failed segments."""
    zero = torch.zeros((), dtype=torch.float64)
    return {"steps": zero.clone(), "rewards": torch.zeros(num_rewards, dtype=torch.float64),
            "errors": torch.zeros(len(ERRORS), dtype=torch.float64), "ended": zero.clone(), "failed": zero.clone()}


def accumulate_step(acc: dict[str, torch.Tensor], step_reward: torch.Tensor, metrics: dict) -> None:
    """Add one env step: the reward terms (``(num_envs, terms)``) and the motion command's error metrics."""
    acc["steps"] += 1
    acc["rewards"] += step_reward.double().mean(0)
    acc["errors"] += torch.stack([metrics[e].double().mean() for e in ERRORS])


def iteration_row(
    acc: dict[str, torch.Tensor], reward_names: list[str], logged: dict, index: int, wall_s: float,
    episode_length: float | None, episode_return: float | None,
) -> dict:
    """One iteration's curve row from the accumulators (then zeroed) and the logger's values ``logged``
    (``Metrics/motion/*`` at episode ends, ``Episode_Termination/*``)."""
    n = max(float(acc["steps"]), 1.0)
    row = {"iteration": index, "wall_s": wall_s, "episode_length": episode_length, "return": episode_return,
           "failure_rate": float(acc["failed"] / acc["ended"]) if float(acc["ended"]) else None,
           "segments_ended": float(acc["ended"])}
    row.update({f"reward_{name}": float(v) / n for name, v in zip(reward_names, acc["rewards"], strict=True)})
    row.update({f"step_{name}": float(v) / n for name, v in zip(ERRORS, acc["errors"], strict=True)})
    row.update({f"end_{e}": logged.get(f"Metrics/motion/{e}") for e in ERRORS})
    row.update({k.replace("Episode_Termination/", "termination_"): v for k, v in logged.items()
                if k.startswith("Episode_Termination/")})
    for value in acc.values():
        value.zero_()
    return {k: (_sig(v) if isinstance(v, float) else v) for k, v in row.items()}


def run_all(args: argparse.Namespace) -> None:
    """Train (and then evaluate) every (arm, seed), at most ``--jobs`` processes at once."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    queue: list[tuple[str, list[str], Path]] = []
    for seed in args.seeds:
        for arm in args.arms:
            run_dir = RUNS / f"{arm}_s{seed}"
            if (run_dir / "eval.json").is_file() and not args.force:
                continue
            train = _command("--worker", "train", "--arm", arm, "--seed", str(seed), "--num_envs",
                             str(args.num_envs), "--iterations", str(args.iterations), "--init_std",
                             str(args.init_std), "--run_dir", str(run_dir))
            queue.append((f"{arm} seed {seed}", train, run_dir))
    if not (RUNS / "zero" / "eval.json").is_file() or args.force:
        (RUNS / "zero").mkdir(parents=True, exist_ok=True)
        queue.append(("zero actions", _command("--worker", "eval", "--checkpoint", "zero", "--seed", "1",
                                               "--eval_envs", str(args.eval_envs), "--eval_out",
                                               str(RUNS / "zero" / "eval.json")), RUNS / "zero"))
    running: list[tuple[str, subprocess.Popen, Path, str]] = []
    while queue or running:
        while queue and len(running) < args.jobs:
            label, cmd, run_dir = queue.pop(0)
            run_dir.mkdir(parents=True, exist_ok=True)
            stage = "eval" if "eval" in cmd else "train"
            log = open(run_dir / f"{stage}.log", "w")  # noqa: SIM115 (closed with the process)
            print(f"[g1] start {label} ({stage})", flush=True)
            running.append((label, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), run_dir,
                            stage))
        time.sleep(5)
        for item in list(running):
            label, proc, run_dir, stage = item
            if proc.poll() is None:
                continue
            running.remove(item)
            print(f"[g1] {label} {stage} exited {proc.returncode}", flush=True)
            if proc.returncode == 0 and stage == "train":
                checkpoint = json.loads((run_dir / "run.json").read_text())["checkpoint"]
                seed = label.split()[-1]
                queue.insert(0, (label, _command("--worker", "eval", "--checkpoint", checkpoint, "--seed", seed,
                                                 "--eval_envs", str(args.eval_envs), "--eval_out",
                                                 str(run_dir / "eval.json")), run_dir))


# ------------------------------------------------------------------------------------------------------ report
def matched_change(trained: dict | None, zero: dict | None) -> dict | None:
    """Frame-0 errors of a trained policy relative to zero actions at equal time since the start (added after the
    first runs, not part of the acceptance): over the steps at which at least half of the envs still track in both
    evaluations, the mean of each per-step error (over the envs still tracking), trained / zero - 1."""
    if not trained or not zero or "per_step" not in trained or "per_step" not in zero:
        return None
    a, b = trained["per_step"], zero["per_step"]
    half = max(max(a["alive"][:1] or [0]), max(b["alive"][:1] or [0])) / 2
    steps = [t for t in range(min(len(a["alive"]), len(b["alive"])))
             if a["alive"][t] >= half and b["alive"][t] >= half and half > 0]
    if not steps:
        return None
    result: dict = {"steps": len(steps)}
    for key in PER_STEP_ERRORS:
        mine, base = sum(a[key][t] for t in steps), sum(b[key][t] for t in steps)
        result[key] = _sig(mine / base - 1.0) if base else None
    return result


def _window(curve: list[dict], key: str, first: bool, share: float = 0.1) -> float:
    n = max(1, round(len(curve) * share))
    rows = curve[:n] if first else curve[-n:]
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) / len(values) if values else float("nan")


def load_runs() -> tuple[list[dict], dict | None]:
    """Every finished run (``run.json`` with its ``eval.json``) and the zero-action evaluation."""
    runs = []
    for path in sorted(RUNS.glob("*_s*/run.json")):
        run = json.loads(path.read_text())
        eval_path = path.parent / "eval.json"
        run["eval"] = json.loads(eval_path.read_text())["motions"] if eval_path.is_file() else None
        runs.append(run)
    zero = RUNS / "zero" / "eval.json"
    return runs, (json.loads(zero.read_text())["motions"] if zero.is_file() else None)


def summarise(runs: list[dict], zero: dict | None) -> dict:
    """Per run: first vs last 10% of iterations, the acceptance checks, the evaluation; per arm and paired."""
    from benchmarks.stats import paired_bootstrap_ci, paired_permutation_test

    per_run = []
    for run in runs:
        curve = run["curves"]
        item = {"arm": run["arm"], "seed": run["seed"], "iterations": run["iterations"], "env_steps": run["env_steps"],
                "s_per_iteration": run["s_per_iteration"]}
        for key in CURVE_KEYS:
            item[key] = {"first": _sig(_window(curve, key, True)), "last": _sig(_window(curve, key, False))}
        item["reward_action_rate_l2"] = {"first": _sig(_window(curve, "reward_action_rate_l2", True)),
                                         "last": _sig(_window(curve, "reward_action_rate_l2", False))}
        item["A0"] = item["return"]["last"] > item["return"]["first"]
        item["A1"] = all(item[f"step_{e}"]["last"] <= 0.9 * item[f"step_{e}"]["first"]
                         for e in ("error_joint_pos", "error_body_pos"))
        item["A2"] = item["episode_length"]["last"] >= 1.25 * item["episode_length"]["first"]
        if run.get("eval"):
            item["eval_success"] = {m: r["success"] for m, r in run["eval"].items()}
            item["eval_tracked_fraction"] = {m: r["tracked_fraction"] for m, r in run["eval"].items()}
            item["eval_mean_tracked_fraction"] = sum(item["eval_tracked_fraction"].values()) / len(run["eval"])
            if zero is not None:  # post hoc: precision at equal time since the start, per clip
                item["eval_matched_error_change"] = {m: matched_change(r, zero.get(m)) for m, r in run["eval"].items()}
        per_run.append(item)
    motions = runs[0]["motion_names"] if runs else []
    acceptance = {key: all(r[key] for r in per_run) for key in ("A0", "A1", "A2")}
    if zero is not None and all("eval_tracked_fraction" in r for r in per_run):
        # better by more than one frame of the clip: a tie (both fail on the same step) is not an improvement
        better = [m for m in motions if sum(r["eval_tracked_fraction"][m] for r in per_run) / len(per_run)
                  > zero[m]["tracked_fraction"] + 1.0 / (zero[m]["frames"] - 1)]
        acceptance["A3"] = len(better) >= min(3, len(motions))
        acceptance["A3_motions_better_than_zero_actions"] = better
    arms = {}
    for arm in ARMS:
        mine = [r for r in per_run if r["arm"] == arm]
        if mine:
            arms[arm] = {"seeds": [r["seed"] for r in mine]}
            for key in ("episode_length", "failure_rate", "step_error_body_pos", "step_error_joint_pos",
                        "step_error_anchor_pos"):
                arms[arm][f"{key}_last"] = _sig(sum(r[key]["last"] for r in mine) / len(mine))
            if all("eval_mean_tracked_fraction" in r for r in mine):
                arms[arm]["eval_mean_tracked_fraction"] = _sig(
                    sum(r["eval_mean_tracked_fraction"] for r in mine) / len(mine))
                arms[arm]["eval_success"] = {m: _sig(sum(r["eval_success"][m] for r in mine) / len(mine))
                                             for m in motions}
    paired = {}
    by = {(r["arm"], r["seed"]): r for r in per_run}
    seeds = sorted({r["seed"] for r in per_run if ("uniform", r["seed"]) in by and ("default", r["seed"]) in by})
    if seeds:
        metrics = {
            "episode_length_last": lambda r: r["episode_length"]["last"],
            "step_error_body_pos_last": lambda r: r["step_error_body_pos"]["last"],
            "failure_rate_last": lambda r: r["failure_rate"]["last"],
        }
        if all("eval_mean_tracked_fraction" in by[(a, s)] for a in ARMS for s in seeds):
            metrics["eval_mean_tracked_fraction"] = lambda r: r["eval_mean_tracked_fraction"]
        for name, get in metrics.items():
            a = [get(by[("default", s)]) for s in seeds]
            b = [get(by[("uniform", s)]) for s in seeds]
            paired[name] = {"default_minus_uniform": _sig(sum(x - y for x, y in zip(a, b, strict=True)) / len(a)),
                            "p_sign_flip": _sig(paired_permutation_test(a, b)),
                            "ci95": [_sig(v) for v in paired_bootstrap_ci(a, b)], "seeds": seeds}
    return {"per_run": per_run, "arms": arms, "paired": paired, "acceptance": acceptance,
            "zero_actions": zero, "power_note": (
                f"{len(seeds)} paired seeds: the exact sign-flip test's smallest possible p is "
                f"{2 / 2 ** len(seeds) if seeds else float('nan'):.3g}; it has no power to detect a difference.")}


def print_table(summary: dict) -> None:
    """The arms side by side (mean over seeds), the acceptance and the paired comparisons."""
    print("\nper run: first 10% -> last 10% of iterations (step-mean errors)")
    print(f"{'arm':<8} {'seed':>4} {'iters':>5} {'ep. length':>16} {'return':>18} {'failure rate':>16} "
          f"{'body pos [m]':>18} {'joint pos [rad]':>18} {'anchor pos [m]':>18} {'eval tracked':>12} A0 A1 A2")

    def pair(r, key, fmt="{:.3f}"):
        return f"{fmt.format(r[key]['first'])} -> {fmt.format(r[key]['last'])}"

    for r in summary["per_run"]:
        tracked = r.get("eval_mean_tracked_fraction", float("nan"))
        flags = " ".join(f"{'y' if r[k] else 'n':>2}" for k in ("A0", "A1", "A2"))
        print(f"{r['arm']:<8} {r['seed']:>4} {r['iterations']:>5} {pair(r, 'episode_length', '{:.1f}'):>16} "
              f"{pair(r, 'return'):>18} {pair(r, 'failure_rate'):>16} {pair(r, 'step_error_body_pos'):>18} "
              f"{pair(r, 'step_error_joint_pos'):>18} {pair(r, 'step_error_anchor_pos'):>18} {tracked:>12.3f} {flags}")
    if summary.get("zero_actions"):
        print("zero actions, tracked fraction from frame 0: " + ", ".join(
            f"{m} {v['tracked_fraction']:.3f}" for m, v in summary["zero_actions"].items()))
    for arm, values in summary["arms"].items():
        print(f"arm {arm}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    for name, values in summary["paired"].items():
        print(f"paired default - uniform, {name}: {values['default_minus_uniform']} (p {values['p_sign_flip']}, "
              f"95% CI {values['ci95']})")
    for r in summary["per_run"]:
        if r.get("eval_matched_error_change"):
            print(f"{r['arm']} seed {r['seed']}: frame-0 errors vs zero actions, equal time (post hoc, body / joint): "
                  + ", ".join(f"{m} {v['error_body_pos']:+.3f} / {v['error_joint_pos']:+.3f} ({v['steps']} steps)"
                              for m, v in r["eval_matched_error_change"].items() if v))
    print(summary["power_note"])
    print("acceptance: " + ", ".join(f"{k}={v}" for k, v in summary["acceptance"].items()))


def plot(runs: list[dict], path: Path) -> None:
    """One panel per curve, a thin line per run, coloured by arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {"episode_length": "mean episode length [steps]", "return": "mean episode return",
              "failure_rate": "failure rate (failed / ended segments)",
              "step_error_anchor_pos": "anchor position error [m]",
              "step_error_anchor_rot": "anchor rotation error [rad]",
              "step_error_body_pos": "body position error [m]", "step_error_body_rot": "body rotation error [rad]",
              "step_error_joint_pos": "joint position error [rad]"}
    colours = {"default": "tab:blue", "uniform": "tab:orange"}
    fig, axes = plt.subplots(2, 4, figsize=(18, 7.5))
    for ax, key in zip(axes.flat, CURVE_KEYS, strict=True):
        for run in runs:
            xs = [r["iteration"] for r in run["curves"] if r.get(key) is not None]
            ys = [r[key] for r in run["curves"] if r.get(key) is not None]
            ax.plot(xs, ys, color=colours.get(run["arm"], "grey"), lw=0.9, alpha=0.8,
                    label=f"{run['arm']} s{run['seed']}")
        ax.set_title(titles[key], fontsize=9)
        ax.set_xlabel("PPO iteration", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=6)
    if runs:
        fig.suptitle(f"G1 tracking on the CPU: {runs[0]['num_envs']} envs, init std {runs[0].get('init_std')}, "
                     f"{runs[0]['iterations']} iterations "
                     f"({runs[0]['env_steps']:,} env steps) per run; errors averaged over every env step", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def report(args: argparse.Namespace) -> None:
    runs, zero = load_runs()
    if not runs:
        raise SystemExit(f"no finished runs under {RUNS}")
    summary = summarise(runs, zero)
    print_table(summary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    note = ("2 cores shared with other jobs; runs niced (g1_prefix.json: 2 at a time; g1.json: 1 at a time, next to "
            "one run of g1_mjlab_reference.py)")
    record = {"benchmark": "g1", "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "note": note},
              "config": {"num_envs": runs[0]["num_envs"], "iterations": runs[0]["iterations"],
                         "init_std": runs[0].get("init_std"),
                         "steps_per_env_per_iteration": runs[0]["steps_per_env_per_iteration"],
                         "arms": sorted({r["arm"] for r in runs}), "seeds": sorted({r["seed"] for r in runs})},
              "summary": summary,
              "runs": [{**{k: v for k, v in r.items() if k not in ("checkpoint", "curves")},
                        "curves": {key: [_sig(row.get(key), 3) if isinstance(row.get(key), float) else row.get(key)
                                         for row in r["curves"]] for key in r["curves"][0]}} for r in runs]}
    (RESULTS / "g1.json").write_text(json.dumps(record))  # curves as columns: one list per quantity
    plot(runs, RESULTS / "g1_curves.png")
    print(f"\nwrote {RESULTS / 'g1.json'} and {RESULTS / 'g1_curves.png'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=["train", "eval"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--arm", choices=ARMS, default="default", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--run_dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--eval_out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--motions", nargs="+", default=None,
                        help="worker only: motion files (default: the demo clips); g1_mjlab_reference.py's single-clip "
                             "comparison runs the workers with one clip")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--num_envs", type=int, default=32)
    parser.add_argument("--init_std", type=float, default=0.3, help="initial action noise std (BeyondMimic: 1.0)")
    parser.add_argument("--iterations", type=int, default=150, help="PPO iterations per run (the fixed budget)")
    parser.add_argument("--eval_envs", type=int, default=16, help="envs per motion in the frame-0 evaluation")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (each one torch thread, niced)")
    parser.add_argument("--probe", action="store_true", help="one run of --iterations (default 8) to time it")
    parser.add_argument("--report", action="store_true", help="only summarise the runs on disk")
    parser.add_argument("--force", action="store_true", help="redo runs that already have results")
    args = parser.parse_args(argv)
    if args.worker == "train":
        train_worker(args)
    elif args.worker == "eval":
        eval_worker(args)
    elif args.probe:
        args.run_dir = str(RUNS / "probe")
        args.iterations = args.iterations if "--iterations" in (argv or sys.argv) else 8
        train_worker(args)
    elif args.report:
        report(args)
    else:
        run_all(args)
        report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
