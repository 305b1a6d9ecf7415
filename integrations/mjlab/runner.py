"""mjlab's rsl-rl runner with the adaptive sampler in every checkpoint. Imports mjlab's rl package and rsl_rl.

:class:`MjlabAdaptiveSamplingRunner` is the project's :class:`~adaptive_sampling_rsl_rl.AdaptiveSamplingRunner`
(sampler state saved and restored with each checkpoint, its metrics logged as ``Sampler/*``, synced across ranks)
on top of mjlab's :class:`~mjlab.rl.MjlabOnPolicyRunner` (mjlab's model-config clean-up, legacy checkpoint
migration, the env's ``common_step_counter`` kept across a resume).
"""

from __future__ import annotations

from typing import Any

from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner

from mjlab.rl import MjlabOnPolicyRunner

__all__ = ["MjlabAdaptiveSamplingRunner"]


class MjlabAdaptiveSamplingRunner(AdaptiveSamplingRunner, MjlabOnPolicyRunner):
    """rsl-rl runner for mjlab tasks whose env exposes ``adaptive_sampler`` (checkpointed, logged, synced).

    Method order: the sampler runner first (``save`` writes the checkpoint with the sampler state atomically;
    ``load`` restores the sampler, then calls mjlab's ``load``), mjlab's runner next. The motion files of the env's
    ``motion`` command go into the run record (hashed) unless ``motion_files`` is given.
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
