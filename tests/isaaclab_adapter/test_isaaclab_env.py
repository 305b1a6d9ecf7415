"""The motion command in a real Isaac Lab 3.x ManagerBasedRLEnv with the G1 (Newton / MuJoCo-Warp, CPU, 4 envs)."""

import math

import pytest
import torch

# isaaclab_newton, not isaaclab: the Newton backend is what these tests need.
pytest.importorskip("isaaclab_newton", reason="Isaac Lab 3.x is not installed (scripts/setup_isaaclab.sh installs it)")
pytestmark = [pytest.mark.isaaclab, pytest.mark.slow]

NUM_ENVS = 4


def forced_termination(env):
    """Terminates the envs a test marks in ``env.forced_termination`` (then clears the mark)."""
    flags = getattr(env, "forced_termination", None)
    if flags is None:
        return torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
    env.forced_termination = None
    return flags


@pytest.fixture(scope="module")
def env():
    import gymnasium as gym
    from adaptive_sampling_isaaclab import tasks
    from isaaclab.managers import TerminationTermCfg

    cfg = tasks.load_cfg(tasks.TASK_TRAIN)
    cfg.scene.num_envs = NUM_ENVS
    cfg.seed = 0
    cfg.commands.motion.sampler.seed = 0
    # exact reference starts and no tracking terminations: the tests decide when envs end
    cfg.commands.motion.pose_range = {}
    cfg.commands.motion.velocity_range = {}
    cfg.commands.motion.joint_position_range = (0.0, 0.0)
    cfg.events.push_robot = None
    cfg.terminations.anchor_pos = None
    cfg.terminations.anchor_ori = None
    cfg.terminations.ee_body_pos = None
    cfg.terminations.forced = TerminationTermCfg(func=forced_termination)
    environment = gym.make(tasks.TASK_TRAIN, cfg=cfg).unwrapped
    environment.reset()
    yield environment
    environment.close()


@pytest.fixture
def command(env):
    term = env.command_manager.get_term("motion")
    term.set_evaluation(False)
    term.cfg.pose_range = {}
    term.cfg.velocity_range = {}
    term.cfg.joint_position_range = (0.0, 0.0)
    return term


@pytest.fixture
def recorded(command, monkeypatch):
    """Every sampler.record call of the test, passed through to the real sampler."""
    calls = []
    real = command.sampler.record

    def spy(motion_ids, start_frames, end_frames, failed):
        calls.append({"motion_ids": motion_ids.clone(), "start_frames": start_frames.clone(),
                      "end_frames": end_frames.clone(), "failed": failed.clone()})
        real(motion_ids, start_frames, end_frames, failed)

    monkeypatch.setattr(command.sampler, "record", spy)
    return calls


def zero_action(env):
    return torch.zeros(env.num_envs, env.action_manager.total_action_dim, device=env.device)


def reference(command):
    lib = command.library
    return lib.frame_index(command.motion_ids, command.frames), lib


def name_of(command, index):
    """A demo motion's name by index (the tests do not depend on which clips the demo set holds)."""
    return command.library.motion_names[index % command.library.num_motions]


def longest(command):
    return command.library.motion_names[int(command.library.num_frames.argmax())]


def place(command, env_id, motion_name, frame, start_frame=None):
    """Put one env at a chosen (motion, frame) of the command's bookkeeping."""
    motion = command.library.motion_names.index(motion_name)
    command.motion_ids[env_id] = motion
    command.frames[env_id] = frame
    command.start_frames[env_id] = frame if start_frame is None else start_frame


