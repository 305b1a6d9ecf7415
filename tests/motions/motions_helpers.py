"""Shared test data for the motion tools: a tiny MJCF robot and an analytic trajectory for it."""

from __future__ import annotations

import numpy as np

# A floating base with two 3-link legs and a 2-joint arm (hinge + slide): depth-first and breadth-first body orders
# differ, one body is rotated in its parent, and every geom type the ground-contact code handles appears.
TINY_MJCF = """
<mujoco model="tiny_biped">
  <compiler angle="radian" autolimits="true"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="base" pos="0 0 1">
      <freejoint name="root"/>
      <geom type="box" size="0.12 0.15 0.05"/>
      <body name="l_thigh" pos="0 0.1 -0.05">
        <joint name="l_hip" axis="0 1 0" range="-1.5 1.5"/>
        <geom type="capsule" fromto="0 0 0 0 0 -0.4" size="0.04"/>
        <body name="l_shin" pos="0 0 -0.4">
          <joint name="l_knee" axis="0 1 0" range="0 2.5"/>
          <geom type="cylinder" fromto="0 0 0 0 0 -0.4" size="0.03"/>
          <body name="l_foot" pos="0 0 -0.42">
            <joint name="l_ankle" axis="1 0 0" range="-0.6 0.6"/>
            <geom type="box" size="0.1 0.05 0.02"/>
          </body>
        </body>
      </body>
      <body name="r_thigh" pos="0 -0.1 -0.05">
        <joint name="r_hip" axis="0 1 0" range="-1.5 1.5"/>
        <geom type="capsule" fromto="0 0 0 0 0 -0.4" size="0.04"/>
        <body name="r_shin" pos="0 0 -0.4">
          <joint name="r_knee" axis="0 1 0" range="0 2.5"/>
          <geom type="cylinder" fromto="0 0 0 0 0 -0.4" size="0.03"/>
          <body name="r_foot" pos="0 0 -0.42">
            <joint name="r_ankle" axis="1 0 0" range="-0.6 0.6"/>
            <geom type="ellipsoid" size="0.1 0.05 0.02"/>
          </body>
        </body>
      </body>
      <body name="arm" pos="0 0 0.1" quat="0.9238795 0 0.3826834 0">
        <joint name="shoulder" axis="1 0 0" range="-2 2"/>
        <geom type="sphere" size="0.05"/>
        <body name="forearm" pos="0.3 0 0">
          <joint name="elbow_slide" type="slide" axis="1 0 0" range="-0.1 0.1"/>
          <geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.02"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""

TINY_JOINTS = ["l_hip", "l_knee", "l_ankle", "r_hip", "r_knee", "r_ankle", "shoulder", "elbow_slide"]
TINY_BODIES = ["base", "l_thigh", "l_shin", "l_foot", "r_thigh", "r_shin", "r_foot", "arm", "forearm"]
TINY_BODIES_BFS = ["base", "l_thigh", "r_thigh", "arm", "l_shin", "r_shin", "forearm", "l_foot", "r_foot"]
TINY_JOINTS_BFS = ["l_hip", "r_hip", "shoulder", "l_knee", "r_knee", "elbow_slide", "l_ankle", "r_ankle"]

# Sinusoid per joint: centre, amplitude (inside the limits), angular frequency (rad/s), phase.
_JOINT_WAVES = np.array(
    [
        [0.0, 0.6, 2.0, 0.0],
        [1.0, 0.6, 3.0, 0.5],
        [0.0, 0.3, 2.5, 1.0],
        [0.1, 0.5, 2.2, 2.0],
        [1.2, 0.5, 1.7, 0.3],
        [0.0, 0.2, 3.1, 0.7],
        [0.0, 1.0, 1.3, 0.2],
        [0.0, 0.05, 2.7, 1.1],
    ]
)


def tiny_trajectory(num_frames: int, fps: float) -> dict[str, np.ndarray]:
    """Analytic trajectory of the tiny robot: positions and their exact time derivatives.

    The base translates along sinusoids and yaws about the world z axis with ``yaw(t) = 0.8 sin(1.5 t)``, so its
    world angular velocity is ``(0, 0, 1.2 cos(1.5 t))``.
    """
    t = np.arange(num_frames) / fps
    centre, amplitude, omega, phase = _JOINT_WAVES.T
    joint_pos = centre + amplitude * np.sin(omega * t[:, None] + phase)
    joint_vel = amplitude * omega * np.cos(omega * t[:, None] + phase)
    root_pos = np.stack([0.3 * np.sin(1.1 * t), 0.2 * np.cos(0.9 * t), 1.0 + 0.05 * np.sin(2.0 * t)], axis=1)
    root_vel = np.stack([0.33 * np.cos(1.1 * t), -0.18 * np.sin(0.9 * t), 0.1 * np.cos(2.0 * t)], axis=1)
    yaw = 0.8 * np.sin(1.5 * t)
    root_quat = np.stack([np.cos(yaw / 2), np.zeros_like(t), np.zeros_like(t), np.sin(yaw / 2)], axis=1)
    root_ang_vel = np.stack([np.zeros_like(t), np.zeros_like(t), 1.2 * np.cos(1.5 * t)], axis=1)
    return {"t": t, "root_pos": root_pos, "root_vel": root_vel, "root_quat": root_quat,
            "root_ang_vel": root_ang_vel, "joint_pos": joint_pos, "joint_vel": joint_vel}
