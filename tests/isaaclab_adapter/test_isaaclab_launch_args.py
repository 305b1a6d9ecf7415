"""train.py / play.py flags that are wrong end the run before the simulator starts, with a message, not a traceback."""

import argparse

import pytest

pytest.importorskip("isaaclab_newton", reason="Isaac Lab 3.x is not installed (scripts/setup_isaaclab.sh installs it)")


def _args(**overrides) -> argparse.Namespace:
    values = dict(num_envs=4, device="cpu", motions=None)
    values.update(overrides)
    return argparse.Namespace(**values)


def test_missing_motion_path_names_the_flag_and_the_path(tmp_path):
    from adaptive_sampling_isaaclab.launch import _check_args

    missing = tmp_path / "no_such_motion.npz"
    with pytest.raises(SystemExit) as info:
        _check_args(_args(motions=[str(missing)]))
    message = str(info.value.code)
    assert message.startswith("--motions: ")
    assert str(missing) in message


def test_glob_matching_nothing_names_the_glob(tmp_path):
    from adaptive_sampling_isaaclab.launch import _check_args

    pattern = str(tmp_path / "*.npz")
    with pytest.raises(SystemExit, match=r"--motions: .*matches no \.npz files"):
        _check_args(_args(motions=[pattern]))


def test_existing_motion_files_pass(tmp_path):
    from adaptive_sampling_isaaclab.assets import demo_motions_dir
    from adaptive_sampling_isaaclab.launch import _check_args

    _check_args(_args(motions=[str(demo_motions_dir())]))  # raises nothing


def test_bad_env_count_still_raises_value_error():
    from adaptive_sampling_isaaclab.launch import _check_args

    with pytest.raises(ValueError, match="--num_envs must be >= 1, got 0"):
        _check_args(_args(num_envs=0))
