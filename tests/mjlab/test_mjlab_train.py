"""train.py and play.py for real (mjlab, the G1 on the CPU, 4 envs): checkpoints carry the sampler, resume continues
its statistics, play starts every env at frame 0 with the statistics frozen."""

import pathlib

import pytest
import torch

pytest.importorskip("mjlab.envs", reason="mjlab is not installed (scripts/setup_mjlab.sh builds .venv-mjlab)")
pytestmark = [pytest.mark.mjlab, pytest.mark.slow]

from adaptive_sampling_rsl_rl import SAMPLER_KEY  # noqa: E402

STEPS_PER_ENV = 8
FLAGS = ["--env.scene.num-envs", "4", "--agent.num-steps-per-env", str(STEPS_PER_ENV), "--heatmap", "True"]


def _checkpoints(log_root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(log_root.glob("g1_multi_motion_tracking_mjlab/*/model_*.pt"), key=lambda p: p.stat().st_mtime)


def _sampler_state(path: pathlib.Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)[SAMPLER_KEY]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two PPO iterations of the registered task; the run's log root."""
    from adaptive_sampling_mjlab import train

    log_root = tmp_path_factory.mktemp("logs")
    assert train.main([*FLAGS, "--agent.max-iterations", "2", "--log-root", str(log_root)]) == 0
    return log_root


def test_train_writes_checkpoints_with_the_sampler_state_and_a_heatmap(trained):
    """Every checkpoint holds the sampler's state dict (weights_only-loadable) with the run's motions and clock."""
    checkpoints = _checkpoints(trained)
    assert len(checkpoints) >= 1
    state = _sampler_state(checkpoints[-1])
    assert state["layout"]["motion_names"] == ["arm_wave", "quick_squat", "slow_squat", "torso_twist"]
    assert state["clock"] == 2 * STEPS_PER_ENV
    assert state["training"] is True
    assert (checkpoints[-1].parent / "sampler_heatmap.png").stat().st_size > 0


def test_resume_continues_the_same_statistics(trained):
    """--agent.resume True restores the sampler of the latest checkpoint: the clock goes on from it, and every bin
    it had visited is still visited."""
    from adaptive_sampling_mjlab import train

    before = _checkpoints(trained)[-1]
    saved = _sampler_state(before)
    flags = [*FLAGS, "--agent.max-iterations", "1", "--log-root", str(trained), "--agent.resume", "True"]
    assert train.main(flags) == 0
    after = _checkpoints(trained)[-1]
    assert after.parent != before.parent
    resumed = _sampler_state(after)
    assert resumed["clock"] == saved["clock"] + STEPS_PER_ENV
    assert bool((resumed["visited"] | ~saved["visited"]).all())
    assert not torch.equal(resumed["generator_state"], saved["generator_state"])


def test_play_starts_every_env_at_frame_zero_with_frozen_statistics(trained):
    """play.py loads the trained policy and the sampler, starts every env at frame 0 of the chosen motion and
    leaves the sampler's statistics untouched."""
    from adaptive_sampling_mjlab import play, tasks

    checkpoint = _checkpoints(trained)[-1]
    cfg = play.PlayConfig(checkpoint_file=str(checkpoint), motion="quick_squat", num_envs=3, device="cpu",
                          viewer="none")
    env, policy, command = play.build(tasks.TASK_ID, cfg)
    try:
        sampler = command.sampler
        assert not sampler.training
        assert command.start_frames.tolist() == [0, 0, 0]
        assert command.motion_ids.tolist() == [command.library.motion_names.index("quick_squat")] * 3
        clock = sampler.clock
        assert clock == _sampler_state(checkpoint)["clock"]
        result = play.run_headless(env, policy, command, num_steps=5)
        assert sampler.clock == clock
        assert all(value == value for value in result.values())  # no NaN
    finally:
        env.close()
