"""mjlab's rsl-rl runner with the adaptive sampler in every checkpoint. Imports mjlab's rl package and rsl_rl.

:class:`MjlabAdaptiveSamplingRunner` is the project's :class:`~adaptive_sampling_rsl_rl.AdaptiveSamplingRunner`
(sampler state saved and restored with each checkpoint, its metrics logged as ``Sampler/*``, synced across ranks)
on top of mjlab's :class:`~mjlab.rl.MjlabOnPolicyRunner` (mjlab's model-config clean-up, legacy checkpoint
migration, the env's ``common_step_counter`` kept across a resume), and with ``export_onnx`` (on for the G1 task)
``policy.onnx`` next to every checkpoint: the actor and its normaliser with the deployment metadata read from the
mjlab env (:func:`policy_metadata`) and the motion library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner, export

from mjlab.rl import MjlabOnPolicyRunner, RslRlOnPolicyRunnerCfg

__all__ = ["MjlabAdaptiveSamplingRunner", "MjlabAdaptiveSamplingRunnerCfg", "policy_metadata"]


@dataclass
class MjlabAdaptiveSamplingRunnerCfg(RslRlOnPolicyRunnerCfg):
    """mjlab's PPO runner config plus the ONNX export of every checkpoint."""

    export_onnx: bool = True
    """Write ``policy.onnx`` (actor, normaliser, deployment metadata) next to every checkpoint."""


def policy_metadata(env: Any) -> dict[str, Any]:
    """The deployment metadata of an mjlab tracking env (:func:`adaptive_sampling_rsl_rl.export.policy_metadata`).

    Joints in action order (the ``joint_pos`` action term's targets, which need not be the robot's joint order),
    the PD stiffness and damping of each joint's position actuator as compiled into the MuJoCo model, the action
    offset (the default joint positions of the targets) and scale, the actor observation terms with their sizes and
    history lengths, and the motion command's anchor and tracked bodies.
    """
    import torch

    def row(value: torch.Tensor) -> list[float]:
        return value[0].detach().cpu().double().tolist()

    unwrapped = env.unwrapped
    robot = unwrapped.scene["robot"]
    action = unwrapped.action_manager.get_term("joint_pos")
    joints = list(action.target_names)
    # each position actuator drives one joint: kp = gainprm[0], kd = -biasprm[2]
    actuator_of = {actuator.target.split("/")[-1]: actuator.id for actuator in robot.spec.actuators}
    missing = [name for name in joints if name not in actuator_of]
    if missing:
        raise ValueError(f"policy_metadata: joints without an actuator: {missing}")
    ids = [actuator_of[name] for name in joints]
    model = unwrapped.sim.mj_model
    scale, offset = action.scale, action.offset
    manager = unwrapped.observation_manager
    names = list(manager.active_terms["actor"])
    group_history = manager.cfg["actor"].history_length
    history = [
        group_history if group_history else max(1, manager.get_term_cfg("actor", name).history_length or 0)
        for name in names
    ]
    command = unwrapped.command_manager.get_term("motion")
    return export.policy_metadata(
        joint_names=joints,
        joint_stiffness=model.actuator_gainprm[ids, 0].tolist(),
        joint_damping=(-model.actuator_biasprm[ids, 2]).tolist(),
        default_joint_pos=row(offset) if torch.is_tensor(offset) else [float(offset)] * len(joints),
        action_scale=row(scale) if torch.is_tensor(scale) else float(scale),
        command_names=list(unwrapped.command_manager.active_terms),
        observation_names=names,
        observation_dims=[math.prod(shape) for shape in manager.group_obs_term_dim["actor"]],
        observation_history_lengths=history,
        anchor_body_name=command.cfg.anchor_body_name,
        body_names=list(command.cfg.body_names),
    )


class MjlabAdaptiveSamplingRunner(AdaptiveSamplingRunner, MjlabOnPolicyRunner):
    """rsl-rl runner for mjlab tasks whose env exposes ``adaptive_sampler`` (checkpointed, logged, synced).

    Method order: the sampler runner first (``save`` writes the checkpoint with the sampler state atomically;
    ``load`` restores the sampler, then calls mjlab's ``load``), mjlab's runner next. The motion files of the env's
    ``motion`` command go into the run record (hashed) unless ``motion_files`` is given; the deployment metadata of
    ``policy.onnx`` is :func:`policy_metadata` of the env unless ``policy_metadata`` is given. ``export_onnx`` is
    read from ``train_cfg["export_onnx"]`` (:class:`MjlabAdaptiveSamplingRunnerCfg`) unless given.
    """

    def __init__(
        self, env: Any, train_cfg: dict, log_dir: str | None = None, device: str = "cpu", **kwargs: Any
    ) -> None:
        if "motion_files" not in kwargs:
            command_manager = getattr(env.unwrapped, "command_manager", None)
            terms = getattr(command_manager, "active_terms", [])
            motions = getattr(command_manager.get_term("motion"), "library", None) if "motion" in terms else None
            if motions is not None:
                kwargs["motion_files"] = list(motions.paths)
        if "policy_metadata" not in kwargs:
            kwargs["policy_metadata"] = lambda: policy_metadata(env)
        super().__init__(env, train_cfg, log_dir, device, **kwargs)

    def save(self, path: str, infos: dict | None = None) -> None:
        """Save models, optimizer, sampler state and, as mjlab does, the env's ``common_step_counter``.

        As mjlab's runner, the upload to W&B happens only with ``upload_model`` (the default) in the agent config.
        """
        env_state = {"common_step_counter": self.env.unwrapped.common_step_counter}
        infos: dict[str, Any] = {**(infos or {}), "env_state": env_state}
        if self.cfg.get("upload_model", True):
            super().save(path, infos)
            return
        self.logger.save_model = lambda *args, **kwargs: None  # shadows the method for this save only
        try:
            super().save(path, infos)
        finally:
            del self.logger.save_model
