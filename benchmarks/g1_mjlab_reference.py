"""Reference for ``benchmarks/g1.py``: mjlab's own G1 tracking task (BeyondMimic's, upstream) at the same CPU budget.

Question (issue 14): our G1 task learns only marginally at 32 envs x 150 iterations (``g1.py``). Is that what
BeyondMimic's task does at this scale, or a sign of a wrong term in ours? mjlab 1.6.0 maintains BeyondMimic's task
upstream: ``Mjlab-Tracking-Flat-Unitree-G1`` (its scene, G1, observations, rewards, terminations, events, its
single-motion ``MotionCommand`` with its own adaptive sampling, its PPO config and ``MotionTrackingOnPolicyRunner``).
Each run here is that task as registered, with only these overridden: the motion file (one demo clip, the npz used
as is), ``--num_envs`` (32), ``--iterations`` (150, of mjlab's 24 steps per env), the policy's initial action std
``--init_std`` (0.3, as ``g1.py``; mjlab's is 1.0), the seed, the CPU device and the logger (local tensorboard, so
that rsl-rl collects the episode extras). One process per run, 1 torch thread, niced, one run at a time.

Recorded per iteration, as ``g1.py`` records them: mean episode length and return (rsl-rl's window of the last 100
episodes), each reward term per env step, the tracking errors averaged over every env step (the command's metrics)
and at episode ends, the termination shares, and the failure rate (terminations / ended segments; a segment ends at a
termination, a time-out or the clip's end, where mjlab's command draws a new start). After training the checkpoint
plays the clip from frame 0 in the task's play config (mjlab's ``play=True``: ``sampling_mode="start"``, no pushes,
no observation noise, no start randomisation, no time-out), deterministic actions, 16 envs: full-clip success and
the mean fraction of the clip tracked before the first termination; zero actions (PD targets at the default pose)
in the same config are the baseline.

Ours, for the comparison: our Isaac Lab task trained on the same single clip (``g1.py --motions CLIP``, run dir
``logs/bench_g1_single/<clip>_s<seed>``) where it ran, and ``g1.py``'s 4-clip runs (``results/g1.json``, after the
ground-friction fix; ``results/g1_prefix.json``, before it), whose evaluation reports the same clip from frame 0.

Expectation, written before the runs (gain = last 10% of iterations / first 10% - 1, per seed; frame-0 gain = the
tracked fraction of the clip minus zero actions' in the same simulator):

- R-scale, "the marginal learning is the scale": on every seed, mjlab's episode-length gain is at most 1.5x ours
  (plus 0.10), its step-mean body- and joint-position errors do not both fall by >= 10%, and its frame-0 gain is at
  most 0.10 of the clip above ours. Then BeyondMimic's task itself learns no more than ours from 115k env steps.
- R-term, "a sign of a difference in our task": on every seed, mjlab's episode-length gain is >= 2x ours (and
  >= 0.25 above it), or both its position errors fall by >= 10% while ours do not, or its frame-0 gain exceeds ours by
  more than 0.10 of the clip. Then the term-by-term search continues.
- Neither: inconclusive at this budget, and said so. "Ours" is the single-clip run where it ran, otherwise the mean
  of the 4-clip runs (which see the clip a quarter as often: a weaker comparison, flagged in the output).

Usage (in ``.venv-mjlab``; mjlab-only code, imported by nothing else)::

    OMP_NUM_THREADS=1 .venv-mjlab/bin/python benchmarks/g1_mjlab_reference.py --motion torso_twist --seeds 1 2 3
    python benchmarks/g1_mjlab_reference.py --report           # any venv: table and JSON from the runs on disk

Ours on the same clip (in ``.venv``, with the Isaac Lab stack), per seed S, then zero actions once (``zero``, seed 1,
``--eval_out logs/bench_g1_single/torso_twist_zero/eval.json``)::

    M=integrations/isaaclab/data/motions/torso_twist.npz; D=logs/bench_g1_single/torso_twist_sS
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/g1.py --worker train --arm default --seed S --motions $M --run_dir $D
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/g1.py --worker eval --seed S --motions $M \
        --checkpoint $D/model_149.pt --eval_out $D/eval.json

Writes ``benchmarks/results/g1_mjlab_reference.json``; runs go to ``logs/bench_g1_mjlab/<clip>_s<seed>/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks.g1 import (  # noqa: E402
    CURVE_KEYS,
    ERRORS,
    PER_STEP_ERRORS,
    _sig,
    _window,
    accumulate_step,
    iteration_row,
    matched_change,
    new_accumulators,
)

RESULTS = ROOT / "benchmarks" / "results"
RUNS = ROOT / "logs" / "bench_g1_mjlab"
OURS_SINGLE = ROOT / "logs" / "bench_g1_single"
OURS_FOUR_CLIP = ROOT / "logs" / "bench_g1"
MOTIONS_DIR = ROOT / "integrations" / "isaaclab" / "data" / "motions"
TASK = "Mjlab-Tracking-Flat-Unitree-G1"
NICE = 10


def _motion_path(name: str) -> Path:
    path = MOTIONS_DIR / f"{name}.npz"
    if not path.is_file():
        choices = sorted(p.stem for p in MOTIONS_DIR.glob("*.npz"))
        raise ValueError(f"--motion: expected one of the demo clips {choices}, got {name!r}")
    return path


# ---------------------------------------------------------------------------------------------------- training
def train_worker(args: argparse.Namespace) -> None:
    """One run of mjlab's task: train with its runner, record every iteration, write ``run.json``."""
    from dataclasses import asdict

    import mjlab.tasks  # noqa: F401 (registers the tasks)
    import torch
    from mjlab.envs import ManagerBasedRlEnv
    from mjlab.rl import RslRlVecEnvWrapper
    from mjlab.tasks.registry import load_env_cfg, load_rl_cfg, load_runner_cls
    from mjlab.utils.torch import configure_torch_backends

    out = Path(args.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    env_cfg, agent_cfg = load_env_cfg(TASK), load_rl_cfg(TASK)
    env_cfg.scene.num_envs = args.num_envs
    env_cfg.seed = agent_cfg.seed = args.seed
    env_cfg.commands["motion"].motion_file = str(_motion_path(args.motion))
    agent_cfg.max_iterations = args.iterations
    agent_cfg.actor.distribution_cfg["init_std"] = args.init_std
    agent_cfg.logger = "tensorboard"
    agent_cfg.save_interval = 10**9  # only the final checkpoint
    configure_torch_backends()
    env = ManagerBasedRlEnv(cfg=env_cfg, device="cpu")
    command = env.command_manager.get_term("motion")
    build_s = time.time() - start

    reward_names = list(env.reward_manager.active_terms)
    acc = new_accumulators(len(reward_names))
    real_step, real_resample = env.step, command._resample_command

    def step(actions):
        result = real_step(actions)
        accumulate_step(acc, env.reward_manager._step_reward, command.metrics)
        acc["failed"] += env.termination_manager.terminated.double().sum()
        return result

    def resample(env_ids):  # every segment end: reset (termination or time-out) or the clip's end
        acc["ended"] += len(env_ids)
        return real_resample(env_ids)

    env.step = step
    command._resample_command = resample
    wrapped = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
    runner_cls = load_runner_cls(TASK)
    runner = runner_cls(wrapped, asdict(agent_cfg), str(out), "cpu")
    rows: list[dict] = []
    logger = runner.logger
    inner_log = logger.log

    def log_and_record(*a, **k):
        collected: dict[str, list] = {}
        for extras in logger.ep_extras:  # averaged as rsl-rl's Logger.log averages them
            for key, value in extras.items():
                if "/" in key:
                    collected.setdefault(key, []).append(torch.as_tensor(value, dtype=torch.float64).flatten())
        logged = {key: float(torch.cat(v).mean()) for key, v in collected.items() if sum(t.numel() for t in v)}
        rows.append(iteration_row(
            acc, reward_names, logged, len(rows), time.time() - start,
            sum(logger.lenbuffer) / len(logger.lenbuffer) if logger.lenbuffer else None,
            sum(logger.rewbuffer) / len(logger.rewbuffer) if logger.rewbuffer else None,
        ))
        return inner_log(*a, **k)

    logger.log = log_and_record
    for value in acc.values():  # the env's first reset is not a training segment
        value.zero_()
    learn_start = time.time()
    runner.learn(num_learning_iterations=agent_cfg.max_iterations, init_at_random_ep_len=True)
    learn_s = time.time() - learn_start
    checkpoint = max(out.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[-1]))
    record = {
        "simulator": "mjlab", "task": TASK, "motion": args.motion, "seed": args.seed, "num_envs": args.num_envs,
        "iterations": len(rows), "init_std": args.init_std,
        "steps_per_env_per_iteration": agent_cfg.num_steps_per_env,
        "env_steps": len(rows) * agent_cfg.num_steps_per_env * args.num_envs,
        "build_s": round(build_s, 1), "learn_s": round(learn_s, 1),
        "s_per_iteration": round(learn_s / max(len(rows), 1), 3), "checkpoint": str(checkpoint),
        "reward_terms": reward_names, "curves": rows,
    }
    (out / "run.json").write_text(json.dumps(record))
    print(f"[g1-mjlab] {args.motion} seed {args.seed}: {len(rows)} iterations in {learn_s:.0f} s "
          f"({record['s_per_iteration']} s/it, build {build_s:.0f} s) -> {out / 'run.json'}", flush=True)
    env.close()


