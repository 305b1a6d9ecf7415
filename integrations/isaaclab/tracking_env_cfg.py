"""The G1 multi-motion tracking task (Isaac Lab manager-based RL env) and its PPO configuration.

Observations, rewards, terminations and events are modelled on BeyondMimic's G1 tracking task; the robot is the G1
from the local USD (see :mod:`adaptive_sampling_isaaclab.robots`), simulated with Newton's MuJoCo-Warp solver on
the CPU by default (set ``sim.device`` to ``"cuda:0"`` for a GPU). :meth:`G1TrackingEnvCfg.use_robot` and
:meth:`~G1TrackingEnvCfg.use_physics` switch to Isaac Lab's own G1 and to PhysX where Isaac Sim is installed. The
motions default to the demo clips shipped in ``data/motions``; the policy also sees which clip it tracks (one-hot)
and how far into it it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING

from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

import isaaclab.envs.mdp as isaaclab_mdp
import isaaclab.sim as sim_utils
from adaptive_sampling import AdaptiveSamplerCfg
from isaaclab.assets import ArticulationCfg, AssetBaseCfg
from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import SceneEntityCfg
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sensors import ContactSensorCfg
from isaaclab.sim import SimulationCfg
from isaaclab.utils import configclass
from isaaclab.utils.noise import UniformNoiseCfg as Unoise

from . import mdp
from .assets import demo_motions_dir, ground_plane_usd_path
from .command import MotionTrackingCommandCfg
from .robots import G1_ACTION_SCALE, G1_ANCHOR_BODY, G1_END_EFFECTORS, G1_TRACKED_BODIES, g1_cfg, isaaclab_g1_cfg

__all__ = ["G1TrackingEnvCfg", "G1TrackingEnvCfg_PLAY", "G1TrackingPPORunnerCfg"]

_COMMAND = "motion"

UNDESIRED_CONTACT_BODIES = r"^(?!left_ankle_roll_link$)(?!right_ankle_roll_link$)(?!left_wrist_yaw_link$)" \
                           r"(?!right_wrist_yaw_link$).+$"
"""The bodies whose contacts are penalised: all but the feet and hands (BeyondMimic's regex)."""


@configclass
class TrackingSceneCfg(InteractiveSceneCfg):
    """A flat ground, one G1 per environment and a contact sensor on all its bodies.

    Ground and robot are set by :meth:`G1TrackingEnvCfg.use_robot`; the sensor is BeyondMimic's (3 steps of history,
    10 N air-time threshold).
    """

    ground: AssetBaseCfg = MISSING
    robot: ArticulationCfg = MISSING
    contact_forces = ContactSensorCfg(prim_path="{ENV_REGEX_NS}/Robot/.*", history_length=3, track_air_time=True,
                                      force_threshold=10.0)


@configclass
class CommandsCfg:
    """The motion command: which clip, which frame, and the adaptive sampler that picks the starts."""

    motion = MotionTrackingCommandCfg(
        asset_name="robot",
        motions=[str(demo_motions_dir())],
        sampler=AdaptiveSamplerCfg(),
        anchor_body_name=G1_ANCHOR_BODY,
        body_names=list(G1_TRACKED_BODIES),
        pose_range={"x": (-0.05, 0.05), "y": (-0.05, 0.05), "z": (-0.01, 0.01),
                    "roll": (-0.1, 0.1), "pitch": (-0.1, 0.1), "yaw": (-0.2, 0.2)},
        velocity_range={"x": (-0.5, 0.5), "y": (-0.5, 0.5), "z": (-0.2, 0.2),
                        "roll": (-0.52, 0.52), "pitch": (-0.52, 0.52), "yaw": (-0.78, 0.78)},
        joint_position_range=(-0.1, 0.1),
    )


@configclass
class ActionsCfg:
    """Joint position targets around the default pose."""

    joint_pos = isaaclab_mdp.JointPositionActionCfg(
        asset_name="robot", joint_names=[".*"], scale=dict(G1_ACTION_SCALE), use_default_offset=True
    )


@configclass
class ObservationsCfg:
    """Actor (noisy, no privileged state) and critic (noise-free, with body poses) observations."""

    @configclass
    class PolicyCfg(ObsGroup):
        """Actor observations."""

        command = ObsTerm(func=isaaclab_mdp.generated_commands, params={"command_name": _COMMAND})
        motion_id = ObsTerm(func=mdp.motion_id_one_hot, params={"command_name": _COMMAND})
        motion_progress = ObsTerm(func=mdp.motion_progress, params={"command_name": _COMMAND})
        motion_anchor_pos_b = ObsTerm(func=mdp.motion_anchor_pos_b, params={"command_name": _COMMAND},
                                      noise=Unoise(n_min=-0.25, n_max=0.25))
        motion_anchor_ori_b = ObsTerm(func=mdp.motion_anchor_ori_b, params={"command_name": _COMMAND},
                                      noise=Unoise(n_min=-0.05, n_max=0.05))
        base_lin_vel = ObsTerm(func=isaaclab_mdp.base_lin_vel, noise=Unoise(n_min=-0.5, n_max=0.5))
        base_ang_vel = ObsTerm(func=isaaclab_mdp.base_ang_vel, noise=Unoise(n_min=-0.2, n_max=0.2))
        joint_pos = ObsTerm(func=isaaclab_mdp.joint_pos_rel, noise=Unoise(n_min=-0.01, n_max=0.01))
        joint_vel = ObsTerm(func=isaaclab_mdp.joint_vel_rel, noise=Unoise(n_min=-0.5, n_max=0.5))
        actions = ObsTerm(func=isaaclab_mdp.last_action)

        def __post_init__(self) -> None:
            self.enable_corruption = True
            self.concatenate_terms = True

    @configclass
    class CriticCfg(ObsGroup):
        """Critic observations (privileged)."""

        command = ObsTerm(func=isaaclab_mdp.generated_commands, params={"command_name": _COMMAND})
        motion_id = ObsTerm(func=mdp.motion_id_one_hot, params={"command_name": _COMMAND})
        motion_progress = ObsTerm(func=mdp.motion_progress, params={"command_name": _COMMAND})
        motion_anchor_pos_b = ObsTerm(func=mdp.motion_anchor_pos_b, params={"command_name": _COMMAND})
        motion_anchor_ori_b = ObsTerm(func=mdp.motion_anchor_ori_b, params={"command_name": _COMMAND})
        body_pos = ObsTerm(func=mdp.robot_body_pos_b, params={"command_name": _COMMAND})
        body_ori = ObsTerm(func=mdp.robot_body_ori_b, params={"command_name": _COMMAND})
        base_lin_vel = ObsTerm(func=isaaclab_mdp.base_lin_vel)
        base_ang_vel = ObsTerm(func=isaaclab_mdp.base_ang_vel)
        joint_pos = ObsTerm(func=isaaclab_mdp.joint_pos_rel)
        joint_vel = ObsTerm(func=isaaclab_mdp.joint_vel_rel)
        actions = ObsTerm(func=isaaclab_mdp.last_action)

        def __post_init__(self) -> None:
            self.enable_corruption = False
            self.concatenate_terms = True

    policy: PolicyCfg = PolicyCfg()
    critic: CriticCfg = CriticCfg()


@configclass
class EventsCfg:
    """BeyondMimic's startup randomisation and random pushes.

    Startup: friction of every robot shape, the torso's centre of mass. The start-state randomisation lives in the
    motion command.
    """

    physics_material = EventTerm(
        func=isaaclab_mdp.randomize_rigid_body_material,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg("robot", body_names=".*"), "static_friction_range": (0.3, 1.6),
                "dynamic_friction_range": (0.3, 1.2), "restitution_range": (0.0, 0.5), "num_buckets": 64},
    )
    base_com = EventTerm(
        func=isaaclab_mdp.randomize_rigid_body_com,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg("robot", body_names=G1_ANCHOR_BODY),
                "com_range": {"x": (-0.025, 0.025), "y": (-0.05, 0.05), "z": (-0.05, 0.05)}},
    )

    push_robot = EventTerm(
        func=isaaclab_mdp.push_by_setting_velocity,
        mode="interval",
        interval_range_s=(1.0, 3.0),
        params={"velocity_range": {"x": (-0.5, 0.5), "y": (-0.5, 0.5), "z": (-0.2, 0.2), "roll": (-0.52, 0.52),
                                   "pitch": (-0.52, 0.52), "yaw": (-0.78, 0.78)}},
    )


