"""Robot side: read an exported ``policy.onnx``, its metadata, and run it with the motion id checked.

Needs only numpy, onnxruntime and the standard library (no torch, no rsl-rl, no simulator): the file can be copied
onto a robot's computer as it is. The metadata format is described in :mod:`adaptive_sampling_rsl_rl.export`.

Example::

    policy = OnnxPolicy("policy.onnx")
    motion = policy.metadata.motion_id("quick_squat")        # ValueError for a motion the policy never learned
    obs = build_observation(...)                             # the terms in policy.metadata.observation_names order,
    obs[policy.metadata.observation_slice("motion_id")] = policy.metadata.one_hot(motion)
    action = policy(obs)                                     # checks the one-hot; joint targets:
    targets = policy.metadata.default_joint_pos + policy.metadata.action_scale * action
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping

import numpy as np

__all__ = ["OnnxPolicy", "PolicyMetadata", "read_metadata", "sha256_file"]


def _csv(props: Mapping[str, str], key: str) -> list[str]:
    value = props.get(key, "")
    return value.split(",") if value else []


def _floats(props: Mapping[str, str], key: str) -> np.ndarray:
    return np.asarray([float(v) for v in _csv(props, key)], dtype=np.float64)


def _ints(props: Mapping[str, str], key: str) -> list[int]:
    return [int(float(v)) for v in _csv(props, key)]


@dataclasses.dataclass(frozen=True)
class PolicyMetadata:
    """The metadata of an exported policy, parsed (lists from comma-separated strings).

    Attributes:
        props: The raw ``key -> string`` metadata.
        motion_names: Motions in library order: index ``i`` is the one-hot's entry ``i``.
        motion_num_frames: Frames per motion (at ``motion_fps``).
        motion_fps: Frame rate per motion as trained (the control rate where the library was resampled to it).
        motion_sha256: Content hash of each motion file (empty where unknown).
        observation_names: Actor observation terms in input order.
        observation_dims: Size of each term (same order; empty where unknown).
        motion_id_observation: The term holding the one-hot motion id (``None``: the policy has none).
        joint_names: Joints in action order.
        default_joint_pos: Joint offsets of the actions. Shape: (num_joints,).
        action_scale: Per-joint action scale. Shape: (num_joints,).
        joint_stiffness: PD stiffness per joint. Shape: (num_joints,).
        joint_damping: PD damping per joint. Shape: (num_joints,).
        anchor_body_name: The body the tracking is anchored to.
        body_names: Tracked bodies.
    """

    props: dict[str, str]
    motion_names: list[str]
    motion_num_frames: list[int]
    motion_fps: list[float]
    motion_sha256: list[str]
    observation_names: list[str]
    observation_dims: list[int]
    motion_id_observation: str | None
    joint_names: list[str]
    default_joint_pos: np.ndarray
    action_scale: np.ndarray
    joint_stiffness: np.ndarray
    joint_damping: np.ndarray
    anchor_body_name: str | None
    body_names: list[str]

    @classmethod
    def from_props(cls, props: Mapping[str, str]) -> PolicyMetadata:
        """Parse the ``metadata_props`` of an exported model.

        Raises:
            ValueError: If per-motion or per-term lists disagree in length.
        """
        props = dict(props)
        meta = cls(
            props=props,
            motion_names=_csv(props, "motion_names"),
            motion_num_frames=_ints(props, "motion_num_frames"),
            motion_fps=[float(v) for v in _csv(props, "motion_fps")],
            motion_sha256=_csv(props, "motion_sha256"),
            observation_names=_csv(props, "observation_names"),
            observation_dims=_ints(props, "observation_dims"),
            motion_id_observation=props.get("motion_id_observation") or None,
            joint_names=_csv(props, "joint_names"),
            default_joint_pos=_floats(props, "default_joint_pos"),
            action_scale=_floats(props, "action_scale"),
            joint_stiffness=_floats(props, "joint_stiffness"),
            joint_damping=_floats(props, "joint_damping"),
            anchor_body_name=props.get("anchor_body_name") or None,
            body_names=_csv(props, "body_names"),
        )
        num = len(meta.motion_names)
        for key in ("motion_num_frames", "motion_fps", "motion_sha256"):
            if getattr(meta, key) and len(getattr(meta, key)) != num:
                raise ValueError(f"metadata {key!r} has {len(getattr(meta, key))} entries for {num} motions")
        if meta.observation_dims and len(meta.observation_dims) != len(meta.observation_names):
            raise ValueError(
                f"metadata 'observation_dims' has {len(meta.observation_dims)} entries for "
                f"{len(meta.observation_names)} observation_names"
            )
        if meta.motion_id_observation is not None and meta.motion_id_observation not in meta.observation_names:
            raise ValueError(
                f"metadata 'motion_id_observation' {meta.motion_id_observation!r} is not among observation_names "
                f"{meta.observation_names}"
            )
        return meta

    @property
    def num_motions(self) -> int:
        """Number of motions the policy was trained on."""
        return len(self.motion_names)

    def motion_id(self, motion: int | str) -> int:
        """The library index of ``motion`` (an index or a name).

        Raises:
            ValueError: If the motion is not in the library the policy was trained on.
            TypeError: If ``motion`` is neither an integer nor a string.
        """
        if isinstance(motion, str):
            if motion not in self.motion_names:
                raise ValueError(
                    f"motion {motion!r} is not in the library this policy was trained on: {self.motion_names}"
                )
            return self.motion_names.index(motion)
        if isinstance(motion, (bool, np.bool_)) or not isinstance(motion, (int, np.integer)):
            raise TypeError(f"motion must be an int index or a name, got {type(motion).__name__}: {motion!r}")
        if not 0 <= int(motion) < self.num_motions:
            raise ValueError(
                f"motion id must be in [0, {self.num_motions}) (the library this policy was trained on: "
                f"{self.motion_names}), got {int(motion)}"
            )
        return int(motion)

    def one_hot(self, motion: int | str) -> np.ndarray:
        """The one-hot motion-id observation of ``motion``. Shape: (num_motions,), float32."""
        out = np.zeros(self.num_motions, dtype=np.float32)
        out[self.motion_id(motion)] = 1.0
        return out

    def observation_slice(self, name: str) -> slice:
        """Where term ``name`` sits in the observation vector.

        Raises:
            ValueError: If the term is unknown or the metadata has no ``observation_dims``.
        """
        if name not in self.observation_names:
            raise ValueError(f"observation term {name!r} is not among {self.observation_names}")
        if not self.observation_dims:
            raise ValueError("the metadata has no 'observation_dims': term positions are unknown")
        i = self.observation_names.index(name)
        start = sum(self.observation_dims[:i])
        return slice(start, start + self.observation_dims[i])

    def check_motion_file(self, motion: int | str, path: str | os.PathLike) -> None:
        """Check that ``path`` holds exactly the motion the policy was trained on (same content hash).

        Raises:
            ValueError: If the hash differs (or the motion is unknown).
        """
        m = self.motion_id(motion)
        if not self.motion_sha256:
            raise ValueError("the metadata has no 'motion_sha256': motion files cannot be checked")
        found = sha256_file(path)
        if found != self.motion_sha256[m]:
            raise ValueError(
                f"motion file {os.fspath(path)!r} differs from the one {self.motion_names[m]!r} was trained on "
                f"(sha256 {found[:12]}..., trained on {self.motion_sha256[m][:12]}...)"
            )


def read_metadata(path: str | os.PathLike) -> PolicyMetadata:
    """The parsed metadata of an exported ``policy.onnx``."""
    import onnxruntime as ort

    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    return PolicyMetadata.from_props(session.get_modelmeta().custom_metadata_map)


class OnnxPolicy:
    """An exported policy in onnxruntime, with its metadata; checks the one-hot motion id of every observation.

    Args:
        path: The ``policy.onnx`` file.
        providers: onnxruntime execution providers (default: the CPU).
    """

    def __init__(self, path: str | os.PathLike, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        self.session = ort.InferenceSession(os.fspath(path), providers=providers or ["CPUExecutionProvider"])
        self.metadata = PolicyMetadata.from_props(self.session.get_modelmeta().custom_metadata_map)
        (inp,) = self.session.get_inputs()
        self.input_name: str = inp.name
        self.obs_dim = int(inp.shape[-1])
        dims = self.metadata.observation_dims
        if dims and sum(dims) != self.obs_dim:
            raise ValueError(f"metadata observation_dims sum to {sum(dims)} but the model takes {self.obs_dim} inputs")
        meta = self.metadata
        self._one_hot = (
            meta.observation_slice(meta.motion_id_observation) if meta.motion_id_observation and dims else None
        )
        if self._one_hot is not None and self._one_hot.stop - self._one_hot.start != meta.num_motions:
            raise ValueError(
                f"observation term {meta.motion_id_observation!r} has {self._one_hot.stop - self._one_hot.start} "
                f"entries for {meta.num_motions} motions"
            )

    def check_observation(self, obs: np.ndarray) -> np.ndarray:
        """Validate a batch of observations; return the motion ids their one-hot encodes. Shape: (batch,).

        Raises:
            ValueError: If the shape is wrong or a row's motion-id entries are not exactly one 1 and zeros elsewhere
                (an id outside the library cannot be encoded: the error says which rows).
        """
        obs = np.asarray(obs)
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape (batch, {self.obs_dim}), got {obs.shape}")
        if self._one_hot is None:
            return np.full(obs.shape[0], -1, dtype=np.int64)
        block = obs[:, self._one_hot]
        valid = np.all((block == 0.0) | (block == 1.0), axis=1) & (np.count_nonzero(block, axis=1) == 1)
        if not valid.all():
            rows = np.flatnonzero(~valid)[:5].tolist()
            raise ValueError(
                f"obs[:, {self._one_hot.start}:{self._one_hot.stop}] ({self.metadata.motion_id_observation}) must be a "
                f"one-hot over the {self.metadata.num_motions} motions the policy was trained on; rows {rows} are "
                f"not (e.g. {block[rows[0]].tolist()}): build it with metadata.one_hot(motion)"
            )
        return block.argmax(axis=1)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations (checked first). Shape: (batch, num_actions)."""
        single = np.ndim(obs) == 1
        obs = np.asarray(obs, dtype=np.float32).reshape(1, -1) if single else np.asarray(obs, dtype=np.float32)
        self.check_observation(obs)
        (actions,) = self.session.run(None, {self.input_name: obs})
        return actions[0] if single else actions


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
