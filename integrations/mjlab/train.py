"""Train the multi-motion G1 tracker in mjlab with PPO (rsl-rl) and the adaptive start sampler.

mjlab's own ``train`` (same flags: ``--env.*``, ``--agent.*``, ``--agent.resume True``, ``--gpu-ids``,
``--log-root``, ...) for the task ``AdaptiveSampling-Tracking-Flat-Unitree-G1``, plus:

- ``--motions FILE|DIR|GLOB ...``: the motion library (default: the G1 demo clips);
- ``--sampler default|beyondmimic|paper|uniform``: the start sampler preset (``beyondmimic`` is mjlab's built-in
  sampler; fields can be set one by one with ``--env.commands.motion.sampler.<field>``, on top of the preset);
- every checkpoint (``model_<it>.pt``) carries the sampler state, and a resumed run continues its statistics;
- next to every checkpoint, ``policy.onnx``: the actor and its normaliser with the deployment metadata (joints, PD
  gains, action scale, observation terms, motion library); ``--agent.export-onnx False`` turns it off;
- at the end the sampler heatmap (``sampler_heatmap.png``) is written next to the checkpoints.

Examples::

    python integrations/mjlab/train.py --env.scene.num-envs 16 --agent.max-iterations 20
    python integrations/mjlab/train.py --motions 'data/lafan1/*.npz' --sampler beyondmimic --env.scene.num-envs 4096
    python integrations/mjlab/train.py --agent.resume True --agent.load-run '2026-.*'    # latest checkpoint
    python integrations/mjlab/train.py AdaptiveSampling-Tracking-Flat-Unitree-G1-No-State-Estimation --help
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import tyro
from adaptive_sampling_mjlab import tasks

import mjlab
from adaptive_sampling import AdaptiveSamplerCfg
from adaptive_sampling.plot import load_sampler, plot_sampler
from mjlab.scripts.train import TrainConfig, launch_training
from mjlab.tasks.registry import list_tasks, load_env_cfg, load_rl_cfg


@dataclass(frozen=True)
class AdaptiveTrainConfig(TrainConfig):
    """mjlab's ``TrainConfig`` plus the motion library, the sampler preset and the heatmap."""

    motions: tuple[str, ...] = ()
    """Motion files, directories or globs (BeyondMimic npz); empty: the task's (the G1 demo clips)."""
    sampler: Literal["default", "beyondmimic", "paper", "uniform"] = "default"
    """Start sampler preset: the library default, BeyondMimic's code (mjlab's built-in sampler), the paper, or
    uniform starts (the baseline). Fields set with ``--env.commands.motion.sampler.<field>`` apply on top."""
    heatmap: bool = True
    """Write the sampler heatmap next to the checkpoints at the end."""


def split_task(argv: list[str]) -> tuple[str, list[str]]:
    """The task id (an optional first positional argument, as mjlab's ``train <task>``) and the remaining flags."""
    ours = [task for task in list_tasks() if task.startswith("AdaptiveSampling-")]
    if argv and not argv[0].startswith("-"):
        if argv[0] not in ours:
            raise SystemExit(f"unknown task {argv[0]!r}; tasks: {ours}")
        return argv[0], argv[1:]
    return tasks.TASK_ID, argv


def split_motions(argv: list[str]) -> tuple[list[str], list[str]]:
    """Take ``--motions A B ...`` (space-separated, as shells expand globs) out of the flags for tyro."""
    motions, rest, index = [], [], 0
    while index < len(argv):
        if argv[index] == "--motions":
            index += 1
            while index < len(argv) and not argv[index].startswith("--"):
                motions.append(argv[index])
                index += 1
            if not motions:
                raise SystemExit("--motions needs at least one file, directory or glob")
        else:
            rest.append(argv[index])
            index += 1
    return motions, rest


def parse_args(argv: list[str] | None = None, *, prog: str = "train.py") -> tuple[str, AdaptiveTrainConfig]:
    """Parse the command line into the task id and the configuration (presets applied)."""
    task, rest = split_task(list(sys.argv[1:] if argv is None else argv))
    motions, rest = split_motions(rest)
    if motions:
        rest += ["--motions", repr(tuple(motions))]
    # mjlab's default --gpu-ids [0] fails without a GPU: default to the CPU there
    gpu_ids = [0] if torch.cuda.is_available() else None
    default = AdaptiveTrainConfig(env=load_env_cfg(task), agent=load_rl_cfg(task), gpu_ids=gpu_ids)
    args = tyro.cli(AdaptiveTrainConfig, args=rest, default=default, prog=f"{prog} {task}", config=mjlab.TYRO_FLAGS)
    apply_library_flags(args.env.commands[tasks.COMMAND_NAME], args.motions, args.sampler)
    return task, args


def apply_library_flags(command, motions: tuple[str, ...], sampler: str) -> None:
    """Set the motion library and the sampler preset on the command config.

    Sampler fields changed on the command line (``--env.commands.motion.sampler.<field>``) stay on top of the preset.
    """
    if motions:
        command.motions = list(motions)
    if sampler != "default":
        base = AdaptiveSamplerCfg()
        changed = {f.name: getattr(command.sampler, f.name) for f in dataclasses.fields(AdaptiveSamplerCfg)
                   if getattr(command.sampler, f.name) != getattr(base, f.name)}
        command.sampler = tasks.sampler_cfg(sampler, **changed)
    command.sampler.check()


def latest_run_dir(log_root: Path) -> Path | None:
    """The newest run folder holding a checkpoint under an experiment folder."""
    runs = [p.parent for p in log_root.glob("*/model_*.pt")]
    return max(runs, key=lambda p: max(c.stat().st_mtime for c in p.glob("model_*.pt"))) if runs else None


def latest_checkpoint(run_dir: Path) -> Path:
    """The checkpoint with the highest iteration in a run folder."""
    return max(run_dir.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[-1]))


def write_heatmap(run_dir: Path) -> Path:
    """Draw the sampler of the run's last checkpoint; print its summary."""
    checkpoint = latest_checkpoint(run_dir)
    sampler = load_sampler(str(checkpoint))
    metrics = sampler.metrics()
    summary = ", ".join(f"{k} {metrics[k]:.4g}" for k in ("entropy", "effective_num_bins", "top1_prob", "coverage",
                                                         "mean_failure_rate"))
    print(f"[adaptive-sampling] sampler at {checkpoint.name}: clock {sampler.clock}, {summary}")
    path = run_dir / "sampler_heatmap.png"
    plot_sampler(sampler, str(path), title=f"{run_dir.name} ({checkpoint.name})")
    return path


def main(argv: list[str] | None = None) -> int:
    """Train; return the exit status."""
    task, args = parse_args(argv)
    command = args.env.commands[tasks.COMMAND_NAME]
    print(f"[adaptive-sampling] task {task}: motions {command.motions}, sampler {args.sampler} "
          f"({command.sampler.statistic}, {command.sampler.attribution} attribution)")
    launch_training(task_id=task, args=args)
    run_dir = latest_run_dir((Path(args.log_root) / args.agent.experiment_name).resolve())
    if run_dir is None:
        print("[adaptive-sampling] no checkpoint written (no logger?): no heatmap")
        return 0
    print(f"[adaptive-sampling] checkpoint with sampler state: {latest_checkpoint(run_dir)}")
    if (run_dir / "policy.onnx").is_file():
        print(f"[adaptive-sampling] policy: {run_dir / 'policy.onnx'}")
    if args.heatmap:
        print(f"[adaptive-sampling] heatmap: {write_heatmap(run_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
