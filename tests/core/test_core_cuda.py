"""The CUDA path on a real GPU: the same statistics and distribution as the CPU path, draws that follow the exact
CDF, a hot path that never synchronises with the host (``torch.cuda.set_sync_debug_mode("error")``), and
``record`` + ``sample`` captured once in a CUDA graph and replayed, equal to the eager calls.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``pytest tests/core/test_core_cuda.py``."""

from __future__ import annotations

import pytest
import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CUDA = torch.device("cuda")

CONFIGS = {
    "default": {},
    "count": dict(statistic="count", ema_alpha=0.001),
    "start": dict(attribution="start"),
    "cap": dict(max_motion_share=0.6),
    "stall": dict(stall_patience=100.0, stall_threshold=0.05),
    "additive": dict(statistic="count", additive_uniform_ratio=0.1, uniform_ratio=0.0, prior="duration"),
}

FRAMES = {
    "one": [300],
    "four": [120, 90, 200, 57],
    "many": [50 * (30 + i % 200) + 7 for i in range(300)],  # 300 motions, 10k+ bins: the large-table layout
}


def make_cfg(name: str, **kwargs) -> AdaptiveSamplerCfg:
    """The named configuration of :data:`CONFIGS` with ``kwargs`` on top."""
    return AdaptiveSamplerCfg(**{**CONFIGS[name], **kwargs})


