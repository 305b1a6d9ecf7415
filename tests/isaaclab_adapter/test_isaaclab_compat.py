"""Isaac Lab 2.x / 3.x conventions (quaternion order, state writers, ProxyArray) without isaaclab installed."""

from importlib import metadata

import pytest
import torch
from adaptive_sampling_isaaclab import compat
from adaptive_sampling_isaaclab.compat import IsaacLabApi, quat_from_sim, quat_to_sim, to_torch

WXYZ = torch.tensor([[0.9, 0.1, 0.2, 0.3], [0.5, -0.5, 0.5, -0.5]])
XYZW = torch.tensor([[0.1, 0.2, 0.3, 0.9], [-0.5, 0.5, -0.5, 0.5]])


class Recorder:
    """Stands in for an articulation: records every writer call."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if not name.startswith("write_"):
            raise AttributeError(name)

        def writer(*args, **kwargs):
            self.calls.append((name, args, kwargs))

        return writer


class Proxy:
    """A 3.x ProxyArray look-alike."""

    def __init__(self, tensor):
        self.torch = tensor


def test_quaternion_orders():
    """wxyz -> xyzw moves w last; wxyz -> wxyz is the identity; both round-trip."""
    torch.testing.assert_close(quat_to_sim(WXYZ, "xyzw"), XYZW)
    torch.testing.assert_close(quat_from_sim(XYZW, "xyzw"), WXYZ)
    assert quat_to_sim(WXYZ, "wxyz") is WXYZ
    assert quat_from_sim(WXYZ, "wxyz") is WXYZ
    batch = torch.randn(5, 7, 4)
    torch.testing.assert_close(quat_from_sim(quat_to_sim(batch, "xyzw"), "xyzw"), batch)


def test_quaternion_order_errors():
    """Unknown orders, non-tensors and wrong last dimensions raise."""
    with pytest.raises(ValueError, match="order"):
        quat_to_sim(WXYZ, "zyxw")
    with pytest.raises(ValueError, match="last dimension of 4"):
        quat_from_sim(torch.zeros(3, 3), "xyzw")
    with pytest.raises(TypeError, match="torch.Tensor"):
        quat_to_sim([1.0, 0.0, 0.0, 0.0], "xyzw")


def test_api_conventions_per_version():
    """3.x speaks xyzw, 2.x wxyz; other majors are rejected."""
    assert IsaacLabApi(major=3).quat_order == "xyzw"
    assert IsaacLabApi(major=2).quat_order == "wxyz"
    with pytest.raises(ValueError, match="major must be 2 or 3"):
        IsaacLabApi(major=1)


def test_v3_writers():
    """3.x: link pose (xyzw) then com velocity, then the fused joint writer, all by keyword with env_ids."""
    robot = Recorder()
    api = IsaacLabApi(major=3)
    env_ids = torch.tensor([3, 1])
    pos = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    lin, ang = torch.ones(2, 3), 2 * torch.ones(2, 3)
    api.write_root_state(robot, pos, WXYZ, lin, ang, env_ids)
    api.write_joint_state(robot, torch.zeros(2, 29), torch.ones(2, 29), env_ids)
    names = [call[0] for call in robot.calls]
    assert names == ["write_root_link_pose_to_sim_index", "write_root_com_velocity_to_sim_index",
                     "write_joint_state_to_sim_index"]
    pose = robot.calls[0][2]["root_pose"]
    torch.testing.assert_close(pose, torch.cat([pos, XYZW], dim=-1))
    torch.testing.assert_close(robot.calls[1][2]["root_velocity"], torch.cat([lin, ang], dim=-1))
    assert robot.calls[2][2]["position"].shape == (2, 29)
    assert all(call[2]["env_ids"] is env_ids for call in robot.calls)
    assert all(call[1] == () for call in robot.calls)


def test_v2_writers():
    """2.x: one 13-float root state (wxyz) and the positional joint writer, as BeyondMimic calls them."""
    robot = Recorder()
    api = IsaacLabApi(major=2)
    env_ids = torch.tensor([0])
    pos, lin, ang = torch.tensor([[1.0, 2.0, 3.0]]), torch.ones(1, 3), torch.zeros(1, 3)
    api.write_root_state(robot, pos, WXYZ[:1], lin, ang, env_ids)
    api.write_joint_state(robot, torch.zeros(1, 4), torch.ones(1, 4), env_ids)
    assert [call[0] for call in robot.calls] == ["write_root_state_to_sim", "write_joint_state_to_sim"]
    state = robot.calls[0][1][0]
    assert state.shape == (1, 13)
    torch.testing.assert_close(state[:, 3:7], WXYZ[:1])
    torch.testing.assert_close(robot.calls[1][1][1], torch.ones(1, 4))


def test_reading_proxy_arrays_and_tensors():
    """3.x data fields are unwrapped through .torch, 2.x tensors pass through; quaternions come back wxyz."""

    class Data:
        body_quat_w = Proxy(XYZW)
        joint_pos = torch.arange(3.0)

    assert IsaacLabApi(major=3).read(Data, "body_quat_w") is XYZW
    torch.testing.assert_close(IsaacLabApi(major=3).read_quat(Data, "body_quat_w"), WXYZ)
    assert IsaacLabApi(major=2).read(Data, "joint_pos") is Data.joint_pos

    class Data2:
        body_quat_w = WXYZ

    torch.testing.assert_close(IsaacLabApi(major=2).read_quat(Data2, "body_quat_w"), WXYZ)
    with pytest.raises(TypeError, match=r"\.torch"):
        to_torch([1, 2, 3])


def test_detect(monkeypatch):
    """The installed version picks the convention; 4.x is treated as 3.x; a missing isaaclab says what to do."""
    for version, major in (("2.3.2", 2), ("3.0.0", 3), ("4.1.0", 3)):
        monkeypatch.setattr(compat.metadata, "version", lambda name, v=version: v)
        assert IsaacLabApi.detect().major == major

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(compat.metadata, "version", missing)
    with pytest.raises(RuntimeError, match="setup_isaaclab.sh"):
        IsaacLabApi.detect()
