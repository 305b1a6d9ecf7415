"""Train the G1 multi-motion tracker with PPO (rsl-rl) and the adaptive start sampler, in Isaac Lab.

Defaults run anywhere the CPU stack is installed (``scripts/setup_isaaclab.sh``): the demo motions, 16 envs on the
CPU. Checkpoints (``model_<it>.pt``) carry the sampler state, each comes with ``policy.onnx`` (the actor and its
normaliser with deployment metadata), the run folder holds a record of the sampler config and motion files
(``adaptive_sampling_run.json``), the logger shows the sampler as images during training, and at the end the
sampler heatmap is written next to the checkpoints (``sampler_heatmap.png``).

Examples::

    OMP_NUM_THREADS=1 python integrations/isaaclab/train.py --max_iterations 50
    python integrations/isaaclab/train.py --motions data/lafan1/*.npz --num_envs 4096 --device cuda:0
    python integrations/isaaclab/train.py --resume --max_iterations 100     # latest run, latest checkpoint
    torchrun --nproc_per_node 2 integrations/isaaclab/train.py --distributed --num_envs 8   # 2 ranks (gloo on CPU)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime

from adaptive_sampling_isaaclab.launch import (
    add_common_args,
    find_checkpoint,
    latest_checkpoint_in,
    make_env,
    make_runner,
    print_sampler,
    runner_class,
    sampler_of,
    write_heatmap,
)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``train.py``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser, play=False)
    parser.add_argument("--max_iterations", type=int, default=None, help="PPO iterations (default: the agent cfg's)")
    parser.add_argument("--resume", action="store_true",
                        help="resume from a checkpoint (--load_run / --checkpoint; default: the latest)")
    parser.add_argument("--logger", choices=["tensorboard", "wandb", "neptune"], default="tensorboard")
    parser.add_argument("--run_name", default="", help="suffix of the run folder name")
    parser.add_argument("--sampler", choices=["default", "beyondmimic", "paper", "uniform"], default="default",
                        help="start sampler preset: the library default, BeyondMimic's settings, the paper's, or "
                             "uniform starts (the baseline without adaptive sampling)")
    parser.add_argument("--heatmap", default=None, help="heatmap PNG path (default: <run dir>/sampler_heatmap.png)")
    parser.add_argument("--export_onnx", action=argparse.BooleanOptionalAction, default=None,
                        help="write policy.onnx (actor, normaliser, deployment metadata) next to every checkpoint "
                             "(default: the agent cfg's export_onnx, on for the G1 task)")
    parser.add_argument("--image_interval", type=int, default=None,
                        help="log the sampler heatmap and per-motion mass as images every N iterations (0: never; "
                             "default: the agent cfg's sampler_image_interval, else about 30 per run)")
    parser.add_argument("--distributed", action="store_true",
                        help="one process per rank under torchrun (as Isaac Lab's train.py): each rank simulates its "
                             "own envs with seed + rank, PPO averages gradients, the runner syncs the sampler every "
                             "iteration; rank 0 logs and checkpoints. CPU ranks use gloo, cuda ranks cuda:LOCAL_RANK")
    return parser


def setup_distributed(args: argparse.Namespace) -> tuple[int, int]:
    """Join the torchrun process group; offset the seed and pick the device by rank. Returns ``(rank, world)``."""
    import torch
    import torch.distributed as dist

    if "WORLD_SIZE" not in os.environ:
        raise SystemExit("--distributed runs under torchrun: torchrun --nproc_per_node N train.py --distributed ...")
    rank, local, world = (int(os.environ[k]) for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))
    cuda = args.device.startswith("cuda")
    if cuda:
        args.device = f"cuda:{local}"
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    args.seed += rank
    return rank, world


def agree_on(value: str) -> str:
    """Rank 0's ``value`` on every rank (a no-op without a process group)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_sampler_agrees(sampler) -> bool:
    """Whether every rank holds the same sampler statistics and distribution (True without a process group)."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        return True
    state = sampler.state_dict()
    keys = ("failures", "visits", "pending_failures", "pending_visit_diff", "totals", "pending_totals", "probabilities")
    mine = torch.cat([state[k].double().flatten() for k in keys] + [torch.tensor([float(state["clock"])])])
    mine = mine.nan_to_num(-1.0).to(sampler.device)
    low, high = mine.clone(), mine.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(torch.equal(low, high))


def main(argv: list[str] | None = None) -> int:
    """Train; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.max_iterations is not None and args.max_iterations < 1:
        raise SystemExit(f"--max_iterations must be >= 1, got {args.max_iterations}")
    start = time.time()
    rank, world = setup_distributed(args) if args.distributed else (0, 1)
    env, agent_cfg = make_env(args)
    sampler = sampler_of(env)
    log_root = os.path.abspath(os.path.join(args.log_root, agent_cfg.experiment_name))
    resume_path = find_checkpoint(log_root, args.load_run, args.checkpoint) if args.resume else None
    run_name = datetime.now().strftime("%Y-%m-%d_%H-%M-%S") + (f"_{args.run_name}" if args.run_name else "")
    log_dir = os.path.join(log_root, agree_on(run_name))
    ranks = f" rank={rank}/{world} seed={args.seed}" if world > 1 else ""
    print(f"[train] task={args.task} envs={env.num_envs} device={args.device} motions={sampler.num_motions} "
          f"bins={sampler.num_bins} log_dir={log_dir}{ranks}")
    print(f"[train] motions: {', '.join(sampler.layout.motion_names)}")
    if args.image_interval is not None:
        if args.image_interval < 0:
            raise SystemExit(f"--image_interval must be >= 0, got {args.image_interval}")
        agent_cfg.sampler_image_interval = args.image_interval
    runner = make_runner(env, agent_cfg, log_dir, export_onnx=args.export_onnx)
    if getattr(runner, "run_record_path", None):
        print(f"[train] run record: {runner.run_record_path}")
    _, adaptive = runner_class()
    if resume_path is not None:
        print(f"[train] resuming from {resume_path}")
        runner.load(str(resume_path))
        print(f"[train] restored sampler clock={sampler.clock} (runner iteration {runner.current_learning_iteration})")
    print_sampler(sampler, "sampler at start")
    runner.learn(num_learning_iterations=agent_cfg.max_iterations, init_at_random_ep_len=True)
    metrics = print_sampler(sampler, "sampler at end")
    if world > 1:
        same = check_sampler_agrees(sampler)
        print(f"[train] rank {rank}: sampler statistics and distribution "
              f"{'identical on all' if same else 'DIFFER between the'} {world} ranks")
    if rank != 0:  # rank 0 logs, checkpoints and draws
        env.close()
        return 0
    try:
        heatmap = write_heatmap(sampler, args.heatmap or os.path.join(log_dir, "sampler_heatmap.png"),
                                env.num_envs, world)
        print(f"[train] heatmap: {heatmap}")
    except ImportError as err:  # the checkpoints are what matters; a missing plot extra must not fail the run
        print(f"[train] no heatmap: {err}")
    checkpoint = latest_checkpoint_in(log_dir)
    print(f"[train] checkpoint: {checkpoint} (sampler state {'included' if adaptive else 'NOT included'})")
    if getattr(runner, "onnx_path", None):
        print(f"[train] policy: {runner.onnx_path}")
    print(f"[train] done in {time.time() - start:.1f} s; sampler entropy {metrics.get('entropy', float('nan')):.4f}")
    env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
