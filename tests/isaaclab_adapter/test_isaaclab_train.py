"""train.py end to end on the demo motions (CPU, 2 envs): checkpoints carry the sampler and --resume restores it."""

import os
import pathlib
import re
import subprocess
import sys

import pytest
import torch

# isaaclab_newton, not isaaclab: the Newton backend is what these tests need.
pytest.importorskip("isaaclab_newton", reason="Isaac Lab 3.x is not installed (scripts/setup_isaaclab.sh installs it)")
pytestmark = [pytest.mark.isaaclab, pytest.mark.slow]

REPO = pathlib.Path(__file__).resolve().parents[2]
TRAIN = REPO / "integrations" / "isaaclab" / "train.py"
PLAY = REPO / "integrations" / "isaaclab" / "play.py"


def run(script, *args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def find_sampler_state(obj):
    """The sampler state dict nested anywhere in a checkpoint (None if absent)."""
    if isinstance(obj, dict):
        if {"version", "layout", "clock"} <= set(obj):
            return obj
        for value in obj.values():
            found = find_sampler_state(value)
            if found is not None:
                return found
    return None


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("train")
    out = run(TRAIN, "--num_envs", "2", "--max_iterations", "2", "--seed", "1", "--headless", "--init_std", "0.5",
              "--log_root", str(workdir / "logs"), cwd=workdir)
    return workdir, out


def test_init_std_sets_the_policys_initial_action_noise(trained):
    """--init_std 0.5 replaces BeyondMimic's initial std of 1.0: after two iterations the actor's per-joint std in the
    checkpoint is still near 0.5 for all 29 joints."""
    workdir, out = trained
    checkpoint = pathlib.Path(re.search(r"\[train\] checkpoint: (\S+)", out).group(1))
    found = []

    def collect(obj, prefix=""):
        if isinstance(obj, dict):
            for key, value in obj.items():
                collect(value, f"{prefix}.{key}")
        elif torch.is_tensor(obj) and "std" in prefix.lower() and obj.numel() == 29:
            found.append((prefix, obj.float()))

    collect(torch.load(checkpoint, map_location="cpu", weights_only=False))
    assert found, "no 29-joint std parameter in the checkpoint"
    for name, value in found:
        std = value.exp() if "log" in name.lower() else value
        assert float(std.min()) > 0.4 and float(std.max()) < 0.6, (name, std)


def test_train_two_iterations_writes_checkpoint_with_sampler_and_heatmap(trained):
    """Two PPO iterations run, print the sampler metrics, write model_1.pt holding the sampler state and the PNG."""
    workdir, out = trained
    assert "Learning iteration 1/2" in out
    assert re.search(r"\[sampler at end\] clock=48 ", out), out[-2000:]
    assert "entropy=" in out and "motion mass:" in out
    checkpoint = pathlib.Path(re.search(r"\[train\] checkpoint: (\S+)", out).group(1))
    assert checkpoint.name == "model_1.pt" and checkpoint.is_file()
    state = find_sampler_state(torch.load(checkpoint, map_location="cpu", weights_only=False))
    assert state is not None, "the checkpoint does not carry the sampler state"
    assert state["clock"] == 48
    from adaptive_sampling_isaaclab.assets import demo_motions_dir

    demo_names = sorted(path.stem for path in demo_motions_dir().glob("*.npz"))
    assert list(state["layout"]["motion_names"]) == demo_names
    heatmap = pathlib.Path(re.search(r"\[train\] heatmap: (\S+)", out).group(1))
    assert heatmap.is_file() and heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_ends_with_a_summary_of_learning_sampler_and_outputs(trained):
    """The run ends with a summary: episode length, return and tracking errors of the first vs the last iterations,
    the sampler's top motions and bins against their prior with failure rates, the most failing motion, the output
    paths (all existing) and what a run of this size can show, with the full-scale command."""
    workdir, out = trained
    summary = [line[len("[summary] "):] for line in out.splitlines() if line.startswith("[summary] ")]
    text = "\n".join(summary)
    assert "of 2 iterations" in text, text
    number = r"(-?[\d.]+(?:e[-+]?\d+)?|nan)"
    for label in ("episode length (steps)", "episode return", "error_anchor_pos", "error_anchor_rot",
                  "error_body_pos", "error_body_rot", "error_joint_pos"):
        found = re.search(rf"^  {re.escape(label)}\s+{number} ->\s+{number}$", text, re.M)
        assert found is not None, f"{label} missing:\n{text}"
        if label.startswith("error_"):  # errors are norms: finite and >= 0 at both ends
            assert all(float(v) >= 0.0 for v in found.groups()), found.group(0)
    from adaptive_sampling_isaaclab.assets import demo_motions_dir

    demo_names = {path.stem for path in demo_motions_dir().glob("*.npz")}
    motion_rows = re.findall(r"^    (\S+)\s+([\d.]+) vs ([\d.]+)  failure rate", text, re.M)
    assert len(motion_rows) == min(3, len(demo_names)) and {row[0] for row in motion_rows} <= demo_names, text
    bins = re.findall(r"^    (\S+) bin (\d+) \([\d.]+ s\): p ([\d.]+) vs prior ([\d.]+), failure rate ([\d.]+)$",
                      text, re.M)
    assert len(bins) == 3 and all(name in demo_names for name, *_ in bins), text
    ratios = [float(p) / float(prior) for _, _, p, prior, _ in bins]
    assert ratios == sorted(ratios, reverse=True), "bins must be listed by p / prior, highest first"
    worst = re.search(r"^most failing motion: (\S+) \(failure rate ([\d.]+)\)$", text, re.M)
    assert worst is not None and worst.group(1) in demo_names and 0.0 <= float(worst.group(2)) <= 1.0, text
    for label in ("checkpoint", "policy", "run record", "heatmap"):
        path = re.search(rf"^{label}:\s+(\S+)$", text, re.M)
        assert path is not None and pathlib.Path(path.group(1)).is_file(), f"{label}:\n{text}"
    assert "2 iterations x 2 envs" in text and "far too short to learn tracking" in text
    assert "--device cuda:0 --num_envs 4096 --max_iterations 10000" in text and "unmeasured" in text
    assert summary == [line[len("[summary] "):] for line in out.splitlines()[-len(summary):]], "summary comes last"


def test_resume_restores_the_sampler(trained):
    """--resume loads the latest checkpoint and with it the sampler's clock and statistics."""
    workdir, _ = trained
    out = run(TRAIN, "--num_envs", "2", "--max_iterations", "1", "--resume", "--log_root", str(workdir / "logs"),
              cwd=workdir)
    restored = re.search(r"\[train\] restored sampler clock=(\d+)", out)
    assert restored is not None, out[-3000:]
    assert int(restored.group(1)) == 48
    assert re.search(r"\[sampler at end\] clock=72 ", out), out[-2000:]


def test_play_runs_a_chosen_motion_from_the_checkpoint(trained):
    """play.py loads the trained policy and plays one chosen motion from frame 0."""
    workdir, _ = trained
    from adaptive_sampling_isaaclab.assets import demo_motions_dir

    chosen = sorted(path.stem for path in demo_motions_dir().glob("*.npz"))[1]
    out = run(PLAY, "--num_envs", "2", "--num_steps", "20", "--motion", chosen, "--log_root",
              str(workdir / "logs"), cwd=workdir)
    assert f"motions [{chosen!r}]" in out
    assert "mean error_body_pos" in out


def test_train_writes_policy_onnx_with_deployment_metadata(trained):
    """policy.onnx lies next to the checkpoints; its metadata holds BeyondMimic's keys for the G1 (29 joints in
    the robot's order, gains, default pose, action scale, anchor body, observation terms), the motion library in
    one-hot order with frames, fps and file hashes, and term sizes that add up to the network's input."""
    pytest.importorskip("onnxruntime")
    from adaptive_sampling_isaaclab.assets import demo_motions_dir
    from adaptive_sampling_rsl_rl.export import BEYONDMIMIC_KEYS
    from adaptive_sampling_rsl_rl.onnx_policy import OnnxPolicy, sha256_file

    workdir, out = trained
    onnx_path = pathlib.Path(re.search(r"\[train\] policy: (\S+)", out).group(1))
    checkpoint = pathlib.Path(re.search(r"\[train\] checkpoint: (\S+)", out).group(1))
    assert onnx_path == checkpoint.parent / "policy.onnx" and onnx_path.is_file()
    policy = OnnxPolicy(onnx_path)
    meta = policy.metadata
    for key in BEYONDMIMIC_KEYS:
        assert key in meta.props, key
    assert len(meta.joint_names) == 29 and meta.joint_names[0] == "left_hip_pitch_joint"
    for values in (meta.joint_stiffness, meta.joint_damping, meta.default_joint_pos, meta.action_scale):
        assert values.shape == (29,)
    assert meta.joint_stiffness.min() > 0 and meta.action_scale.min() > 0
    assert meta.anchor_body_name == "torso_link" and "pelvis" in meta.body_names
    assert meta.observation_names[:2] == ["command", "motion_id"] and meta.motion_id_observation == "motion_id"
    assert sum(meta.observation_dims) == policy.obs_dim
    demo = sorted(demo_motions_dir().glob("*.npz"))
    assert meta.motion_names == [p.stem for p in demo]
    assert meta.motion_sha256 == [sha256_file(p) for p in demo]
    state = find_sampler_state(torch.load(checkpoint, map_location="cpu", weights_only=False))
    assert meta.motion_num_frames == list(state["layout"]["num_frames"])
    assert meta.motion_fps == list(state["layout"]["fps"])
    assert meta.observation_slice("motion_id").stop - meta.observation_slice("motion_id").start == len(demo)
    with pytest.raises(ValueError, match=r"motion id must be in \[0, 4\)"):
        meta.one_hot(len(demo))


def test_train_writes_the_run_record_and_logs_sampler_images(trained):
    """The run folder holds the record (resolved sampler config, the demo motions with their hashes) and the
    TensorBoard events hold the sampler heatmap and per-motion mass images."""
    import json

    from adaptive_sampling_isaaclab.assets import demo_motions_dir
    from adaptive_sampling_rsl_rl.onnx_policy import sha256_file
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out = trained
    record_path = pathlib.Path(re.search(r"\[train\] run record: (\S+)", out).group(1))
    record = json.loads(record_path.read_text())
    demo = sorted(demo_motions_dir().glob("*.npz"))
    assert [m["file"] for m in record["motions"]] == [str(p.resolve()) for p in demo]
    assert [m["sha256"] for m in record["motions"]] == [sha256_file(p) for p in demo]
    assert record["sampler_config"]["seed"] == 1
    acc = EventAccumulator(str(record_path.parent), size_guidance={"images": 0})
    acc.Reload()
    assert {"Sampler/heatmap", "Sampler/motion_mass"} <= set(acc.Tags()["images"])
    assert [e.step for e in acc.Images("Sampler/heatmap")] == [0, 1]


def test_play_export_gives_the_torch_actions(trained, tmp_path):
    """play.py --export writes the ONNX file of an existing checkpoint and, while playing the real G1, the exported
    policy's actions equal the torch policy's on every observation (max abs diff <= 1e-5)."""
    pytest.importorskip("onnxruntime")
    workdir, _ = trained
    target = tmp_path / "exported.onnx"
    out = run(PLAY, "--num_envs", "2", "--num_steps", "15", "--export", str(target), "--log_root",
              str(workdir / "logs"), cwd=workdir)
    assert f"[play] exported {target}" in out and target.is_file()
    diff = re.search(r"onnx vs torch actions: max abs diff (\S+) over (\d+) observations", out)
    assert diff is not None, out[-3000:]
    print(f"\nG1 ONNX vs torch max abs diff {diff.group(1)} over {diff.group(2)} observations")
    assert float(diff.group(1)) <= 1e-5 and int(diff.group(2)) == 30


def test_play_warns_when_motion_files_changed(trained, tmp_path):
    """Playing with a library whose file content differs from what the run recorded warns, naming the motion."""
    import numpy as np
    from adaptive_sampling_isaaclab.assets import demo_motions_dir

    workdir, _ = trained
    library = tmp_path / "motions"
    library.mkdir()
    for path in sorted(demo_motions_dir().glob("*.npz")):
        (library / path.name).write_bytes(path.read_bytes())
    changed = sorted(library.glob("*.npz"))[2]
    with np.load(changed) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["joint_pos"] = arrays["joint_pos"] + 0.01  # a valid clip, not the one trained on
    np.savez(changed, **arrays)
    out = run(PLAY, "--num_envs", "1", "--num_steps", "0", "--motions", str(library), "--log_root",
              str(workdir / "logs"), cwd=workdir)
    warnings = [line for line in out.splitlines() if "WARNING: motion library differs" in line]
    assert len(warnings) == 1 and f"{changed.stem}: " in warnings[0], out[-3000:]


@pytest.mark.distributed
def test_distributed_two_gloo_ranks_train_and_resume(tmp_path):
    """train.py --distributed under torchrun with 2 CPU ranks (gloo): after the iteration both ranks hold identical
    sampler statistics and distributions, rank 0 alone writes the run folder and checkpoint, and --resume restores
    that checkpoint on both ranks."""
    import socket

    def torchrun(*args):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = dict(os.environ, OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                   "127.0.0.1", "--master_port", str(port), str(TRAIN), "--distributed", "--num_envs", "2",
                   "--max_iterations", "1", "--seed", "3", "--log_root", str(tmp_path / "logs"), *args]
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
                                check=False)
        out = result.stdout + result.stderr
        assert result.returncode == 0, out[-6000:]
        return out

    out = torchrun()
    for rank in (0, 1):
        assert f"rank {rank}: sampler statistics and distribution identical on all 2 ranks" in out, out[-4000:]
    assert "seed=3" in out and "seed=4" in out  # rank-offset seeds
    runs = list((tmp_path / "logs" / "g1_multi_motion_tracking").iterdir())
    assert len(runs) == 1, runs
    assert sorted(p.name for p in runs[0].glob("model_*.pt")) == ["model_0.pt"]
    state = find_sampler_state(torch.load(runs[0] / "model_0.pt", map_location="cpu", weights_only=False))
    assert state["clock"] == 24

    out = torchrun("--resume")
    assert out.count("[train] restored sampler clock=24") == 2, out[-4000:]
    for rank in (0, 1):
        assert f"rank {rank}: sampler statistics and distribution identical on all 2 ranks" in out