# -------------------------------------------------------------------------------------------------- evaluation
def eval_worker(args: argparse.Namespace) -> None:
    """Frame-0 tracking of the clip by a checkpoint (or zero actions) in the task's play config."""
    from dataclasses import asdict

    import mjlab.tasks  # noqa: F401 (registers the tasks)
    import torch
    from mjlab.envs import ManagerBasedRlEnv
    from mjlab.rl import RslRlVecEnvWrapper
    from mjlab.tasks.registry import load_env_cfg, load_rl_cfg, load_runner_cls

    env_cfg, agent_cfg = load_env_cfg(TASK, play=True), load_rl_cfg(TASK)
    env_cfg.scene.num_envs = args.eval_envs
    env_cfg.seed = agent_cfg.seed = args.seed
    env_cfg.commands["motion"].motion_file = str(_motion_path(args.motion))
    agent_cfg.logger = "tensorboard"
    env = RslRlVecEnvWrapper(ManagerBasedRlEnv(cfg=env_cfg, device="cpu"), clip_actions=agent_cfg.clip_actions)
    command = env.unwrapped.command_manager.get_term("motion")
    if args.checkpoint == "zero":
        def policy(obs):
            return torch.zeros(env.num_envs, env.num_actions, device=env.device)
    else:
        runner = load_runner_cls(TASK)(env, asdict(agent_cfg), None, "cpu")
        runner.load(args.checkpoint)
        policy = runner.get_inference_policy(device="cpu")
    steps = int(command.motion.time_step_total) - 1  # frame 0 -> the clip's last frame
    with torch.inference_mode():
        obs, _ = env.reset()
        alive = torch.ones(env.num_envs, dtype=torch.bool)
        survived = torch.zeros(env.num_envs)
        error_sum = torch.zeros(len(ERRORS), dtype=torch.float64)
        error_count = 0.0
        per_step: dict[str, list] = {"alive": [], **{e: [] for e in PER_STEP_ERRORS}}
        for _ in range(steps):
            obs, _, dones, extras = env.step(policy(obs))
            time_outs = extras.get("time_outs", torch.zeros_like(dones)).bool()
            alive &= ~(dones.bool() & ~time_outs)
            survived += alive.float()
            per_step["alive"].append(int(alive.sum()))
            if bool(alive.any()):
                values = torch.stack([command.metrics[e][alive].double().mean() for e in ERRORS])
                error_sum += values * float(alive.sum())
                error_count += float(alive.sum())
            for e in PER_STEP_ERRORS:
                per_step[e].append(_sig(float(values[ERRORS.index(e)])) if bool(alive.any()) else None)
    result = {"frames": steps + 1, "success": float(alive.float().mean()),
              "tracked_fraction": float((survived / steps).mean()),
              "errors_while_tracking": {e: _sig(float(v / max(error_count, 1.0)))
                                        for e, v in zip(ERRORS, error_sum, strict=True)},
              "per_step": per_step}
    print(f"[g1-mjlab-eval] {args.motion} ({args.checkpoint}): success {result['success']:.2f}, tracked fraction "
          f"{result['tracked_fraction']:.3f}", flush=True)
    Path(args.eval_out).write_text(json.dumps({"checkpoint": args.checkpoint, "num_envs": env.num_envs,
                                               "motions": {args.motion: result}}))
    env.close()


