"""Start samplers of other methods, written from their published descriptions, as arms of the learning benchmark.

They are benchmark arms, not part of the library: small, dense (O(bins) per step, fine for a few thousand bins) and
single-process. Each speaks the sampler protocol of :class:`adaptive_sampling.AdaptiveSampler` that the env and the
rsl-rl runner use: ``record`` / ``sample`` / ``step``, ``state_dict`` / ``load_state_dict(state, remap=)``,
``metrics``, ``sync``, plus ``tables`` (``motion_mass``) for the benchmark's summaries.

- :class:`PrioritizedLevelReplaySampler` (``plr``): Prioritized Level Replay over start bins.
- :class:`MotionFailureSampler` (``motion_failure``): motion-level failure-proportional sampling (PHC, ProtoMotions).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.distributed as dist

from adaptive_sampling import MotionLayout

STATE_VERSION = 1


class StartBinStatistics:
    """Shared base: start bins of ``bin_duration_s`` over the library, an EMA per bin of the segments that *started*
    there and of those that failed, a distribution over the bins rebuilt every ``rebuild_every`` steps, and exact
    float64 inverse-CDF draws with a uniform frame inside the drawn bin.

    Statistics per step (``a = ema_alpha``): ``N_b <- (1 - a) N_b + n_b``, ``F_b <- (1 - a) F_b + f_b`` with ``n_b``,
    ``f_b`` the segments started in bin ``b`` that ended (failed) since the previous step. Subclasses define
    :meth:`distribution`.

    Args:
        num_frames: Frames per motion. Shape: (M,).
        fps: Frame rate per motion. Shape: (M,).
        motion_names: Unique motion names.
        seed: Seed of the sampler's own generator.
        ema_alpha: Decay of the statistics per env step.
        rebuild_every: Env steps between rebuilds of the distribution.
        bin_duration_s: Width of a start bin in seconds.
    """

    arm = "base"

    def __init__(
        self,
        num_frames: list[int],
        fps: list[float],
        motion_names: list[str],
        *,
        seed: int = 0,
        ema_alpha: float = 0.001,
        rebuild_every: int = 24,
        bin_duration_s: float = 1.0,
    ) -> None:
        if not 0.0 <= ema_alpha < 1.0:
            raise ValueError(f"ema_alpha must be in [0, 1), got {ema_alpha}")
        if rebuild_every < 1:
            raise ValueError(f"rebuild_every must be >= 1, got {rebuild_every}")
        self.layout = MotionLayout(num_frames, fps, motion_names, bin_duration_s=bin_duration_s)
        self.ema_alpha = ema_alpha
        self.rebuild_every = rebuild_every
        num_bins = self.layout.num_bins
        self.failures = torch.zeros(num_bins, dtype=torch.float64)
        self.visits = torch.zeros(num_bins, dtype=torch.float64)
        self.seen = torch.zeros(num_bins, dtype=torch.bool)
        """Bins from which at least one segment started and ended (was scored)."""
        self._pending = torch.zeros(2, num_bins, dtype=torch.float64)  # [failures, visits] since the last step
        self.probs = torch.full((num_bins,), 1.0 / num_bins, dtype=torch.float64)
        self._cdf = torch.cumsum(self.probs, 0)
        self.generator = torch.Generator().manual_seed(seed)
        self.clock = 0
        self._steps_since_rebuild = 0
        self.training = True

    # ------------------------------------------------------------------ protocol
    def record(
        self, motion_ids: torch.Tensor, start_frames: torch.Tensor, end_frames: torch.Tensor, failed: torch.Tensor
    ) -> None:
        """Record ended segments (attributed to their start bin). Shape: all (E,)."""
        if not self.training or motion_ids.numel() == 0:
            return
        bins = self.layout.bins_of(motion_ids.long(), start_frames.long())
        self._pending[0].index_add_(0, bins, failed.to(torch.float64))
        self._pending[1].index_add_(0, bins, torch.ones_like(bins, dtype=torch.float64))

    def step(self) -> None:
        """Fold this step's records into the EMA; rebuild every ``rebuild_every`` steps."""
        if not self.training:
            return
        keep = 1.0 - self.ema_alpha
        self.failures.mul_(keep).add_(self._pending[0])
        self.visits.mul_(keep).add_(self._pending[1])
        self.seen |= self._pending[1] > 0
        self._pending.zero_()
        self.clock += 1
        self._steps_since_rebuild += 1
        if self._steps_since_rebuild >= self.rebuild_every:
            self.rebuild()

    def rebuild(self) -> None:
        """Recompute the distribution now."""
        probs = self.distribution().clamp_min(0.0)
        self.probs = probs / probs.sum()
        self._cdf = torch.cumsum(self.probs, 0)
        self._steps_since_rebuild = 0

    def sample(self, num: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``num`` starts: a bin from the distribution, a uniform frame inside it. Shape: (num,) each."""
        lay = self.layout
        u, r = torch.rand((2, num), dtype=torch.float64, generator=self.generator)
        bins = torch.searchsorted(self._cdf, u * self._cdf[-1], right=True).clamp_max_(lay.num_bins - 1)
        width = lay.bin_num_frames[bins]
        frames = lay.bin_start_frame[bins] + torch.minimum((r * width).long(), width - 1)
        self.on_sample(bins)
        return lay.bin_motion[bins], frames

    def on_sample(self, bins: torch.Tensor) -> None:
        """Hook: the bins just drawn. Shape: (num,)."""

    def sync(self) -> None:
        """Sum this step's records over ranks (a no-op without a process group)."""
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self._pending)

    def metrics(self) -> dict[str, float]:
        """Scalars for the logger: ``entropy`` (H(p) / ln B), ``top1_prob``, ``coverage``, ``mean_failure_rate``."""
        p = self.probs
        num_bins = p.numel()
        entropy = float(-(p * p.clamp_min(1e-300).log()).sum()) / math.log(num_bins) if num_bins > 1 else 1.0
        return {
            "entropy": entropy,
            "top1_prob": float(p.max()),
            "coverage": float(self.seen.double().mean()),
            "mean_failure_rate": float(self.failures.sum() / self.visits.sum().clamp_min(1e-300)),
            "max_motion_mass": float(self.layout.segment_sum(p).max()),
        }

    def tables(self) -> dict[str, torch.Tensor]:
        """``probability`` (M, max_bins, NaN-padded), ``failure_rate`` (same) and ``motion_mass`` (M,)."""
        rate = self.failures / self.visits.clamp_min(1e-300)
        return {
            "probability": self.layout.to_padded(self.probs.float()),
            "failure_rate": self.layout.to_padded(torch.where(self.seen, rate, float("nan")).float()),
            "motion_mass": self.layout.segment_sum(self.probs).float(),
        }

    def state_dict(self) -> dict[str, Any]:
        """Statistics, distribution, clock and generator state (tensors and plain values only)."""
        return {
            "version": STATE_VERSION,
            "arm": self.arm,
            "layout": self.layout.signature(),
            "clock": self.clock,
            "steps_since_rebuild": self._steps_since_rebuild,
            "generator_state": self.generator.get_state(),
            **{k: v.clone() for k, v in self._tensors().items()},
        }

    def load_state_dict(self, state: dict[str, Any], *, remap: bool = False) -> None:
        """Restore a state of the same arm and library; ``remap`` is not supported (raises if the library differs)."""
        if state.get("version") != STATE_VERSION or state.get("arm") != self.arm:
            raise ValueError(
                f"state must be a version-{STATE_VERSION} '{self.arm}' state, got version {state.get('version')!r} "
                f"of arm {state.get('arm')!r}"
            )
        if state.get("layout") != self.layout.signature():
            raise ValueError(f"state is for a different motion library (remap={remap} is not supported by this arm)")
        tensors = self._tensors()
        for key, t in tensors.items():
            if not isinstance(state.get(key), torch.Tensor) or state[key].shape != t.shape:
                raise ValueError(f"state[{key!r}] must be a tensor of shape {tuple(t.shape)}")
        for key, t in tensors.items():
            t.copy_(state[key])
        self._cdf = torch.cumsum(self.probs, 0)
        self.clock = int(state["clock"])
        self._steps_since_rebuild = int(state["steps_since_rebuild"])
        self.generator.set_state(state["generator_state"])

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"failures": self.failures, "visits": self.visits, "seen": self.seen, "probs": self.probs}

    def distribution(self) -> torch.Tensor:
        """Unnormalised probability per bin. Shape: (B,)."""
        raise NotImplementedError


