"""The hot path is ready for CUDA graphs: with ``validate_args=False``, ``record``, ``sample`` and ``step`` (rebuilds
included) read nothing back from the device, copy nothing from the host and, for a fixed number of segments and draws,
make tensors of the same shapes every step. Checked on the CPU by watching every torch call under a
``TorchFunctionMode``; ``test_core_cuda.py`` checks the same on a GPU with ``torch.cuda.set_sync_debug_mode("error")``
(it found the host copies and the 0-dim index this watch now looks for too)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

# Calls that copy a device value to the host (a sync on a GPU), or whose output shape depends on values.
SYNCING = {
    torch.Tensor.item,
    torch.Tensor.tolist,
    torch.Tensor.__bool__,
    torch.Tensor.__int__,
    torch.Tensor.__float__,
    torch.Tensor.__index__,
    torch.Tensor.cpu,
    torch.Tensor.numpy,
    torch.Tensor.nonzero,
    torch.nonzero,
    torch.Tensor.masked_select,
    torch.masked_select,
    torch.unique,
    torch.Tensor.unique,
    # host data copied to the device: on a GPU a synchronising copy (found by tests/core/test_core_cuda.py)
    torch.tensor,
    torch.as_tensor,
    torch.Tensor.new_tensor,
}


class SyncWatch(TorchFunctionMode):
    """Records syncing calls, ``.to()`` towards the CPU, boolean-mask indexing and the shapes of all outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.syncs: list[str] = []
        self.shapes: list[tuple[str, tuple[int, ...]]] = []

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        if func in SYNCING:
            self.syncs.append(name)
        if func in (torch.Tensor.to, torch.Tensor.copy_):
            targets = [a for a in (*args[1:], *kwargs.values()) if isinstance(a, (str, torch.device))]
            if any(torch.device(t).type == "cpu" for t in targets) and args[0].device.type != "cpu":
                self.syncs.append(f"{name}(cpu)")
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__):
            index = args[1] if isinstance(args[1], tuple) else (args[1],)
            if any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in index):
                self.syncs.append(f"{name}(bool mask)")
            if any(isinstance(i, torch.Tensor) and i.dim() == 0 and not i.is_floating_point() for i in index):
                self.syncs.append(f"{name}(0-dim index: read back as a Python int)")
        out = func(*args, **kwargs)
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.shapes.append((name, tuple(t.shape)))
        return out


def watched_step(s: AdaptiveSampler, events: tuple[torch.Tensor, ...], num: int) -> SyncWatch:
    with SyncWatch() as watch:
        s.record(*events)
        s.sample(num)
        s.sample(motion_ids=events[0])
        s.step()
    return watch


CONFIGS = {
    "default": {},
    "count": dict(statistic="count", kernel_size=3, ema_alpha=0.001),
    "cap_additive": dict(max_motion_share=1.0, additive_uniform_ratio=0.1, prior="duration"),
    "cap": dict(max_motion_share=0.6),
    "stall": dict(stall_patience=100.0, stall_threshold=0.05),
}


@pytest.mark.parametrize("num", [64, 2048])
@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("frames", [[300], [120, 90, 200, 57], [50 * (30 + i % 200) + 7 for i in range(300)]])
def test_record_sample_step_make_no_host_sync_and_keep_their_shapes(name, frames, num):
    """validate_args=False: over several steps, rebuilds included, no call reads a device value back, and every
    step makes the same sequence of tensor shapes (so a CUDA graph captured once replays every step); with few draws
    (torch.searchsorted) and many (the branch-free rounds)."""
    if name == "cap" and len(frames) == 1:
        pytest.skip("a motion cap needs several motions")
    cfg = AdaptiveSamplerCfg(validate_args=False, rebuild_every=2, seed=0, **CONFIGS[name])
    s = AdaptiveSampler(cfg, frames, 50.0)
    g = torch.Generator().manual_seed(0)
    num_frames = torch.tensor(frames)
    ids = torch.randint(0, len(frames), (32,), generator=g)
    start = (torch.rand(32, generator=g) * num_frames[ids]).long()
    end = torch.minimum(start + 40, num_frames[ids] - 1)
    events = (ids, start, end, torch.rand(32, generator=g) < 0.3)
    watched_step(s, events, num)  # the first call for a number of segments caches its index constants
    watches = [watched_step(s, events, num) for _ in range(4)]  # steps 2..5: two with a rebuild, two without
    for w in watches:
        assert w.syncs == [], w.syncs
    assert watches[0].shapes == watches[2].shapes and watches[1].shapes == watches[3].shapes


@pytest.mark.parametrize("frames", [[300], [120, 90]])
def test_the_watch_sees_a_sync(frames):
    """The check can fail: validate_args=True reads the value check back, once per record, and the watch reports
    it."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), frames, 50.0)
    one = torch.zeros(1, dtype=torch.int64)
    with SyncWatch() as watch:
        s.record(one, one, one, torch.ones(1, dtype=torch.bool))
    assert watch.syncs == ["tolist"]
    with SyncWatch() as watch:
        s.record(one, one, one, torch.full((1,), 0.5))
    assert watch.syncs == ["tolist"]
