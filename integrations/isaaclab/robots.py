"""The Unitree G1 (29 DoF) for Isaac Lab 3.x from a local USD. Imports isaaclab.

``scripts/setup_isaaclab.sh`` converts the USD from the mjlab wheel's MJCF.

The converted USD carries no drives (the MJCF has no actuators), so implicit PD actuators per motor type create the
position control. Gains follow the usual recipe for this robot: each joint is a second-order system with the
motor's reflected inertia (armature) ``a``, natural frequency 10 Hz and damping ratio 2, i.e.
``stiffness = a * w^2`` and ``damping = 2 * zeta * a * w`` with ``w = 2 * pi * 10``. Effort and velocity limits are
the motors' (Unitree 5020, 7520-14, 7520-22, 4010; ankles and waist roll/pitch use two 5020 in parallel).
"""

from __future__ import annotations

import math

import isaaclab.sim as sim_utils
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg

from .assets import g1_usd_path

__all__ = [
    "G1_ACTION_SCALE",
    "G1_ANCHOR_BODY",
    "G1_END_EFFECTORS",
    "G1_TRACKED_BODIES",
    "g1_actuators",
    "g1_cfg",
    "g1_init_state",
    "isaaclab_g1_cfg",
]

_NATURAL_FREQ = 2.0 * math.pi * 10.0
_DAMPING_RATIO = 2.0

# motor -> (armature [kg m^2], effort limit [N m], velocity limit [rad/s])
_MOTORS = {
    "5020": (0.003609725, 25.0, 37.0),
    "7520_14": (0.010177520, 88.0, 32.0),
    "7520_22": (0.025101925, 139.0, 20.0),
    "4010": (0.00425, 5.0, 22.0),
    "2x5020": (2 * 0.003609725, 50.0, 37.0),
}

# actuator group -> {joint regex: motor}
_GROUPS = {
    "legs": {".*_hip_pitch_joint": "7520_14", ".*_hip_yaw_joint": "7520_14", ".*_hip_roll_joint": "7520_22",
             ".*_knee_joint": "7520_22"},
    "feet": {".*_ankle_pitch_joint": "2x5020", ".*_ankle_roll_joint": "2x5020"},
    "waist": {"waist_yaw_joint": "7520_14", "waist_roll_joint": "2x5020", "waist_pitch_joint": "2x5020"},
    "arms": {".*_shoulder_pitch_joint": "5020", ".*_shoulder_roll_joint": "5020", ".*_shoulder_yaw_joint": "5020",
             ".*_elbow_joint": "5020", ".*_wrist_roll_joint": "5020", ".*_wrist_pitch_joint": "4010",
             ".*_wrist_yaw_joint": "4010"},
}


def _stiffness(motor: str) -> float:
    return _MOTORS[motor][0] * _NATURAL_FREQ**2


def _damping(motor: str) -> float:
    return 2.0 * _DAMPING_RATIO * _MOTORS[motor][0] * _NATURAL_FREQ


def _actuator(joints: dict[str, str]) -> ImplicitActuatorCfg:
    return ImplicitActuatorCfg(
        joint_names_expr=list(joints),
        stiffness={j: _stiffness(m) for j, m in joints.items()},
        damping={j: _damping(m) for j, m in joints.items()},
        armature={j: _MOTORS[m][0] for j, m in joints.items()},
        joint_effort_limit={j: _MOTORS[m][1] for j, m in joints.items()},
        joint_velocity_limit={j: _MOTORS[m][2] for j, m in joints.items()},
    )


G1_ACTION_SCALE: dict[str, float] = {
    joint: 0.25 * _MOTORS[motor][1] / _stiffness(motor) for group in _GROUPS.values() for joint, motor in group.items()
}
"""Per-joint action scale: a quarter of the motor's effort limit divided by the joint stiffness (radians)."""

G1_ANCHOR_BODY = "torso_link"
"""The body whose global pose the tracking task anchors to."""

G1_TRACKED_BODIES = [
    "pelvis", "left_hip_roll_link", "left_knee_link", "left_ankle_roll_link", "right_hip_roll_link",
    "right_knee_link", "right_ankle_roll_link", "torso_link", "left_shoulder_roll_link", "left_elbow_link",
    "left_wrist_yaw_link", "right_shoulder_roll_link", "right_elbow_link", "right_wrist_yaw_link",
]
"""Bodies whose poses and velocities the rewards track."""

G1_END_EFFECTORS = ["left_ankle_roll_link", "right_ankle_roll_link", "left_wrist_yaw_link", "right_wrist_yaw_link"]
"""Bodies whose height error terminates an episode."""


def g1_actuators() -> dict[str, ImplicitActuatorCfg]:
    """Implicit PD actuator groups (legs, feet, waist, arms) with the gains described in the module docstring."""
    return {name: _actuator(joints) for name, joints in _GROUPS.items()}


def g1_init_state() -> ArticulationCfg.InitialStateCfg:
    """Standing in the usual slightly crouched pose (the command overwrites it at every reset)."""
    return ArticulationCfg.InitialStateCfg(
        pos=(0.0, 0.0, 0.76),
        joint_pos={
            ".*_hip_pitch_joint": -0.312,
            ".*_knee_joint": 0.669,
            ".*_ankle_pitch_joint": -0.363,
            ".*_elbow_joint": 0.6,
            "left_shoulder_roll_joint": 0.2,
            "left_shoulder_pitch_joint": 0.2,
            "right_shoulder_roll_joint": -0.2,
            "right_shoulder_pitch_joint": 0.2,
        },
        joint_vel={".*": 0.0},
    )


def g1_cfg(prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """The G1 from the local USD (``scripts/setup_isaaclab.sh`` creates it; checked when the env is built)."""
    return ArticulationCfg(
        prim_path=prim_path,
        spawn=sim_utils.UsdFileCfg(usd_path=str(g1_usd_path(check=False))),
        init_state=g1_init_state(),
        soft_joint_pos_limit_factor=0.9,
        actuators=g1_actuators(),
    )


def isaaclab_g1_cfg(prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """Isaac Lab's own 29-DoF G1 with this task's actuators and initial state.

    Its USD comes from NVIDIA's asset server (``isaaclab_assets``): use it where Isaac Sim and its assets exist.
    """
    from isaaclab_assets.robots.unitree import G1_29DOF_CFG

    return G1_29DOF_CFG.replace(prim_path=prim_path, init_state=g1_init_state(), actuators=g1_actuators())
