"""Forward kinematics of a floating-base robot from an MJCF file, with MuJoCo.

The robot is the subtree under the first body that carries a free joint. Its joints (hinge or slide, one value each)
and bodies are listed in MuJoCo's order, which is depth-first over the kinematic tree; PhysX (Isaac Sim) lists the
same bodies breadth-first, and :meth:`RobotKinematics.physx_body_order` gives that order.
"""

from __future__ import annotations

import collections
import pathlib
from collections.abc import Sequence

import mujoco
import numpy as np

__all__ = ["RobotKinematics"]


class RobotKinematics:
    """Body poses of a floating-base MJCF robot for given base poses and joint positions.

    Args:
        mjcf: Path of the MJCF (XML) file. Meshes are resolved relative to it, as MuJoCo does.

    Raises:
        FileNotFoundError: ``mjcf`` does not exist.
        ValueError: the model cannot be loaded, has no free joint, or has joints other than hinge/slide under it.
    """

    def __init__(self, mjcf: str | pathlib.Path) -> None:
        path = pathlib.Path(mjcf)
        if not path.is_file():
            raise FileNotFoundError(f"mjcf: no such file {str(path)!r}")
        try:
            self.model = mujoco.MjModel.from_xml_path(str(path))
        except ValueError as error:
            raise ValueError(f"mjcf: MuJoCo could not load {str(path)!r}: {error}") from error
        self.path = path
        self.data = mujoco.MjData(self.model)
        model = self.model

        free_joints = [j for j in range(model.njnt) if int(model.jnt_type[j]) == int(mujoco.mjtJoint.mjJNT_FREE)]
        if not free_joints:
            raise ValueError(f"mjcf: {str(path)!r} has no free joint; a floating-base robot is required")
        self._free_joint = free_joints[0]
        self.root_body = int(model.jnt_bodyid[self._free_joint])
        self._root_qpos_adr = int(model.jnt_qposadr[self._free_joint])

        in_robot = np.zeros(model.nbody, dtype=bool)
        for body in range(model.nbody):
            ancestor = body
            while ancestor != 0 and ancestor != self.root_body:
                ancestor = int(model.body_parentid[ancestor])
            in_robot[body] = ancestor == self.root_body
        self._body_ids = np.flatnonzero(in_robot)
        self._in_robot = in_robot

        joint_ids = [j for j in range(model.njnt) if in_robot[model.jnt_bodyid[j]] and j != self._free_joint]
        for j in joint_ids:
            if int(model.jnt_type[j]) not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
                raise ValueError(
                    f"mjcf: joint {model.joint(j).name!r} is not a hinge or slide joint; only one-value joints are "
                    "supported below the floating base"
                )
        self._joint_ids = np.asarray(joint_ids, dtype=np.int64)
        self._joint_qpos_adr = model.jnt_qposadr[self._joint_ids].astype(np.int64)

        self.joint_names: list[str] = [model.joint(int(j)).name for j in self._joint_ids]
        """Joint names in MuJoCo order. Length: J."""
        self.body_names: list[str] = [model.body(int(b)).name for b in self._body_ids]
        """Body names in MuJoCo (depth-first) order, starting with the root. Length: Nb."""
        for kind, names in (("joint", self.joint_names), ("body", self.body_names)):
            if any(not name for name in names):
                raise ValueError(f"mjcf: every {kind} of the robot needs a name; {str(path)!r} has an unnamed one")

    @property
    def num_joints(self) -> int:
        """Number of joints below the floating base (J)."""
        return len(self.joint_names)

    @property
    def num_bodies(self) -> int:
        """Number of bodies of the robot, root included (Nb)."""
        return len(self.body_names)

    @property
    def joint_limits(self) -> np.ndarray:
        """Lower and upper joint limits; ``-inf``/``inf`` for unlimited joints. Shape: (J, 2)."""
        limits = self.model.jnt_range[self._joint_ids].astype(np.float64).copy()
        limited = self.model.jnt_limited[self._joint_ids].astype(bool)
        limits[~limited] = (-np.inf, np.inf)
        return limits

    def _check_trajectory(self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray):
        root_pos = np.asarray(root_pos, dtype=np.float64)
        root_quat = np.asarray(root_quat, dtype=np.float64)
        joint_pos = np.asarray(joint_pos, dtype=np.float64)
        if root_pos.ndim != 2 or root_pos.shape[1] != 3:
            raise ValueError(f"root_pos must have shape (T, 3), got {root_pos.shape}")
        num_frames = root_pos.shape[0]
        if root_quat.shape != (num_frames, 4):
            raise ValueError(f"root_quat must have shape ({num_frames}, 4), got {root_quat.shape}")
        if joint_pos.shape != (num_frames, self.num_joints):
            raise ValueError(f"joint_pos must have shape ({num_frames}, {self.num_joints}), got {joint_pos.shape}")
        for name, value in (("root_pos", root_pos), ("root_quat", root_quat), ("joint_pos", joint_pos)):
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} holds NaN or inf")
        norms = np.linalg.norm(root_quat, axis=-1)
        if np.any(norms < 1e-9):
            raise ValueError("root_quat holds a zero quaternion")
        return root_pos, root_quat / norms[:, None], joint_pos

    def _set_frame(self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray) -> None:
        qpos = self.data.qpos
        qpos[:] = self.model.qpos0
        qpos[self._root_qpos_adr : self._root_qpos_adr + 3] = root_pos
        qpos[self._root_qpos_adr + 3 : self._root_qpos_adr + 7] = root_quat
        qpos[self._joint_qpos_adr] = joint_pos
        mujoco.mj_kinematics(self.model, self.data)

    def forward(
        self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """World poses of all robot bodies for each frame.

        Args:
            root_pos: Base (root body) position in the world. Shape: (T, 3).
            root_quat: Base orientation, wxyz (normalised here). Shape: (T, 4).
            joint_pos: Joint positions in :attr:`joint_names` order. Shape: (T, J).

        Returns:
            ``(body_pos_w, body_quat_w)``: positions and wxyz orientations in :attr:`body_names` order, float64.
            Shapes: (T, Nb, 3) and (T, Nb, 4).
        """
        root_pos, root_quat, joint_pos = self._check_trajectory(root_pos, root_quat, joint_pos)
        num_frames = root_pos.shape[0]
        body_pos = np.empty((num_frames, self.num_bodies, 3), dtype=np.float64)
        body_quat = np.empty((num_frames, self.num_bodies, 4), dtype=np.float64)
        for t in range(num_frames):
            self._set_frame(root_pos[t], root_quat[t], joint_pos[t])
            body_pos[t] = self.data.xpos[self._body_ids]
            body_quat[t] = self.data.xquat[self._body_ids]
        return body_pos, body_quat

    def lowest_collision_z(
        self,
        root_pos: np.ndarray,
        root_quat: np.ndarray,
        joint_pos: np.ndarray,
        bodies: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Height of the lowest point of the robot's collision geometry in each frame.

        Spheres, capsules, cylinders, boxes and ellipsoids are exact; other shapes (meshes) use their bounding sphere.
        Collision geoms are those with a nonzero ``contype`` or ``conaffinity``.

        Args:
            root_pos: Shape: (T, 3).
            root_quat: wxyz. Shape: (T, 4).
            joint_pos: Shape: (T, J).
            bodies: Only the geoms of these bodies (e.g. the feet); all robot bodies if ``None``.

        Returns:
            Lowest z in the world frame per frame. Shape: (T,).
        """
        root_pos, root_quat, joint_pos = self._check_trajectory(root_pos, root_quat, joint_pos)
        model = self.model
        selected = self._in_robot.copy()
        if bodies is not None:
            unknown = [name for name in bodies if name not in self.body_names]
            if unknown:
                raise ValueError(f"bodies: not bodies of the robot: {unknown}")
            selected[:] = False
            selected[[model.body(name).id for name in bodies]] = True
        geoms = np.flatnonzero(
            selected[model.geom_bodyid] & ((model.geom_contype != 0) | (model.geom_conaffinity != 0))
        )
        if geoms.size == 0:
            raise ValueError(f"mjcf: {str(self.path)!r} has no collision geometry on the selected bodies")
        types = model.geom_type[geoms]
        sizes = model.geom_size[geoms]
        lowest = np.empty(root_pos.shape[0], dtype=np.float64)
        for t in range(root_pos.shape[0]):
            self._set_frame(root_pos[t], root_quat[t], joint_pos[t])
            z = self.data.geom_xpos[geoms, 2]
            # Row 2 of each rotation matrix: the world z components of the geom's local axes.
            axes_z = self.data.geom_xmat[geoms].reshape(-1, 3, 3)[:, 2, :]
            extent = np.empty_like(z)
            for i, (kind, size) in enumerate(zip(types.tolist(), sizes, strict=True)):
                if kind == int(mujoco.mjtGeom.mjGEOM_SPHERE):
                    extent[i] = size[0]
                elif kind == int(mujoco.mjtGeom.mjGEOM_CAPSULE):
                    extent[i] = abs(axes_z[i, 2]) * size[1] + size[0]
                elif kind == int(mujoco.mjtGeom.mjGEOM_CYLINDER):
                    extent[i] = abs(axes_z[i, 2]) * size[1] + size[0] * np.sqrt(max(0.0, 1.0 - axes_z[i, 2] ** 2))
                elif kind == int(mujoco.mjtGeom.mjGEOM_BOX):
                    extent[i] = np.sum(np.abs(axes_z[i]) * size)
                elif kind == int(mujoco.mjtGeom.mjGEOM_ELLIPSOID):
                    extent[i] = np.sqrt(np.sum((axes_z[i] * size) ** 2))
                else:
                    extent[i] = model.geom_rbound[geoms[i]]
            lowest[t] = np.min(z - extent)
        return lowest

    def physx_body_order(self) -> np.ndarray:
        """Breadth-first order of the bodies (as PhysX/Isaac Sim lists them), children in MJCF order.

        Returns:
            Indices into :attr:`body_names`: ``body_names[i]`` for ``i`` in the result is the breadth-first list.
            Shape: (Nb,).
        """
        children: dict[int, list[int]] = collections.defaultdict(list)
        for local, body in enumerate(self._body_ids):
            if body != self.root_body:
                children[int(self.model.body_parentid[body])].append(local)
        local_of = {int(body): local for local, body in enumerate(self._body_ids)}
        order: list[int] = []
        queue = collections.deque([local_of[self.root_body]])
        while queue:
            local = queue.popleft()
            order.append(local)
            queue.extend(children[int(self._body_ids[local])])
        return np.asarray(order, dtype=np.int64)

    def physx_joint_order(self) -> np.ndarray:
        """Joint order that goes with :meth:`physx_body_order`: joints sorted by their body's breadth-first rank.

        Returns:
            Indices into :attr:`joint_names`. Shape: (J,).
        """
        body_rank = np.empty(self.model.nbody, dtype=np.int64)
        body_rank[self._body_ids[self.physx_body_order()]] = np.arange(self.num_bodies)
        ranks = body_rank[self.model.jnt_bodyid[self._joint_ids]]
        return np.argsort(ranks, kind="stable").astype(np.int64)
