"""Speed benchmark: the adaptive sampler against a per-motion loop, BeyondMimic's step and one memory pass.

Scales (motions x bins per motion, resets per step):

- S1: 1 motion x 60 bins, 4,096 resets (BeyondMimic's case)
- S2: 100 motions x 30..300 bins, 4,096 resets
- S3: 10,000 motions x 10..600 bins (~3M bins), 4,096 resets
- S4: 10,000 motions, 1,000,000 bins, 65,536 resets

Measured for the library (``adaptive_sampling.AdaptiveSampler``): ``record`` (one step's ended segments, as many as
resets), ``rebuild``, ``sample`` (one step's resets) and the amortised step ``record + sample + step()`` with the
configured ``rebuild_every`` (``step()`` timed with rebuilds switched off, plus ``rebuild / rebuild_every``; the same
cycle is also timed directly as a cross-check). Baselines (``baselines.py``, written from BeyondMimic's paper and
released code) are measured in the same run:

- ``loop``: BeyondMimic's step generalised to many motions the natural way - per motion a bincount + EMA of its
  failures, replicate-pad + conv1d with the look-ahead kernel, normalise, and a multinomial draw for the resets that
  picked the motion, in a Python loop. It computes the *same distribution* as the timed library config, and the
  ``max rel|dp|`` column checks that at every scale.
- ``bm_step``: BeyondMimic's single-motion step over all bins of the scale as one clip (bincount, dense EMA,
  replicate-pad + conv1d, normalise, multinomial).
- ``bandwidth``: one in-place read + write pass over a float32 tensor with one entry per bin (the physical floor of
  any rebuild).

At S4 it also checks that sampling is exact: a chi-square goodness-of-fit test of sampled bin frequencies against
the probabilities (tiny bins pooled so every expected count is >= 5), and a tail that holds 0.03% of the mass spread
over half a million bins (each below float32's resolution of a CDF near 1), which ``torch.multinomial`` on the
float32 table never draws (``stats.chi_square``).

The library is timed as configured by default (``validate_args=True``, value checks with a host sync) and, in the
"no checks" column, with ``validate_args=False``. ``--profile`` adds an op-by-op ``torch.profiler`` breakdown of
``record``, ``rebuild`` and ``sample`` per scale (printed, and stored in the JSON).

Run: ``OMP_NUM_THREADS=1 python benchmarks/speed.py [--device cpu|cuda] [--threads 1] [--quick] [--scales S1,S3]
[--profile] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.benchmark import Timer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks.baselines import BeyondMimicStep, LoopBaseline, PlainInverseCdf  # noqa: E402
from benchmarks.stats import chi_square  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"

FPS = 50.0
"""Frame rate of every synthetic clip; with 1 s bins a bin holds 50 frames (the last one of a clip fewer)."""

FAIL_PROB_HARD = 0.5
FAIL_PROB_EASY = 0.02
HARD_BIN_SHARE = 0.05
"""Synthetic failures: 5% of the bins are hard (a segment ending there failed with probability 0.5), the rest 0.02."""

TAIL_MASS = 3e-4
"""Prior mass of the S4 tail motions (the tiny-tail check)."""


# ---------------------------------------------------------------------------------------------------- scales


@dataclass(frozen=True)
class Scale:
    """One benchmark scale."""

    name: str
    num_motions: int
    min_bins: int
    max_bins: int
    resets: int
    total_bins: int | None = None
    """If set, bins per motion are adjusted to sum to exactly this."""

    def bins_per_motion(self, generator: torch.Generator) -> torch.Tensor:
        """Bins of each motion, uniform in ``[min_bins, max_bins]`` (then fixed up to ``total_bins``). Shape: (M,)."""
        bins = torch.randint(self.min_bins, self.max_bins + 1, (self.num_motions,), generator=generator)
        if self.total_bins is not None:
            diff = self.total_bins - int(bins.sum())
            step = 1 if diff > 0 else -1
            i = 0
            while diff != 0:
                j = i % self.num_motions
                if self.min_bins <= int(bins[j]) + step <= self.max_bins:
                    bins[j] += step
                    diff -= step
                i += 1
        return bins


SCALES = [
    Scale("S1", 1, 60, 60, 4096),
    Scale("S2", 100, 30, 300, 4096),
    Scale("S3", 10_000, 10, 600, 4096),
    Scale("S4", 10_000, 20, 180, 65_536, total_bins=1_000_000),
]


def make_library(bins: torch.Tensor, generator: torch.Generator) -> list[int]:
    """Frames per clip so that clip ``m`` has exactly ``bins[m]`` one-second bins at 50 fps, the last one partial."""
    last = torch.randint(1, int(FPS) + 1, bins.shape, generator=generator)
    return ((bins - 1) * int(FPS) + last).tolist()


@dataclass
class Events:
    """One step's ended segments and the flat bin of each end frame. Shape of every tensor: (E,)."""

    motion_ids: torch.Tensor
    start_frames: torch.Tensor
    end_frames: torch.Tensor
    failed: torch.Tensor
    end_bins: torch.Tensor


