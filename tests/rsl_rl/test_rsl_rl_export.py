"""ONNX export of the runner's actor (with its normaliser) and the robot-side reader, with onnxruntime on the CPU."""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pytest

pytest.importorskip("rsl_rl")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import torch  # noqa: E402
from _rsl_rl_helpers import make_env, small_train_cfg  # noqa: E402
from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner  # noqa: E402
from adaptive_sampling_rsl_rl.export import BEYONDMIMIC_KEYS, export_onnx, format_metadata  # noqa: E402
from adaptive_sampling_rsl_rl.onnx_policy import OnnxPolicy, PolicyMetadata, read_metadata  # noqa: E402

NUM_CLIPS = 6


def tracking_metadata(env) -> dict:
    """Deployment metadata for the tracking env: its policy observation is tracking terms, then the motion one-hot."""
    obs_dim = env.get_observations()["policy"].shape[-1]
    return {
        "joint_names": ["x", "y"],
        "joint_stiffness": [1.0 / 3.0, 2.0 / 7.0],
        "default_joint_pos": [0.1, -0.2],
        "action_scale": [0.25, 0.5],
        "observation_names": ["tracking", "motion_id"],
        "observation_dims": [obs_dim - NUM_CLIPS, NUM_CLIPS],
        "observation_history_lengths": [1, 1],
        "motion_id_observation": "motion_id",
        "anchor_body_name": "point",
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A runner trained for 3 iterations with export on: policy.onnx written next to each checkpoint."""
    tmp = tmp_path_factory.mktemp("export")
    files = []
    for i in range(NUM_CLIPS):
        path = tmp / f"clip_{i}.npz"
        path.write_bytes(f"clip {i}".encode())
        files.append(path)
    env = make_env(num_clips=NUM_CLIPS)
    runner = AdaptiveSamplingRunner(
        env,
        small_train_cfg(),
        log_dir=str(tmp / "logs"),
        export_onnx=True,
        policy_metadata=lambda: tracking_metadata(env),
        motion_files=files,
    )
    runner.learn(3)
    return env, runner, tmp, files


def test_policy_onnx_is_written_next_to_the_checkpoints(trained):
    """learn() leaves policy.onnx in the checkpoint folder; the runner names it."""
    _, runner, tmp, _ = trained
    assert runner.onnx_path == str(tmp / "logs" / "policy.onnx")
    assert (tmp / "logs" / "policy.onnx").stat().st_size > 1000
    assert not [p for p in (tmp / "logs").iterdir() if p.name.startswith(".tmp_")]


def test_onnx_actions_equal_torch_actions(trained):
    """onnxruntime gives the torch policy's deterministic actions (normaliser included) on the same observations:
    rollout observations and scaled random ones (the normaliser's statistics matter), max abs diff <= 1e-5."""
    env, runner, tmp, _ = trained
    policy = runner.get_inference_policy()
    obs_batches = []
    with torch.inference_mode():
        td = env.get_observations()
        for _ in range(5):
            obs_batches.append(td["policy"].clone())
            td, _, _, _ = env.step(policy(td))
    rollout = torch.cat(obs_batches)
    noise = rollout + 3.0 * torch.randn(rollout.shape, generator=torch.Generator().manual_seed(0))
    noise[:, -NUM_CLIPS:] = rollout[:, -NUM_CLIPS:]  # keep valid one-hots
    onnx_policy = OnnxPolicy(tmp / "logs" / "policy.onnx")
    worst = 0.0
    for obs in (rollout, noise):
        with torch.inference_mode():
            expected = policy(_as_obs(env, obs)).numpy()
        got = onnx_policy(obs.numpy())
        assert got.shape == expected.shape == (obs.shape[0], env.num_actions)
        worst = max(worst, float(np.abs(got - expected).max()))
    print(f"\nONNX vs torch max abs diff: {worst:.3e} over {2 * rollout.shape[0]} observations")
    assert worst <= 1e-5
    # the normaliser is in the graph: without it the actions would differ
    alg = runner.alg
    model = alg.get_policy() if hasattr(alg, "get_policy") else getattr(alg, "actor", None)  # rsl-rl 5 / 4
    normalizer = model.obs_normalizer if model is not None else alg.policy.actor_obs_normalizer  # 3.x
    assert not torch.allclose(normalizer(rollout), rollout)


def _as_obs(env, policy_obs):
    """The observation TensorDict the torch policy takes, holding ``policy_obs`` as the actor's group."""
    from tensordict import TensorDict

    return TensorDict(
        {"policy": policy_obs, "critic": torch.zeros(policy_obs.shape[0], 1)}, batch_size=[len(policy_obs)]
    )


def test_metadata_round_trips(trained):
    """Everything written reads back: the env's metadata (floats exactly), the motion library in one-hot order from
    the sampler's layout (names, frames, fps) and the files' SHA-256."""
    env, _, tmp, files = trained
    meta = read_metadata(tmp / "logs" / "policy.onnx")
    given = tracking_metadata(env)
    layout = env.adaptive_sampler.state_dict()["layout"]
    assert meta.motion_names == list(layout["motion_names"])
    assert meta.motion_num_frames == list(layout["num_frames"])
    assert meta.motion_fps == pytest.approx(list(layout["fps"]), abs=0, rel=0)
    assert meta.motion_sha256 == [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert meta.observation_names == given["observation_names"]
    assert meta.observation_dims == given["observation_dims"]
    assert meta.joint_names == given["joint_names"]
    assert meta.joint_stiffness.tolist() == given["joint_stiffness"]  # full precision, not BeyondMimic's 3 decimals
    assert meta.default_joint_pos.tolist() == given["default_joint_pos"]
    assert meta.action_scale.tolist() == given["action_scale"]
    assert meta.anchor_body_name == "point"
    assert meta.props["format"] == "adaptive-sampling-policy/1"
    assert meta.props["run_path"] == str(tmp / "logs")
    assert meta.observation_slice("motion_id") == slice(given["observation_dims"][0], sum(given["observation_dims"]))


def test_beyondmimic_keys_and_format(trained):
    """BeyondMimic's keys are used as it writes them (comma-separated), so its deployment parser reads ours."""
    _, _, tmp, _ = trained
    import onnx

    props = {p.key: p.value for p in onnx.load(str(tmp / "logs" / "policy.onnx")).metadata_props}
    for key in ("joint_names", "joint_stiffness", "default_joint_pos", "observation_names", "action_scale"):
        assert key in BEYONDMIMIC_KEYS and key in props
    assert props["joint_names"] == "x,y"
    assert [float(v) for v in props["action_scale"].split(",")] == [0.25, 0.5]
    assert [int(float(v)) for v in props["observation_history_lengths"].split(",")] == [1, 1]


def test_motion_outside_the_library_is_refused(trained):
    """A policy trained on N motions refuses motion id N (or -1, or an unknown name) with an error naming the range
    and the library, and refuses observations whose motion-id block is not a one-hot of the library."""
    env, _, tmp, _ = trained
    policy = OnnxPolicy(tmp / "logs" / "policy.onnx")
    meta = policy.metadata
    names = meta.motion_names
    assert meta.motion_id(names[2]) == 2 and meta.motion_id(5) == 5
    assert meta.one_hot(names[3]).tolist() == [0, 0, 0, 1, 0, 0]
    for bad in (NUM_CLIPS, -1, 100):
        with pytest.raises(ValueError, match=rf"motion id must be in \[0, {NUM_CLIPS}\).*got {bad}"):
            meta.one_hot(bad)
    with pytest.raises(ValueError, match="'backflip' is not in the library"):
        meta.motion_id("backflip")
    with pytest.raises(TypeError, match="motion must be an int index or a name"):
        meta.motion_id(1.0)
    obs = env.get_observations()["policy"][:4].numpy().copy()
    assert policy.check_observation(obs).tolist() == env.motion_ids[:4].tolist()
    block = policy.metadata.observation_slice("motion_id")
    for make_bad in (lambda b: b * 0.0, lambda b: b + 1.0, lambda b: b * 0.5):
        bad = obs.copy()
        bad[1, block] = make_bad(bad[1, block])
        with pytest.raises(ValueError, match=r"must be a one-hot over the 6 motions.*rows \[1\]"):
            policy(bad)
    with pytest.raises(ValueError, match=r"obs must have shape \(batch, "):
        policy(obs[:, :-1])


def test_metadata_errors():
    """Values that would not read back are refused when writing; inconsistent metadata is refused when reading."""
    with pytest.raises(ValueError, match=r"metadata\['motion_names'\] entries must not contain ','"):
        format_metadata({"motion_names": ["a,b", "c"]})
    with pytest.raises(ValueError, match=r"metadata\['action_scale'\] must be finite"):
        format_metadata({"action_scale": [1.0, float("nan")]})
    with pytest.raises(TypeError, match=r"metadata\['x'\] must be a string, number or list"):
        format_metadata({"x": object()})
    assert format_metadata({"a": [1, 2.5, "s"], "b": None, "c": True}) == {"a": "1,2.5,s", "c": "True"}
    with pytest.raises(ValueError, match="'motion_fps' has 1 entries for 2 motions"):
        PolicyMetadata.from_props({"motion_names": "a,b", "motion_fps": "50.0"})
    with pytest.raises(ValueError, match="'observation_dims' has 1 entries for 2 observation_names"):
        PolicyMetadata.from_props({"observation_names": "a,b", "observation_dims": "3"})


def test_export_is_off_by_default_and_play_style_export_works(tmp_path):
    """Without export_onnx no policy.onnx appears; export_policy() writes one on demand (what play.py --export
    does), and its actions match the torch policy."""
    env = make_env()
    runner = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=str(tmp_path / "logs"))
    runner.learn(1)
    assert not (tmp_path / "logs" / "policy.onnx").exists()
    path = runner.export_policy(str(tmp_path / "out" / "p.onnx"))
    obs = env.get_observations()
    with torch.inference_mode():
        expected = runner.get_inference_policy()(obs).numpy()
    got = OnnxPolicy(path)(obs["policy"].numpy())
    assert np.abs(got - expected).max() <= 1e-5
    assert read_metadata(path).motion_names == list(env.adaptive_sampler.layout.motion_names)


def test_without_onnx_training_goes_on_and_says_so_once(tmp_path, monkeypatch, capsys):
    """With the onnx package missing, checkpoints are still written, the run finishes, and one line says that ONNX
    export is off."""
    monkeypatch.setitem(sys.modules, "onnx", None)
    runner = AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=str(tmp_path), export_onnx=True)
    runner.learn(3)
    out = capsys.readouterr().out
    assert out.count("ONNX export is off") == 1
    assert (tmp_path / "model_2.pt").is_file() and not (tmp_path / "policy.onnx").exists()


def test_export_onnx_must_be_a_bool(tmp_path):
    """export_onnx is checked (a string would silently turn it on)."""
    with pytest.raises(TypeError, match="export_onnx must be a bool, got str"):
        AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=str(tmp_path), export_onnx="no")


