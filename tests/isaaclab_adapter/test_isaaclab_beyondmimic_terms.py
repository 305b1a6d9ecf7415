"""The G1 task's terms against BeyondMimic's G1 tracking task, value by value (configuration only, no simulation).

The expected values are BeyondMimic's (``whole_body_tracking``: ``tracking_env_cfg.py``, ``config/g1``,
``robots/g1.py``), written out here by hand; mjlab's ``tasks/tracking`` has the same ones except where the README's
comparison table says otherwise. A term renamed, re-weighted, re-scaled or given another sign fails here.
"""

import math

import pytest

pytest.importorskip("isaaclab_newton", reason="Isaac Lab 3.x is not installed (scripts/setup_isaaclab.sh installs it)")
pytestmark = pytest.mark.isaaclab

# reward term -> (weight, std or None)
REWARDS = {
    "motion_global_anchor_pos": (0.5, 0.3),
    "motion_global_anchor_ori": (0.5, 0.4),
    "motion_body_pos": (1.0, 0.3),
    "motion_body_ori": (1.0, 0.4),
    "motion_body_lin_vel": (1.0, 1.0),
    "motion_body_ang_vel": (1.0, 3.14),
    "action_rate_l2": (-0.1, None),
    "joint_limit": (-10.0, None),
    "undesired_contacts": (-0.1, None),
}
# actor observation -> additive uniform noise half-width (None: no noise); the task adds motion_id and
# motion_progress (no noise) right after the command
ACTOR = {"command": None, "motion_anchor_pos_b": 0.25, "motion_anchor_ori_b": 0.05, "base_lin_vel": 0.5,
         "base_ang_vel": 0.2, "joint_pos": 0.01, "joint_vel": 0.5, "actions": None}
CRITIC = ["command", "motion_anchor_pos_b", "motion_anchor_ori_b", "body_pos", "body_ori", "base_lin_vel",
          "base_ang_vel", "joint_pos", "joint_vel", "actions"]
TRACKED = ["pelvis", "left_hip_roll_link", "left_knee_link", "left_ankle_roll_link", "right_hip_roll_link",
           "right_knee_link", "right_ankle_roll_link", "torso_link", "left_shoulder_roll_link", "left_elbow_link",
           "left_wrist_yaw_link", "right_shoulder_roll_link", "right_elbow_link", "right_wrist_yaw_link"]
END_EFFECTORS = ["left_ankle_roll_link", "right_ankle_roll_link", "left_wrist_yaw_link", "right_wrist_yaw_link"]
VELOCITY_RANGE = {"x": (-0.5, 0.5), "y": (-0.5, 0.5), "z": (-0.2, 0.2), "roll": (-0.52, 0.52),
                  "pitch": (-0.52, 0.52), "yaw": (-0.78, 0.78)}
# motor armatures [kg m^2] (Unitree), effort limits [N m]; PD from a 10 Hz natural frequency, damping ratio 2
ARMATURE = {"5020": 0.003609725, "7520_14": 0.010177520, "7520_22": 0.025101925, "4010": 0.00425}
JOINT_MOTOR = {  # joint name suffix -> (motor, parallel motors, effort limit)
    "hip_pitch_joint": ("7520_14", 1, 88.0), "hip_roll_joint": ("7520_22", 1, 139.0),
    "hip_yaw_joint": ("7520_14", 1, 88.0), "knee_joint": ("7520_22", 1, 139.0),
    "ankle_pitch_joint": ("5020", 2, 50.0), "ankle_roll_joint": ("5020", 2, 50.0),
    "waist_yaw_joint": ("7520_14", 1, 88.0), "waist_roll_joint": ("5020", 2, 50.0),
    "waist_pitch_joint": ("5020", 2, 50.0), "shoulder_pitch_joint": ("5020", 1, 25.0),
    "shoulder_roll_joint": ("5020", 1, 25.0), "shoulder_yaw_joint": ("5020", 1, 25.0),
    "elbow_joint": ("5020", 1, 25.0), "wrist_roll_joint": ("5020", 1, 25.0), "wrist_pitch_joint": ("4010", 1, 5.0),
    "wrist_yaw_joint": ("4010", 1, 5.0),
}