def _tracking_reward(func: Callable, weight: float, std: float) -> RewTerm:
    """A Gaussian tracking reward of the motion command with kernel width ``std``."""
    return RewTerm(func=func, weight=weight, params={"command_name": _COMMAND, "std": std})


@configclass
class RewardsCfg:
    """Gaussian tracking rewards plus smoothness, joint-limit and undesired-contact penalties."""

    motion_global_anchor_pos = _tracking_reward(mdp.motion_global_anchor_position_error_exp, 0.5, std=0.3)
    motion_global_anchor_ori = _tracking_reward(mdp.motion_global_anchor_orientation_error_exp, 0.5, std=0.4)
    motion_body_pos = _tracking_reward(mdp.motion_relative_body_position_error_exp, 1.0, std=0.3)
    motion_body_ori = _tracking_reward(mdp.motion_relative_body_orientation_error_exp, 1.0, std=0.4)
    motion_body_lin_vel = _tracking_reward(mdp.motion_global_body_linear_velocity_error_exp, 1.0, std=1.0)
    motion_body_ang_vel = _tracking_reward(mdp.motion_global_body_angular_velocity_error_exp, 1.0, std=3.14)
    action_rate_l2 = RewTerm(func=isaaclab_mdp.action_rate_l2, weight=-0.1)
    joint_limit = RewTerm(func=isaaclab_mdp.joint_pos_limits, weight=-10.0,
                          params={"asset_cfg": SceneEntityCfg("robot", joint_names=[".*"])})
    undesired_contacts = RewTerm(
        func=isaaclab_mdp.undesired_contacts,
        weight=-0.1,
        params={"threshold": 1.0,
                "sensor_cfg": SceneEntityCfg("contact_forces", body_names=[UNDESIRED_CONTACT_BODIES])},
    )


