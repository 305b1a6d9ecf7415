"""Play the multi-motion G1 tracker in mjlab: frame-0 starts, sampler statistics frozen.

mjlab's ``play`` flags where they apply (``--agent zero|random|trained``, ``--checkpoint-file``, ``--num-envs``,
``--device``, ``--viewer``, ``--no-terminations``, ``--log-root``), plus ``--motions FILE|DIR|GLOB ...``,
``--motion NAME|INDEX`` (the clip every env plays; default: drawn from the prior), ``--viewer none`` (no window:
run ``--num-steps`` steps and print the tracking errors, for servers and tests) and ``--export True`` (write
``policy.onnx`` with the deployment metadata next to the checkpoint; the played actions of the exported file are
compared with the torch policy's). Without ``--checkpoint-file`` the latest checkpoint under
``<log-root>/g1_multi_motion_tracking_mjlab`` is played.

Examples::

    python integrations/mjlab/play.py --viewer none --num-steps 500
    python integrations/mjlab/play.py --motion quick_squat --checkpoint-file logs/rsl_rl/<experiment>/<run>/model_100.pt
    python integrations/mjlab/play.py --agent zero --no-terminations True     # watch the references
    python integrations/mjlab/play.py --export True --viewer none --num-steps 0  # policy.onnx, no playing
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import tyro
from adaptive_sampling_mjlab import tasks

import mjlab
from mjlab.envs import ManagerBasedRlEnv
from mjlab.rl import RslRlVecEnvWrapper
from mjlab.tasks.registry import load_env_cfg, load_rl_cfg, load_runner_cls
from mjlab.utils.os import get_checkpoint_path


@dataclass(frozen=True)
class PlayConfig:
    """What to play and how to show it."""

    agent: Literal["zero", "random", "trained"] = "trained"
    """The policy: zero or random actions, or the trained one of a checkpoint."""
    checkpoint_file: str | None = None
    """Checkpoint to play; default: the latest under ``<log-root>/<experiment>``."""
    motions: tuple[str, ...] = ()
    """Motion files, directories or globs; empty: the task's (the G1 demo clips)."""
    motion: str | None = None
    """The motion every env plays from frame 0 (name or index); default: motions drawn from the prior."""
    num_envs: int | None = None
    """Number of envs; default: the task's."""
    num_steps: int = 500
    """Env steps to run with ``--viewer none``."""
    device: str | None = None
    """cpu or cuda:N; default: cuda:0 where available."""
    viewer: Literal["auto", "native", "viser", "none"] = "auto"
    """mjlab's viewers (auto: native with a display, else viser), or none: run headless and print errors."""
    no_terminations: bool = False
    """Disable all terminations (watch the references with a dummy agent)."""
    log_root: str = "logs/rsl_rl"
    """Root folder of the run logs."""
    export: bool = False
    """Write ``policy.onnx`` (actor, normaliser, deployment metadata) next to the checkpoint, and compare its
    actions with the torch policy's on the played observations (where onnxruntime is installed)."""


class OnnxCheckedPolicy:
    """The torch policy, with the exported ONNX file run on the same actor observations alongside.

    Attributes:
        max_abs_diff: Largest absolute difference between the two policies' actions so far.
        count: Observations compared.
    """

    def __init__(self, policy, path: str) -> None:
        from adaptive_sampling_rsl_rl.onnx_policy import OnnxPolicy

        self.policy = policy
        self.onnx = OnnxPolicy(path)
        self.max_abs_diff = 0.0
        self.count = 0

    def __call__(self, obs):
        """The torch policy's actions; the exported file's are compared with them."""
        actions = self.policy(obs)
        exported = torch.from_numpy(self.onnx(obs["actor"].detach().cpu().numpy()))
        self.max_abs_diff = max(self.max_abs_diff, float((exported - actions.detach().cpu()).abs().max()))
        self.count += int(actions.shape[0])
        return actions


