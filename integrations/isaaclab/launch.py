"""Shared plumbing of ``train.py`` and ``play.py``: flags, env and runner construction, the heatmap.

Imports isaaclab lazily (inside the functions), so ``--help`` works without building anything.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import pathlib
import re
from typing import Any

from .assets import check_local_assets
from .tasks import TASK_PLAY, TASK_TRAIN, load_cfg

__all__ = [
    "add_common_args",
    "find_checkpoint",
    "latest_checkpoint_in",
    "make_env",
    "make_runner",
    "motion_command",
    "motion_files_of",
    "policy_metadata",
    "print_sampler",
    "runner_class",
    "sampler_of",
    "write_heatmap",
]


def add_common_args(parser: argparse.ArgumentParser, *, play: bool) -> None:
    """Isaac Lab's usual flags plus ``--motions``."""
    parser.add_argument("--task", default=TASK_PLAY if play else TASK_TRAIN, help="registered task id")
    parser.add_argument("--num_envs", type=int, default=4 if play else 16, help="number of parallel environments")
    parser.add_argument("--device", default="cpu", help="simulation and training device: cpu or cuda:N")
    parser.add_argument("--seed", type=int, default=42, help="seed of the environment, the policy and the sampler")
    parser.add_argument("--motions", nargs="+", default=None,
                        help="motion files, directories or globs (BeyondMimic npz); default: the demo motions")
    parser.add_argument("--headless", action="store_true",
                        help="accepted for Isaac Lab compatibility; the kit-less CPU stack never opens a window")
    parser.add_argument("--robot", choices=["local", "isaaclab"], default="local",
                        help="local: the G1 converted by scripts/setup_isaaclab.sh; isaaclab: Isaac Lab's own G1 "
                             "(NVIDIA's assets, with Isaac Sim)")
    parser.add_argument("--physics", choices=["newton", "physx"], default="newton",
                        help="newton: Newton/MuJoCo-Warp (CPU or GPU); physx: PhysX (Isaac Sim)")
    parser.add_argument("--log_root", default=os.path.join("logs", "rsl_rl"), help="root folder of the run logs")
    parser.add_argument("--experiment_name", default=None, help="experiment folder under --log_root")
    parser.add_argument("--load_run", default=None, help="run folder to load from (regex; default: the latest)")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint file: a path, or a file-name regex inside --load_run (default: the latest)")


def _check_args(args: argparse.Namespace) -> None:
    if args.num_envs < 1:
        raise ValueError(f"--num_envs must be >= 1, got {args.num_envs}")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", args.device):
        raise ValueError(f"--device must be 'cpu' or 'cuda[:N]', got {args.device!r}")
    if getattr(args, "motions", None):
        from adaptive_sampling_motions.clips import resolve_motion_files

        try:  # before the simulator starts: a wrong path is a usage error, not a traceback minutes later
            resolve_motion_files(args.motions)
        except (TypeError, ValueError, FileNotFoundError) as error:
            raise SystemExit(f"--motions: {error}") from None


def make_env(args: argparse.Namespace, *, play: bool = False) -> tuple[Any, Any]:
    """Build the task's env (wrapped for rsl-rl) and its agent cfg from the flags.

    Returns:
        ``(wrapped_env, agent_cfg)``.
    """
    _check_args(args)
    import gymnasium as gym
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, check_rsl_rl_version, handle_deprecated_rsl_rl_cfg

    env_cfg = load_cfg(args.task)
    agent_cfg = load_cfg(args.task, "rsl_rl_cfg_entry_point")
    env_cfg.use_robot(args.robot)
    env_cfg.use_physics(args.physics)
    if args.robot == "local":
        check_local_assets()
    env_cfg.scene.num_envs = args.num_envs
    env_cfg.sim.device = args.device
    env_cfg.seed = args.seed
    preset = getattr(args, "sampler", None)
    if preset not in (None, "default"):
        from adaptive_sampling import AdaptiveSamplerCfg

        env_cfg.commands.motion.sampler = getattr(AdaptiveSamplerCfg, preset)()
    env_cfg.commands.motion.sampler.seed = args.seed
    if args.motions:
        env_cfg.set_motions(args.motions)
    if play and getattr(args, "motion", None) is not None:
        motion = args.motion
        env_cfg.commands.motion.eval_motion = int(motion) if motion.isdigit() else motion
    agent_cfg.device = args.device
    agent_cfg.seed = args.seed
    if getattr(args, "max_iterations", None) is not None:
        agent_cfg.max_iterations = args.max_iterations
    init_std = getattr(args, "init_std", None)
    if init_std is not None:
        if not init_std > 0.0:
            raise ValueError(f"--init_std must be > 0, got {init_std}")
        agent_cfg.actor.distribution_cfg.init_std = float(init_std)
    if getattr(args, "logger", None) is not None:
        agent_cfg.logger = args.logger
    if args.experiment_name:
        agent_cfg.experiment_name = args.experiment_name
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    env = gym.make(args.task, cfg=env_cfg)
    return RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions), agent_cfg