def test_reset_writes_the_reference_state_exactly(env, command):
    """After a reset the robot's root pose (xyzw in the sim), root velocity, joints and all 30 bodies equal the
    sampled reference frame."""
    from adaptive_sampling_isaaclab.rotations import quat_error_magnitude

    env.reset()
    frames, lib = reference(command)
    robot = env.scene["robot"]
    data = robot.data
    origins = env.scene.env_origins
    root_pose = data.root_link_pose_w.torch
    torch.testing.assert_close(root_pose[:, :3] - origins, lib.body_pos_w[frames, 0], atol=1e-5, rtol=0)
    # Isaac Lab 3.x stores (x, y, z, w); the npz and our library store (w, x, y, z)
    ref_quat = lib.body_quat_w[frames, 0]
    sim_quat = root_pose[:, 3:7]
    sign = torch.sign((sim_quat * ref_quat[:, [1, 2, 3, 0]]).sum(-1, keepdim=True))
    torch.testing.assert_close(sim_quat * sign, ref_quat[:, [1, 2, 3, 0]], atol=1e-5, rtol=0)
    assert float((sim_quat - ref_quat).abs().max()) > 1e-2, "sim quaternion must not be in wxyz order"
    velocity = data.root_com_vel_w.torch
    torch.testing.assert_close(velocity[:, :3], lib.body_lin_vel_w[frames, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(velocity[:, 3:], lib.body_ang_vel_w[frames, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(data.joint_pos.torch, lib.joint_pos[frames], atol=1e-6, rtol=0)
    torch.testing.assert_close(data.joint_vel.torch, lib.joint_vel[frames], atol=1e-6, rtol=0)
    body_pos = data.body_link_pos_w.torch - origins[:, None]
    torch.testing.assert_close(body_pos, lib.body_pos_w[frames], atol=1e-4, rtol=0)
    body_quat = command.api.read_quat(data, "body_link_quat_w")
    assert float(quat_error_magnitude(body_quat, lib.body_quat_w[frames]).max()) < 1e-3
    # the tracking errors start at zero
    torch.testing.assert_close(command.body_pos_relative_w, command.robot_body_pos_w, atol=1e-4, rtol=0)


def test_start_randomisation_ranges_are_applied(env, command):
    """A fixed pose offset in pose_range moves the root by exactly that offset; joints stay within the range."""
    command.cfg.pose_range = {"x": (0.1, 0.1), "z": (0.05, 0.05)}
    command.cfg.joint_position_range = (-0.05, 0.05)
    env.reset()
    frames, lib = reference(command)
    root = env.scene["robot"].data.root_link_pose_w.torch[:, :3] - env.scene.env_origins
    torch.testing.assert_close(root - lib.body_pos_w[frames, 0], torch.tensor([[0.1, 0.0, 0.05]]).expand(
        NUM_ENVS, 3), atol=1e-5, rtol=0)
    offset = env.scene["robot"].data.joint_pos.torch - lib.joint_pos[frames]
    assert float(offset.abs().max()) <= 0.05 + 1e-6
    assert float(offset.abs().max()) > 0.0


def test_forced_termination_is_recorded_against_its_bin_and_raises_it(env, command, recorded):
    """A termination records failed=True for (motion, start, end frame) of that env, and after a rebuild the
    probability of the bin it ended in goes up."""
    env.reset()
    recorded.clear()
    sampler = command.sampler
    place(command, 0, longest(command), frame=70, start_frame=55)
    sampler.rebuild()
    motion = command.library.motion_names.index(longest(command))
    end_bin = int(sampler.layout.bins_of(torch.tensor([motion]), torch.tensor([70]))[0])
    before = sampler.probabilities[end_bin].item()
    episode_length = env.episode_length_buf.clone()

    flags = torch.zeros(NUM_ENVS, dtype=torch.bool)
    flags[0] = True
    env.forced_termination = flags
    _, _, terminated, time_outs, _ = env.step(zero_action(env))

    assert terminated.tolist() == [True, False, False, False] and not bool(time_outs.any())
    resets = [c for c in recorded if bool(c["failed"].any())]
    assert len(resets) == 1
    call = resets[0]
    assert call["motion_ids"].tolist() == [motion]
    assert call["start_frames"].tolist() == [55]
    assert call["end_frames"].tolist() == [70]
    assert call["failed"].tolist() == [True]
    assert env.episode_length_buf[0] == 0 and bool((env.episode_length_buf[1:] == episode_length[1:] + 1).all())
    sampler.rebuild()
    after = sampler.probabilities[end_bin].item()
    assert after > before


def test_time_out_is_recorded_as_not_failed(env, command, recorded):
    """An episode that times out records its segment with failed=False."""
    env.reset()
    recorded.clear()
    place(command, 2, name_of(command, 0), frame=30, start_frame=10)
    env.episode_length_buf[2] = env.max_episode_length - 1
    _, _, terminated, time_outs, _ = env.step(zero_action(env))
    assert bool(time_outs[2]) and not bool(terminated[2])
    motion = 0
    ended = [c for c in recorded if motion in c["motion_ids"].tolist() and 10 in c["start_frames"].tolist()]
    assert len(ended) == 1
    index = ended[0]["start_frames"].tolist().index(10)
    assert ended[0]["end_frames"][index] == 30 and not bool(ended[0]["failed"][index])


def test_clip_end_records_a_success_and_restarts_without_ending_the_episode(env, command, recorded):
    """Reaching a clip's last frame records failed=False, draws a new start and writes it, and the episode goes on."""
    env.reset()
    env.step(zero_action(env))
    recorded.clear()
    motion = 1 % command.library.num_motions
    last = int(command.library.num_frames[motion]) - 1
    place(command, 1, name_of(command, motion), frame=last, start_frame=last - 20)
    episode_length = int(env.episode_length_buf[1])
    clock = command.sampler.clock

    _, _, terminated, time_outs, _ = env.step(zero_action(env))

    assert not bool(terminated[1]) and not bool(time_outs[1])
    assert int(env.episode_length_buf[1]) == episode_length + 1, "the episode must not end at a clip end"
    successes = [c for c in recorded if c["motion_ids"].numel() == 1 and c["start_frames"].tolist() == [last - 20]]
    assert len(successes) == 1
    assert successes[0]["motion_ids"].tolist() == [motion]
    assert successes[0]["end_frames"].tolist() == [last]
    assert successes[0]["failed"].tolist() == [False]
    # a new start was drawn and written to the robot
    assert int(command.frames[1]) == int(command.start_frames[1])
    frames, lib = reference(command)
    torch.testing.assert_close(env.scene["robot"].data.joint_pos.torch[1], lib.joint_pos[frames[1]], atol=1e-6,
                               rtol=0)
    assert command.sampler.clock == clock + 1, "sampler.step() runs once per env step"


def test_motion_id_observation(env, command):
    """The one-hot motion id has shape (num_envs, num_motions), matches each env's motion and sits in the policy
    observation where the manager says."""
    from adaptive_sampling_isaaclab import mdp

    env.reset()
    place(command, 3, name_of(command, -1), frame=5)
    one_hot = mdp.motion_id_one_hot(env, "motion")
    num_motions = command.library.num_motions
    assert one_hot.shape == (NUM_ENVS, num_motions)
    assert one_hot.sum(-1).tolist() == [1.0] * NUM_ENVS
    assert one_hot.argmax(-1).tolist() == command.motion_ids.tolist()
    assert int(one_hot[3].argmax()) == command.library.num_motions - 1
    progress = mdp.motion_progress(env, "motion")
    assert progress.shape == (NUM_ENVS, 1)
    expected = 5 / (int(command.library.num_frames[command.motion_ids[3]]) - 1)
    assert abs(float(progress[3, 0]) - expected) < 1e-6

    obs = env.observation_manager.compute()["policy"]
    names = env.observation_manager.active_terms["policy"]
    dims = [d[0] for d in env.observation_manager.group_obs_term_dim["policy"]]
    start = sum(dims[: names.index("motion_id")])
    torch.testing.assert_close(obs[:, start : start + num_motions], one_hot)


def test_anchor_observations_are_the_reference_seen_from_the_robot(env, command):
    """BeyondMimic's frames and signs: with the robot 0.1 m ahead (+x) of its reference, motion_anchor_pos_b, turned
    back into the world by the robot's anchor orientation, is (-0.1, 0, 0) (reference minus robot); with the robot
    turned by yaw +0.3 rad, motion_anchor_ori_b (first two columns of robot^-1 * reference, row by row) is a yaw of
    -0.3 rad, up to the standing torso's small tilt; at the reference both are zero and the identity."""
    from adaptive_sampling_isaaclab import mdp
    from adaptive_sampling_isaaclab.rotations import quat_apply, quat_from_euler_xyz, quat_mul

    env.reset()
    robot = env.scene["robot"]
    ids = torch.arange(NUM_ENVS)
    identity = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]).expand(NUM_ENVS, 6)
    torch.testing.assert_close(mdp.motion_anchor_pos_b(env, "motion"), torch.zeros(NUM_ENVS, 3), atol=1e-4, rtol=0)
    torch.testing.assert_close(mdp.motion_anchor_ori_b(env, "motion"), identity, atol=1e-4, rtol=0)

    _, root_pos, root_quat, lin_vel, ang_vel = command._reference_root_state(ids)
    command.api.write_root_state(robot, root_pos + torch.tensor([0.1, 0.0, 0.0]), root_quat, lin_vel, ang_vel, ids)
    pos_w = quat_apply(command.robot_anchor_quat_w, mdp.motion_anchor_pos_b(env, "motion"))
    torch.testing.assert_close(pos_w, torch.tensor([-0.1, 0.0, 0.0]).expand(NUM_ENVS, 3), atol=1e-4, rtol=0)

    zero = torch.zeros(NUM_ENVS)
    yaw = quat_from_euler_xyz(zero, zero, zero + 0.3)
    command.api.write_root_state(robot, root_pos, quat_mul(yaw, root_quat), lin_vel, ang_vel, ids)
    c, s = math.cos(0.3), math.sin(0.3)
    expected = torch.tensor([c, s, -s, c, 0.0, 0.0]).expand(NUM_ENVS, 6)  # rows of Rz(-0.3), first two columns
    torch.testing.assert_close(mdp.motion_anchor_ori_b(env, "motion"), expected, atol=0.05, rtol=0)
    assert float((mdp.motion_anchor_ori_b(env, "motion") - expected).abs().max()) < float(
        (mdp.motion_anchor_ori_b(env, "motion") - expected[:, [0, 2, 1, 3, 4, 5]]).abs().max()), "yaw sign"
    env.reset()


def test_evaluation_mode_starts_chosen_motion_at_frame_zero_and_freezes_statistics(env, command, recorded):
    """In evaluation mode every start is frame 0 of the chosen motion and the sampler's statistics do not move."""
    motion = 2 % command.library.num_motions
    command.set_evaluation(True, motion=name_of(command, motion))
    try:
        state = command.sampler.state_dict()
        env.reset()
        assert command.motion_ids.tolist() == [motion] * NUM_ENVS
        assert command.frames.tolist() == [0] * NUM_ENVS
        for _ in range(3):
            env.step(zero_action(env))
        after = command.sampler.state_dict()
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and "generator" not in key:
                torch.testing.assert_close(after[key], value, msg=f"sampler state {key!r} changed in evaluation")
        with pytest.raises(ValueError, match="eval_motion"):
            command.set_evaluation(True, motion="no_such_motion")
    finally:
        command.set_evaluation(False)


def test_sampler_metrics_follow_the_sampler(env, command):
    """The env exposes the sampler; the logged sampling_entropy (the core's entropy / ln B) and sampling_top1_* are
    those of the sampler's current distribution, and they change when a rebuild changes it."""
    from adaptive_sampling.kernels import entropy

    sampler = command.sampler
    assert env.adaptive_sampler is sampler
    env.reset()

    def logged_at_a_termination():
        expected = sampler.probabilities  # the reset logs before this step's sampler.step()
        place(command, 0, name_of(command, 0), frame=3)
        env.forced_termination = torch.tensor([True, False, False, False])
        return env.step(zero_action(env))[4]["log"], expected

    def check(log, probs):
        num_bins = probs.numel()
        assert float(log["Metrics/motion/sampling_entropy"]) == pytest.approx(
            float(entropy(probs)) / math.log(num_bins), abs=1e-6)
        assert float(log["Metrics/motion/sampling_top1_prob"]) == pytest.approx(float(probs.max()), abs=1e-6)
        assert float(log["Metrics/motion/sampling_top1_bin"]) == pytest.approx(int(probs.argmax()) / num_bins)

    log, probs = logged_at_a_termination()
    check(log, probs)
    assert "Metrics/motion/error_body_pos" in log
    # failures piled into one bin of the longest motion, then a rebuild: the logged values must move with it
    motion = command.library.motion_names.index(longest(command))
    frames = torch.full((512,), 70, device=env.device)
    motion_ids = torch.full_like(frames, motion)
    sampler.record(motion_ids, frames, frames, torch.ones_like(frames, dtype=torch.bool))
    sampler.rebuild()
    log_after, probs_after = logged_at_a_termination()
    check(log_after, probs_after)
    failing_bin = int(sampler.layout.bins_of(torch.tensor([motion]), torch.tensor([70]))[0])
    assert float(probs_after[failing_bin]) > float(probs[failing_bin]), "the rebuild must move mass to that bin"
    entropy_key, top1_key = "Metrics/motion/sampling_entropy", "Metrics/motion/sampling_top1_prob"
    assert abs(float(log_after[entropy_key]) - float(log[entropy_key])) > 1e-4
    assert abs(float(log_after[top1_key]) - float(log[top1_key])) > 1e-4


def test_tracking_rewards_are_beyondmimics_kernels(env, command):
    """Each tracking reward is exp(-error / std^2) of its error (mean over the chosen bodies), on a state that is
    off the reference after a few zero-action steps."""
    from adaptive_sampling_isaaclab import mdp
    from adaptive_sampling_isaaclab.rotations import quat_error_magnitude

    env.reset()
    for _ in range(3):
        env.step(zero_action(env))
    c, std = command, 0.5
    names = list(c.cfg.body_names)
    subset = names[1:4]
    index = [names.index(n) for n in subset]

    def sq(a, b):
        return ((a - b) ** 2).sum(-1)

    expected = {
        "motion_global_anchor_position_error_exp": sq(c.anchor_pos_w, c.robot_anchor_pos_w),
        "motion_global_anchor_orientation_error_exp": quat_error_magnitude(c.anchor_quat_w, c.robot_anchor_quat_w) ** 2,
        "motion_relative_body_position_error_exp": sq(c.body_pos_relative_w, c.robot_body_pos_w)[:, index].mean(-1),
        "motion_relative_body_orientation_error_exp": (
            quat_error_magnitude(c.body_quat_relative_w, c.robot_body_quat_w)[:, index] ** 2).mean(-1),
        "motion_global_body_linear_velocity_error_exp": sq(c.body_lin_vel_w, c.robot_body_lin_vel_w)[:, index].mean(-1),
        "motion_global_body_angular_velocity_error_exp": (
            sq(c.body_ang_vel_w, c.robot_body_ang_vel_w)[:, index].mean(-1)),
    }
    for name, error in expected.items():
        kwargs = {} if "anchor" in name else {"body_names": subset}
        reward = getattr(mdp, name)(env, "motion", std, **kwargs)
        torch.testing.assert_close(reward, torch.exp(-error / std**2), msg=name)
    assert float(expected["motion_global_body_linear_velocity_error_exp"].max()) > 1e-4, "the state must be off"


def test_task_cfg_variants():
    """The task switches robot (local USD / Isaac Lab's G1) and physics (Newton / PhysX) and rejects unknown ones;
    the play variant evaluates without noise."""
    from adaptive_sampling_isaaclab import tasks
    from adaptive_sampling_isaaclab.assets import assets_dir
    from isaaclab_newton.physics import NewtonCfg

    cfg = tasks.load_cfg(tasks.TASK_TRAIN)
    assert isinstance(cfg.sim.physics, NewtonCfg) and cfg.sim.device == "cpu"
    assert cfg.scene.robot.spawn.usd_path.startswith(str(assets_dir()))
    local_actuators = sorted(cfg.scene.robot.actuators)
    cfg.use_robot("isaaclab")
    assert "Robots/Unitree/G1" in cfg.scene.robot.spawn.usd_path
    assert sorted(cfg.scene.robot.actuators) == local_actuators
    assert cfg.scene.robot.prim_path == "{ENV_REGEX_NS}/Robot"
    cfg.use_physics("physx")
    assert type(cfg.sim.physics).__name__ == "PhysxCfg"
    with pytest.raises(ValueError, match="robot_source"):
        cfg.use_robot("mjcf")
    with pytest.raises(ValueError, match="physics_backend"):
        cfg.use_physics("bullet")
    play = tasks.load_cfg(tasks.TASK_PLAY)
    assert play.commands.motion.evaluation and play.events.push_robot is None
    assert play.commands.motion.pose_range == {} and not play.observations.policy.enable_corruption
    agent = tasks.load_cfg(tasks.TASK_TRAIN, "rsl_rl_cfg_entry_point")
    assert agent.num_steps_per_env == 24 and agent.actor.hidden_dims == [512, 256, 128]
    assert agent.algorithm.desired_kl == 0.01 and agent.algorithm.entropy_coef == 0.005
    with pytest.raises(ValueError, match="not registered"):
        tasks.load_cfg("Nope-v0")


def newton_solver():
    """The MuJoCo-Warp solver that steps the scene (what the physics actually uses)."""
    from isaaclab_newton.physics import NewtonManager

    return NewtonManager._solver


def test_startup_friction_randomisation_reaches_the_solver(env):
    """BeyondMimic's startup friction event drew one friction per robot shape and env in [0.3, 1.6], and the
    MuJoCo-Warp model the solver steps holds those values."""
    import warp as wp

    term = env.event_manager.get_term_cfg("physics_material").func
    mu = wp.to_torch(term._impl._friction_binding).clone()  # Newton model's shape_material_mu, robot shapes
    assert mu.shape[0] == NUM_ENVS and float(mu.min()) >= 0.3 and float(mu.max()) <= 1.6
    assert not torch.equal(mu[0], mu[1]) and int(torch.unique(mu[0]).numel()) > mu.shape[1] // 2, "must be random"
    env.step(zero_action(env))
    geom_mu = wp.to_torch(newton_solver().mjw_model.geom_friction)[..., 0]
    for e in range(NUM_ENVS):
        robot_geoms = geom_mu[e][~torch.isin(geom_mu[e], geom_mu[(e + 1) % NUM_ENVS])]  # the ground's is shared
        assert robot_geoms.numel() > mu.shape[1] // 2
        assert torch.isin(robot_geoms, mu[e]).all(), "the solver's geom friction must be the sampled values"


def test_ground_contacts_have_the_robot_shapes_drawn_friction(env):
    """The ground has friction 0 in the solver, so MuJoCo's rule (the larger of a contact's two geoms) gives every
    ground contact the drawn friction of the robot shape it touches, as BeyondMimic's PhysX ground of 1.0 with
    multiplied friction does (with Isaac Lab's default ground material, 0.5, draws below 0.5 were lost)."""
    import warp as wp

    env.reset()
    env.step(zero_action(env))
    solver = newton_solver()
    model, data = solver.mjw_model, solver.mjw_data
    geom_mu = wp.to_torch(model.geom_friction)[..., 0]  # (worlds, geoms)
    count = int(wp.to_torch(data.nacon)[0])
    geoms = wp.to_torch(data.contact.geom)[:count].long()
    worlds = wp.to_torch(data.contact.worldid)[:count].long()
    friction = wp.to_torch(data.contact.friction)[:count, 0]
    ground = int(torch.mode(geoms[:, 0]).values)  # the plane is in every contact the standing robots make
    assert torch.all(geom_mu[:, ground] == 0.0), "the ground's friction must be 0"
    on_ground = (geoms == ground).any(-1)
    assert int(on_ground.sum()) >= NUM_ENVS, "the standing robots must touch the ground"
    other = torch.where(geoms[:, 0] == ground, geoms[:, 1], geoms[:, 0])[on_ground]
    torch.testing.assert_close(friction[on_ground], geom_mu[worlds[on_ground], other])


def test_startup_com_randomisation_moves_the_torso_com_in_the_solver(env):
    """BeyondMimic's startup COM event offset the torso's centre of mass within its ranges (other bodies unchanged),
    and the MuJoCo-Warp model's body_ipos holds the new offset."""
    import warp as wp

    robot = env.scene["robot"]
    term = env.event_manager.get_term_cfg("base_com").func
    torso = robot.find_bodies("torso_link")[0][0]
    com = robot.data.body_com_pose_b.torch[..., :3].clone()
    offset = com[:, torso] - term.default_com[:, torso, :3]
    bounds = torch.tensor([0.025, 0.05, 0.05])
    assert (offset.abs() <= bounds + 1e-6).all() and (offset.abs() > 0).all(), offset
    assert not torch.equal(offset[0], offset[1])
    others = [b for b in range(com.shape[1]) if b != torso]
    torch.testing.assert_close(com[:, others], term.default_com[:, others, :3])
    env.step(zero_action(env))
    ipos = wp.to_torch(newton_solver().mjw_model.body_ipos)  # body 0 is MuJoCo's world body
    torch.testing.assert_close(ipos[:, 1 + torso], com[:, torso])


def test_contact_sensor_penalises_undesired_contacts_when_the_robot_falls(env, command):
    """The contact sensor covers every body; standing, only the feet touch the ground (no undesired contacts);
    with zero actions the G1 falls and the sensor reports forces on other bodies, which the undesired-contacts
    reward (weight -0.1, all bodies but ankles and wrists, > 1 N) counts."""
    from adaptive_sampling_isaaclab.robots import G1_END_EFFECTORS
    from isaaclab.envs import mdp as isaaclab_mdp

    sensor = env.scene.sensors["contact_forces"]
    robot = env.scene["robot"]
    assert sensor.sensor_names == robot.body_names
    term = env.reward_manager.get_term_cfg("undesired_contacts")
    assert term.weight == -0.1 and term.params["threshold"] == 1.0
    penalised = [sensor.sensor_names[i] for i in term.params["sensor_cfg"].body_ids]
    assert sorted(penalised) == sorted(set(robot.body_names) - set(G1_END_EFFECTORS))
    feet = [sensor.sensor_names.index(n) for n in G1_END_EFFECTORS[:2]]
    env.reset()
    env.step(zero_action(env))
    forces = sensor.data.net_forces_w.torch.norm(dim=-1)
    assert (forces[:, feet].sum(-1) > 50.0).all(), "standing, the feet carry the robot"
    fallen = torch.zeros(NUM_ENVS, dtype=torch.bool)
    for _ in range(150):
        env.step(zero_action(env))
        count = isaaclab_mdp.undesired_contacts(env, **term.params)
        fallen |= (robot.data.root_pos_w.torch[:, 2] < 0.3) & (count > 0)
        if fallen.any():
            break
    assert fallen.any(), "with zero actions the G1 must fall and touch the ground with other bodies"
    e = int(fallen.nonzero()[0, 0])
    forces = sensor.data.net_forces_w_history.torch[e].norm(dim=-1).amax(0)
    assert float(forces[term.params["sensor_cfg"].body_ids].max()) > 1.0