def make_events(
    num_events: int, num_frames: torch.Tensor, hard: torch.Tensor, bin_of: Callable, generator: torch.Generator
) -> Events:
    """Random ended segments: a uniform motion, a start frame, an end frame after it, failures from the hard bins."""
    num_motions = num_frames.numel()
    motion_ids = torch.randint(0, num_motions, (num_events,), generator=generator)
    length = num_frames[motion_ids]
    start = (torch.rand(num_events, generator=generator, dtype=torch.float64) * length).long()
    end = start + (torch.rand(num_events, generator=generator, dtype=torch.float64) * (length - start)).long()
    end_bins = bin_of(motion_ids, end)
    prob = torch.where(hard[end_bins], FAIL_PROB_HARD, FAIL_PROB_EASY)
    failed = torch.rand(num_events, generator=generator) < prob
    return Events(motion_ids, start, end, failed, end_bins)


def events_to(ev: Events, device: torch.device) -> Events:
    return Events(
        *(getattr(ev, f).to(device) for f in ("motion_ids", "start_frames", "end_frames", "failed", "end_bins"))
    )


# ---------------------------------------------------------------------------------------------------- floors


def bandwidth_pass(x: torch.Tensor) -> None:
    """One in-place read + write pass over every element."""
    x.mul_(0.999)


class ColdBandwidth:
    """The same pass, round-robin over enough copies (>= 64 MiB in all) that each call finds its tensor out of cache.

    Reported for information only: the target compares against the warm pass above.
    """

    def __init__(self, num_bins: int, device: torch.device) -> None:
        copies = max(2, math.ceil((64 << 20) / (4 * num_bins)))
        self.tensors = [torch.rand(num_bins, device=device) for _ in range(copies)]
        self.i = 0

    def __call__(self) -> None:
        self.i = (self.i + 1) % len(self.tensors)
        self.tensors[self.i].mul_(0.999)


class EagerFloor:
    """The fewest PyTorch ops a rebuild of this design can be made of, one pass each over a table of all slots.

    A rebuild turns float64 failure statistics plus this step's pending sums into float32 probabilities and an exact
    int64 CDF. Whatever the formula, in eager PyTorch that is at least: merge the pending sums (``add_``, then
    ``zero_`` them), read the statistics into float32 (``copy_``), the look-ahead kernel (one multiply-add per tap),
    one reduction and one mixing pass (``sum``, ``lerp``), and the CDF (``copy_`` into int64, ``cumsum_``). Every
    other op of the formula (the rate's division, the prior tilt, the normalisation, the rounding onto the grid, the
    clip padding) is left out, so this is a lower bound on a rebuild, not a rebuild: if it alone costs more than a
    target, no rebuild built from PyTorch ops reaches that target on this machine (only a fused kernel could).
    """

    def __init__(self, num_slots: int, kernel_size: int, device: torch.device) -> None:
        self.stats = torch.rand(num_slots, dtype=torch.float64, device=device)
        self.pending = torch.rand(num_slots, dtype=torch.float64, device=device)
        self.score = torch.empty(num_slots, device=device)
        self.smoothed = torch.empty(num_slots, device=device)
        self.prior = torch.full((num_slots,), 1.0 / num_slots, device=device)
        self.probs = torch.empty(num_slots, device=device)
        self.cdf = torch.empty(num_slots, dtype=torch.int64, device=device)
        self.taps = [0.8**u for u in range(kernel_size)]

    def __call__(self) -> None:
        self.stats.add_(self.pending)
        self.pending.zero_()
        self.score.copy_(self.stats)
        length = self.score.numel() - len(self.taps) + 1
        head = self.smoothed[:length]
        torch.mul(self.score[:length], self.taps[0], out=head)
        for u in range(1, len(self.taps)):
            head.add_(self.score[u : u + length], alpha=self.taps[u])
        self.smoothed.sum()
        torch.lerp(self.smoothed, self.prior, 0.1, out=self.probs)
        self.cdf.copy_(self.probs).cumsum_(0)


# ---------------------------------------------------------------------------------------------------- timing


def measure(fns: dict[str, Callable[[], Any]], *, min_run_time: float, repeats: int, threads: int) -> dict[str, dict]:
    """Median seconds per call of each function, with ``repeats`` interleaved rounds of ``blocked_autorange``.

    Returns ``{name: {"median_s", "rounds_s"}}``; the median is over the per-round medians.
    """
    rounds: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            timer = Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads, label=name)
            rounds[name].append(timer.blocked_autorange(min_run_time=min_run_time).median)
    return {name: {"median_s": statistics.median(v), "rounds_s": v} for name, v in rounds.items()}