@pytest.fixture(scope="module")
def cfg():
    from adaptive_sampling_isaaclab import tasks

    return tasks.load_cfg(tasks.TASK_TRAIN)


def test_rewards_match_beyondmimic(cfg):
    """Every reward term has BeyondMimic's weight and kernel width, and there are no others."""
    terms = {name: term for name, term in vars(cfg.rewards).items() if term is not None}
    assert set(terms) == set(REWARDS)
    for name, (weight, std) in REWARDS.items():
        assert terms[name].weight == weight, name
        if std is not None:
            assert terms[name].params["std"] == std and terms[name].params["command_name"] == "motion", name
    contacts = terms["undesired_contacts"].params
    assert contacts["threshold"] == 1.0
    (pattern,) = contacts["sensor_cfg"].body_names
    import re

    penalised = [b for b in [*TRACKED, "head_link", "waist_yaw_link"] if re.fullmatch(pattern, b)]
    assert set(penalised) == {*TRACKED, "head_link", "waist_yaw_link"} - set(END_EFFECTORS)


def test_terminations_match_beyondmimic(cfg):
    """Time-out (not a failure), anchor height 0.25 m, anchor tilt 0.8 (gravity z in the anchor frame), end-effector
    height 0.25 m on the ankles and wrists; 10 s episodes at 50 Hz (dt 0.005, decimation 4)."""
    terms = cfg.terminations
    assert terms.time_out.time_out is True
    assert terms.anchor_pos.params["threshold"] == 0.25 and terms.anchor_ori.params["threshold"] == 0.8
    assert terms.ee_body_pos.params["threshold"] == 0.25
    assert terms.ee_body_pos.params["body_names"] == END_EFFECTORS
    assert not terms.anchor_pos.time_out and not terms.anchor_ori.time_out and not terms.ee_body_pos.time_out
    assert cfg.episode_length_s == 10.0 and cfg.decimation == 4 and cfg.sim.dt == 0.005


def test_observations_match_beyondmimic(cfg):
    """Actor terms in BeyondMimic's order with its additive noise (plus the motion id and progress after the
    command); critic terms noise-free, with the tracked bodies' poses."""
    from isaaclab.utils.noise import UniformNoiseCfg

    actor = {name: term for name, term in vars(cfg.observations.policy).items() if hasattr(term, "func")}
    assert list(actor) == ["command", "motion_id", "motion_progress", *list(ACTOR)[1:]]
    for name, width in ACTOR.items():
        noise = actor[name].noise
        if width is None:
            assert noise is None, name
        else:
            assert isinstance(noise, UniformNoiseCfg) and noise.operation == "add", name
            assert (noise.n_min, noise.n_max) == (-width, width), name
    assert actor["motion_id"].noise is None and actor["motion_progress"].noise is None
    assert cfg.observations.policy.enable_corruption and not cfg.observations.critic.enable_corruption
    critic = [name for name, term in vars(cfg.observations.critic).items() if hasattr(term, "func")]
    assert critic == ["command", "motion_id", "motion_progress", *CRITIC[1:]]


