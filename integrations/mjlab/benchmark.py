"""Env steps per second of the multi-motion task next to mjlab's own single-motion tracking task, in the same run.

Both envs are mjlab's G1 flat tracking env on one device (zero actions, warm Warp kernel cache); they differ only in
the command term (ours: the motion library and the adaptive sampler; mjlab's: ``MotionCommand`` with its built-in
sampler on one demo clip). Timed blocks alternate between the two envs so that both see the same machine load; the
median block counts. Writes a JSON line per measurement.

Run: ``OMP_NUM_THREADS=1 python -m adaptive_sampling_mjlab.benchmark --num-envs 16 64``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from mjlab.envs import ManagerBasedRlEnv
from mjlab.tasks.registry import load_env_cfg

from . import tasks
from .motion_store import demo_motions_dir

MJLAB_TASK = "Mjlab-Tracking-Flat-Unitree-G1"


def make_env(task: str, num_envs: int, device: str) -> ManagerBasedRlEnv:
    """A registered tracking task's env (mjlab's own task on one demo clip)."""
    cfg = load_env_cfg(task)
    cfg.scene.num_envs = num_envs
    if task == MJLAB_TASK:
        cfg.commands["motion"].motion_file = str(demo_motions_dir() / "arm_wave.npz")
    env = ManagerBasedRlEnv(cfg, device=device)
    env.reset()
    return env


def time_steps(env: ManagerBasedRlEnv, steps: int) -> float:
    """Wall seconds of ``steps`` env steps with zero actions."""
    actions = torch.zeros(env.num_envs, env.action_manager.total_action_dim, device=env.device)
    start = time.perf_counter()
    for _ in range(steps):
        env.step(actions)
    if str(env.device).startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Measure and print; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block")
    parser.add_argument("--blocks", type=int, default=5, help="timed blocks per task, alternating between the tasks")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    for num_envs in args.num_envs:
        envs = {task: make_env(task, num_envs, args.device) for task in (tasks.TASK_ID, MJLAB_TASK)}
        seconds: dict[str, list[float]] = {task: [] for task in envs}
        for env in envs.values():
            time_steps(env, args.warmup)
        # alternate blocks so that both tasks see the same machine load
        for _ in range(args.blocks):
            for task, env in envs.items():
                seconds[task].append(time_steps(env, args.steps))
        for task, env in envs.items():
            median = statistics.median(seconds[task])
            print(json.dumps({"task": task, "num_envs": num_envs, "device": args.device,
                              "env_steps_per_s": round(num_envs * args.steps / median, 1),
                              "ms_per_step": round(1000 * median / args.steps, 1), "blocks": args.blocks,
                              "steps_per_block": args.steps, "torch_threads": torch.get_num_threads()}), flush=True)
            env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
