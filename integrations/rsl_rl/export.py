"""Export a trained rsl-rl actor, with its observation normaliser, to ONNX with deployment metadata.

Imports torch (and ``onnx`` when writing metadata, the ``onnx`` extra); the actor is reached through rsl-rl's own
export hooks (``get_policy().as_onnx()`` in rsl-rl-lib 4.x and 5.x, ``policy.actor`` and its normaliser in 3.x).

The ONNX model has one input ``obs`` (shape ``(batch, obs_dim)``, float32, the actor's observation as the env
concatenates it) and one output ``actions`` (the deterministic action, before the env's action scale). Its
``metadata_props`` are strings, written the way BeyondMimic's exporter writes them so that its deployment code
reads ours: lists as comma-separated values, in the keys BeyondMimic uses where they exist
(:data:`BEYONDMIMIC_KEYS`), plus what a multi-motion policy needs (:data:`MULTI_MOTION_KEYS`).
"""

from __future__ import annotations

import copy
import math
import os
import secrets
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

__all__ = [
    "BEYONDMIMIC_KEYS",
    "METADATA_FORMAT",
    "MULTI_MOTION_KEYS",
    "ONNX_FILENAME",
    "export_onnx",
    "format_metadata",
    "onnx_actor",
    "policy_metadata",
    "sampler_metadata",
]

ONNX_FILENAME = "policy.onnx"
"""File name of the exported policy, written next to each checkpoint."""

METADATA_FORMAT = "adaptive-sampling-policy/1"
"""Value of the ``format`` key: what wrote the metadata, and the version of its layout."""

BEYONDMIMIC_KEYS = (
    "run_path",
    "joint_names",
    "joint_stiffness",
    "joint_damping",
    "default_joint_pos",
    "command_names",
    "observation_names",
    "observation_history_lengths",
    "action_scale",
    "anchor_body_name",
    "body_names",
)
"""Keys BeyondMimic's ``attach_onnx_metadata`` writes (same names, same comma-separated format)."""

MULTI_MOTION_KEYS = (
    "format",
    "motion_names",
    "motion_num_frames",
    "motion_fps",
    "motion_sha256",
    "motion_id_observation",
    "observation_dims",
)
"""Keys added for a multi-motion policy: the library in one-hot order (names, frames and fps per motion, content
hashes of the files), which observation term is the one-hot motion id, and each observation term's size."""


def onnx_actor(runner: Any) -> tuple[nn.Module, int]:
    """A CPU copy of the runner's actor with its observation normaliser, mapping observations to mean actions.

    Args:
        runner: An rsl-rl ``OnPolicyRunner`` (rsl-rl-lib 3.x, 4.x or 5.x).

    Returns:
        ``(module, obs_dim)``: the module in eval mode on the CPU, and the size of its input.

    Raises:
        TypeError: If the runner's policy is recurrent or of a kind this exporter does not know.
    """
    alg = runner.alg
    policy = alg.get_policy() if hasattr(alg, "get_policy") else getattr(alg, "actor", None)
    if policy is not None and hasattr(policy, "as_onnx"):  # rsl-rl-lib >= 4
        if getattr(policy, "is_recurrent", False):
            raise TypeError("onnx_actor: recurrent policies are not supported (their hidden state is an input)")
        module = policy.as_onnx(verbose=False)
        obs_dim = int(module.get_dummy_inputs()[0].shape[-1])
    else:  # rsl-rl-lib 3.x: ActorCritic with actor and actor_obs_normalizer
        actor_critic = getattr(alg, "policy", None)
        actor = getattr(actor_critic, "actor", None)
        if not isinstance(actor, nn.Sequential):
            raise TypeError(f"onnx_actor: cannot find an MLP actor on {type(alg).__name__}")
        if getattr(actor_critic, "is_recurrent", False):
            raise TypeError("onnx_actor: recurrent policies are not supported (their hidden state is an input)")
        normalizer = getattr(actor_critic, "actor_obs_normalizer", None) or nn.Identity()
        module = nn.Sequential(copy.deepcopy(normalizer), copy.deepcopy(actor))
        obs_dim = int(next(m for m in actor if isinstance(m, nn.Linear)).in_features)
    module = module.to("cpu").eval()
    return module, obs_dim