def runner_class() -> tuple[type, bool]:
    """The adaptive-sampling runner (checkpoints and logs the sampler), or rsl-rl's plain runner if it is absent.

    Returns:
        ``(cls, is_adaptive)``.
    """
    try:
        from adaptive_sampling_rsl_rl.runner import AdaptiveSamplingRunner
    except ImportError:
        from rsl_rl.runners import OnPolicyRunner

        print("[adaptive_sampling] WARNING: adaptive_sampling_rsl_rl.runner is not available; using rsl-rl's "
              "OnPolicyRunner: checkpoints will NOT carry the sampler state")
        return OnPolicyRunner, False
    return AdaptiveSamplingRunner, True


def make_runner(env: Any, agent_cfg: Any, log_dir: str | None, *, export_onnx: bool | None = None) -> Any:
    """The rsl-rl runner for ``env`` (see :func:`runner_class`).

    The adaptive runner also gets the env's deployment metadata (:func:`policy_metadata`) and the motion files, for
    ``policy.onnx`` next to each checkpoint (``export_onnx``; ``None``: the agent cfg's ``export_onnx``) and the run
    record.
    """
    from isaaclab.utils import class_to_dict

    cls, adaptive = runner_class()
    train_cfg = class_to_dict(agent_cfg)
    if not adaptive:
        train_cfg.pop("export_onnx", None)
        train_cfg.pop("sampler_image_interval", None)
        return cls(env, train_cfg, log_dir=log_dir, device=agent_cfg.device)
    return cls(
        env,
        train_cfg,
        log_dir=log_dir,
        device=agent_cfg.device,
        export_onnx=export_onnx,
        policy_metadata=lambda: policy_metadata(env),
        motion_files=motion_files_of(env),
    )


def motion_command(env: Any) -> Any:
    """The env's motion command term."""
    return env.unwrapped.command_manager.get_term("motion")


def motion_files_of(env: Any) -> list[str]:
    """The motion files of the env's library, in library (one-hot) order."""
    return [str(path) for path in motion_command(env).library.paths]


def policy_metadata(env: Any) -> dict[str, Any]:
    """What a robot-side controller needs besides the network, under BeyondMimic's metadata keys where they exist.

    Joint names in action order, PD stiffness and damping, default joint positions (the action offset), action
    scale, anchor and tracked bodies, command and actor observation terms (with their history lengths, as BeyondMimic
    writes them, and their sizes), and which term is the one-hot motion id. The runner adds the motion library.
    """
    import torch
    from adaptive_sampling_rsl_rl import export

    unwrapped = env.unwrapped
    robot = unwrapped.scene["robot"]
    data = robot.data

    def row(value: Any) -> list[float]:
        value = getattr(value, "torch", value)  # Isaac Lab 3.x ProxyArray
        return torch.as_tensor(value)[0].detach().cpu().double().tolist()

    manager = unwrapped.observation_manager
    names = list(manager.active_terms["policy"])
    dims = [math.prod(shape) for shape in manager.group_obs_term_dim["policy"]]
    group_cfg = manager.cfg.policy
    group_history = getattr(group_cfg, "history_length", None)
    history = [
        group_history if group_history else max(1, getattr(getattr(group_cfg, name), "history_length", 0) or 0)
        for name in names
    ]
    action = unwrapped.action_manager.get_term("joint_pos")
    scale = action._scale
    scale = scale[0].detach().cpu().double().tolist() if torch.is_tensor(scale) else float(scale)
    command = motion_command(env)
    return export.policy_metadata(
        joint_names=list(robot.joint_names),
        joint_stiffness=row(data.joint_stiffness),
        joint_damping=row(data.joint_damping),
        default_joint_pos=row(data.default_joint_pos),
        action_scale=scale,
        command_names=list(unwrapped.command_manager.active_terms),
        observation_names=names,
        observation_dims=dims,
        observation_history_lengths=history,
        anchor_body_name=command.cfg.anchor_body_name,
        body_names=list(command.cfg.body_names),
    )


