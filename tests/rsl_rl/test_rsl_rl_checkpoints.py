"""Runner checkpoints: all-or-nothing loads, orphaned temporary files after a SIGKILL mid-save, file modes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("rsl_rl")
pytest.importorskip("tensordict")

import torch  # noqa: E402
from _rsl_rl_helpers import make_env, small_train_cfg  # noqa: E402
from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner  # noqa: E402
from adaptive_sampling_rsl_rl import runner as runner_module  # noqa: E402
from adaptive_sampling_rsl_rl.runner import (  # noqa: E402
    SAMPLER_KEY,
    STALE_TEMP_AGE_S,
    TEMP_PREFIX,
    _atomic_torch_save,
    remove_stale_temp_files,
)


def model_states(runner: AdaptiveSamplingRunner) -> dict[str, torch.Tensor]:
    """Every parameter and buffer of the runner's models, plus the optimiser state, flattened and cloned."""
    snap = runner_module._TrainingSnapshot(runner)
    out: dict[str, torch.Tensor] = {}
    for i, (_, state) in enumerate(snap.states):
        flat = state if "param_groups" not in state else {"lr": torch.tensor(state["param_groups"][0]["lr"])}
        for key, value in flat.items():
            if isinstance(value, torch.Tensor):
                out[f"{i}.{key}"] = value.clone()
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def wider_cfg() -> dict:
    cfg = small_train_cfg()
    for group in ("actor", "critic", "policy"):
        if group in cfg:
            for key in ("hidden_dims", "actor_hidden_dims", "critic_hidden_dims"):
                if key in cfg[group]:
                    cfg[group][key] = [24, 24]
    return cfg


def test_models_that_fail_to_load_leave_the_sampler_and_models_untouched(tmp_path):
    """A checkpoint of another network size raises; the sampler state, the models, the optimiser and the iteration
    are what they were (the sampler state in the checkpoint is compatible, so only the models can fail)."""
    runner = AdaptiveSamplingRunner(make_env(sampler_seed=0), small_train_cfg(), log_dir=str(tmp_path / "a"))
    runner.learn(2)
    path = tmp_path / "small.pt"
    runner.save(str(path))

    env = make_env(sampler_seed=7)
    other = AdaptiveSamplingRunner(env, wider_cfg(), log_dir=str(tmp_path / "b"))  # rsl-rl < 5.5: not after learn()
    other.current_learning_iteration = 5
    sampler_before = env.adaptive_sampler.state_dict()
    models_before = model_states(other)
    iteration = other.current_learning_iteration
    assert not torch.equal(sampler_before["generator_state"], runner.sampler.state_dict()["generator_state"])
    with pytest.raises(RuntimeError, match="size mismatch"):
        other.load(str(path))
    assert_same(env.adaptive_sampler.state_dict(), sampler_before)
    assert_same(model_states(other), models_before)
    assert other.current_learning_iteration == iteration


def test_sampler_that_fails_to_load_leaves_the_models_untouched(tmp_path):
    """A checkpoint for another motion library raises before rsl-rl loads anything: models and sampler unchanged."""
    runner = AdaptiveSamplingRunner(make_env(library_seed=0), small_train_cfg(), log_dir=str(tmp_path / "a"))
    runner.learn(1)
    path = tmp_path / "ckpt.pt"
    runner.save(str(path))
    env = make_env(library_seed=1)
    other = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=str(tmp_path / "b"))
    sampler_before, models_before = env.adaptive_sampler.state_dict(), model_states(other)
    with pytest.raises(ValueError, match="remap_sampler=True"):
        other.load(str(path))
    assert_same(env.adaptive_sampler.state_dict(), sampler_before)
    assert_same(model_states(other), models_before)
    assert other.current_learning_iteration == 0


def test_checkpoint_from_a_gpu_resumes_on_the_cpu_with_one_warning(tmp_path):
    """A checkpoint whose sampler state was saved on a GPU (CUDA's 16-byte generator state) resumes on the CPU: the
    sampler's distribution as saved, its generator reseeded, and one warning (the runner's trial load is quiet)."""
    runner = AdaptiveSamplingRunner(make_env(sampler_seed=0), small_train_cfg(), log_dir=str(tmp_path / "a"))
    runner.learn(2)
    path = tmp_path / "ckpt.pt"
    runner.save(str(path))
    checkpoint = torch.load(path, weights_only=False)
    checkpoint[SAMPLER_KEY]["generator_state"] = torch.arange(16, dtype=torch.uint8)
    torch.save(checkpoint, path)
    env = make_env(sampler_seed=7)
    other = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=str(tmp_path / "b"))
    with pytest.warns(UserWarning, match="saved on cuda") as caught:
        other.load(str(path))
    assert sum("saved on cuda" in str(w.message) for w in caught) == 1
    assert torch.equal(env.adaptive_sampler.probabilities, runner.sampler.probabilities)
    assert env.adaptive_sampler.clock == runner.sampler.clock


