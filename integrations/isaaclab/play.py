"""Play a trained G1 tracker: frame-0 starts of a chosen motion, frozen sampler statistics, tracking errors printed.

Examples::

    python integrations/isaaclab/play.py                       # latest checkpoint, motions drawn from the prior
    python integrations/isaaclab/play.py --motion quick_squat --num_steps 300
    python integrations/isaaclab/play.py --checkpoint logs/rsl_rl/g1_multi_motion_tracking/<run>/model_100.pt
    python integrations/isaaclab/play.py --export --num_steps 0     # policy.onnx next to the latest checkpoint

Warns when the motion files differ from those the run recorded when it started (``adaptive_sampling_run.json``).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import warnings

import torch
from adaptive_sampling_isaaclab.launch import (
    add_common_args,
    find_checkpoint,
    make_env,
    make_runner,
    motion_files_of,
    sampler_of,
)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``play.py``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser, play=True)
    parser.add_argument("--motion", default=None, help="motion name or index every env plays (default: from prior)")
    parser.add_argument("--num_steps", type=int, default=None, help="env steps to run (default: one episode)")
    parser.add_argument("--random_policy", action="store_true",
                        help="run without a checkpoint (zero actions); for smoke tests")
    parser.add_argument("--export", nargs="?", const="", default=None, metavar="PATH",
                        help="export the checkpoint's actor and normaliser as ONNX with deployment metadata (default "
                             "path: policy.onnx next to the checkpoint); --num_steps 0 exports without playing")
    return parser


def motion_changes(checkpoint: os.PathLike, motion_files: list[str]) -> list[str]:
    """What changed in the motion library since the checkpoint's run started (``[]``: nothing, or no record)."""
    from adaptive_sampling_rsl_rl.run_record import RECORD_FILENAME, compare_motion_files, read_run_record

    record_path = pathlib.Path(checkpoint).parent / RECORD_FILENAME
    if not record_path.is_file():
        return []
    problems = compare_motion_files(read_run_record(record_path), motion_files)
    return [f"motion library differs from the one {record_path} recorded: {p}" for p in problems]


def onnx_session(path: str):
    """The exported policy in onnxruntime (``None``, with a note, where onnxruntime is not installed)."""
    try:
        from adaptive_sampling_rsl_rl.onnx_policy import OnnxPolicy

        return OnnxPolicy(path)
    except ImportError as err:
        print(f"[play] onnxruntime is not available ({err}): the exported file is not compared with the torch policy")
        return None


def main(argv: list[str] | None = None) -> int:
    """Play; return the exit status."""
    args = build_parser().parse_args(argv)
    env, agent_cfg = make_env(args, play=True)
    sampler = sampler_of(env)
    command = env.unwrapped.command_manager.get_term("motion")
    onnx_policy = None
    if args.random_policy:
        if args.export is not None:
            raise SystemExit("--export needs a checkpoint, not --random_policy")

        def policy(obs):
            return torch.zeros(env.num_envs, env.num_actions, device=env.device)
    else:
        log_root = os.path.abspath(os.path.join(args.log_root, agent_cfg.experiment_name))
        checkpoint = find_checkpoint(log_root, args.load_run, args.checkpoint)
        for problem in motion_changes(checkpoint, motion_files_of(env)):
            print(f"[play] WARNING: {problem}")
            warnings.warn(problem, stacklevel=1)
        runner = make_runner(env, agent_cfg, log_dir=None, export_onnx=False)
        print(f"[play] loading {checkpoint}")
        runner.load(str(checkpoint))
        policy = runner.get_inference_policy(device=env.device)
        if args.export is not None:
            target = args.export or os.path.join(os.path.dirname(checkpoint), "policy.onnx")
            print(f"[play] exported {runner.export_policy(target, run_path=str(checkpoint.parent))}")
            onnx_policy = onnx_session(target)
    sampler.eval()
    num_steps = int(env.unwrapped.max_episode_length) if args.num_steps is None else args.num_steps
    if num_steps == 0:
        env.close()
        return 0
    obs, _ = env.reset()
    errors = {"anchor_pos": [], "body_pos": [], "joint_pos": []}
    dones_total = 0
    onnx_diff, onnx_count = 0.0, 0
    with torch.inference_mode():
        for _ in range(num_steps):
            actions = policy(obs)
            if onnx_policy is not None:  # the exported file acts as the torch policy on every played observation
                exported = torch.from_numpy(onnx_policy(obs["policy"].cpu().numpy()))
                onnx_diff = max(onnx_diff, float((exported - actions.cpu()).abs().max()))
                onnx_count += int(actions.shape[0])
            obs, _, dones, _ = env.step(actions)
            dones_total += int(dones.sum())
            errors["anchor_pos"].append(command.metrics["error_anchor_pos"].mean().item())
            errors["body_pos"].append(command.metrics["error_body_pos"].mean().item())
            errors["joint_pos"].append(command.metrics["error_joint_pos"].mean().item())
    motions = [sampler.layout.motion_names[i] for i in command.motion_ids.tolist()]
    print(f"[play] {num_steps} steps x {env.num_envs} envs, motions {sorted(set(motions))}, {dones_total} resets")
    for name, values in errors.items():
        print(f"[play] mean error_{name}: {sum(values) / max(len(values), 1):.4f}")
    if onnx_count:
        print(f"[play] onnx vs torch actions: max abs diff {onnx_diff:.3e} over {onnx_count} observations")
    env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