def find_checkpoint(log_root: str | os.PathLike, load_run: str | None, checkpoint: str | None) -> pathlib.Path:
    """Resolve a checkpoint: a file path as is, else the latest ``model_*.pt`` of the latest matching run.

    Raises:
        FileNotFoundError: nothing matches.
    """
    if checkpoint is not None and os.path.isfile(checkpoint):
        return pathlib.Path(checkpoint).resolve()
    root = pathlib.Path(log_root)
    runs = sorted(p for p in root.glob("*") if p.is_dir() and (load_run is None or re.fullmatch(load_run, p.name)))
    if not runs:
        raise FileNotFoundError(f"no run folder{f' matching {load_run!r}' if load_run else ''} in {root}")
    run = runs[-1]
    pattern = checkpoint or r"model_.*\.pt"
    files = [p for p in run.glob("*.pt") if re.fullmatch(pattern, p.name)]
    if not files:
        raise FileNotFoundError(f"no checkpoint matching {pattern!r} in {run}")

    def iteration(path: pathlib.Path) -> int:
        digits = re.findall(r"\d+", path.stem)
        return int(digits[-1]) if digits else -1

    return max(files, key=iteration).resolve()


def sampler_of(env: Any) -> Any:
    """The env's adaptive sampler (set by the motion command)."""
    sampler = getattr(env.unwrapped, "adaptive_sampler", None)
    if sampler is None:
        raise RuntimeError("the environment exposes no adaptive_sampler (is the motion command missing?)")
    return sampler


def print_sampler(sampler: Any, header: str = "sampler") -> dict[str, float]:
    """Print the sampler's metrics and per-motion probability mass; return the metrics."""
    metrics = sampler.metrics()
    names = sampler.layout.motion_names
    mass = sampler.tables()["motion_mass"].tolist()
    keys = ("entropy", "effective_num_bins", "top1_prob", "max_over_uniform", "coverage", "mean_failure_rate")
    shown = ", ".join(f"{k}={metrics[k]:.4g}" for k in keys if k in metrics)
    print(f"[{header}] clock={sampler.clock} bins={sampler.num_bins} {shown}")
    print(f"[{header}] motion mass: " + ", ".join(f"{n}={m:.3f}" for n, m in zip(names, mass, strict=True)))
    return metrics


def write_heatmap(
    sampler: Any, path: str | os.PathLike, num_envs: int | None = None, world_size: int = 1
) -> pathlib.Path:
    """Write the sampler's (motion x clip time) probability and failure-rate heatmap as a PNG, atomically.

    With ``num_envs`` the title counts the env steps of all envs (``sampler.clock`` steps of ``num_envs`` envs on
    ``world_size`` ranks); without, the steps of each env.
    """
    from adaptive_sampling.plot import env_steps_title, plot_sampler

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    title = (
        env_steps_title(sampler, num_envs, world_size)
        if num_envs is not None
        else f"adaptive sampler after {sampler.clock:,} steps of each env"
    )
    plot_sampler(sampler, str(tmp), title=title)
    os.replace(tmp, path)
    return path


def latest_checkpoint_in(log_dir: str | os.PathLike) -> pathlib.Path | None:
    """The highest-iteration ``model_*.pt`` in ``log_dir`` (None if there is none)."""
    files = glob.glob(os.path.join(str(log_dir), "model_*.pt"))
    if not files:
        return None
    return pathlib.Path(max(files, key=lambda f: int(re.findall(r"\d+", os.path.basename(f))[-1])))