def profile_calls(
    fns: dict[str, Callable[[], Any]], device: torch.device, log: Callable[[str], None], label: str, calls: int = 10
) -> dict[str, list[dict[str, Any]]]:
    """Op-level profile (``torch.profiler``) of each call: the ops that cost most, per call, printed and returned."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    out: dict[str, list[dict[str, Any]]] = {}
    for name, fn in fns.items():
        for _ in range(3):
            fn()
        with profile(activities=activities) as prof:
            for _ in range(calls):
                fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
        rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in rows) / calls
        top = [
            {
                "op": e.key,
                "calls_per_call": e.count / calls,
                "self_cpu_us_per_call": e.self_cpu_time_total / calls,
                "share": e.self_cpu_time_total / calls / max(total, 1e-9),
            }
            for e in rows[:8]
        ]
        out[name] = top
        ops = ", ".join(f"{r['op']} x{r['calls_per_call']:g} {r['self_cpu_us_per_call']:.0f} us" for r in top[:6])
        log(f"  profile {label} {name}: {total:.0f} us/call (profiled); {ops}")
    return out


# ---------------------------------------------------------------------------------------------------- machine


def machine_info(device: torch.device, threads: int) -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "load_average_at_start": list(os.getloadavg()),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def peak_rss_gib() -> float | None:
    """Peak resident memory of this process (None where the resource module is missing)."""
    try:
        import resource
    except ImportError:
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kib / 2**30 if sys.platform == "darwin" else kib / 2**20


# ---------------------------------------------------------------------------------------------------- main


def bench_cfg(sampler_module: Any, **overrides: Any) -> Any:
    """The timed library configuration: a formula the loop baseline implements exactly.

    BeyondMimic's statistic (EMA of failure counts at the failure bin) and its old 3-tap look-ahead kernel, with the
    library's true mixture floor (``uniform_ratio=0.1``) and multi-motion prior; ``rebuild_every`` stays at the
    library default.
    """
    values: dict[str, Any] = dict(
        statistic="count",
        attribution="failure",
        bin_layout="duration",
        ema_alpha=0.001,
        kernel_size=3,
        kernel_decay=0.8,
        uniform_ratio=0.1,
        additive_uniform_ratio=0.0,
        prior="motion",
        seed=0,
    )
    values.update(overrides)
    return sampler_module.AdaptiveSamplerCfg(**values)


def feed(samplers: list[Any], events: list[Events], steps: int, loop: LoopBaseline | None = None) -> None:
    """Feed the same steps (record + step) to every sampler and to the loop, then rebuild them all."""
    for i in range(steps):
        ev = events[i % len(events)]
        for sampler in samplers:
            sampler.record(ev.motion_ids, ev.start_frames, ev.end_frames, ev.failed)
            sampler.step()
        if loop is not None:
            loop.update(ev.motion_ids, ev.end_frames, ev.failed)
    for sampler in samplers:
        sampler.rebuild()
    if loop is not None:
        loop.rebuild()


def compare(ours: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    ours = ours.double().cpu()
    ref = ref.double().cpu()
    abs_diff = (ours - ref).abs()
    rel = float((abs_diff / ref.abs().clamp_min(1e-30)).max())
    return {
        "max_abs_diff": float(abs_diff.max()),
        "max_rel_diff": rel,
        "ok": bool(rel <= 1e-4 and ours.numel() == ref.numel()),
    }


@dataclass
class ScaleSetup:
    """One scale's synthetic library, its hard bins and four steps of ended segments (on the device)."""

    scale: Scale
    bins: torch.Tensor
    num_frames: list[int]
    names: list[str]
    hard: torch.Tensor
    bin_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    events: list[Events]
    generator: torch.Generator
    """The scale's generator, after the library and the events were drawn (S4's exactness check continues it)."""

    def sampler(self, sm: Any, cfg: Any, device: torch.device, **kwargs: Any) -> Any:
        """A library sampler over this scale's clips."""
        fps = [FPS] * len(self.num_frames)
        return sm.AdaptiveSampler(
            cfg, num_frames=self.num_frames, fps=fps, motion_names=self.names, device=device, **kwargs
        )

    def loop(self, cfg: Any, prior: torch.Tensor, device: torch.device, seed: int) -> LoopBaseline:
        """The per-motion loop baseline with ``cfg``'s formula and the given motion prior."""
        return LoopBaseline(
            self.bins,
            torch.tensor(self.num_frames),
            prior,
            ema_alpha=cfg.ema_alpha,
            kernel_size=cfg.kernel_size,
            kernel_decay=cfg.kernel_decay,
            uniform_ratio=cfg.uniform_ratio,
            additive_uniform_ratio=cfg.additive_uniform_ratio,
            device=device,
            generator=torch.Generator(device=device).manual_seed(seed),
            frames_per_bin=FPS,
        )


