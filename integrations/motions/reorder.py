"""Reordering the joints and bodies of a motion by name.

BeyondMimic's files store no names: their joints and bodies are in the order of the simulator that wrote them
(PhysX lists an articulation breadth-first, MuJoCo depth-first). :func:`attach_names` names an unnamed file given the
order it was written in, and :func:`reorder_motion` maps a named file to any other order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from .kinematics import RobotKinematics
from .motion_file import BODY_FIELDS, JOINT_FIELDS, decode_names, names_array

__all__ = ["attach_names", "robot_names", "reorder_motion"]

Order = Literal["mujoco", "physx"]


def robot_names(kinematics: RobotKinematics, order: Order = "mujoco") -> tuple[list[str], list[str]]:
    """Joint and body names of a robot in MuJoCo (depth-first) or PhysX (breadth-first) order."""
    if order == "mujoco":
        return list(kinematics.joint_names), list(kinematics.body_names)
    if order == "physx":
        joints = [kinematics.joint_names[i] for i in kinematics.physx_joint_order()]
        bodies = [kinematics.body_names[i] for i in kinematics.physx_body_order()]
        return joints, bodies
    raise ValueError(f"order must be 'mujoco' or 'physx', got {order!r}")


def _stored_names(motion: Mapping[str, np.ndarray], key: str) -> list[str]:
    if key not in motion:
        raise ValueError(
            f"the motion has no {key}; name it first (attach_names / `motions reorder --source-order physx|mujoco`)"
        )
    return decode_names(motion[key])


def attach_names(
    motion: Mapping[str, np.ndarray], joint_names: Sequence[str], body_names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Name the joints and bodies of a motion whose arrays are in the order of ``joint_names`` and ``body_names``.

    Raises:
        ValueError: the counts differ from the arrays, or the motion already has different names.
    """
    out = dict(motion)
    for key, names, fields, axis_name in (
        ("joint_names", list(joint_names), JOINT_FIELDS, "J"),
        ("body_names", list(body_names), BODY_FIELDS, "Nb"),
    ):
        for field in fields:
            if field in motion and np.shape(motion[field])[1] != len(names):
                raise ValueError(
                    f"{key}: {len(names)} names given but {field} has {axis_name}={np.shape(motion[field])[1]}"
                )
        if key in motion and _stored_names(motion, key) != names:
            raise ValueError(f"{key}: the motion already has different names; use reorder_motion to map by name")
        out[key] = names_array(names, key)
    return out


def _permutation(source: list[str], target: list[str], key: str, allow_drop: bool) -> np.ndarray:
    missing = [name for name in target if name not in source]
    if missing:
        raise ValueError(f"{key}: the target order names {missing} that the motion does not have")
    dropped = [name for name in source if name not in target]
    if dropped and not allow_drop:
        raise ValueError(f"{key}: the motion has {dropped} that the target order lacks (allow_drop=True drops them)")
    if len(set(target)) != len(target):
        raise ValueError(f"{key}: the target order repeats names")
    index = {name: i for i, name in enumerate(source)}
    return np.asarray([index[name] for name in target], dtype=np.int64)


def reorder_motion(
    motion: Mapping[str, np.ndarray],
    joint_names: Sequence[str] | None = None,
    body_names: Sequence[str] | None = None,
    allow_drop: bool = False,
) -> dict[str, np.ndarray]:
    """Map a named motion to another joint and/or body order.

    Args:
        motion: Fields of a motion that has ``joint_names`` and ``body_names``.
        joint_names: Target joint order (``None`` keeps the joints as they are).
        body_names: Target body order (``None`` keeps the bodies as they are).
        allow_drop: Drop joints or bodies the target does not list (otherwise that is an error).

    Returns:
        A new dict: every per-joint and per-body field permuted, names set to the target; other fields shared.
    """
    out = dict(motion)
    for key, target, fields in (("joint_names", joint_names, JOINT_FIELDS), ("body_names", body_names, BODY_FIELDS)):
        if target is None:
            continue
        permutation = _permutation(_stored_names(motion, key), list(target), key, allow_drop)
        for field in fields:
            if field in motion:
                out[field] = np.asarray(motion[field])[:, permutation]
        out[key] = names_array(list(target), key)
    return out