def test_export_onnx_from_train_cfg(tmp_path):
    """train_cfg['export_onnx'] turns the export on (how the Isaac Lab agent cfg does it)."""
    cfg = {**small_train_cfg(), "export_onnx": True}
    runner = AdaptiveSamplingRunner(make_env(), cfg, log_dir=str(tmp_path))
    assert runner.export_onnx is True
    runner.learn(1)
    assert (tmp_path / "policy.onnx").is_file() and runner.onnx_path == str(tmp_path / "policy.onnx")


def test_export_function_on_an_untrained_runner(tmp_path):
    """export_onnx() works on any runner, before training too, and writes the metadata it is given."""
    env = make_env()
    runner = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=None)
    path = export_onnx(runner, tmp_path / "x.onnx", {"anchor_body_name": "torso_link"})
    assert read_metadata(path).anchor_body_name == "torso_link"


def test_reader_needs_neither_torch_nor_rsl_rl(trained):
    """The robot-side reader loads and runs the exported policy in a process where torch and rsl_rl cannot be
    imported (numpy and onnxruntime only)."""
    import subprocess

    env, _, tmp, _ = trained
    obs = env.get_observations()["policy"][:2].numpy()
    np.save(tmp / "obs.npy", obs)
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['rsl_rl'] = None\n"
        "import numpy as np\n"
        "from adaptive_sampling_rsl_rl.onnx_policy import OnnxPolicy\n"
        f"policy = OnnxPolicy({str(tmp / 'logs' / 'policy.onnx')!r})\n"
        f"print(policy.metadata.num_motions, policy(np.load({str(tmp / 'obs.npy')!r})).shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [str(NUM_CLIPS), "(2,", f"{env.num_actions})"]


