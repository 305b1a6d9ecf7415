"""The multi-motion command in a real mjlab ``ManagerBasedRlEnv`` with the G1 (MuJoCo-Warp on the CPU, 4 envs)."""

import pytest
import torch

pytest.importorskip("mjlab.envs", reason="mjlab is not installed (scripts/setup_mjlab.sh builds .venv-mjlab)")
pytestmark = [pytest.mark.mjlab, pytest.mark.slow]

NUM_ENVS = 4


def forced_termination(env):
    """Terminates the envs a test marks in ``env.forced_termination`` (then clears the mark)."""
    flags = getattr(env, "forced_termination", None)
    env.forced_termination = None
    if flags is None:
        return torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
    return flags


@pytest.fixture(scope="module")
def env():
    from adaptive_sampling_mjlab import tasks
    from mjlab.envs import ManagerBasedRlEnv
    from mjlab.managers.termination_manager import TerminationTermCfg
    from mjlab.tasks.registry import load_env_cfg

    cfg = load_env_cfg(tasks.TASK_ID)
    cfg.scene.num_envs = NUM_ENVS
    cfg.seed = 0
    command = cfg.commands["motion"]
    command.sampler.seed = 0
    # exact reference starts and no tracking terminations: the tests decide when segments end
    command.pose_range = {}
    command.velocity_range = {}
    command.joint_position_range = (0.0, 0.0)
    cfg.events.pop("push_robot")
    for name in ("anchor_pos", "anchor_ori", "ee_body_pos"):
        cfg.terminations.pop(name)
    cfg.terminations["forced"] = TerminationTermCfg(func=forced_termination)
    env = ManagerBasedRlEnv(cfg, device="cpu")
    env.reset()
    yield env
    env.close()


@pytest.fixture
def recorded(env, monkeypatch):
    """Every ``sampler.record`` call of the test, as ``(motion_ids, start_frames, end_frames, failed)`` copies."""
    sampler = env.adaptive_sampler
    calls = []
    record = sampler.record

    def spy(motion_ids, start_frames, end_frames, failed):
        calls.append(tuple(t.clone() for t in (motion_ids, start_frames, end_frames, failed)))
        return record(motion_ids, start_frames, end_frames, failed)

    monkeypatch.setattr(sampler, "record", spy)
    return calls


def _zero_actions(env):
    return torch.zeros(env.num_envs, env.action_manager.total_action_dim)


def _segments_of(calls):
    """Flatten record calls into a list of (motion, start, end, failed) tuples."""
    out = []
    for motion_ids, starts, ends, failed in calls:
        out += list(zip(motion_ids.tolist(), starts.tolist(), ends.tolist(), failed.tolist(), strict=True))
    return out


def test_env_builds_and_steps_with_the_library_command(env):
    """The task's command is ours: it exposes the sampler on the env, adds the motion-id and progress observations,
    and the sampler steps once per env step."""
    from adaptive_sampling_mjlab.command import MultiMotionCommand
    from adaptive_sampling_mjlab.mdp import motion_one_hot, motion_progress

    command = env.command_manager.get_term("motion")
    assert isinstance(command, MultiMotionCommand)
    assert env.adaptive_sampler is command.sampler
    num_motions = command.library.num_motions
    assert num_motions == 4
    obs_terms = env.observation_manager.active_terms
    dims = env.observation_manager.group_obs_term_dim
    for group in ("actor", "critic"):
        names = obs_terms[group]
        assert dims[group][names.index("motion_id")] == (num_motions,)
        assert dims[group][names.index("motion_progress")] == (1,)
    clock = command.sampler.clock
    obs, reward, terminated, time_outs, extras = env.step(_zero_actions(env))
    assert command.sampler.clock == clock + 1
    assert torch.isfinite(obs["actor"]).all() and torch.isfinite(reward).all()
    one_hot = motion_one_hot(env, "motion")
    assert torch.equal(one_hot.argmax(dim=1), command.motion_ids) and torch.equal(one_hot.sum(1), torch.ones(NUM_ENVS))
    last = (command.library.num_frames[command.motion_ids] - 1).float()
    assert torch.allclose(motion_progress(env, "motion")[:, 0], command.time_steps.float() / last)
    assert set(command.metrics) >= {"error_body_pos", "sampling_entropy", "sampling_top1_prob", "motion_progress"}


def test_termination_records_a_failed_segment_and_time_out_a_success(env, recorded):
    """A terminated env records (motion, start, frame it failed at, failed=True); a timed-out one failed=False;
    both get new starts (a new episode)."""
    command = env.command_manager.get_term("motion")
    # keep segments away from their clip's end during this step
    env.step(_zero_actions(env))
    recorded.clear()
    command.time_steps[:] = torch.minimum(command.start_frames + 3, command.library.num_frames[command.motion_ids] - 5)
    command.start_frames[:] = torch.minimum(command.start_frames, command.time_steps)
    before = {k: getattr(command, k).clone() for k in ("motion_ids", "start_frames", "time_steps")}
    env.forced_termination = torch.tensor([False, True, False, False])
    env.episode_length_buf[2] = env.max_episode_length - 1
    env.step(_zero_actions(env))
    segments = _segments_of(recorded)
    expected = {
        (int(before["motion_ids"][i]), int(before["start_frames"][i]), int(before["time_steps"][i]), failed)
        for i, failed in ((1, True), (2, False))
    }
    assert set(segments) == expected
    assert env.episode_length_buf[1] == 0 and env.episode_length_buf[2] == 0
    assert env.termination_manager.terminated[1] and not env.termination_manager.terminated[2]


def test_clip_end_restarts_without_ending_the_episode(env, recorded):
    """An env on its clip's last frame records a success ending on that frame and gets a new start; its episode
    goes on (no termination, no time-out, episode length keeps counting)."""
    command = env.command_manager.get_term("motion")
    env.step(_zero_actions(env))
    recorded.clear()
    last = command.library.num_frames[command.motion_ids] - 1
    command.time_steps[:] = torch.minimum(command.start_frames + 2, last - 5)
    command.time_steps[3] = last[3]
    motion, start = int(command.motion_ids[3]), int(command.start_frames[3])
    episode_length = int(env.episode_length_buf[3])
    clock = command.sampler.clock
    env.step(_zero_actions(env))
    assert _segments_of(recorded) == [(motion, start, int(last[3]), False)]
    assert not env.reset_buf[3]
    assert int(env.episode_length_buf[3]) == episode_length + 1
    assert command.sampler.clock == clock + 1
    # the new segment starts where mjlab's command puts a wrapped env: at its start frame, not yet advanced
    assert int(command.time_steps[3]) == int(command.start_frames[3])