def export_onnx(runner: Any, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> str:
    """Write the runner's actor (with its normaliser) to ``path`` as ONNX, with ``metadata``, atomically.

    Args:
        runner: An rsl-rl ``OnPolicyRunner``.
        path: The ``.onnx`` file to write (its folder is created).
        metadata: Key -> value; values are formatted by :func:`format_metadata`.

    Returns:
        ``path`` as a string.
    """
    import onnx  # the "onnx" extra

    props = format_metadata(metadata or {})
    module, obs_dim = onnx_actor(runner)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp_export.{os.getpid()}.{secrets.token_hex(4)}.onnx")
    try:
        _torch_onnx_export(module, obs_dim, tmp)
        model = onnx.load(tmp)
        for key, value in props.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(model, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _torch_onnx_export(module: nn.Module, obs_dim: int, path: str) -> None:
    """``torch.onnx.export`` with a dynamic batch axis.

    The TorchScript exporter takes ~0.2 s for a G1 actor, the torch.export-based one (``dynamo=True``, needs
    ``onnxscript``) ~6 s on a CPU: at every checkpoint that matters, so the first is used while torch has it.
    """
    dummy = (torch.zeros(1, obs_dim),)
    names = {"input_names": ["obs"], "output_names": ["actions"], "opset_version": 18}
    with torch.no_grad():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=DeprecationWarning)
                warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
                warnings.filterwarnings("ignore", message=".*will be removed.*")
                torch.onnx.export(
                    module,
                    dummy,
                    path,
                    dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}},
                    dynamo=False,
                    **names,
                )
            return
        except (TypeError, RuntimeError, NotImplementedError):  # a torch without the TorchScript exporter
            pass
        batch = torch.export.Dim("batch")
        torch.onnx.export(module, dummy, path, dynamic_shapes=({0: batch},), dynamo=True, **names)


def format_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    """ONNX metadata strings: lists as comma-separated values (BeyondMimic's format), floats at full precision.

    Raises:
        TypeError: If a key is not a string or a value is not a string, number, bool or flat sequence of them.
        ValueError: If a list entry contains a comma (it would split on reading) or a number is not finite.
    """
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be strings, got {type(key).__name__}: {key!r}")
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            value = value.tolist()
        if isinstance(value, (str, bool, int, float)):
            out[key] = _scalar(key, value)
        elif isinstance(value, Sequence):
            items = [_scalar(key, v) for v in value]
            bad = [v for v in items if "," in v]
            if bad:
                raise ValueError(f"metadata[{key!r}] entries must not contain ',', got {bad[:3]}")
            out[key] = ",".join(items)
        else:
            raise TypeError(f"metadata[{key!r}] must be a string, number or list of them, got {type(value).__name__}")
    return out


def _scalar(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"metadata[{key!r}] must be finite, got {value}")
        return repr(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"metadata[{key!r}] entries must be strings or numbers, got {type(value).__name__}: {value!r}")


def sampler_metadata(sampler: Any) -> dict[str, Any]:
    """The motion library as the sampler knows it (motion names in library order, frames and fps per motion).

    Reads ``sampler.state_dict()["layout"]`` (the :class:`~adaptive_sampling_rsl_rl.runner.SamplerLike` protocol);
    returns ``{}`` for a sampler whose state has no layout.
    """
    layout = sampler.state_dict().get("layout") if sampler is not None else None
    if not isinstance(layout, Mapping):
        return {}
    return {
        "motion_names": [str(n) for n in layout["motion_names"]],
        "motion_num_frames": [int(n) for n in layout["num_frames"]],
        "motion_fps": [float(f) for f in layout["fps"]],
    }


def policy_metadata(
    *,
    joint_names: Sequence[str],
    joint_stiffness: Sequence[float],
    joint_damping: Sequence[float],
    default_joint_pos: Sequence[float],
    action_scale: float | Sequence[float],
    command_names: Sequence[str],
    observation_names: Sequence[str],
    observation_dims: Sequence[int],
    observation_history_lengths: Sequence[int],
    anchor_body_name: str,
    body_names: Sequence[str],
    motion_id_observation: str = "motion_id",
) -> dict[str, Any]:
    """The env's deployment metadata under BeyondMimic's keys, checked; each simulator adapter reads the values.

    Joints are in action order (``default_joint_pos`` is the action offset); a scalar ``action_scale`` is repeated
    per joint; observation terms are the actor's, in input order. ``motion_id_observation`` is kept only where it is
    one of ``observation_names`` (else ``None``: the policy has no one-hot motion id). The runner adds the motion
    library (:func:`sampler_metadata`).

    Raises:
        ValueError: If the per-joint lists or the per-observation-term lists differ in length.
    """
    joints = [str(n) for n in joint_names]
    if isinstance(action_scale, (int, float)):
        action_scale = [float(action_scale)] * len(joints)
    per_joint = {
        "joint_stiffness": joint_stiffness,
        "joint_damping": joint_damping,
        "default_joint_pos": default_joint_pos,
        "action_scale": action_scale,
    }
    per_joint = {key: [float(v) for v in value] for key, value in per_joint.items()}
    for key, value in per_joint.items():
        if len(value) != len(joints):
            raise ValueError(f"{key} must have one entry per joint ({len(joints)}), got {len(value)}")
    names = [str(n) for n in observation_names]
    per_term = {
        "observation_dims": [int(d) for d in observation_dims],
        "observation_history_lengths": [int(h) for h in observation_history_lengths],
    }
    for key, value in per_term.items():
        if len(value) != len(names):
            raise ValueError(f"{key} must have one entry per observation term ({len(names)}), got {len(value)}")
    return {
        "joint_names": joints,
        **per_joint,
        "command_names": [str(n) for n in command_names],
        "observation_names": names,
        **per_term,
        "motion_id_observation": motion_id_observation if motion_id_observation in names else None,
        "anchor_body_name": str(anchor_body_name),
        "body_names": [str(n) for n in body_names],
    }