class PrioritizedLevelReplaySampler(StartBinStatistics):
    """Prioritized Level Replay (Jiang, Grefenstette and Rocktäschel, "Prioritized Level Replay", ICML 2021,
    arXiv 2010.03934) with start bins as levels and the bin's failure rate as the level score.

    As in the paper's Algorithm 1: a replay decision picks, with probability ``|seen| / |all|`` (the paper's
    proportionate schedule), a seen level from ``P_replay = (1 - rho) P_S + rho P_C``, otherwise an unseen level
    uniformly. ``P_S`` is rank prioritisation, ``h(S_i) = 1 / rank(S_i)``, ``P_S(i) = h_i^(1/beta) / sum_j
    h_j^(1/beta)`` (ties ranked in bin order); ``P_C`` is staleness, ``P_C(i) = (c - C_i) / sum_j (c - C_j)``
    with ``c`` the starts drawn so far and ``C_i`` the value of ``c`` when bin ``i`` was last drawn. Defaults
    ``beta = 0.1`` and ``rho = 0.1`` are the paper's (Procgen). The score is the EMA failure rate of the segments
    started in the bin (the paper scores levels by their mean positive GAE; the issue asks for the failure rate).

    Parallel environments draw many starts per step; the distribution (with the staleness of every bin) is recomputed
    every ``rebuild_every`` steps, not after every single draw.
    """

    arm = "plr"

    def __init__(self, *args: Any, beta: float = 0.1, rho: float = 0.1, **kwargs: Any) -> None:
        if not beta > 0 or not 0.0 <= rho <= 1.0:
            raise ValueError(f"need beta > 0 and rho in [0, 1], got beta={beta}, rho={rho}")
        self.beta, self.rho = beta, rho
        super().__init__(*args, **kwargs)
        self.last_drawn = torch.zeros(self.layout.num_bins, dtype=torch.float64)
        self.num_drawn = torch.zeros((), dtype=torch.float64)

    def on_sample(self, bins: torch.Tensor) -> None:
        order = torch.arange(1, bins.numel() + 1, dtype=torch.float64) + self.num_drawn
        self.last_drawn.scatter_reduce_(0, bins, order, reduce="amax")
        self.num_drawn += bins.numel()

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {**super()._tensors(), "last_drawn": self.last_drawn, "num_drawn": self.num_drawn}

    def distribution(self) -> torch.Tensor:
        num_bins = self.layout.num_bins
        seen = self.seen
        num_seen = int(seen.sum())
        if num_seen == 0:
            return torch.ones(num_bins, dtype=torch.float64)
        score = self.failures / self.visits.clamp_min(1e-300)
        idx = seen.nonzero().squeeze(-1)
        order = torch.sort(-score[idx], stable=True).indices  # rank 1 = highest failure rate
        rank = torch.empty_like(order, dtype=torch.float64)
        rank[order] = torch.arange(1, num_seen + 1, dtype=torch.float64)
        p_score = rank.pow(-1.0 / self.beta)
        p_score /= p_score.sum()
        staleness = self.num_drawn - self.last_drawn[idx]
        total = staleness.sum()
        p_stale = staleness / total if total > 0 else torch.full_like(staleness, 1.0 / num_seen)
        replay = torch.zeros(num_bins, dtype=torch.float64)
        replay[idx] = (1.0 - self.rho) * p_score + self.rho * p_stale
        p_replay = num_seen / num_bins
        unseen = (~seen).double()
        new = unseen / unseen.sum() if num_seen < num_bins else unseen
        return p_replay * replay + (1.0 - p_replay) * new