def make_scale(scale: Scale, sm: Any, device: torch.device) -> tuple[ScaleSetup, Any]:
    """The scale's library and events, and the timed library sampler over it.

    Checks that the library's layout has the benchmark's bins and maps frames to bins the same way.
    """
    gen = torch.Generator().manual_seed(1234 + int(scale.name[1:]))
    bins = scale.bins_per_motion(gen)
    num_frames = make_library(bins, gen)
    names = [f"clip_{i:05d}" for i in range(scale.num_motions)]
    sampler = sm.AdaptiveSampler(
        bench_cfg(sm), num_frames=num_frames, fps=[FPS] * scale.num_motions, motion_names=names, device=device
    )
    layout = sampler.layout
    if layout.bins_per_motion.cpu().tolist() != bins.tolist():
        raise RuntimeError(f"{scale.name}: the library's bin layout differs from the benchmark's")
    hard = torch.rand(layout.num_bins, generator=gen) < HARD_BIN_SHARE
    bin_offsets = layout.bin_offsets.cpu()

    def bin_of(motion_ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        return bin_offsets[motion_ids] + torch.div(frames, int(FPS), rounding_mode="floor")

    nf = torch.tensor(num_frames)
    events = [make_events(scale.resets, nf, hard, bin_of, gen) for _ in range(4)]
    lib_bins = layout.bins_of(events[0].motion_ids.to(device), events[0].end_frames.to(device)).cpu()
    if not torch.equal(lib_bins, events[0].end_bins):
        raise RuntimeError(f"{scale.name}: the library maps frames to bins differently from the benchmark")
    events = [events_to(ev, device) for ev in events]
    return ScaleSetup(scale, bins, num_frames, names, hard, bin_of, events, gen), sampler


def timed_calls(
    setup: ScaleSetup, sm: Any, sampler: Any, loop: LoopBaseline, device: torch.device, warm_steps: int
) -> dict[str, Callable[[], Any]]:
    """The calls to time, on warmed-up samplers: the library as configured, without value checks and with rebuilds
    off (times ``step()``'s per-step part), in its default configuration; the loop, BeyondMimic's step and the
    bandwidth floors."""
    # rebuilds switched off: times step()'s per-step part; validate_args=False: record and sample without the
    # value checks (the library default checks them)
    sampler_fast = setup.sampler(sm, bench_cfg(sm, rebuild_every=2**31 - 1, validate_args=False), device)
    # the library's default configuration (failure rate with a prior, not the loop's count statistic): timed only
    sampler_default = setup.sampler(sm, sm.AdaptiveSamplerCfg(seed=0), device)
    feed([sampler_fast, sampler_default], setup.events, warm_steps)
    cfg = sampler.cfg
    layout = sampler.layout
    bm = BeyondMimicStep(
        layout.num_bins,
        sum(setup.num_frames),
        ema_alpha=cfg.ema_alpha,
        kernel_size=cfg.kernel_size,
        kernel_decay=cfg.kernel_decay,
        uniform_ratio=0.1,
        device=device,
        generator=loop.generator,
    )
    flat = torch.rand(layout.num_bins, device=device)
    ev = setup.events[0]
    # BeyondMimic's frames are global over the single clip: map the events onto it
    bm_end = layout.frame_offsets.to(device)[ev.motion_ids] + ev.end_frames
    n = setup.scale.resets
    rebuild_every = cfg.rebuild_every
    plain = PlainInverseCdf(sampler, torch.Generator(device=device).manual_seed(5))

    def ours_cycle() -> None:
        for _ in range(rebuild_every):
            sampler.record(ev.motion_ids, ev.start_frames, ev.end_frames, ev.failed)
            sampler.sample(n)
            sampler.step()

    def record(s: Any) -> Callable[[], Any]:
        return lambda: s.record(ev.motion_ids, ev.start_frames, ev.end_frames, ev.failed)

    return {
        "record": record(sampler),
        "rebuild": sampler.rebuild,
        "sample": lambda: sampler.sample(n),
        "sample_plain_cdf": lambda: plain.sample(n),
        "step_no_rebuild": sampler_fast.step,
        "record_no_validate": record(sampler_fast),
        "sample_no_validate": lambda: sampler_fast.sample(n),
        "record_default_cfg": record(sampler_default),
        "rebuild_default_cfg": sampler_default.rebuild,
        "sample_default_cfg": lambda: sampler_default.sample(n),
        "cycle": ours_cycle,
        "loop_step": lambda: loop.step(ev.motion_ids, ev.end_frames, ev.failed, n),
        "loop_rebuild": loop.rebuild,
        "bm_step": lambda: bm.step(bm_end, ev.failed, n),
        "bandwidth": lambda: bandwidth_pass(flat),
        "bandwidth_cold": ColdBandwidth(layout.num_bins, device),
        "eager_floor": EagerFloor(sampler._slots.num_slots, cfg.kernel_size, device),
    }


class GraphedCalls:
    """A captured CUDA graph and what it reads and writes: the sampler and the static inputs live as long as it."""

    def __init__(self, graph: Any, sampler: Any, static: list[torch.Tensor]) -> None:
        self.graph, self.sampler, self.static = graph, sampler, static

    def __call__(self) -> None:
        self.graph.replay()


def graphed_record_sample(setup: ScaleSetup, sm: Any, device: torch.device, warm_steps: int) -> GraphedCalls:
    """CUDA only: ``record`` + ``sample`` captured once in a CUDA graph, the replay to time (README, "CUDA graphs").

    The sampler is the "no checks" one with rebuilds off (``validate_args=False``, as a graph needs); its generator is
    registered with the graph; the record's number of segments and the number of draws are those of the scale. A
    replay plus ``step_no_rebuild`` plus ``rebuild / rebuild_every`` is the graphed amortised step.
    """
    s = setup.sampler(sm, bench_cfg(sm, rebuild_every=2**31 - 1, validate_args=False), device)
    feed([s], setup.events, warm_steps)
    ev = setup.events[0]
    static = [t.clone() for t in (ev.motion_ids, ev.start_frames, ev.end_frames, ev.failed)]
    n = setup.scale.resets
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):  # warm-up on a side stream, as torch.cuda.graph asks
        for _ in range(3):
            s.record(*static)
            s.sample(n)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    graph.register_generator_state(s.generator)
    with torch.cuda.graph(graph):
        s.record(*static)
        s.sample(n)
    # a graph replays raw addresses: if the sampler or the inputs were freed, it would read whatever reused them
    return GraphedCalls(graph, s, static)


