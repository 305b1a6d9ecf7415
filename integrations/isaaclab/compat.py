"""Every difference between Isaac Lab 2.x and 3.x that the adapter touches, in one place.

- quaternion order: 2.x (Isaac Sim, BeyondMimic) (w, x, y, z); 3.x (kit-less, Newton or PhysX) (x, y, z, w).
- asset data fields: 2.x ``torch.Tensor``; 3.x ``ProxyArray`` whose ``.torch`` is the tensor view.
- root state writer: 2.x ``write_root_state_to_sim`` (13 floats: link pose + com velocity); 3.x
  ``write_root_link_pose_to_sim_index`` and ``write_root_com_velocity_to_sim_index`` (keyword arguments).
- joint state writer: 2.x ``write_joint_state_to_sim``; 3.x ``write_joint_state_to_sim_index`` (keywords).

The rest of the adapter works in wxyz with plain tensors and calls :class:`IsaacLabApi` to read and write the
robot. This module imports no simulator, so both conventions are unit-tested anywhere.
"""

from __future__ import annotations

import dataclasses
from importlib import metadata
from typing import Any, Literal

import torch

__all__ = ["IsaacLabApi", "detect_isaaclab_major", "quat_from_sim", "quat_to_sim", "to_torch"]

QuatOrder = Literal["wxyz", "xyzw"]


def detect_isaaclab_major() -> int:
    """Major version of the installed ``isaaclab`` distribution.

    Raises:
        RuntimeError: isaaclab is not installed.
    """
    try:
        version = metadata.version("isaaclab")
    except metadata.PackageNotFoundError as error:
        raise RuntimeError("isaaclab is not installed; run scripts/setup_isaaclab.sh") from error
    return int(version.split(".")[0])


def to_torch(value: Any) -> torch.Tensor:
    """The tensor behind an asset data field: a 3.x ``ProxyArray`` (``.torch``) or a 2.x tensor as is."""
    if isinstance(value, torch.Tensor):
        return value
    tensor = getattr(value, "torch", None)
    if isinstance(tensor, torch.Tensor):
        return tensor
    raise TypeError(f"expected a torch.Tensor or an object with a .torch tensor, got {type(value).__name__}")


def quat_to_sim(quat_wxyz: torch.Tensor, order: QuatOrder) -> torch.Tensor:
    """Convert wxyz quaternions to the simulator's ``order``. Shape: (..., 4)."""
    _check_quat(quat_wxyz, order)
    if order == "wxyz":
        return quat_wxyz
    return torch.cat([quat_wxyz[..., 1:], quat_wxyz[..., :1]], dim=-1)


def quat_from_sim(quat: torch.Tensor, order: QuatOrder) -> torch.Tensor:
    """Convert quaternions in the simulator's ``order`` to wxyz. Shape: (..., 4)."""
    _check_quat(quat, order)
    if order == "wxyz":
        return quat
    return torch.cat([quat[..., 3:], quat[..., :3]], dim=-1)


def _check_quat(quat: torch.Tensor, order: str) -> None:
    if order not in ("wxyz", "xyzw"):
        raise ValueError(f"order must be 'wxyz' or 'xyzw', got {order!r}")
    if not isinstance(quat, torch.Tensor):
        raise TypeError(f"quat must be a torch.Tensor, got {type(quat).__name__}")
    if quat.shape[-1:] != (4,):
        raise ValueError(f"quat must have a last dimension of 4, got shape {tuple(quat.shape)}")


@dataclasses.dataclass(frozen=True)
class IsaacLabApi:
    """Reads and writes an Isaac Lab articulation the way its major version wants.

    All poses and quaternions crossing this class are wxyz on our side.
    """

    major: int
    """Isaac Lab major version (2 or 3)."""

    def __post_init__(self) -> None:
        if self.major not in (2, 3):
            raise ValueError(f"major must be 2 or 3 (the Isaac Lab versions this adapter knows), got {self.major!r}")

    @classmethod
    def detect(cls) -> IsaacLabApi:
        """The API of the installed Isaac Lab (4.x and later are treated as 3.x)."""
        return cls(major=min(max(detect_isaaclab_major(), 2), 3))

    @property
    def quat_order(self) -> QuatOrder:
        """The simulator's quaternion order."""
        return "xyzw" if self.major >= 3 else "wxyz"

    # -- reading ------------------------------------------------------------------------------------------------

    def read(self, data: Any, name: str) -> torch.Tensor:
        """A data field as a tensor, e.g. ``read(robot.data, "joint_pos")``. Quaternions stay in sim order."""
        return to_torch(getattr(data, name))

    def read_quat(self, data: Any, name: str) -> torch.Tensor:
        """A quaternion data field (e.g. ``"body_quat_w"``) as wxyz. Shape: (..., 4)."""
        return quat_from_sim(self.read(data, name), self.quat_order)

    # -- writing ------------------------------------------------------------------------------------------------

    def write_root_state(self, asset: Any, pos: torch.Tensor, quat_wxyz: torch.Tensor, lin_vel: torch.Tensor,
                         ang_vel: torch.Tensor, env_ids: torch.Tensor) -> None:
        """Write the root link pose and the root (centre-of-mass) velocity of ``env_ids``, world frame.

        3.x: ``write_root_link_pose_to_sim_index`` then ``write_root_com_velocity_to_sim_index``; 2.x: one
        ``write_root_state_to_sim`` call (link pose + com velocity there too), as BeyondMimic does.

        Args:
            asset: The articulation.
            pos: Root positions. Shape: (E, 3).
            quat_wxyz: Root orientations, wxyz. Shape: (E, 4).
            lin_vel: Linear velocities. Shape: (E, 3).
            ang_vel: Angular velocities. Shape: (E, 3).
            env_ids: Environment indices. Shape: (E,).
        """
        quat = quat_to_sim(quat_wxyz, self.quat_order)
        if self.major >= 3:
            asset.write_root_link_pose_to_sim_index(root_pose=torch.cat([pos, quat], dim=-1), env_ids=env_ids)
            asset.write_root_com_velocity_to_sim_index(
                root_velocity=torch.cat([lin_vel, ang_vel], dim=-1), env_ids=env_ids
            )
        else:
            asset.write_root_state_to_sim(torch.cat([pos, quat, lin_vel, ang_vel], dim=-1), env_ids=env_ids)

    def write_joint_state(self, asset: Any, position: torch.Tensor, velocity: torch.Tensor,
                          env_ids: torch.Tensor) -> None:
        """Write joint positions and velocities of all joints. Shapes: (len(env_ids), num_joints)."""
        if self.major >= 3:
            asset.write_joint_state_to_sim_index(position=position, velocity=velocity, env_ids=env_ids)
        else:
            asset.write_joint_state_to_sim(position, velocity, env_ids=env_ids)
