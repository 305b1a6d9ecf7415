"""ONNX export of the mjlab G1 task for real (mjlab, the G1 on the CPU, 4 envs): train.py writes policy.onnx next to
the checkpoint by default, play.py --export writes it for an existing checkpoint, onnxruntime gives the torch
policy's actions, and the metadata read back holds the mjlab env's joints, gains, observation terms and motions."""

import pathlib
import shutil

import pytest
import torch

pytest.importorskip("mjlab.envs", reason="mjlab is not installed (scripts/setup_mjlab.sh builds .venv-mjlab)")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the onnx extra)")
pytestmark = [pytest.mark.mjlab, pytest.mark.slow]

from adaptive_sampling_rsl_rl.export import ONNX_FILENAME  # noqa: E402
from adaptive_sampling_rsl_rl.onnx_policy import OnnxPolicy, read_metadata, sha256_file  # noqa: E402

MOTIONS = ["arm_wave", "quick_squat", "slow_squat", "torso_twist"]
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One PPO iteration of the registered task with the default flags; the checkpoint and a copy of the
    policy.onnx training wrote next to it (play's export below rewrites that file)."""
    from adaptive_sampling_mjlab import train

    log_root = tmp_path_factory.mktemp("logs")
    flags = ["--env.scene.num-envs", "4", "--agent.num-steps-per-env", "4", "--agent.max-iterations", "1",
             "--heatmap", "False", "--log-root", str(log_root)]
    assert train.main(flags) == 0
    checkpoints = sorted(log_root.glob("g1_multi_motion_tracking_mjlab/*/model_*.pt"))
    assert checkpoints
    exported = checkpoints[-1].parent / ONNX_FILENAME
    assert exported.is_file() and exported.stat().st_size > 0
    copy = tmp_path_factory.mktemp("train_onnx") / ONNX_FILENAME
    shutil.copy(exported, copy)
    return checkpoints[-1], copy


@pytest.fixture(scope="module")
def played(trained):
    """play.py --export on the checkpoint: 4 envs, 10 headless steps with onnxruntime run alongside the torch policy."""
    from adaptive_sampling_mjlab import play, tasks

    checkpoint, _ = trained
    cfg = play.PlayConfig(checkpoint_file=str(checkpoint), num_envs=4, device="cpu", viewer="none", export=True)
    env, policy, command = play.build(tasks.TASK_ID, cfg)
    try:
        assert isinstance(policy, play.OnnxCheckedPolicy)
        play.run_headless(env, policy, command, num_steps=10)
        yield env, policy, command
    finally:
        env.close()


def test_export_flag_is_on_by_default_and_can_be_turned_off():
    from adaptive_sampling_mjlab import train

    assert train.parse_args([])[1].agent.export_onnx is True
    assert train.parse_args(["--agent.export-onnx", "False"])[1].agent.export_onnx is False


def test_onnx_actions_equal_torch_actions(trained, played):
    """On the observations of 10 played steps (4 envs), the file play.py exported and the one training wrote give
    the torch policy's actions within 1e-5."""
    _, train_onnx = trained
    env, checked, _ = played
    print(f"play --export: onnx vs torch max abs diff {checked.max_abs_diff:.3e} over {checked.count} observations")
    assert checked.count == 40
    assert checked.max_abs_diff <= TOLERANCE
    obs = env.get_observations()
    with torch.inference_mode():
        actions = checked.policy(obs).cpu()
    from_training = torch.from_numpy(OnnxPolicy(train_onnx)(obs["actor"].cpu().numpy()))
    diff = float((from_training - actions).abs().max())
    print(f"train-time policy.onnx vs torch: max abs diff {diff:.3e}")
    assert diff <= TOLERANCE
    assert float(actions.abs().max()) > 0  # a real policy, not zeros


@pytest.mark.parametrize("which", ["train", "play"])
def test_metadata_round_trips_with_the_mjlab_env(trained, played, which):
    """read_metadata gives back the env's joints in action order, mjlab's own PD gains and action scale, the actor's
    observation terms and sizes, the anchor body and the motion library (names, frames, hashes)."""
    from mjlab.rl.exporter_utils import get_base_metadata

    checkpoint, train_onnx = trained
    env, _, command = played
    meta = read_metadata(train_onnx if which == "train" else checkpoint.parent / ONNX_FILENAME)
    unwrapped = env.unwrapped
    action = unwrapped.action_manager.get_term("joint_pos")
    assert meta.joint_names == list(action.target_names)
    assert sorted(meta.joint_names) == sorted(unwrapped.scene["robot"].joint_names) and len(meta.joint_names) == 29
    assert meta.default_joint_pos.tolist() == pytest.approx(action.offset[0].tolist())
    assert meta.action_scale.tolist() == pytest.approx(action.scale[0].tolist())
    # mjlab's own exporter reads the gains in the robot's joint order: the same per joint
    base = get_base_metadata(unwrapped, "local")
    for key, ours in (("joint_stiffness", meta.joint_stiffness), ("joint_damping", meta.joint_damping)):
        by_name = dict(zip(base["joint_names"], base[key], strict=True))
        assert ours.tolist() == pytest.approx([by_name[name] for name in meta.joint_names])
        assert (ours > 0).all()
    assert meta.observation_names == list(unwrapped.observation_manager.active_terms["actor"])
    assert sum(meta.observation_dims) == env.get_observations()["actor"].shape[-1]
    assert meta.motion_id_observation == "motion_id"
    assert meta.observation_dims[meta.observation_names.index("motion_id")] == len(MOTIONS)
    assert meta.anchor_body_name == command.cfg.anchor_body_name
    assert meta.body_names == list(command.cfg.body_names)
    assert meta.motion_names == list(command.library.motion_names) == MOTIONS
    assert meta.motion_num_frames == [int(n) for n in command.library.num_frames]
    assert meta.motion_sha256 == [sha256_file(p) for p in command.library.paths]
    assert meta.props["run_path"] == str(pathlib.Path(checkpoint).parent)