def scale_result(
    setup: ScaleSetup, num_bins: int, timings: dict[str, dict], rebuild_every: int, default_every: int, check: dict
) -> dict[str, Any]:
    """Times per call, the amortised steps (record + sample + step() + rebuild / rebuild_every) and the ratios."""
    t = {k: v["median_s"] for k, v in timings.items()}
    t["cycle"] /= rebuild_every
    amortised = t["record"] + t["sample"] + t["step_no_rebuild"] + t["rebuild"] / rebuild_every
    amortised_nv = (
        t["record_no_validate"] + t["sample_no_validate"] + t["step_no_rebuild"] + t["rebuild"] / rebuild_every
    )
    amortised_default = (
        t["record_default_cfg"]
        + t["sample_default_cfg"]
        + t["step_no_rebuild"]
        + t["rebuild_default_cfg"] / default_every
    )
    graphed = {}
    if "graph_record_sample" in t:
        graphed["amortised_step_graph"] = t["graph_record_sample"] + t["step_no_rebuild"] + t["rebuild"] / rebuild_every
    scale = setup.scale
    result = {
        "scale": scale.name,
        "num_motions": scale.num_motions,
        "num_bins": num_bins,
        "bins_per_motion": [int(setup.bins.min()), int(setup.bins.max())],
        "resets": scale.resets,
        "rebuild_every": rebuild_every,
        "times_s": {
            **t,
            "amortised_step": amortised,
            "amortised_step_no_validate": amortised_nv,
            "amortised_step_default_cfg": amortised_default,
            **graphed,
        },
        "rounds_s": {k: v["rounds_s"] for k, v in timings.items()},
        "ratios": {
            "loop_over_step": t["loop_step"] / amortised,
            "step_over_bm_step": amortised / t["bm_step"],
            "step_no_validate_over_bm_step": amortised_nv / t["bm_step"],
            "loop_over_step_no_validate": t["loop_step"] / amortised_nv,
            "loop_over_step_default_cfg": t["loop_step"] / amortised_default,
            "rebuild_over_bandwidth": t["rebuild"] / t["bandwidth"],
            "rebuild_over_bandwidth_cold": t["rebuild"] / t["bandwidth_cold"],
            "eager_floor_over_bandwidth": t["eager_floor"] / t["bandwidth"],
            "rebuild_over_eager_floor": t["rebuild"] / t["eager_floor"],
            "plain_cdf_sample_over_sample": t["sample_plain_cdf"] / t["sample"],
            "loop_rebuild_over_rebuild": t["loop_rebuild"] / t["rebuild"],
            "cycle_over_amortised": t["cycle"] / amortised,
        },
        "correctness": check,
    }
    if graphed:
        result["ratios"]["step_graph_over_bm_step"] = graphed["amortised_step_graph"] / t["bm_step"]
        result["ratios"]["loop_over_step_graph"] = t["loop_step"] / graphed["amortised_step_graph"]
        result["ratios"]["step_no_validate_over_step_graph"] = amortised_nv / graphed["amortised_step_graph"]
    return result


def draws_identical(sampler: Any, n: int, rounds: int = 4) -> dict[str, Any]:
    """Whether the sampler's draws equal the earlier plain inverse CDF's (same generator state, ``rounds`` x ``n``)."""
    gen = torch.Generator(device=sampler.device)
    gen.set_state(sampler.generator.get_state())
    plain = PlainInverseCdf(sampler, gen)
    same = True
    for _ in range(rounds):
        ours, theirs = sampler.sample(n), plain.sample(n)
        same &= bool(torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1]))
    probs = sampler.probabilities
    positive = probs[probs > 0]
    return {"identical": same, "draws": rounds * n, "min_positive_prob": float(positive.min())}


def state_bytes_per_bin(sampler: Any) -> dict[str, Any]:
    """Bytes of every tensor the sampler holds (statistics, distribution, CDF, index tables, work buffers), per bin."""
    seen: dict[int, int] = {}

    def walk(obj: Any) -> None:
        for value in vars(obj).values():
            items = (
                value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
            )
            for v in items:
                if isinstance(v, torch.Tensor):
                    storage = v.untyped_storage()
                    seen[storage.data_ptr()] = storage.nbytes()
                elif type(v).__module__.startswith("adaptive_sampling") and hasattr(v, "__dict__"):
                    walk(v)  # e.g. the work buffers record() caches per number of segments

    for obj in (sampler, sampler._slots, sampler._cdf, sampler.layout):
        walk(obj)
    total = sum(seen.values())
    return {"bytes": total, "bytes_per_bin": total / sampler.layout.num_bins}