def test_command_and_start_randomisation_match_beyondmimic(cfg):
    """Anchor torso, BeyondMimic's 14 tracked bodies in order, its start-pose, start-velocity and joint ranges, and
    the push event's velocity ranges."""
    motion = cfg.commands.motion
    assert motion.anchor_body_name == "torso_link" and motion.body_names == TRACKED
    assert motion.pose_range == {"x": (-0.05, 0.05), "y": (-0.05, 0.05), "z": (-0.01, 0.01), "roll": (-0.1, 0.1),
                                 "pitch": (-0.1, 0.1), "yaw": (-0.2, 0.2)}
    assert motion.velocity_range == VELOCITY_RANGE and motion.joint_position_range == (-0.1, 0.1)
    assert motion.resampling_time_range == (1.0e9, 1.0e9)
    push = cfg.events.push_robot
    assert push.mode == "interval" and push.interval_range_s == (1.0, 3.0)
    assert push.params["velocity_range"] == VELOCITY_RANGE
    assert cfg.events.physics_material.params["static_friction_range"] == (0.3, 1.6)
    assert cfg.events.base_com.params["com_range"] == {"x": (-0.025, 0.025), "y": (-0.05, 0.05), "z": (-0.05, 0.05)}


def test_actuators_and_action_scale_match_beyondmimic(cfg):
    """Per joint: armature, stiffness a (2 pi 10)^2, damping 2 * 2 a (2 pi 10), effort limit and the action scale
    0.25 * effort / stiffness, for all 29 joints (ankles and waist roll/pitch: two 5020 motors)."""
    from adaptive_sampling_isaaclab.robots import G1_ACTION_SCALE

    omega = 2.0 * math.pi * 10.0
    per_joint = {}
    for actuator in cfg.scene.robot.actuators.values():
        for joint in actuator.joint_names_expr:
            per_joint[joint] = (actuator.armature[joint], actuator.stiffness[joint], actuator.damping[joint],
                                actuator.joint_effort_limit[joint])
    assert len(per_joint) == len(JOINT_MOTOR)
    for suffix, (motor, parallel, effort) in JOINT_MOTOR.items():
        (joint,) = [j for j in per_joint if j.endswith(suffix)]
        armature = parallel * ARMATURE[motor]
        got_armature, stiffness, damping, got_effort = per_joint[joint]
        assert got_armature == pytest.approx(armature, rel=1e-6), joint
        assert stiffness == pytest.approx(armature * omega**2, rel=1e-6), joint
        assert damping == pytest.approx(2.0 * 2.0 * armature * omega, rel=1e-6), joint
        assert got_effort == effort, joint
        assert G1_ACTION_SCALE[joint] == pytest.approx(0.25 * effort / stiffness, rel=1e-6), joint
    action = cfg.actions.joint_pos
    assert action.use_default_offset and action.joint_names == [".*"] and action.scale == G1_ACTION_SCALE
    assert cfg.scene.robot.soft_joint_pos_limit_factor == 0.9


def test_ppo_matches_beyondmimic():
    """BeyondMimic's PPO: 24 steps per env, [512, 256, 128] ELU actor and critic, initial std 1.0, adaptive KL 0.01,
    lr 1e-3, clip 0.2, entropy 0.005, 5 epochs x 4 mini-batches, gamma 0.99, lambda 0.95, observation normalisation."""
    from adaptive_sampling_isaaclab import tasks

    agent = tasks.load_cfg(tasks.TASK_TRAIN, "rsl_rl_cfg_entry_point")
    assert agent.num_steps_per_env == 24 and agent.empirical_normalization
    assert agent.actor.hidden_dims == agent.critic.hidden_dims == [512, 256, 128]
    assert agent.actor.activation == agent.critic.activation == "elu"
    assert agent.actor.distribution_cfg.init_std == 1.0
    assert agent.actor.obs_normalization and agent.critic.obs_normalization
    alg = agent.algorithm
    expected = {"value_loss_coef": 1.0, "use_clipped_value_loss": True, "clip_param": 0.2, "entropy_coef": 0.005,
                "num_learning_epochs": 5, "num_mini_batches": 4, "learning_rate": 1.0e-3, "schedule": "adaptive",
                "gamma": 0.99, "lam": 0.95, "desired_kl": 0.01, "max_grad_norm": 1.0}
    assert {k: getattr(alg, k) for k in expected} == expected