@configclass
class TerminationsCfg:
    """Time-out (not a failure) and three tracking failures."""

    time_out = DoneTerm(func=isaaclab_mdp.time_out, time_out=True)
    anchor_pos = DoneTerm(func=mdp.bad_anchor_pos_z_only, params={"command_name": _COMMAND, "threshold": 0.25})
    anchor_ori = DoneTerm(func=mdp.bad_anchor_ori, params={"command_name": _COMMAND, "threshold": 0.8})
    ee_body_pos = DoneTerm(func=mdp.bad_motion_body_pos_z_only,
                           params={"command_name": _COMMAND, "threshold": 0.25, "body_names": list(G1_END_EFFECTORS)})


@configclass
class G1TrackingEnvCfg(ManagerBasedRLEnvCfg):
    """G1 multi-motion tracking: 50 Hz control (sim 200 Hz, decimation 4), 10 s episodes, CPU by default."""

    sim: SimulationCfg = SimulationCfg(dt=0.005, device="cpu")
    scene: TrackingSceneCfg = TrackingSceneCfg(num_envs=16, env_spacing=2.5)
    observations: ObservationsCfg = ObservationsCfg()
    actions: ActionsCfg = ActionsCfg()
    commands: CommandsCfg = CommandsCfg()
    rewards: RewardsCfg = RewardsCfg()
    terminations: TerminationsCfg = TerminationsCfg()
    events: EventsCfg = EventsCfg()

    robot_source: str = "local"
    """``"local"``: the G1 and ground converted by ``scripts/setup_isaaclab.sh`` (no Isaac Sim, no download);
    ``"isaaclab"``: Isaac Lab's own G1 and ground plane (NVIDIA's asset server; use with Isaac Sim)."""

    physics_backend: str = "newton"
    """``"newton"``: Newton with the MuJoCo-Warp solver (CPU or GPU, no Isaac Sim); ``"physx"``: PhysX."""

    def __post_init__(self) -> None:
        self.decimation = 4
        self.episode_length_s = 10.0
        self.sim.render_interval = self.decimation
        self.use_robot(self.robot_source)
        self.use_physics(self.physics_backend)

    def use_robot(self, source: str) -> None:
        """Switch between the local G1 (``"local"``) and Isaac Lab's own (``"isaaclab"``)."""
        if source == "local":
            self.scene.robot = g1_cfg()
            self.scene.ground = AssetBaseCfg(
                prim_path="/World/ground",
                spawn=sim_utils.GroundPlaneCfg(usd_path=str(ground_plane_usd_path(check=False)),
                                               physics_material=self._ground_material()),
            )
        elif source == "isaaclab":
            self.scene.robot = isaaclab_g1_cfg()
            self.scene.ground = AssetBaseCfg(prim_path="/World/ground",
                                             spawn=sim_utils.GroundPlaneCfg(physics_material=self._ground_material()))
        else:
            raise ValueError(f"robot_source must be 'local' or 'isaaclab', got {source!r}")
        self.robot_source = source

    def use_physics(self, backend: str) -> None:
        """Switch between Newton/MuJoCo-Warp (``"newton"``) and PhysX (``"physx"``)."""
        if backend == "newton":
            self.sim.physics = NewtonCfg(solver_cfg=MJWarpSolverCfg(njmax=300, nconmax=100))
        elif backend == "physx":
            from isaaclab_physx.physics import PhysxCfg

            self.sim.physics = PhysxCfg()
        else:
            raise ValueError(f"physics_backend must be 'newton' or 'physx', got {backend!r}")
        self.physics_backend = backend
        if isinstance(self.scene.ground, AssetBaseCfg):
            self.scene.ground.spawn.physics_material = self._ground_material()

    def _ground_material(self) -> sim_utils.RigidBodyMaterialBaseCfg:
        """The ground's friction, such that a contact's friction is the robot shape's (drawn at startup).

        BeyondMimic's ground has friction 1.0 and PhysX multiplies the two shapes' values; MuJoCo (Newton's solver)
        takes the larger of the two, so the Newton ground has 0 (with Isaac Lab's default 0.5 the drawn range
        [0.3, 1.6] was in effect [0.5, 1.6]).
        """
        if self.physics_backend == "physx":
            from isaaclab_physx.sim.spawners.materials import PhysxRigidBodyMaterialCfg

            return PhysxRigidBodyMaterialCfg(static_friction=1.0, dynamic_friction=1.0,
                                             friction_combine_mode="multiply", restitution_combine_mode="multiply")
        return sim_utils.RigidBodyMaterialCfg(static_friction=0.0, dynamic_friction=0.0, restitution=0.0)

    def set_motions(self, motions: str | list[str]) -> None:
        """Track these files, directories or globs instead of the demo clips."""
        self.commands.motion.motions = [motions] if isinstance(motions, str) else list(motions)