def op_counts(fns: dict[str, Callable[[], Any]]) -> dict[str, int]:
    """ATen operators dispatched by one call of each function (views and scalar reads included)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            self.count += 1
            return func(*args, **(kwargs or {}))

    out = {}
    for name, fn in fns.items():
        with Count() as counter:
            fn()
        out[name] = counter.count
    return out


def run_scale(
    scale: Scale, sm: Any, device: torch.device, args: argparse.Namespace, log: Callable[[str], None]
) -> dict[str, Any]:
    """Warm up, check the library's probabilities against the loop's, time every call; S4 adds the exactness check."""
    setup, sampler = make_scale(scale, sm, device)
    num_bins = sampler.layout.num_bins
    loop = setup.loop(sampler.cfg, torch.full((scale.num_motions,), 1.0 / scale.num_motions), device, seed=7)
    t0 = time.perf_counter()
    feed([sampler], setup.events, args.warm_steps, loop)
    check = compare(sampler.probabilities, loop.probabilities())
    log(
        f"  {scale.name}: {scale.num_motions} motions, {num_bins} bins; warm-up {time.perf_counter() - t0:.1f} s; "
        f"max rel |dp| vs loop {check['max_rel_diff']:.2e}"
    )
    fns = timed_calls(setup, sm, sampler, loop, device, args.warm_steps)
    graph_error = None
    if device.type == "cuda" and not args.no_cuda_graph:
        try:
            fns["graph_record_sample"] = graphed_record_sample(setup, sm, device, args.warm_steps)
        except Exception as err:  # reported, not fatal: the eager figures stand without it
            graph_error = f"{type(err).__name__}: {err}"
            log(f"  {scale.name}: CUDA graph capture failed: {graph_error}")
    t0 = time.perf_counter()
    timings = measure(fns, min_run_time=args.min_run_time, repeats=args.repeats, threads=args.threads)
    log(f"  {scale.name}: timed in {time.perf_counter() - t0:.1f} s")
    result = scale_result(
        setup, num_bins, timings, sampler.cfg.rebuild_every, sm.AdaptiveSamplerCfg(seed=0).rebuild_every, check
    )
    if graph_error is not None:
        result["graph_error"] = graph_error
    result["state"] = state_bytes_per_bin(sampler)
    result["draws_vs_plain_cdf"] = draws_identical(sampler, scale.resets)
    if scale.name == "S1":
        ev = setup.events[0]

        def ours() -> None:
            sampler.record(ev.motion_ids, ev.start_frames, ev.end_frames, ev.failed)
            sampler.sample(scale.resets)
            sampler.step()

        bm_end = sampler.layout.frame_offsets.to(device)[ev.motion_ids] + ev.end_frames
        bm = BeyondMimicStep(
            num_bins,
            sum(setup.num_frames),
            ema_alpha=0.001,
            kernel_size=3,
            kernel_decay=0.8,
            uniform_ratio=0.1,
            device=device,
            generator=torch.Generator(device=device).manual_seed(0),
        )
        for _ in range(sampler.cfg.rebuild_every):  # land on a step without a rebuild
            ours()
            if sampler._steps_since_rebuild != 0:
                break
        result["op_counts"] = op_counts(
            {
                "record_sample_step": ours,
                "rebuild": sampler.rebuild,
                "bm_step": lambda: bm.step(bm_end, ev.failed, 4096),
            }
        )
        log(
            f"  S1 ops per step: record + sample + step {result['op_counts']['record_sample_step']} "
            f"(+ rebuild {result['op_counts']['rebuild']} every {sampler.cfg.rebuild_every}), "
            f"bm_step {result['op_counts']['bm_step']}"
        )
    log(
        f"  {scale.name}: {result['state']['bytes_per_bin']:.0f} bytes of sampler state per bin; draws equal the "
        f"plain inverse CDF's: {result['draws_vs_plain_cdf']['identical']}"
    )
    if args.profile:
        calls = {"record": fns["record"], "rebuild": sampler.rebuild, "sample": fns["sample"]}
        result["profile"] = profile_calls(calls, device, log, scale.name)
    if scale.name == "S4":
        result["exactness"] = exactness_s4(sm, setup, device, args, log)
    return result


def exactness_s4(
    sm: Any, setup: ScaleSetup, device: torch.device, args: argparse.Namespace, log: Callable[[str], None]
) -> dict[str, Any]:
    """Chi-square goodness of fit and the tiny-tail check at S4, on a sampler whose prior has a 0.03% tail.

    The last half of the motions (about half the bins) gets a prior weight such that their total prior mass is
    ``TAIL_MASS / uniform_ratio``; no failures are recorded there, so the tail's final mass is ``TAIL_MASS``, spread
    so thinly (~6e-10 per bin) that a float32 CDF near 1 cannot resolve it.
    """
    scale = setup.scale
    m = scale.num_motions
    head = m // 2
    cfg = bench_cfg(sm, prior="weights")
    weights = torch.ones(m, dtype=torch.float64)
    tail_prior = TAIL_MASS / cfg.uniform_ratio
    weights[head:] = tail_prior / (1 - tail_prior) * head / (m - head)
    sampler = setup.sampler(sm, cfg, device, motion_weights=weights.tolist())
    loop = setup.loop(cfg, weights / weights.sum(), device, seed=3)
    nf = torch.tensor(setup.num_frames)
    events = []
    for _ in range(4):
        ev = make_events(scale.resets, nf, setup.hard, setup.bin_of, setup.generator)
        ev.failed &= ev.motion_ids < head  # the tail never fails
        events.append(events_to(ev, device))
    feed([sampler], events, args.warm_steps, loop)
    probs = sampler.probabilities.double().cpu()
    check = compare(probs, loop.probabilities())
    tail_start = int(sampler.layout.bin_offsets[head])
    tail_mass = float(probs[tail_start:].sum())

    t0 = time.perf_counter()
    counts = torch.zeros(probs.numel(), dtype=torch.float64)
    draws = 0
    while draws < args.exact_samples:
        motion_ids, frames = sampler.sample(scale.resets)
        flat = sampler.layout.bins_of(motion_ids, frames).cpu()
        counts += torch.bincount(flat, minlength=probs.numel()).double()
        draws += scale.resets
    sample_s = time.perf_counter() - t0
    chi = chi_square(counts, probs)
    tail_count = float(counts[tail_start:].sum())
    expected_tail = tail_mass * draws
    z_tail = (tail_count - expected_tail) / math.sqrt(expected_tail * (1 - tail_mass))

    mult_gen = torch.Generator(device=device).manual_seed(11)
    p32 = sampler.probabilities.float()
    mult_tail = 0
    mult_draws = 0
    while mult_draws < args.exact_samples:
        b = torch.multinomial(p32, scale.resets, replacement=True, generator=mult_gen)
        mult_tail += int((b >= tail_start).sum())
        mult_draws += scale.resets
    per_bin = float(probs[tail_start:].max())
    log(
        f"  S4 exactness: chi2 p = {chi['p_value']:.3f} ({chi['groups']} groups, {draws} draws in {sample_s:.1f} s); "
        f"tail {tail_count:.0f} drawn vs {expected_tail:.1f} expected (z = {z_tail:+.2f}); "
        f"torch.multinomial(float32): {mult_tail}"
    )
    return {
        "chi_square": chi,
        "chi_square_ok": chi["p_value"] > 1e-3,
        "tail": {
            "tail_bins": probs.numel() - tail_start,
            "tail_mass": tail_mass,
            "max_prob_per_tail_bin": per_bin,
            "draws": draws,
            "expected": expected_tail,
            "observed": tail_count,
            "z": z_tail,
            "ok": abs(z_tail) < 4.0,
            "torch_multinomial_float32_observed": mult_tail,
        },
        "correctness_weighted_prior": check,
    }


def format_ratio(r: float) -> str:
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def format_time(s: float) -> str:
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} us"


LEGEND = (
    "step = record + sample + step() amortised over rebuild_every steps (library default validate_args=True); "
    "'no checks' = validate_args=False; 'default cfg' = AdaptiveSamplerCfg() (failure rate, not the loop's count "
    "statistic); loop = per-motion Python loop, one env step; bm_step = BeyondMimic's step "
    "over all bins as one clip; bandwidth = one in-place pass over a float32 tensor of all bins (warm cache), "
    "cold bw = the same pass out of cache; floor = EagerFloor, the fewest PyTorch ops any rebuild of float64 "
    "statistics into an exact int64 CDF needs (a lower bound on a rebuild); loop/step = speed-up over the loop; "
    "plain sample/sample = speed-up of "
    "sample over the library's earlier draw (float64 prefix sum over all slots + searchsorted), '=' when the draws "
    "are identical; state B/bin = bytes of every tensor the sampler holds, per bin; "
    "max rel|dp| = largest relative difference between the library's and the loop's probabilities; on CUDA, "
    "'step, graph' = record + sample replayed from one captured CUDA graph + step() + rebuild / rebuild_every "
    "(validate_args=False), graph/bm = it over bm_step"
)


def print_table(results: list[dict[str, Any]]) -> str:
    cols = [
        "scale",
        "bins",
        "record",
        "rebuild",
        "sample",
        "step",
        "step, no checks",
        "step, default cfg",
        "loop",
        "bm_step",
        "bandwidth",
        "loop/step",
        "step/bm",
        "rebuild/bw",
        "rebuild/cold bw",
        "floor/bw",
        "plain sample/sample",
        "state B/bin",
        "max rel|dp|",
    ]
    graph = any("amortised_step_graph" in r["times_s"] for r in results)
    if graph:
        cols[8:8] = ["step, graph", "graph/bm"]
    rows = []
    for r in results:
        t, q = r["times_s"], r["ratios"]
        rows.append(
            [
                r["scale"],
                f"{r['num_bins']:,}",
                format_time(t["record"]),
                format_time(t["rebuild"]),
                format_time(t["sample"]),
                format_time(t["amortised_step"]),
                format_time(t["amortised_step_no_validate"]),
                format_time(t["amortised_step_default_cfg"]),
                format_time(t["loop_step"]),
                format_time(t["bm_step"]),
                format_time(t["bandwidth"]),
                format_ratio(q["loop_over_step"]),
                format_ratio(q["step_over_bm_step"]),
                format_ratio(q["rebuild_over_bandwidth"]),
                format_ratio(q["rebuild_over_bandwidth_cold"]),
                format_ratio(q["eager_floor_over_bandwidth"]),
                format_ratio(q["plain_cdf_sample_over_sample"])
                + (" =" if r["draws_vs_plain_cdf"]["identical"] else " !="),
                f"{r['state']['bytes_per_bin']:.0f}",
                f"{r['correctness']['max_rel_diff']:.1e}" + (" ok" if r["correctness"]["ok"] else " FAIL"),
            ]
        )
        if graph:
            g = t.get("amortised_step_graph")
            rows[-1][8:8] = (
                [format_time(g), format_ratio(q["step_graph_over_bm_step"])] if g is not None else ["failed", "-"]
            )
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |",
        "|" + "|".join(("-" * (w + 1)) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|",
    ]
    for row in rows:
        lines.append(
            "| "
            + " | ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
            + " |"
        )
    text = "\n".join(lines)
    print(text)
    return text


def targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {r["scale"]: r for r in results}
    out = []

    def add(name: str, value: float | None, goal: str, ok: bool | None) -> None:
        out.append({"target": name, "value": value, "goal": goal, "ok": ok})

    if "S3" in by:
        v = by["S3"]["ratios"]["loop_over_step"]
        add("S3 amortised step vs loop", v, ">= 150x faster", v >= 150)
    for s in ("S3", "S4"):
        if s in by:
            v = by[s]["ratios"]["rebuild_over_bandwidth"]
            add(f"{s} rebuild vs one warm bandwidth pass", v, "<= 30x", v <= 30)
            v = by[s]["ratios"]["rebuild_over_bandwidth_cold"]
            add(f"{s} rebuild vs one cold bandwidth pass (reported)", v, "-", None)
            v = by[s]["ratios"]["eager_floor_over_bandwidth"]
            add(f"{s} eager floor (EagerFloor) vs one warm bandwidth pass (reported)", v, "-", None)
            v = by[s]["ratios"]["rebuild_over_eager_floor"]
            add(f"{s} rebuild vs the eager floor (reported)", v, "-", None)
    for r in results:
        if "step_graph_over_bm_step" in r["ratios"]:
            v = r["ratios"]["step_graph_over_bm_step"]
            add(f"{r['scale']} amortised step with record + sample in a CUDA graph vs bm_step (reported)", v, "-", None)
        elif "graph_error" in r:
            add(f"{r['scale']} record + sample captured in a CUDA graph", None, "captures", False)
    if "S1" in by:
        v = by["S1"]["ratios"]["step_over_bm_step"]
        add("S1 amortised step vs bm_step (validate_args=True)", v, "<= 1.0x", v <= 1.0)
        v = by["S1"]["ratios"]["step_no_validate_over_bm_step"]
        add("S1 amortised step vs bm_step (validate_args=False, reported)", v, "-", None)
    if "S4" in by:
        v = by["S4"]["ratios"]["plain_cdf_sample_over_sample"]
        same = by["S4"]["draws_vs_plain_cdf"]["identical"]
        add("S4 sample speed-up over the plain inverse CDF, identical draws", v, ">= 2x and identical", v >= 2 and same)
    if "S4" in by and "exactness" in by["S4"]:
        e = by["S4"]["exactness"]
        add(
            "S4 sampling exact (chi-square p, tail z)",
            e["chi_square"]["p_value"],
            "p > 0.001 and |z_tail| < 4",
            e["chi_square_ok"] and e["tail"]["ok"],
        )
    for r in results:
        add(
            f"{r['scale']} draws equal the plain inverse CDF's", None, "identical", r["draws_vs_plain_cdf"]["identical"]
        )
        add(
            f"{r['scale']} probabilities equal the loop's",
            r["correctness"]["max_rel_diff"],
            "max rel diff <= 1e-4",
            r["correctness"]["ok"],
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="short timings and fewer exactness draws (< 2 min)")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the library's record/rebuild/sample op by op"
    )
    parser.add_argument("--repeats", type=int, default=None, help="interleaved timing rounds (default 7, quick 2)")
    parser.add_argument(
        "--min-run-time", type=float, default=None, help="seconds per blocked_autorange (default 0.5, quick 0.05)"
    )
    parser.add_argument("--scales", default="S1,S2,S3,S4", help="comma-separated subset of S1,S2,S3,S4")
    parser.add_argument(
        "--no-cuda-graph", action="store_true", help="on CUDA, skip the 'step, graph' column (record + sample replayed)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results JSON (default benchmarks/results/speed.json, speed_cuda.json on CUDA)",
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    wanted = [s.strip() for s in args.scales.split(",") if s.strip()]
    known = {s.name for s in SCALES}
    if not wanted or any(s not in known for s in wanted):
        parser.error(f"--scales must name some of {sorted(known)}, got {args.scales!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            "speed.py: --device cuda was asked for, but this torch build sees no CUDA device "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False); run with --device cpu",
            file=sys.stderr,
        )
        return 2
    device = torch.device(args.device)
    if args.out is None:
        args.out = RESULTS_DIR / ("speed_cuda.json" if device.type == "cuda" else "speed.json")
    if args.repeats is None:
        args.repeats = 2 if args.quick else 7
    if args.min_run_time is None:
        args.min_run_time = 0.05 if args.quick else 0.5
    if args.repeats < 1 or not args.min_run_time > 0:
        parser.error(f"--repeats must be >= 1 and --min-run-time > 0, got {args.repeats} and {args.min_run_time}")
    args.warm_steps = 8 if args.quick else 48
    args.exact_samples = (1 << 22) if args.quick else (1 << 25)
    torch.set_num_threads(args.threads)

    try:
        import adaptive_sampling as sm
    except ImportError as exc:
        print(f"speed.py: cannot import adaptive_sampling ({exc}); run `pip install -e .` first", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    info = machine_info(device, args.threads)
    log(
        f"speed.py on {info['cpu']} ({info.get('gpu', 'no GPU')}), torch {info['torch']}, {args.threads} thread(s), "
        f"device {device}{', quick' if args.quick else ''}"
    )
    start = time.perf_counter()
    results = []
    for scale in SCALES:
        if scale.name in wanted:
            results.append(run_scale(scale, sm, device, args, log))
    table = print_table(results)
    print(LEGEND)
    goal_rows = targets(results)
    for g in goal_rows:
        value = "-" if g["value"] is None else f"{g['value']:.3g}"
        verdict = "reported" if g["ok"] is None else "met" if g["ok"] else "MISSED"
        print(f"target {g['target']}: {value} (goal {g['goal']}) {verdict}")
    elapsed = time.perf_counter() - start
    info["load_average_at_end"] = list(os.getloadavg())
    info["peak_rss_gib"] = peak_rss_gib()
    if device.type == "cuda":
        info["peak_cuda_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    gpu = f" ({info['gpu']})" if "gpu" in info else ""
    rss = "n/a" if info["peak_rss_gib"] is None else f"{info['peak_rss_gib']:.2f} GiB"
    print(
        f"machine: {info['cpu']}, {args.threads} thread(s), torch {info['torch']}, device {device}{gpu}; "
        f"load average {info['load_average_at_start'][0]:.1f} -> {info['load_average_at_end'][0]:.1f}; "
        f"peak RSS {rss}"
    )
    payload = {
        "machine": info,
        "settings": {
            "quick": args.quick,
            "min_run_time_s": args.min_run_time,
            "repeats": args.repeats,
            "warm_steps": args.warm_steps,
            "exact_samples": args.exact_samples,
            "config": bench_cfg(sm).to_dict(),
        },
        "results": results,
        "targets": goal_rows,
        "table_markdown": table,
        "elapsed_s": elapsed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    log(f"wrote {args.out} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