# ------------------------------------------------------------------------------------------------ orchestration
def _command(*extra: str) -> list[str]:
    return ["nice", "-n", str(NICE), sys.executable, str(Path(__file__).resolve()), *extra]


def _run(label: str, cmd: list[str], log: Path, env: dict) -> bool:
    print(f"[g1-mjlab] start {label}", flush=True)
    with open(log, "w") as handle:
        code = subprocess.run(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    print(f"[g1-mjlab] {label} exited {code}", flush=True)
    return code == 0


def run_all(args: argparse.Namespace) -> None:
    """Train and evaluate every seed, one process at a time; the zero-action baseline after the first run."""
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    common = ["--motion", args.motion, "--eval_envs", str(args.eval_envs)]
    zero_dir = RUNS / f"{args.motion}_zero"
    for index, seed in enumerate(args.seeds):
        run_dir = RUNS / f"{args.motion}_s{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        if args.force or not (run_dir / "eval.json").is_file():
            train = _command("--worker", "train", "--seed", str(seed), "--num_envs", str(args.num_envs),
                             "--iterations", str(args.iterations), "--init_std", str(args.init_std),
                             "--run_dir", str(run_dir), *common)
            if _run(f"{args.motion} seed {seed} (train)", train, run_dir / "train.log", env):
                checkpoint = json.loads((run_dir / "run.json").read_text())["checkpoint"]
                _run(f"{args.motion} seed {seed} (eval)", _command(
                    "--worker", "eval", "--seed", str(seed), "--checkpoint", checkpoint, "--eval_out",
                    str(run_dir / "eval.json"), *common), run_dir / "eval.log", env)
        if index == 0 and (args.force or not (zero_dir / "eval.json").is_file()):
            zero_dir.mkdir(parents=True, exist_ok=True)
            _run(f"{args.motion} zero actions (eval)", _command(
                "--worker", "eval", "--seed", "1", "--checkpoint", "zero", "--eval_out", str(zero_dir / "eval.json"),
                *common), zero_dir / "eval.log", env)


# ------------------------------------------------------------------------------------------------------ report
def run_figures(curve: list[dict]) -> dict:
    """First vs last 10% of iterations of every recorded curve, and the gains the expectation uses."""
    item = {key: {"first": _sig(_window(curve, key, True)), "last": _sig(_window(curve, key, False))}
            for key in CURVE_KEYS}

    def gain(key: str) -> float | None:
        first, last = item[key]["first"], item[key]["last"]
        return _sig(last / first - 1.0) if first and last is not None else None

    item["episode_length_gain"] = gain("episode_length")
    item["body_pos_error_change"] = gain("step_error_body_pos")
    item["joint_pos_error_change"] = gain("step_error_joint_pos")
    item["errors_fell_10pct"] = bool(item["body_pos_error_change"] is not None
                                     and item["joint_pos_error_change"] is not None
                                     and item["body_pos_error_change"] <= -0.1
                                     and item["joint_pos_error_change"] <= -0.1)
    return item


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def load_mjlab(motion: str, runs: Path = RUNS) -> tuple[list[dict], dict | None]:
    """mjlab's finished runs on ``motion`` (run.json with eval.json) and its zero-action evaluation."""
    found = []
    for path in sorted(runs.glob(f"{motion}_s*/run.json")):
        run, evaluation = json.loads(path.read_text()), _load(path.parent / "eval.json")
        found.append({**run, "eval": evaluation["motions"][motion] if evaluation else None})
    zero = _load(runs / f"{motion}_zero" / "eval.json")
    return found, (zero["motions"][motion] if zero else None)


def load_ours(motion: str, single: Path = OURS_SINGLE, results: Path = RESULTS,
              four_clip_runs: Path = OURS_FOUR_CLIP) -> dict:
    """Our Isaac Lab task: the single-clip runs on ``motion`` and the 4-clip runs' figures, where they exist."""
    ours: dict = {"single": [], "four_clip": {}}
    for path in sorted(single.glob(f"{motion}_s*/run.json")):
        run, evaluation = json.loads(path.read_text()), _load(path.parent / "eval.json")
        zero = _load(single / f"{motion}_zero" / "eval.json")
        ours["single"].append({"seed": run["seed"], "iterations": run["iterations"], "env_steps": run["env_steps"],
                               "s_per_iteration": run["s_per_iteration"], **run_figures(run["curves"]),
                               "eval": evaluation["motions"][motion] if evaluation else None,
                               "zero_actions": zero["motions"][motion] if zero else None,
                               "frame0_matched_error_change": matched_change(
                                   evaluation["motions"][motion] if evaluation else None,
                                   zero["motions"][motion] if zero else None)})
    for name in ("g1", "g1_prefix"):
        record = _load(results / f"{name}.json")
        if record is None:
            continue
        summary = record["summary"]
        runs = []
        for r in summary["per_run"]:
            length = r["episode_length"]
            runs.append({"arm": r["arm"], "seed": r["seed"],
                         "episode_length_gain": _sig(length["last"] / length["first"] - 1.0),
                         "body_pos_error_change": _sig(r["step_error_body_pos"]["last"]
                                                       / r["step_error_body_pos"]["first"] - 1.0),
                         "joint_pos_error_change": _sig(r["step_error_joint_pos"]["last"]
                                                        / r["step_error_joint_pos"]["first"] - 1.0),
                         "eval_tracked_fraction": (r.get("eval_tracked_fraction") or {}).get(motion)})
        zero = (summary.get("zero_actions") or {}).get(motion)
        ours["four_clip"][name] = {"runs": runs, "zero_actions_tracked_fraction":
                                   zero["tracked_fraction"] if zero else None}
    if "g1" in ours["four_clip"]:  # the post-fix runs' raw evaluations, where they are on disk
        zero = _load(four_clip_runs / "zero" / "eval.json")
        for run in ours["four_clip"]["g1"]["runs"]:
            evaluation = _load(four_clip_runs / f"{run['arm']}_s{run['seed']}" / "eval.json")
            run["frame0_matched_error_change"] = matched_change(
                evaluation["motions"].get(motion) if evaluation else None,
                zero["motions"].get(motion) if zero else None)
    return ours


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def verdict(mjlab_runs: list[dict], mjlab_zero: dict | None, ours: dict) -> dict:
    """The expectation of the module docstring applied to the measured figures."""
    if ours["single"]:
        basis = "our Isaac Lab task on the same single clip"
        our_gain = _mean([r["episode_length_gain"] for r in ours["single"]])
        our_errors_fell = any(r["errors_fell_10pct"] for r in ours["single"])
        our_frame0 = _mean([r["eval"]["tracked_fraction"] - r["zero_actions"]["tracked_fraction"]
                            for r in ours["single"] if r["eval"] and r["zero_actions"]])
    else:
        name = "g1" if "g1" in ours["four_clip"] else "g1_prefix" if "g1_prefix" in ours["four_clip"] else None
        if name is None:
            return {"verdict": "no runs of ours to compare with"}
        basis = (f"our Isaac Lab task's 4-clip runs ({name}.json; each clip gets about a quarter of the samples: "
                 "a weaker comparison)")
        four = ours["four_clip"][name]
        our_gain = _mean([r["episode_length_gain"] for r in four["runs"]])
        our_errors_fell = any(r["body_pos_error_change"] <= -0.1 and r["joint_pos_error_change"] <= -0.1
                              for r in four["runs"])
        tracked = _mean([r["eval_tracked_fraction"] for r in four["runs"]])
        zero = four["zero_actions_tracked_fraction"]
        our_frame0 = tracked - zero if tracked is not None and zero is not None else None
    if not mjlab_runs or our_gain is None:
        return {"verdict": "not enough runs", "basis": basis}
    frame0 = [r["eval"]["tracked_fraction"] - mjlab_zero["tracked_fraction"] if r.get("eval") and mjlab_zero
              else None for r in mjlab_runs]
    gains = [r["episode_length_gain"] for r in mjlab_runs]
    fell = [r["errors_fell_10pct"] for r in mjlab_runs]
    frame0_known = our_frame0 is not None and all(f is not None for f in frame0)
    scale = (all(g <= 1.5 * max(our_gain, 0.0) + 0.10 for g in gains) and not all(fell)
             and (not frame0_known or all(f <= our_frame0 + 0.10 for f in frame0)))
    term = (all(g >= max(2.0 * our_gain, our_gain + 0.25) for g in gains) or (all(fell) and not our_errors_fell)
            or (frame0_known and all(f > our_frame0 + 0.10 for f in frame0)))
    word = "R-term" if term else "R-scale" if scale else "inconclusive"
    return {"verdict": word, "basis": basis, "our_episode_length_gain": _sig(our_gain),
            "our_frame0_gain": _sig(our_frame0) if our_frame0 is not None else None,
            "our_errors_fell_10pct": our_errors_fell, "mjlab_episode_length_gains": gains,
            "mjlab_errors_fell_10pct": fell, "mjlab_frame0_gains": [_sig(f) if f is not None else None for f in frame0],
            "frame0_compared": frame0_known}


def summarise(motion: str, runs: Path = RUNS, single: Path = OURS_SINGLE, results: Path = RESULTS) -> dict:
    """Everything the report prints and writes."""
    mjlab_runs, mjlab_zero = load_mjlab(motion, runs)
    per_run = [{"seed": r["seed"], "iterations": r["iterations"], "env_steps": r["env_steps"],
                "s_per_iteration": r["s_per_iteration"], **run_figures(r["curves"]), "eval": r["eval"],
                "frame0_matched_error_change": matched_change(r["eval"], mjlab_zero)}
               for r in mjlab_runs]
    ours = load_ours(motion, single, results, runs.parent / OURS_FOUR_CLIP.name)
    return {"motion": motion, "mjlab": {"per_run": per_run, "zero_actions": mjlab_zero}, "ours": ours,
            "verdict": verdict(per_run, mjlab_zero, ours)}


def print_table(summary: dict) -> None:
    def pair(r, key, fmt="{:.3f}"):
        return f"{fmt.format(r[key]['first'])} -> {fmt.format(r[key]['last'])}"

    print(f"\nclip {summary['motion']}: first 10% -> last 10% of iterations (step-mean errors)")
    print(f"{'who':<18} {'seed':>4} {'ep. length':>14} {'return':>16} {'failure rate':>16} {'body pos [m]':>16} "
          f"{'joint pos [rad]':>16} {'frame-0 tracked':>15}")
    rows = [("mjlab", r) for r in summary["mjlab"]["per_run"]] + [("ours, single clip", r)
                                                                   for r in summary["ours"]["single"]]
    for who, r in rows:
        tracked = r["eval"]["tracked_fraction"] if r.get("eval") else float("nan")
        print(f"{who:<18} {r['seed']:>4} {pair(r, 'episode_length', '{:.1f}'):>14} {pair(r, 'return'):>16} "
              f"{pair(r, 'failure_rate'):>16} {pair(r, 'step_error_body_pos'):>16} "
              f"{pair(r, 'step_error_joint_pos'):>16} {tracked:>15.3f}")
    zero = summary["mjlab"]["zero_actions"]
    if zero:
        print(f"mjlab zero actions, frame-0 tracked fraction: {zero['tracked_fraction']:.3f}")
    for r in summary["ours"]["single"][:1]:
        if r["zero_actions"]:
            print(f"ours zero actions, frame-0 tracked fraction: {r['zero_actions']['tracked_fraction']:.3f}")
    for name, four in summary["ours"]["four_clip"].items():
        print(f"ours, 4 clips ({name}.json): episode-length gains "
              f"{[r['episode_length_gain'] for r in four['runs']]}, frame-0 tracked on {summary['motion']} "
              f"{[r['eval_tracked_fraction'] for r in four['runs']]} (zero actions "
              f"{four['zero_actions_tracked_fraction']})")
    print("frame-0 errors vs zero actions at equal time since the start (post hoc; trained / zero - 1):")
    for who, r in rows:
        print(f"  {who} seed {r['seed']}: {r.get('frame0_matched_error_change')}")
    for run in summary["ours"]["four_clip"].get("g1", {}).get("runs", []):
        print(f"  ours, 4 clips, {run['arm']} seed {run['seed']}: {run.get('frame0_matched_error_change')}")
    print("verdict: " + json.dumps(summary["verdict"]))


def report(args: argparse.Namespace) -> None:
    summary = summarise(args.motion)
    if not summary["mjlab"]["per_run"]:
        raise SystemExit(f"no finished mjlab runs on {args.motion} under {RUNS}")
    print_table(summary)
    first = json.loads((RUNS / f"{args.motion}_s{summary['mjlab']['per_run'][0]['seed']}" / "run.json").read_text())
    record = {"benchmark": "g1_mjlab_reference", "task": TASK,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "note": "2 cores shared with other jobs; runs niced, one at a time"},
              "config": {"motion": args.motion, "num_envs": first["num_envs"], "iterations": first["iterations"],
                         "init_std": first["init_std"],
                         "steps_per_env_per_iteration": first["steps_per_env_per_iteration"],
                         "seeds": [r["seed"] for r in summary["mjlab"]["per_run"]]},
              "summary": summary,
              "curves": {str(r["seed"]): {key: [row.get(key) for row in r["curves"]] for key in r["curves"][0]}
                         for r in load_mjlab(args.motion)[0]}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "g1_mjlab_reference.json").write_text(json.dumps(record))
    print(f"\nwrote {RESULTS / 'g1_mjlab_reference.json'}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=["train", "eval"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--run_dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--eval_out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--motion", default="torso_twist", help="demo clip to train on (default: torso_twist)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--num_envs", type=int, default=32)
    parser.add_argument("--init_std", type=float, default=0.3, help="initial action noise std (mjlab's: 1.0)")
    parser.add_argument("--iterations", type=int, default=150, help="PPO iterations per run (the fixed budget)")
    parser.add_argument("--eval_envs", type=int, default=16, help="envs in the frame-0 evaluation")
    parser.add_argument("--report", action="store_true", help="only summarise the runs on disk")
    parser.add_argument("--force", action="store_true", help="redo runs that already have results")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _motion_path(args.motion)
    for name in ("num_envs", "iterations", "eval_envs"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name}: expected a positive integer, got {getattr(args, name)}")
    if not args.init_std > 0:
        raise ValueError(f"--init_std: expected a positive float, got {args.init_std}")
    if args.worker == "train":
        train_worker(args)
    elif args.worker == "eval":
        eval_worker(args)
    elif args.report:
        report(args)
    else:
        run_all(args)
        report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
