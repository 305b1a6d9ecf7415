"""The multi-motion G1 tracking task, registered with mjlab (importing this module registers it).

The task is mjlab's own ``Mjlab-Tracking-Flat-Unitree-G1`` (its scene, G1, observations, rewards, terminations,
events and PPO settings) with the single-motion ``MotionCommand`` replaced by
:class:`~adaptive_sampling_mjlab.command.MultiMotionCommand` (same body set and randomisation), the motion id
(one-hot) and clip progress added to the actor and critic observations, and the
:class:`~adaptive_sampling_mjlab.runner.MjlabAdaptiveSamplingRunner` as runner. The play variant starts every env at
frame 0 with the sampler frozen, as mjlab's play config does with ``sampling_mode="start"``.

The package also declares this module under mjlab's ``mjlab.tasks`` entry point, so mjlab's own ``train`` and
``play`` list the task too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from adaptive_sampling import AdaptiveSamplerCfg
from mjlab.envs import ManagerBasedRlEnvCfg
from mjlab.managers.observation_manager import ObservationTermCfg
from mjlab.rl import RslRlOnPolicyRunnerCfg
from mjlab.tasks.registry import list_tasks, register_mjlab_task
from mjlab.tasks.tracking.config.g1.env_cfgs import unitree_g1_flat_tracking_env_cfg
from mjlab.tasks.tracking.config.g1.rl_cfg import unitree_g1_tracking_ppo_runner_cfg
from mjlab.tasks.tracking.mdp import MotionCommandCfg

from . import mdp
from .command import MultiMotionCommandCfg
from .motion_store import demo_motions_dir
from .runner import MjlabAdaptiveSamplingRunner, MjlabAdaptiveSamplingRunnerCfg

__all__ = [
    "SAMPLER_PRESETS",
    "TASK_ID",
    "TASK_ID_NO_STATE_ESTIMATION",
    "g1_multi_motion_env_cfg",
    "g1_multi_motion_ppo_runner_cfg",
    "sampler_cfg",
]

TASK_ID = "AdaptiveSampling-Tracking-Flat-Unitree-G1"
TASK_ID_NO_STATE_ESTIMATION = "AdaptiveSampling-Tracking-Flat-Unitree-G1-No-State-Estimation"
COMMAND_NAME = "motion"

SAMPLER_PRESETS = ("default", "beyondmimic", "paper", "uniform")
"""``--sampler`` choices: the library default, BeyondMimic's code (mjlab's built-in sampler), the paper, uniform."""


def sampler_cfg(preset: str, **overrides) -> AdaptiveSamplerCfg:
    """The sampler configuration of a preset name (one of :data:`SAMPLER_PRESETS`).

    Raises:
        ValueError: unknown preset.
    """
    if preset == "default":
        return AdaptiveSamplerCfg(**overrides)
    if preset in ("beyondmimic", "paper", "uniform"):
        return getattr(AdaptiveSamplerCfg, preset)(**overrides)
    raise ValueError(f"sampler preset must be one of {SAMPLER_PRESETS}, got {preset!r}")


def g1_multi_motion_env_cfg(
    motions: Sequence[str] | None = None,
    *,
    sampler: AdaptiveSamplerCfg | None = None,
    has_state_estimation: bool = True,
    play: bool = False,
) -> ManagerBasedRlEnvCfg:
    """Mjlab's G1 flat tracking env with the multi-motion command and the motion-id / progress observations.

    Args:
        motions: Motion files, directories or globs; default: the G1 demo clips shipped with the project.
        sampler: The sampler configuration; default :class:`~adaptive_sampling.AdaptiveSamplerCfg`.
        has_state_estimation: False drops the anchor position and base velocity from the actor (as mjlab's
            ``-No-State-Estimation`` task).
        play: mjlab's play overrides (endless episodes, no pushes, no start noise, no observation noise) and
            frame-0 starts with the sampler frozen.
    """
    cfg = unitree_g1_flat_tracking_env_cfg(has_state_estimation=has_state_estimation, play=play)
    single = cfg.commands[COMMAND_NAME]
    assert isinstance(single, MotionCommandCfg)  # mjlab's own config: a programming error if not
    cfg.commands[COMMAND_NAME] = MultiMotionCommandCfg(
        motions=list(motions) if motions is not None else [str(demo_motions_dir())],
        anchor_body_name=single.anchor_body_name,
        body_names=tuple(single.body_names),
        entity_name=single.entity_name,
        sampler=sampler if sampler is not None else AdaptiveSamplerCfg(),
        sampling_mode="start" if play else "adaptive",
        pose_range=dict(single.pose_range),
        velocity_range=dict(single.velocity_range),
        joint_position_range=tuple(single.joint_position_range),
        resampling_time_range=tuple(single.resampling_time_range),
        debug_vis=False,
    )
    for group in ("actor", "critic"):
        terms = cfg.observations[group].terms
        # right after the reference command, as the Isaac Lab task orders them
        extra = {
            "motion_id": ObservationTermCfg(func=mdp.motion_one_hot, params={"command_name": COMMAND_NAME}),
            "motion_progress": ObservationTermCfg(func=mdp.motion_progress, params={"command_name": COMMAND_NAME}),
        }
        ordered = {}
        for name, term in terms.items():
            ordered[name] = term
            if name == "command":
                ordered.update(extra)
        ordered.update({k: v for k, v in extra.items() if k not in ordered})
        cfg.observations[group].terms = ordered
    return cfg


def g1_multi_motion_ppo_runner_cfg() -> RslRlOnPolicyRunnerCfg:
    """Mjlab's G1 tracking PPO settings; own experiment name, TensorBoard logging, ``policy.onnx`` at checkpoints.

    TensorBoard needs no account; ``--agent.export-onnx False`` turns the export off.
    """
    base = unitree_g1_tracking_ppo_runner_cfg()
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base) if f.init}
    cfg = MjlabAdaptiveSamplingRunnerCfg(**fields)
    cfg.experiment_name = "g1_multi_motion_tracking_mjlab"  # apart from the Isaac Lab runs
    cfg.logger = "tensorboard"
    return cfg


for _task_id, _state_estimation in ((TASK_ID, True), (TASK_ID_NO_STATE_ESTIMATION, False)):
    if _task_id not in list_tasks():
        register_mjlab_task(
            task_id=_task_id,
            env_cfg=g1_multi_motion_env_cfg(has_state_estimation=_state_estimation),
            play_env_cfg=g1_multi_motion_env_cfg(has_state_estimation=_state_estimation, play=True),
            rl_cfg=g1_multi_motion_ppo_runner_cfg(),
            runner_cls=MjlabAdaptiveSamplingRunner,
        )
