"""AdaptiveSamplingRunner with real rsl-rl PPO on the tracking env (CPU, a few iterations)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

pytest.importorskip("rsl_rl")
pytest.importorskip("tensordict")

import torch  # noqa: E402
from _gloo import run_ranks  # noqa: E402
from _rsl_rl_helpers import PlainVecEnv, make_env, small_train_cfg  # noqa: E402
from adaptive_sampling_rsl_rl import SAMPLER_KEY, AdaptiveSamplingRunner, find_sampler  # noqa: E402
from rsl_rl.runners import OnPolicyRunner  # noqa: E402

WORKER = Path(__file__).with_name("_rsl_rl_dist_worker.py")


def make_runner(env, log_dir, **kwargs) -> AdaptiveSamplingRunner:
    """rsl-rl-lib 3.x needs a log directory to learn; every test gives one."""
    return AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=str(log_dir), **kwargs)


def assert_states_equal(a: dict, b: dict, ignore: tuple[str, ...] = ()) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key in ignore:
            continue
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def test_checkpoints_written_by_learn_carry_the_sampler_state(tmp_path):
    """Every checkpoint learn() writes holds the sampler state, and the last one equals the sampler's state."""
    env = make_env()
    runner = make_runner(env, tmp_path)
    runner.learn(3)
    paths = sorted(glob.glob(str(tmp_path / "model_*.pt")))
    assert len(paths) >= 3
    for path in paths:
        saved = torch.load(path, weights_only=False)
        assert SAMPLER_KEY in saved and ("actor_state_dict" in saved or "model_state_dict" in saved)
    last = torch.load(tmp_path / f"model_{runner.current_learning_iteration}.pt", weights_only=False)
    assert_states_equal(last[SAMPLER_KEY], env.adaptive_sampler.state_dict())
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp_")], "temporary files left behind"


def test_save_load_restores_sampler_and_next_draw(tmp_path):
    """After save and load into a fresh runner the sampler state is identical and the next draws are identical;
    the iteration counter is restored and a resumed learn() continues from it."""
    env = make_env(sampler_seed=0)
    runner = make_runner(env, tmp_path / "a")
    runner.learn(3)
    path = tmp_path / "ckpt.pt"
    runner.save(str(path))
    saved_iteration = runner.current_learning_iteration
    assert saved_iteration == 2

    fresh_env = make_env(sampler_seed=123)  # different generator and statistics before loading
    fresh = make_runner(fresh_env, tmp_path / "b")
    assert not torch.equal(
        fresh_env.adaptive_sampler.state_dict()["generator_state"], env.adaptive_sampler.state_dict()["generator_state"]
    )
    fresh.load(str(path))
    # The config is the fresh sampler's own (only its seed differs); everything the state restores is identical.
    assert_states_equal(fresh_env.adaptive_sampler.state_dict(), env.adaptive_sampler.state_dict(), ignore=("config",))
    m1, f1 = env.adaptive_sampler.sample(257)
    m2, f2 = fresh_env.adaptive_sampler.sample(257)
    assert torch.equal(m1, m2) and torch.equal(f1, f2)
    assert fresh.current_learning_iteration == saved_iteration
    clock = fresh_env.adaptive_sampler.clock
    fresh.learn(2)
    assert fresh.current_learning_iteration == saved_iteration + 1
    assert fresh_env.adaptive_sampler.clock == clock + 2 * small_train_cfg()["num_steps_per_env"]


