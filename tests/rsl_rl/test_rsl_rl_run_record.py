"""The run record: resolved sampler config and motion library (with file hashes) in the run folder at start."""

from __future__ import annotations

import hashlib
import json

import pytest

pytest.importorskip("rsl_rl")

from _rsl_rl_helpers import make_env, small_train_cfg  # noqa: E402
from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner  # noqa: E402
from adaptive_sampling_rsl_rl.run_record import (  # noqa: E402
    RECORD_FILENAME,
    compare_motion_files,
    motion_entries,
    read_run_record,
    write_run_record,
)


@pytest.fixture
def motion_files(tmp_path):
    folder = tmp_path / "motions"
    folder.mkdir()
    files = []
    for i in range(6):
        path = folder / f"clip_{i}.npz"
        path.write_bytes(bytes([i]) * (100 + i))
        files.append(path)
    return files


def test_runner_writes_the_record_at_start(tmp_path, motion_files):
    """Constructing the runner with a log dir writes the record before any training: the sampler's resolved config,
    every motion's name, frames and fps in library order, and each file's absolute path, size and SHA-256."""
    env = make_env()
    runner = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=str(tmp_path / "run"), motion_files=motion_files)
    path = tmp_path / "run" / RECORD_FILENAME
    assert runner.run_record_path == str(path) and path.is_file()
    record = json.loads(path.read_text())
    state = env.adaptive_sampler.state_dict()
    assert record["sampler_config"] == json.loads(json.dumps(state["config"]))
    assert record["sampler_layout"]["bins_per_motion"] == list(state["layout"]["bins_per_motion"])
    assert record["num_envs"] == env.num_envs
    motions = record["motions"]
    assert [m["name"] for m in motions] == list(state["layout"]["motion_names"])
    assert [m["num_frames"] for m in motions] == list(state["layout"]["num_frames"])
    assert [m["fps"] for m in motions] == list(state["layout"]["fps"])
    assert [m["file"] for m in motions] == [str(f.resolve()) for f in motion_files]
    assert [m["sha256"] for m in motions] == [hashlib.sha256(f.read_bytes()).hexdigest() for f in motion_files]
    assert [m["size"] for m in motions] == [f.stat().st_size for f in motion_files]
    assert read_run_record(tmp_path / "run") == record


def test_no_record_without_a_log_dir(tmp_path):
    """A runner without a log dir (play, evaluation) writes nothing."""
    runner = AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=None)
    assert runner.run_record_path is None


def test_changed_motion_files_are_reported(tmp_path, motion_files):
    """compare_motion_files is empty for the same files (also moved elsewhere), and names each changed, missing,
    reordered or extra file otherwise."""
    state = make_env().adaptive_sampler.state_dict()
    record = read_run_record(write_run_record(tmp_path / "run", sampler_state=state, motion_files=motion_files))
    names = list(state["layout"]["motion_names"])
    assert compare_motion_files(record, motion_files) == []
    moved = tmp_path / "moved"
    moved.mkdir()
    copies = []
    for f in motion_files:
        copies.append(moved / f.name)
        copies[-1].write_bytes(f.read_bytes())
    assert compare_motion_files(record, copies) == []

    motion_files[2].write_bytes(b"edited")
    problems = compare_motion_files(record, motion_files)
    assert (
        len(problems) == 1 and problems[0].startswith(f"{names[2]}: ") and "is not the file trained on" in problems[0]
    )
    swapped = [copies[1], copies[0], *copies[2:]]
    assert [p.split(":")[0] for p in compare_motion_files(record, swapped)] == names[:2]
    assert "trained on 6 motion files, now 5" in compare_motion_files(record, copies[:5])[0]
    motion_files[4].unlink()
    assert any(
        p.startswith(f"{names[4]}: ") and "does not exist" in p for p in compare_motion_files(record, motion_files)
    )


def test_motion_entries_checks_lengths(tmp_path, motion_files):
    """A file list that does not match the library is an error naming both counts."""
    layout = make_env().adaptive_sampler.state_dict()["layout"]
    with pytest.raises(ValueError, match="motion_files has 5 files for 6 motions"):
        motion_entries(layout, motion_files[:5])


def test_read_run_record_rejects_other_json(tmp_path):
    """A JSON file that is not a run record is refused."""
    (tmp_path / RECORD_FILENAME).write_text("{}")
    with pytest.raises(ValueError, match="is not an adaptive-sampling run record"):
        read_run_record(tmp_path)