def _joint_metadata(**overrides) -> dict:
    values = {
        "joint_names": ["a", "b"],
        "joint_stiffness": [40.0, 20.0],
        "joint_damping": [2.0, 1.0],
        "default_joint_pos": [0.1, -0.2],
        "action_scale": 0.5,
        "command_names": ["motion"],
        "observation_names": ["command", "motion_id"],
        "observation_dims": [4, 3],
        "observation_history_lengths": [1, 1],
        "anchor_body_name": "torso",
        "body_names": ["torso", "foot"],
    }
    return {**values, **overrides}


def test_policy_metadata_core_checks_and_formats():
    """The simulator-neutral core both adapters call: a scalar scale is repeated per joint, the motion-id term is
    named only where the actor has it, and every key is one the reader parses."""
    from adaptive_sampling_rsl_rl.export import policy_metadata

    metadata = policy_metadata(**_joint_metadata())
    assert metadata["action_scale"] == [0.5, 0.5]
    assert metadata["motion_id_observation"] == "motion_id"
    assert set(metadata) <= set(BEYONDMIMIC_KEYS) | {"observation_dims", "motion_id_observation"}
    parsed = PolicyMetadata.from_props(format_metadata(metadata))
    assert parsed.joint_names == ["a", "b"]
    assert parsed.joint_stiffness.tolist() == [40.0, 20.0]
    assert parsed.observation_dims == [4, 3]
    no_id = policy_metadata(**_joint_metadata(observation_names=["command", "progress"]))
    assert no_id["motion_id_observation"] is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("joint_damping", [1.0]),
        ("default_joint_pos", [0.0, 0.0, 0.0]),
        ("action_scale", [0.5]),
        ("observation_dims", [4]),
        ("observation_history_lengths", [1, 1, 1]),
    ],
)
def test_policy_metadata_core_refuses_mismatched_lengths(key, value):
    from adaptive_sampling_rsl_rl.export import policy_metadata

    with pytest.raises(ValueError, match=key):
        policy_metadata(**_joint_metadata(**{key: value}))