def test_metrics_reach_the_logger(tmp_path):
    """The sampler's metrics are logged each iteration through rsl-rl's writer (TensorBoard tags Sampler/...)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    env = make_env(failure_threshold=0.02)  # segments end within two iterations, so the env logs too
    runner = make_runner(env, tmp_path)
    runner.learn(2)
    expected = set(env.adaptive_sampler.metrics())
    assert set(runner.sampler_metrics) == expected
    getattr(runner, "logger", runner).writer.flush()  # rsl-rl < 3.3 keeps the writer on the runner
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    for key in ("entropy", "effective_num_bins", "top1_prob", "mean_failure_rate"):
        assert f"Sampler/{key}" in tags, sorted(tags)
    events = acc.Scalars("Sampler/entropy")
    assert [e.step for e in events] == [0, 1]
    assert events[-1].value == pytest.approx(runner.sampler_metrics["entropy"], rel=1e-6)
    assert "Tracking/failure" in tags


def test_incompatible_checkpoint_raises_or_remaps(tmp_path):
    """A checkpoint from another motion library raises a clear error without remap, and remaps by name with it."""
    runner = make_runner(make_env(library_seed=0), tmp_path / "a")
    runner.learn(1)
    path = tmp_path / "ckpt.pt"
    runner.save(str(path))
    other_env = make_env(library_seed=1)  # same names and count (same policy shapes), other lengths and rates
    other = make_runner(other_env, tmp_path / "b")
    before = other_env.adaptive_sampler.state_dict()
    with pytest.raises(ValueError, match="remap_sampler=True"):
        other.load(str(path))
    assert_states_equal(other_env.adaptive_sampler.state_dict(), before)  # nothing changed
    other.load(str(path), remap_sampler=True)
    report = other.sampler_load_report
    assert report is not None
    assert len(report.dropped) >= 1 and len(report.added) >= 1


def test_checkpoint_without_sampler_state_warns(tmp_path):
    """A plain rsl-rl checkpoint (no sampler key) loads with a warning and leaves the sampler as it was."""
    runner = make_runner(make_env(), tmp_path / "a")
    runner.learn(1)
    path = tmp_path / "plain.pt"
    OnPolicyRunner.save(runner, str(path))  # what the plain runner writes
    env = make_env(sampler_seed=5)
    fresh = make_runner(env, tmp_path / "b")  # rsl-rl < 5.5 cannot load into a runner that ran learn()
    before = env.adaptive_sampler.state_dict()
    with pytest.warns(UserWarning, match="no adaptive sampler state"):
        fresh.load(str(path))
    assert_states_equal(env.adaptive_sampler.state_dict(), before)


def test_without_sampler_the_runner_is_plain(tmp_path):
    """An env without a sampler gives a runner that saves plain checkpoints and learns normally."""
    env = PlainVecEnv(make_env())
    runner = make_runner(env, tmp_path / "a")
    assert runner.sampler is None
    runner.learn(1)
    path = tmp_path / "ckpt.pt"
    runner.save(str(path))
    assert SAMPLER_KEY not in torch.load(path, weights_only=False)
    fresh = make_runner(PlainVecEnv(make_env()), tmp_path / "b")
    fresh.load(str(path))
    assert fresh.current_learning_iteration == runner.current_learning_iteration


def test_find_sampler_protocol():
    """The sampler is found on the env or on env.unwrapped; a wrong object is a TypeError."""
    env = make_env()

    class Wrapper:
        unwrapped = env

    assert find_sampler(env) is env.adaptive_sampler
    assert find_sampler(Wrapper()) is env.adaptive_sampler
    assert find_sampler(object()) is None

    class Bad:
        adaptive_sampler = object()

    with pytest.raises(TypeError, match="adaptive_sampler must provide"):
        find_sampler(Bad())
    with pytest.raises(TypeError, match="sampler must provide"):
        AdaptiveSamplingRunner(env, small_train_cfg(), sampler=object())


@pytest.mark.distributed
@pytest.mark.slow
def test_two_rank_gloo_run_ends_with_identical_tables(tmp_path):
    """Two gloo ranks train with different env seeds (different failures); the runner's per-iteration sync leaves
    both with identical statistics and tables, which differ from what either rank recorded alone."""
    run_ranks(WORKER, 2, [str(tmp_path)], timeout=240)
    results = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for key in ("probability", "failure_rate", "failures", "visits"):
        a, b = results[0]["tables"][key], results[1]["tables"][key]
        assert torch.equal(a.nan_to_num(-1.0), b.nan_to_num(-1.0)), key
    # rebuild_every=5 and 24 steps: the core's own rebuild-time sync last ran at step 20, so equal pending buffers
    # and totals that include steps 21-24 show the runner's per-iteration sync ran.
    for key in ("failures", "visits", "probabilities", "totals", "pending_failures", "pending_totals"):
        assert torch.equal(results[0]["state"][key], results[1]["state"][key]), key
    # The synced statistics hold both ranks' segments (ema_alpha=0: plain counts), and the ranks saw different ones.
    total_segments = results[0]["local_segments"] + results[1]["local_segments"]
    total_failures = results[0]["local_failures"] + results[1]["local_failures"]
    assert float(results[0]["state"]["totals"][0]) == pytest.approx(total_segments)
    assert float(results[0]["state"]["totals"][1]) == pytest.approx(total_failures)
    assert results[0]["local_failures"] != results[1]["local_failures"]