def test_checkpoint_mode_follows_the_umask(tmp_path):
    """A saved checkpoint gets 0o666 minus the umask, as torch.save's own files do (not mkstemp's 0o600)."""
    old = os.umask(0o022)
    try:
        _atomic_torch_save({"x": torch.ones(2)}, str(tmp_path / "a.pt"))
        torch.save({"x": torch.ones(2)}, str(tmp_path / "b.pt"))
        os.umask(0o027)
        _atomic_torch_save({"x": torch.ones(2)}, str(tmp_path / "c.pt"))
    finally:
        os.umask(old)
    mode = {name: (tmp_path / name).stat().st_mode & 0o777 for name in ("a.pt", "b.pt", "c.pt")}
    assert mode == {"a.pt": 0o644, "b.pt": 0o644, "c.pt": 0o640}


_KILLED_WRITER = textwrap.dedent(
    """
    import os, pathlib, sys, time
    import torch
    from adaptive_sampling_rsl_rl.runner import _atomic_torch_save

    ready = pathlib.Path(sys.argv[2])

    def stall(fd):
        # the checkpoint is fully written to the temporary file, not yet fsynced nor renamed: stall here
        ready.write_text("writing")
        time.sleep(600)

    os.fsync = stall
    _atomic_torch_save({"weights": torch.ones(1 << 20)}, sys.argv[1])
    """
)


def start_killed_writer(folder: Path, tag: str) -> subprocess.Popen:
    """Start a process that saves into ``folder`` and stalls mid-save (its temporary file exists)."""
    ready = folder.parent / f"ready_{tag}"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(folder / "model.pt"), str(ready)],
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None, "the writer exited before it stalled"
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.05)
    return proc


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp_"))


@pytest.mark.slow
def test_sigkill_mid_save_leaves_an_orphan_that_the_next_save_removes(tmp_path):
    """A writer SIGKILLed mid-save leaves a temporary file; the next save in that folder removes it, while the
    temporary file of a second, live writer in the same folder (another run) stays."""
    folder = tmp_path / "run"
    folder.mkdir()
    killed = start_killed_writer(folder, "killed")
    live = start_killed_writer(folder, "live")
    try:
        orphans = temp_files(folder)
        assert len(orphans) == 2 and all(name.startswith(TEMP_PREFIX) for name in orphans)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed.returncode == -signal.SIGKILL
        killed_tmp = [n for n in orphans if f".{killed.pid}." in n]
        live_tmp = [n for n in orphans if f".{live.pid}." in n]
        assert len(killed_tmp) == 1 and len(live_tmp) == 1
        assert (folder / killed_tmp[0]).stat().st_size > 1 << 20  # a real partial checkpoint
        assert not (folder / "model.pt").exists()

        _atomic_torch_save({"x": torch.ones(3)}, str(folder / "model_1.pt"))
        assert temp_files(folder) == live_tmp, "the dead writer's orphan stays, or the live writer's file went"
        assert torch.load(folder / "model_1.pt", weights_only=True)["x"].sum() == 3
    finally:
        for proc in (killed, live):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    remove_stale_temp_files(str(folder))
    assert temp_files(folder) == []  # both writers are gone now


def test_unverifiable_temp_files_go_only_when_old(tmp_path):
    """Temporary files whose writer cannot be checked (another host, the old mkstemp naming) are removed only
    after STALE_TEMP_AGE_S; other files, even with a .tmp_ name, are never touched."""
    names = {
        "other_host_fresh": f"{TEMP_PREFIX}elsewhere.12345.abcd1234.pt",
        "other_host_old": f"{TEMP_PREFIX}elsewhere.12346.abcd1234.pt",
        "legacy_fresh": ".tmp_ab12cd34.pt",
        "legacy_old": ".tmp_zz12cd34.pt",
        "foreign_old": ".tmp_someone_elses_file.pt",
        "checkpoint_old": "model_3.pt",
    }
    old = time.time() - STALE_TEMP_AGE_S - 60
    for key, name in names.items():
        (tmp_path / name).write_bytes(b"x")
        if key.endswith("_old"):
            os.utime(tmp_path / name, (old, old))
    removed = {os.path.basename(p) for p in remove_stale_temp_files(str(tmp_path))}
    assert removed == {names["other_host_old"], names["legacy_old"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(set(names.values()) - removed)


def test_resume_on_other_ranks_draws_its_own_starts(tmp_path):
    """Loading on rank 0 continues the saved generator exactly; on rank 1 of a distributed run the sampler gets its
    own stream (else every rank would draw the same starts after a resume)."""
    runner = AdaptiveSamplingRunner(make_env(sampler_seed=0), small_train_cfg(), log_dir=str(tmp_path / "a"))
    runner.learn(1)
    path = tmp_path / "ckpt.pt"
    runner.save(str(path))
    draws = {}
    for rank in (0, 1):
        env = make_env(sampler_seed=9)
        other = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=None)
        other.is_distributed, other.gpu_global_rank = True, rank  # as rsl-rl sets them under torchrun
        other.load(str(path))
        assert env.adaptive_sampler.clock == runner.sampler.clock
        draws[rank] = env.adaptive_sampler.sample(64)
    expected = runner.sampler.sample(64)
    assert all(torch.equal(a, b) for a, b in zip(draws[0], expected, strict=True))
    assert not torch.equal(draws[1][1], expected[1])
