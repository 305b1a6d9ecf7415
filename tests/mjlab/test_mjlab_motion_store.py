"""The mjlab adapter's motion store (no simulator): clips of the shared loader stacked into flat tensors."""

import dataclasses

import numpy as np
import pytest
import torch
from adaptive_sampling_mjlab.motion_store import MotionStore, demo_motions_dir
from adaptive_sampling_motions.clips import load_clips


@pytest.fixture(scope="module")
def clips():
    return load_clips(str(demo_motions_dir()), fps=50.0)


def test_store_stacks_the_clips_in_order_with_offsets(clips):
    """Motion m's frames sit at offsets[m] .. offsets[m] + T_m - 1, equal to the clip's arrays in float32."""
    store = MotionStore.from_clips(clips)
    names = ["arm_wave", "quick_squat", "slow_squat", "torso_twist"]
    assert store.motion_names == [clip.name for clip in clips] == names
    assert store.paths == [str(clip.path) for clip in clips]
    assert store.fps == 50.0
    assert store.num_frames.tolist() == [clip.num_frames for clip in clips]
    assert store.offsets.tolist() == [0, *np.cumsum([clip.num_frames for clip in clips])[:-1].tolist()]
    assert store.total_frames == sum(clip.num_frames for clip in clips)
    for m, clip in enumerate(clips):
        frames = store.frame_index(torch.full((2,), m), torch.tensor([0, clip.num_frames - 1]))
        for key in ("joint_pos", "body_quat_w", "body_ang_vel_w"):
            expected = torch.as_tensor(getattr(clip, key)[[0, -1]], dtype=torch.float32)
            assert torch.equal(getattr(store, key)[frames], expected)


def test_load_maps_joints_and_bodies_by_name(clips):
    """MotionStore.load reorders the named files to the robot's order it is given."""
    joints = list(reversed(clips[0].joint_names))
    bodies = list(reversed(clips[0].body_names))
    store = MotionStore.load(str(demo_motions_dir() / "arm_wave.npz"), fps=50.0, joint_names=joints, body_names=bodies)
    assert torch.equal(store.joint_pos[:, 0], torch.as_tensor(clips[0].joint_pos[:, -1], dtype=torch.float32))
    assert torch.equal(store.body_pos_w[:, 0], torch.as_tensor(clips[0].body_pos_w[:, -1], dtype=torch.float32))


def test_motion_id_by_name_or_index(clips):
    """Names and indices resolve; unknown ones raise naming what is allowed."""
    store = MotionStore.from_clips(clips)
    assert store.motion_id("slow_squat") == 2
    assert store.motion_id(3) == 3
    with pytest.raises(ValueError, match="'jump' is not one of the motions"):
        store.motion_id("jump")
    with pytest.raises(ValueError, match=r"motion index must be in \[0, 4\), got 4"):
        store.motion_id(4)
    with pytest.raises(TypeError, match="motion must be a name or an index"):
        store.motion_id(1.0)


def test_mixed_clips_are_rejected(clips):
    """Clips at different frame rates or with different joint counts cannot share one store."""
    with pytest.raises(ValueError, match="clips must hold at least one"):
        MotionStore.from_clips([])
    with pytest.raises(ValueError, match="clips must share one fps"):
        MotionStore.from_clips([clips[0], dataclasses.replace(clips[1], fps=30.0)])
    fewer = dataclasses.replace(clips[1], joint_pos=clips[1].joint_pos[:, :3])
    with pytest.raises(ValueError, match="clips must share one layout: joint_pos of"):
        MotionStore.from_clips([clips[0], fewer])