def build(task: str, cfg: PlayConfig):
    """The wrapped play env, the policy and the motion command."""
    if cfg.export and cfg.agent != "trained":
        raise ValueError(f"export needs the trained agent (a checkpoint), got agent={cfg.agent!r}")
    env_cfg = load_env_cfg(task, play=True)
    agent_cfg = load_rl_cfg(task)
    command_cfg = env_cfg.commands[tasks.COMMAND_NAME]
    if cfg.motions:
        command_cfg.motions = list(cfg.motions)
    if cfg.motion is not None:
        command_cfg.eval_motion = int(cfg.motion) if cfg.motion.isdigit() else cfg.motion
    if cfg.no_terminations:
        env_cfg.terminations = {}
    if cfg.num_envs is not None:
        env_cfg.scene.num_envs = cfg.num_envs
    device = cfg.device or ("cuda:0" if torch.cuda.is_available() else "cpu")
    env = RslRlVecEnvWrapper(ManagerBasedRlEnv(cfg=env_cfg, device=device), clip_actions=agent_cfg.clip_actions)
    command = env.unwrapped.command_manager.get_term(tasks.COMMAND_NAME)
    action_shape = env.unwrapped.action_space.shape
    if cfg.agent == "zero":
        def policy(obs):
            return torch.zeros(action_shape, device=device)
    elif cfg.agent == "random":
        def policy(obs):
            return 2 * torch.rand(action_shape, device=device) - 1
    else:
        if cfg.checkpoint_file is not None:
            checkpoint = Path(cfg.checkpoint_file)
            if not checkpoint.is_file():
                raise FileNotFoundError(f"checkpoint file not found: {checkpoint}")
        else:
            checkpoint = get_checkpoint_path((Path(cfg.log_root) / agent_cfg.experiment_name).resolve(),
                                             agent_cfg.load_run, agent_cfg.load_checkpoint)
        print(f"[adaptive-sampling] loading {checkpoint}")
        runner = load_runner_cls(task)(env, dataclasses.asdict(agent_cfg), device=device)
        runner.load(str(checkpoint), load_cfg={"actor": True}, strict=True, map_location=device)
        policy = runner.get_inference_policy(device=device)
        if cfg.export:
            from adaptive_sampling_rsl_rl.export import ONNX_FILENAME

            path = runner.export_policy(str(checkpoint.parent / ONNX_FILENAME), run_path=str(checkpoint.parent))
            print(f"[adaptive-sampling] exported {path}")
            try:
                policy = OnnxCheckedPolicy(policy, path)
            except ImportError as err:
                print(f"[adaptive-sampling] onnxruntime is not available ({err}): the exported file is not compared")
    # the checkpoint's sampler state says "training": play keeps frame-0 starts and frozen statistics
    command.set_evaluation(True, command_cfg.eval_motion)
    env.reset()
    return env, policy, command


def run_headless(env, policy, command, num_steps: int) -> dict[str, float]:
    """Run ``num_steps`` steps; return the mean tracking errors and the number of episodes that ended."""
    errors = {"error_anchor_pos": 0.0, "error_body_pos": 0.0, "error_joint_pos": 0.0}
    resets = 0
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(num_steps):
            obs, _, dones, _ = env.step(policy(obs))
            resets += int(dones.sum())
            for key in errors:
                errors[key] += float(command.metrics[key].mean()) / num_steps
    return {**errors, "episodes_ended": float(resets)}


def main(argv: list[str] | None = None) -> int:
    """Play; return the exit status."""
    from adaptive_sampling_mjlab.train import split_motions, split_task

    task, rest = split_task(list(sys.argv[1:] if argv is None else argv))
    motions, rest = split_motions(rest)
    if motions:
        rest += ["--motions", repr(tuple(motions))]
    cfg = tyro.cli(PlayConfig, args=rest, default=PlayConfig(), prog=f"play.py {task}", config=mjlab.TYRO_FLAGS)
    env, policy, command = build(task, cfg)
    names = command.library.motion_names
    print(f"[adaptive-sampling] playing {env.num_envs} envs from frame 0: "
          f"{sorted({names[i] for i in command.motion_ids.tolist()})}")
    viewer = cfg.viewer
    if viewer == "auto":
        viewer = "native" if (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) else "viser"
    if viewer == "none":
        result = run_headless(env, policy, command, cfg.num_steps)
        print(f"[adaptive-sampling] {cfg.num_steps} steps: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    elif viewer == "native":
        from mjlab.viewer import NativeMujocoViewer

        NativeMujocoViewer(env, policy).run()
    else:
        from mjlab.viewer import ViserPlayViewer

        ViserPlayViewer(env, policy).run()
    if isinstance(policy, OnnxCheckedPolicy) and policy.count:
        print(f"[adaptive-sampling] onnx vs torch actions: max abs diff {policy.max_abs_diff:.3e} over "
              f"{policy.count} observations")
    env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