class MotionFailureSampler(StartBinStatistics):
    """Motion-level failure-proportional sampling, as in PHC's hard-negative mining (Luo et al., "Perpetual
    Humanoid Control for Real-time Simulated Avatars", ICCV 2023) and ProtoMotions' later motion-level weights
    (NVlabs/ProtoMotions): motions are drawn in proportion to their recent failure rate, with a floor, and the start
    is uniform in time inside the motion.

    ``p_m = (1 - floor) * r_m / sum_k r_k + floor / M`` with ``r_m`` the EMA failure rate of the segments started
    in motion ``m`` (unvisited motions count as failing: ``r_m = 1``, so every motion is tried early); inside the
    motion every bin gets its share of the motion's frames. PHC measures failures in periodic evaluations from the
    clip's start; here they come from the training segments, which every arm sees alike.
    """

    arm = "motion_failure"

    def __init__(self, *args: Any, floor: float = 0.1, **kwargs: Any) -> None:
        if not 0.0 <= floor <= 1.0:
            raise ValueError(f"floor must be in [0, 1], got {floor}")
        self.floor = floor
        super().__init__(*args, **kwargs)

    def distribution(self) -> torch.Tensor:
        lay = self.layout
        fails = lay.segment_sum(self.failures)
        visits = lay.segment_sum(self.visits)
        rate = torch.where(visits > 0, fails / visits.clamp_min(1e-300), torch.ones_like(visits))
        total = rate.sum()
        share = rate / total if total > 0 else torch.full_like(rate, 1.0 / lay.num_motions)
        motion_mass = (1.0 - self.floor) * share + self.floor / lay.num_motions
        in_motion = lay.bin_num_frames.double() / lay.num_frames[lay.bin_motion].double()
        return motion_mass[lay.bin_motion] * in_motion