def make_events(frames: list[int], num: int, seed: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """``num`` ended segments: random starts, 40 frames long (cut at the clip's end), 30% failed."""
    g = torch.Generator().manual_seed(seed)
    num_frames = torch.tensor(frames)
    ids = torch.randint(0, len(frames), (num,), generator=g)
    start = (torch.rand(num, generator=g) * num_frames[ids]).long()
    end = torch.minimum(start + 40, num_frames[ids] - 1)
    failed = torch.rand(num, generator=g) < 0.3
    return tuple(t.to(device) for t in (ids, start, end, failed))


def skip_cap_on_one_motion(name: str, frames: list[int]) -> None:
    if name == "cap" and len(frames) == 1:
        pytest.skip("a motion cap needs several motions")


@pytest.mark.parametrize("frames", list(FRAMES))
@pytest.mark.parametrize("name", list(CONFIGS))
def test_cuda_statistics_and_distribution_equal_the_cpu_path(name, frames):
    """The same 40 steps of ended segments (rebuilds every 4) give the same float64 statistics and the same
    distribution on the GPU as on the CPU, up to the order of floating-point sums."""
    frames = FRAMES[frames]
    skip_cap_on_one_motion(name, frames)
    cfg = make_cfg(name, rebuild_every=4, seed=0)
    cpu, gpu = AdaptiveSampler(cfg, frames, 50.0), AdaptiveSampler(cfg, frames, 50.0, device=CUDA)
    for step in range(40):
        events = make_events(frames, 64, seed=step, device=torch.device("cpu"))
        cpu.record(*events)
        gpu.record(*(t.to(CUDA) for t in events))
        cpu.step()
        gpu.step()
    cpu.rebuild()
    gpu.rebuild()
    cs, gs = cpu.state_dict(), gpu.state_dict()
    for key in ("failures", "visits", "totals"):
        torch.testing.assert_close(gs[key].cpu(), cs[key], rtol=1e-12, atol=1e-12, msg=key)
    torch.testing.assert_close(gpu.probabilities.cpu(), cpu.probabilities, rtol=2e-6, atol=1e-9)
    assert gpu.probabilities.device.type == CUDA.type
    torch.testing.assert_close(gpu.probabilities.sum().double().cpu(), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.parametrize("frames", list(FRAMES))
def test_cuda_draws_follow_the_exact_cdf(frames):
    """On the GPU a draw is exactly ``searchsorted(cdf, floor(u * total * 2^52), right=True)`` (checked on the CPU
    with the same uniforms), and 4M public draws land in each bin as often as its probability says."""
    frames = FRAMES[frames]
    s = AdaptiveSampler(AdaptiveSamplerCfg(rebuild_every=1, seed=0), frames, 50.0, device=CUDA)
    for step in range(20):
        s.record(*make_events(frames, 256, seed=step, device=CUDA))
        s.step()
    u = torch.rand(1 << 20, dtype=torch.float64, device=CUDA)
    slots = s._cdf.draw(u).long().cpu()
    keys = torch.mul(u.cpu(), s._cdf._scaled_total.cpu()).to(torch.int64)
    expected = torch.searchsorted(s._cdf.cdf.cpu(), keys, right=True)
    assert torch.equal(slots, expected)

    n = 1 << 22
    motion_ids, start_frames = s.sample(n)
    assert motion_ids.device.type == CUDA.type and motion_ids.dtype == torch.int64
    num_frames = torch.tensor(frames, device=CUDA)
    assert bool(((start_frames >= 0) & (start_frames < num_frames[motion_ids])).all())
    bins = s.layout.bins_of(motion_ids, start_frames)
    counts = torch.bincount(bins, minlength=s.num_bins).double().cpu()
    expect = s.probabilities.double().cpu() * n
    assert bool((counts[expect == 0] == 0).all()), "a bin without probability was drawn"
    big = expect >= 20
    z = (counts[big] - expect[big]) / expect[big].sqrt()
    assert z.abs().max() < 6.0, float(z.abs().max())
    chi2 = float((z**2).sum())
    dof = int(big.sum()) - 1
    assert chi2 < dof + 6 * (2 * dof) ** 0.5, (chi2, dof)  # ~6 sigma above the chi-square's mean


def _hot_path(s: AdaptiveSampler, events: tuple[torch.Tensor, ...], num: int) -> None:
    s.record(*events)
    s.sample(num)
    s.sample(motion_ids=events[0])
    s.step()


@pytest.mark.parametrize("num", [64, 4096])
@pytest.mark.parametrize("frames", list(FRAMES))
@pytest.mark.parametrize("name", list(CONFIGS))
def test_cuda_hot_path_never_synchronises(name, frames, num):
    """validate_args=False: record, sample (both forms) and step, rebuilds included, make no synchronising CUDA
    call: torch raises on any under ``set_sync_debug_mode("error")``."""
    frames = FRAMES[frames]
    skip_cap_on_one_motion(name, frames)
    s = AdaptiveSampler(make_cfg(name, validate_args=False, rebuild_every=2, seed=0), frames, 50.0, device=CUDA)
    events = make_events(frames, 32, seed=0, device=CUDA)
    _hot_path(s, events, num)  # the first record for a number of segments caches its index rows
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(5):  # steps 2..6: rebuilds on every other one
            _hot_path(s, events, num)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    assert s.clock == 6


def test_cuda_sync_debug_mode_catches_the_value_checks():
    """The check can fail: validate_args=True reads its value checks back once per record, and torch raises."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), [120, 90], 50.0, device=CUDA)
    events = make_events([120, 90], 32, seed=0, device=CUDA)
    s.record(*events)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with pytest.raises(RuntimeError, match="synchroniz"):
            s.record(*events)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("num", [64, 4096])
@pytest.mark.parametrize("frames", ["four", "many"])
@pytest.mark.parametrize("name", ["default", "count", "stall"])
def test_cuda_graph_replay_equals_eager_calls(name, frames, num):
    """``record`` + ``sample`` (both forms) captured once in a CUDA graph (the sampler's generator registered with
    it) and replayed for 12 steps, with ``step()`` (rebuilds every 3) run eagerly in between, draw exactly what a twin
    sampler draws with eager calls, and leave the same distribution."""
    frames = FRAMES[frames]
    cfg = make_cfg(name, validate_args=False, rebuild_every=3, seed=0)
    graphed = AdaptiveSampler(cfg, frames, 50.0, device=CUDA)
    eager = AdaptiveSampler(cfg, frames, 50.0, device=CUDA)
    steps = [make_events(frames, 32, seed=k, device=CUDA) for k in range(14)]
    static = tuple(t.clone() for t in steps[0])
    # warm-up (caches record's rows for 32 segments), the same calls on both samplers, on a side stream as
    # torch.cuda.graph asks
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for s in (graphed, eager):
            for k in range(2):
                _hot_path(s, steps[k], num)
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()

    graph = torch.cuda.CUDAGraph()
    graph.register_generator_state(graphed.generator)
    with torch.cuda.graph(graph):
        graphed.record(*static)
        out = graphed.sample(num)
        out_given = graphed.sample(motion_ids=static[0])
    for k in range(2, 14):
        for dst, src in zip(static, steps[k], strict=True):
            dst.copy_(src)
        graph.replay()
        graphed.step()
        got = [t.clone() for t in (*out, *out_given)]
        eager.record(*steps[k])
        want = [*eager.sample(num), *eager.sample(motion_ids=steps[k][0])]
        eager.step()
        for g, w in zip(got, want, strict=True):
            assert torch.equal(g, w), f"step {k}: graph replay drew differently from the eager calls"
    assert graphed.clock == eager.clock == 14
    torch.testing.assert_close(graphed.probabilities, eager.probabilities, rtol=1e-6, atol=1e-12)
    assert not torch.equal(graphed.probabilities, graphed.prior), "the replayed records never reached the statistics"


def test_cuda_state_moves_between_devices():
    """A state saved on the GPU reloads on a GPU exactly (the same next draws), and loads on the CPU (and a CPU state
    on the GPU) with the statistics and distribution as saved and a reseeded generator, with a warning: a
    checkpoint written on a GPU machine can be inspected or resumed anywhere. CUDA's generator state is the 16 bytes
    that CPU-only machines assume when they recognise it."""
    frames = FRAMES["four"]
    cfg = AdaptiveSamplerCfg(rebuild_every=2, seed=0)
    gpu = AdaptiveSampler(cfg, frames, 50.0, device=CUDA)
    for step in range(10):
        gpu.record(*make_events(frames, 64, seed=step, device=CUDA))
        gpu.step()
    state = gpu.state_dict()
    assert state["generator_state"].numel() == 16
    again = AdaptiveSampler(cfg, frames, 50.0, device=CUDA)
    assert again.load_state_dict(state).exact
    assert torch.equal(again.sample(1000)[0], gpu.sample(1000)[0]), "the restored generator draws differently"

    cpu = AdaptiveSampler(cfg, frames, 50.0)
    with pytest.warns(UserWarning, match="saved on cuda"):
        report = cpu.load_state_dict(state)
    assert report.generator_reseeded and report.kept == list(cpu.layout.motion_names)
    torch.testing.assert_close(cpu.probabilities, gpu.probabilities.cpu(), rtol=2e-6, atol=1e-9)
    back = AdaptiveSampler(cfg, frames, 50.0, device=CUDA)
    with pytest.warns(UserWarning, match="saved on cpu"):
        assert back.load_state_dict(cpu.state_dict()).generator_reseeded
    torch.testing.assert_close(back.probabilities, gpu.probabilities, rtol=2e-6, atol=1e-9)