@configclass
class G1TrackingEnvCfg_PLAY(G1TrackingEnvCfg):
    """Evaluation: frame-0 starts, frozen sampler statistics, no pushes or start noise, no observation noise."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.num_envs = 4
        self.observations.policy.enable_corruption = False
        self.events.push_robot = None
        self.commands.motion.evaluation = True
        self.commands.motion.pose_range = {}
        self.commands.motion.velocity_range = {}
        self.commands.motion.joint_position_range = (0.0, 0.0)


@configclass
class G1TrackingPPORunnerCfg(RslRlOnPolicyRunnerCfg):
    """PPO as BeyondMimic trains the G1 tracker (24 steps per env, [512, 256, 128] ELU, adaptive KL 0.01)."""

    num_steps_per_env = 24
    max_iterations = 30000
    save_interval = 500
    experiment_name = "g1_multi_motion_tracking"
    export_onnx: bool = True
    """Write ``policy.onnx`` (actor, normaliser, deployment metadata) next to every checkpoint (adaptive runner)."""
    sampler_image_interval: int | None = None
    """Log the sampler images every this many iterations (0: never; ``None``: about 30 per ``learn()``)."""
    device = "cpu"
    empirical_normalization = True
    obs_groups = {"actor": ["policy"], "critic": ["critic"]}
    actor = RslRlMLPModelCfg(
        hidden_dims=[512, 256, 128],
        activation="elu",
        obs_normalization=True,
        distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0),
    )
    critic = RslRlMLPModelCfg(hidden_dims=[512, 256, 128], activation="elu", obs_normalization=True)
    algorithm = RslRlPpoAlgorithmCfg(
        value_loss_coef=1.0,
        use_clipped_value_loss=True,
        clip_param=0.2,
        entropy_coef=0.005,
        num_learning_epochs=5,
        num_mini_batches=4,
        learning_rate=1.0e-3,
        schedule="adaptive",
        gamma=0.99,
        lam=0.95,
        desired_kl=0.01,
        max_grad_norm=1.0,
    )
