"""The adaptive sampler: records where policies fail and draws start points (motion id, start frame) accordingly."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from . import distributed, kernels
from .config import AdaptiveSamplerCfg
from .layout import MotionLayout

STATE_VERSION = 1
"""Version of :meth:`AdaptiveSampler.state_dict`; loading a newer one fails."""

# Renormalise the lazily decayed accumulators before their weights (1 - alpha)^-n pass this bound.
_MAX_LAZY_WEIGHT = 2.0**20

_STAT_KEYS = ("failures", "visits", "pending_failures", "pending_visit_diff")
_DIFF_KEYS = ("pending_visit_diff",)


@dataclass
class LoadReport:
    """What :meth:`AdaptiveSampler.load_state_dict` did with each motion."""

    kept: list[str] = field(default_factory=list)
    """Motions whose statistics were restored."""
    added: list[str] = field(default_factory=list)
    """Motions of this library that the state did not have (or had with other frames/fps): they start from priors."""
    dropped: list[str] = field(default_factory=list)
    """Motions of the state that this library does not have (or has changed): their statistics were discarded."""

    @property
    def exact(self) -> bool:
        """True when the whole state was restored as saved."""
        return not self.added and not self.dropped


class AdaptiveSampler:
    """Failure-driven sampler of episode start points over a library of motions.

    Per environment step: :meth:`record` the segments that ended, :meth:`sample` starts for the environments that
    reset, then :meth:`step` once. The distribution over the flat (motion x bin) table is rebuilt every
    ``cfg.rebuild_every`` steps::

        score_b = rate_b = (F_b + r0 * n0) / (N_b + n0)      (statistic "rate")  or  alpha * F_b   ("count")
        s_b     = sum_u gamma^u * score_{min(b + u, last bin of b's clip)} / sum_u gamma^u
        s_b     = p_prior_b * s_b                             (rate only: the prior tilted by the failure rate)
        p_fail  = s / sum(s)
        p       = (1 - lambda) * p_fail + lambda * p_prior

    With ``"rate"`` the failure part is the prior conditioned on failing, so with equal rates ``p`` is the prior.

    ``F`` and ``N`` are exponentially decayed sums of failures and visits (decay ``1 - ema_alpha`` per step), kept
    as lazily decayed accumulators so recording costs O(events), not O(bins).

    Args:
        cfg: The configuration (checked again here: command-line overrides skip ``__post_init__``).
        num_frames: Frames per motion. Shape: (M,).
        fps: Frame rate per motion (or one for all). Shape: (M,).
        motion_names: Unique motion names (used to remap saved states); default ``motion_<i>``.
        device: Device of all state; inputs must live there.
        motion_weights: Prior weight per motion, required with ``cfg.prior == "weights"``. Shape: (M,).
    """

    def __init__(
        self,
        cfg: AdaptiveSamplerCfg,
        num_frames: Sequence[int] | torch.Tensor,
        fps: Sequence[float] | torch.Tensor | float,
        motion_names: Sequence[str] | None = None,
        *,
        device: torch.device | str | None = None,
        motion_weights: Sequence[float] | torch.Tensor | None = None,
    ) -> None:
        if not isinstance(cfg, AdaptiveSamplerCfg):
            raise TypeError(f"cfg must be an AdaptiveSamplerCfg, got {type(cfg).__name__}")
        cfg.check()
        self.cfg = cfg
        self.device = _normalise_device(device)
        self.layout = MotionLayout(
            num_frames,
            fps,
            motion_names,
            bin_duration_s=cfg.bin_duration_s,
            bin_layout=cfg.bin_layout,
            device=self.device,
        )
        num_motions = self.layout.num_motions
        if cfg.max_motion_share * num_motions < 1.0 - 1e-9:
            raise ValueError(
                f"AdaptiveSamplerCfg.max_motion_share must be >= 1 / num_motions = {1.0 / num_motions:.6g} "
                f"for {num_motions} motions, got {cfg.max_motion_share}"
            )
        weights = self._motion_prior_weights(motion_weights)

        # Buffers are created outside inference mode so that in-place updates work in and out of it. Per-bin
        # state lives in "slots": the flat bin table with spare slots after each clip (see kernels.PaddedSlots).
        with torch.inference_mode(False):
            dev = self.device
            lay = self.layout
            slots = kernels.PaddedSlots.build(lay.bins_per_motion, pad=max(cfg.kernel_size - 1, 1))
            self._slots = slots
            num_slots = slots.num_slots
            per_bin_share = lay.bin_num_frames.double() / lay.num_frames[lay.bin_motion].double()
            self._prior = self._to_slots((weights[lay.bin_motion] * per_bin_share).float())
            """p_prior over slots (0 on spare slots), sums to 1. Shape: (S,)."""
            self._motion_prior_cdf = torch.cumsum(weights, 0)
            additive = (cfg.additive_uniform_ratio / lay.bins_per_motion.double())[lay.bin_motion].float()
            self._additive = self._to_slots(additive)
            self._taps = kernels.exponential_taps(cfg.kernel_size, cfg.kernel_decay)
            self._slot_start_frame = self._to_slots(lay.bin_start_frame)
            self._slot_num_frames = self._to_slots(lay.bin_num_frames, fill=1)
            self._last_real_slot = num_slots - slots.pad - 1
            self._clip_last_slot = slots.slot_offsets[1:] - 1
            # work buffers of the rebuild: fresh multi-MB temporaries would cost page faults every rebuild
            self._work64 = torch.empty((2, num_slots), dtype=torch.float64, device=dev)
            self._work32 = torch.empty((3, num_slots), dtype=torch.float32, device=dev)
            self._work_bool = torch.empty(num_slots, dtype=torch.bool, device=dev)
            # merged statistics; an event of step j weighs (1 - alpha)^-(j - t0) (lazy decay)
            self._failures = torch.zeros(num_slots, dtype=torch.float64, device=dev)
            self._visits = torch.zeros(num_slots, dtype=torch.float64, device=dev)
            self._totals = torch.zeros(2, dtype=torch.float64, device=dev)  # [segments, failures]
            # what was recorded since the last merge, in one flat buffer so sync() is one all_reduce
            self._pending = torch.zeros(2 * num_slots + 2, dtype=torch.float64, device=dev)
            self._pending_failures = self._pending[:num_slots]
            self._pending_visit_diff = self._pending[num_slots : 2 * num_slots]
            self._pending_totals = self._pending[2 * num_slots :]
            self._visited = torch.zeros(num_slots, dtype=torch.bool, device=dev)
            self._probs = torch.zeros(num_slots, dtype=torch.float32, device=dev)
            self._cdf = torch.zeros(num_slots, dtype=torch.float64, device=dev)
            self._generator = torch.Generator(device=dev)
        seed = cfg.seed if cfg.seed is not None else int(torch.randint(0, 2**62, (1,)))
        self._generator.manual_seed(seed)
        self._clock = 0  # environment steps so far
        self._t0 = 0  # step at which the lazy accumulators were last folded
        self._steps_since_rebuild = 0
        self.training = True
        self.rebuild()

    # ------------------------------------------------------------------ public API

    @property
    def num_motions(self) -> int:
        """Number of motions M."""
        return self.layout.num_motions

    @property
    def num_bins(self) -> int:
        """Number of bins B over all motions."""
        return self.layout.num_bins

    @property
    def probabilities(self) -> torch.Tensor:
        """The current distribution over flat bins (a copy). Shape: (B,)."""
        return self._probs[self._slots.slot_of_bin]

    @property
    def prior(self) -> torch.Tensor:
        """p_prior over flat bins (a copy). Shape: (B,)."""
        return self._prior[self._slots.slot_of_bin]

    @property
    def clock(self) -> int:
        """Environment steps counted by :meth:`step` (in training mode)."""
        return self._clock

    @property
    def generator(self) -> torch.Generator:
        """The sampler's own random generator."""
        return self._generator

    def train(self, mode: bool = True) -> AdaptiveSampler:
        """Training mode: adaptive starts, statistics updated."""
        self.training = bool(mode)
        return self

    def eval(self) -> AdaptiveSampler:
        """Evaluation mode: starts at frame 0 (``cfg.eval_start``), statistics frozen."""
        return self.train(False)

    def record(
        self,
        motion_ids: torch.Tensor,
        start_frames: torch.Tensor,
        end_frames: torch.Tensor,
        failed: torch.Tensor,
    ) -> None:
        """Record the segments that ended in this environment step (any number; duplicates add up).

        A segment is the stretch of one motion an environment tracked since its last start: it ends with a failure
        (termination), a time-out or the clip's end (both ``failed=False``). Ignored in evaluation mode.

        Args:
            motion_ids: Motion of each segment. Shape: (E,), integer.
            start_frames: Local frame where it started. Shape: (E,), integer.
            end_frames: Local frame where it ended (``>= start_frames``). Shape: (E,), integer.
            failed: Whether it failed: bool, or a float in [0, 1] for a soft failure. Shape: (E,).
        """
        num = self._check_index("motion_ids", motion_ids)
        for name, t in (("start_frames", start_frames), ("end_frames", end_frames)):
            if self._check_index(name, t) != num:
                raise ValueError(f"{name} must have the length of motion_ids ({num}), got {t.shape[0]}")
        self._check_tensor("failed", failed)
        if failed.dtype != torch.bool and not failed.is_floating_point():
            raise TypeError(f"failed must be a bool or floating tensor, got dtype {failed.dtype}")
        if failed.shape[0] != num:
            raise ValueError(f"failed must have the length of motion_ids ({num}), got {failed.shape[0]}")
        if self.cfg.validate_args and num > 0 and self._any_bad_segment(motion_ids, start_frames, end_frames, failed):
            # one host sync above; the checks below name what is wrong
            self._check_motion_ids(motion_ids)
            self._check_frames("start_frames", motion_ids, start_frames)
            self._check_frames("end_frames", motion_ids, end_frames)
            if bool((end_frames < start_frames).any()):
                i = int((end_frames < start_frames).nonzero()[0, 0])
                raise ValueError(
                    f"end_frames must be >= start_frames, got end_frames[{i}]={int(end_frames[i])} < "
                    f"start_frames[{i}]={int(start_frames[i])}"
                )
            if failed.is_floating_point():
                bad = ~((failed >= 0) & (failed <= 1))  # also catches NaN
                if bool(bad.any()):
                    i = int(bad.nonzero()[0, 0])
                    raise ValueError(f"failed must be in [0, 1] (not NaN), got failed[{i}]={float(failed[i])}")
        if not self.training or num == 0:
            return

        lay = self.layout
        motion_ids = motion_ids.long()
        frames = torch.stack((start_frames, end_frames)).long()
        start_slots, end_slots = self._slots.slot_offsets[motion_ids] + lay.local_bins_of(motion_ids, frames)
        weight = self._lazy_weight(self._clock + 1)
        fail = failed.to(torch.float64) * weight
        last = end_slots if self.cfg.attribution == "failure" else start_slots
        self._pending_failures.index_add_(0, last, fail)
        # visits: +w on the first bin of the segment, -w after its last (a difference array; the slot after a
        # clip's last bin is its own spare slot, so clips stay separate)
        ones = torch.full((num,), weight, dtype=torch.float64, device=self.device)
        self._pending_visit_diff.index_add_(0, torch.cat((start_slots, last + 1)), torch.cat((ones, -ones)))
        self._pending_totals[0].add_(num * weight)
        self._pending_totals[1].add_(fail.sum())

    def sample(
        self, num: int | None = None, *, motion_ids: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw start points.

        Args:
            num: Number of starts to draw over the whole library.
            motion_ids: Instead of ``num``: draw a start frame inside each of these motions (conditional on the
                motion). Shape: (N,), integer.

        Returns:
            ``(motion_ids, start_frames)``, int64 on the sampler's device; frames local to the motion. Shape: (N,).
        """
        if (num is None) == (motion_ids is None):
            raise ValueError("sample() needs exactly one of num and motion_ids")
        if motion_ids is not None:
            num = self._check_index("motion_ids", motion_ids)
            if self.cfg.validate_args and num > 0:
                self._check_motion_ids(motion_ids)
            motion_ids = motion_ids.long()
        elif isinstance(num, bool) or not isinstance(num, int) or num < 0:
            raise ValueError(f"num must be an int >= 0, got {num!r}")
        lay = self.layout
        gen = self._generator
        u, r = torch.rand((2, num), dtype=torch.float64, device=self.device, generator=gen)  # bin, frame in bin

        if not self.training:
            if motion_ids is None:
                motion_ids = torch.searchsorted(self._motion_prior_cdf, u * self._motion_prior_cdf[-1], right=True)
                motion_ids = motion_ids.clamp_max_(lay.num_motions - 1)
            if self.cfg.eval_start == "zero":
                return motion_ids, torch.zeros_like(motion_ids)
            frames = (r * lay.num_frames[motion_ids]).long()
            return motion_ids, torch.minimum(frames, lay.num_frames[motion_ids] - 1)

        cdf = self._cdf
        if motion_ids is None:
            slots = torch.searchsorted(cdf, u.mul_(cdf[-1]), right=True).clamp_max_(self._last_real_slot)
        else:
            first = self._slots.slot_offsets[motion_ids]
            last = first + lay.bins_per_motion[motion_ids] - 1
            low = torch.where(first > 0, cdf[(first - 1).clamp_min(0)], torch.zeros_like(u))
            slots = kernels.draw_bins(cdf, low, cdf[last], u)
            slots = torch.minimum(torch.maximum(slots, first), last)
        # index_select: several times faster than t[idx] on the CPU for large tables
        width = torch.index_select(self._slot_num_frames, 0, slots)
        offset = torch.minimum((r * width).long(), width - 1)
        motion = torch.index_select(self._slots.slot_motion, 0, slots)
        return motion, torch.index_select(self._slot_start_frame, 0, slots).add_(offset)

    def step(self) -> None:
        """Advance one environment step; rebuild the distribution every ``cfg.rebuild_every`` steps.

        In a multi-process run the scheduled rebuild first calls :meth:`sync` (a collective: every rank must call
        :meth:`step` equally often). Does nothing in evaluation mode.
        """
        if not self.training:
            return
        self._clock += 1
        self._steps_since_rebuild += 1
        if self._steps_since_rebuild >= self.cfg.rebuild_every:
            self.rebuild()
        if self._lazy_weight(self._clock + 1) > _MAX_LAZY_WEIGHT:
            self._renormalise()

    def rebuild(self) -> None:
        """Merge what was recorded (after :meth:`sync` across ranks) and rebuild the distribution now. O(bins).

        In a multi-process run this is a collective: call it on every rank.
        """
        self.sync()
        self._merge()
        self._update_distribution()
        self._steps_since_rebuild = 0

    def sync(self) -> None:
        """Sum the statistics recorded since the last sync over all ranks, so every rank holds the same statistics.

        A no-op without an initialised ``torch.distributed`` process group. Ranks keep their own generators; after
        the next :meth:`rebuild` they sample from the same distribution.
        """
        if not distributed.is_active():
            return
        if self.cfg.validate_args:
            distributed.check_same_across_ranks(self._clock, "AdaptiveSampler.clock")
        distributed.all_reduce_sum_(self._pending)
        self._merge()

    def metrics(self) -> dict[str, float]:
        """Scalars for a logger (one host sync; call once per iteration, not per step).

        Keys: ``entropy`` (H(p) / ln B), ``effective_num_bins`` (1 / sum p^2), ``effective_bin_fraction``,
        ``top1_prob``, ``top1_motion``, ``top1_bin``, ``max_over_uniform`` (max p * B), ``max_over_prior``,
        ``concentrated_bin_fraction`` (p > 10 / B), ``max_motion_mass``, ``coverage`` (share of bins ever visited,
        as of the last rebuild), ``mean_failure_rate`` (smoothed share of segments that failed), ``num_bins``.
        """
        p = self.probabilities.double()
        prior = self.prior.double()
        num_bins = self.layout.num_bins
        top_prob, top = p.max(0)
        totals = self._totals + self._pending_totals  # both relative to step t0: the ratio needs no decay
        values = torch.stack(
            (
                kernels.entropy(p) / math.log(num_bins) if num_bins > 1 else p.new_ones(()),
                1.0 / (p * p).sum(),
                top_prob,
                self.layout.bin_motion[top].double(),
                self.layout.bin_index[top].double(),
                top_prob * num_bins,
                (p / prior.clamp_min(1e-300)).max(),
                (p > 10.0 / num_bins).double().mean(),
                self.layout.segment_sum(p).max(),
                self._visited.double().sum() / num_bins,
                totals[1] / totals[0].clamp_min(1e-300),
            )
        ).tolist()
        keys = (
            "entropy",
            "effective_num_bins",
            "top1_prob",
            "top1_motion",
            "top1_bin",
            "max_over_uniform",
            "max_over_prior",
            "concentrated_bin_fraction",
            "max_motion_mass",
            "coverage",
            "mean_failure_rate",
        )
        out = dict(zip(keys, values, strict=True))
        out["effective_bin_fraction"] = out["effective_num_bins"] / num_bins
        out["num_bins"] = float(num_bins)
        return out

    def tables(self) -> dict[str, torch.Tensor]:
        """Per-(motion, bin) tables for plots, NaN-padded to (M, max_bins), as of the last rebuild.

        Keys: ``probability``, ``prior``, ``failure_rate`` (smoothed rate with prior), ``failures`` and ``visits``
        (decayed sums), and ``motion_mass`` (probability per motion, shape (M,)).
        """
        real = self._slots.slot_of_bin
        decay = self._decay()
        failures, visits = self._failures[real] * decay, self._visits[real] * decay
        rate = kernels.failure_rate(failures, visits, self.cfg.rate_prior, self.cfg.rate_prior_visits)
        probs = self.probabilities
        pad = self.layout.to_padded
        return {
            "probability": pad(probs),
            "prior": pad(self.prior),
            "failure_rate": pad(rate.float()),
            "failures": pad(failures.float()),
            "visits": pad(visits.float()),
            "motion_mass": self.layout.segment_sum(probs.double()).float(),
        }

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: statistics, distribution, clock and generator state.

        Holds only tensors and plain values (``torch.load(weights_only=True)`` reads it back). Keys: ``version``,
        ``config``, ``layout`` (motion_names, num_frames, fps, bins_per_motion, bin_duration_s, bin_layout),
        ``clock``, ``t0``, ``steps_since_rebuild``, ``training``, ``failures``/``visits`` (merged, per bin, shape (B,)),
        ``pending_failures`` (B,) and ``pending_visit_diff`` (recorded since the last merge; visits as one difference
        array per clip, its B_m bins then a closing entry, shape (B + M,)), all weighted relative to step ``t0``
        (value now = saved * (1 - alpha)^(clock - t0)), ``totals`` and
        ``pending_totals`` ([segments, failures]), ``visited``, ``probabilities``, ``generator_state``.
        """
        real, diff = self._slots.slot_of_bin, self._slots.diff_slots
        layout = self.layout.signature()
        layout.update(bin_duration_s=self.layout.bin_duration_s, bin_layout=self.layout.bin_layout)
        return {
            "version": STATE_VERSION,
            "config": self.cfg.to_dict(),
            "layout": layout,
            "clock": self._clock,
            "t0": self._t0,
            "steps_since_rebuild": self._steps_since_rebuild,
            "training": self.training,
            "failures": self._failures[real].cpu(),
            "visits": self._visits[real].cpu(),
            "pending_failures": self._pending_failures[real].cpu(),
            "pending_visit_diff": self._pending_visit_diff[diff].cpu(),
            "totals": self._totals.clone().cpu(),
            "pending_totals": self._pending_totals.clone().cpu(),
            "visited": self._visited[real].cpu(),
            "probabilities": self._probs[real].cpu(),
            "generator_state": self._generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any], *, remap: bool = False) -> LoadReport:
        """Restore a state from :meth:`state_dict`; checks everything before changing anything.

        Args:
            state: The saved state (not modified).
            remap: If the state was saved for a different library, keep the statistics of motions with the same
                name, frames and fps, start the others from priors, and report what was dropped. Without it a
                different library raises ``ValueError`` saying what differs.

        Returns:
            What was kept, added and dropped.
        """
        saved = _validated_state(state)
        lay = saved["layout"]
        here = self.layout.signature()
        same_grid = lay["bin_duration_s"] == self.layout.bin_duration_s and lay["bin_layout"] == self.layout.bin_layout
        exact = same_grid and all(lay[k] == here[k] for k in here)
        if not exact and not remap:
            raise ValueError(
                "state_dict was saved for a different motion library: " + _describe_difference(lay, here, same_grid)
            )

        # stage every new value before touching the sampler
        report = LoadReport()
        gen = torch.Generator(device=self.device)
        try:
            gen.set_state(saved["generator_state"])
        except (RuntimeError, ValueError) as err:
            raise ValueError(
                f"state_dict['generator_state'] does not fit a generator on {self.device}: {err}"
            ) from None
        dev = self.device
        if exact:
            report.kept = list(self.layout.motion_names)
            staged = {k: saved[k].to(dev) for k in (*_STAT_KEYS, "visited", "probabilities")}
        else:
            staged, report = self._remap_stats(saved, same_grid)
        new_probs = staged.pop("probabilities", None)
        if not _same_config(saved["config"], self.cfg):
            new_probs = None  # the distribution follows this sampler's configuration
        real, diff = self._slots.slot_of_bin, self._slots.diff_slots
        for key in staged:
            staged[key] = self._to_slots(staged[key], index=diff if key in _DIFF_KEYS else real)
        totals, pending_totals = saved["totals"].to(dev), saved["pending_totals"].to(dev)
        clock, t0 = saved["clock"], saved["t0"]
        saved_alpha = saved["config"].get("ema_alpha", self.cfg.ema_alpha)
        if saved_alpha != self.cfg.ema_alpha:
            # the saved accumulators are relative to step t0 under the saved alpha: take their values now
            decay = (1.0 - saved_alpha) ** (clock - t0)
            for t in (*(staged[k] for k in _STAT_KEYS), totals, pending_totals):
                t.mul_(decay)
            t0 = clock

        # commit
        self._failures.copy_(staged["failures"])
        self._visits.copy_(staged["visits"])
        self._pending_failures.copy_(staged["pending_failures"])
        self._pending_visit_diff.copy_(staged["pending_visit_diff"])
        self._visited.copy_(staged["visited"])
        self._totals.copy_(totals)
        self._pending_totals.copy_(pending_totals)
        self._clock, self._t0 = clock, t0
        self._steps_since_rebuild = saved["steps_since_rebuild"]
        self.training = saved["training"]
        self._generator.set_state(gen.get_state())
        if new_probs is not None:
            self._probs.copy_(self._to_slots(new_probs.float()))
            torch.cumsum(self._probs, 0, dtype=torch.float64, out=self._cdf)
        else:
            self._update_distribution()
        return report

    @classmethod
    def from_state_dict(
        cls, state: dict[str, Any], *, device: torch.device | str | None = None, **cfg_overrides: Any
    ) -> AdaptiveSampler:
        """Build a sampler with the saved configuration and library, then load the state (for plots and tools)."""
        saved = _validated_state(state)
        cfg = AdaptiveSamplerCfg.from_dict({**saved["config"], **cfg_overrides})
        lay = saved["layout"]
        if cfg.prior == "weights":
            raise ValueError("from_state_dict cannot rebuild motion_weights; construct the sampler and load instead")
        sampler = cls(cfg, lay["num_frames"], lay["fps"], lay["motion_names"], device=device)
        sampler.load_state_dict(state)
        return sampler

    # ------------------------------------------------------------------ internals

    def _lazy_weight(self, step: int) -> float:
        """Weight of an event of ``step`` relative to the fold step: (1 - alpha)^-(step - t0)."""
        alpha = self.cfg.ema_alpha
        return 1.0 if alpha == 0.0 else (1.0 - alpha) ** -(step - self._t0)

    def _to_slots(self, values: torch.Tensor, index: torch.Tensor | None = None, fill: float = 0) -> torch.Tensor:
        """Scatter per-bin values (or per-clip difference entries with ``index=diff_slots``) into slot space."""
        index = self._slots.slot_of_bin if index is None else index
        out = torch.full((self._slots.num_slots,), fill, dtype=values.dtype, device=values.device)
        return out.index_copy_(0, index, values)

    def _merge(self) -> None:
        """Add what was recorded since the last merge to the statistics. O(bins)."""
        # Visits are the running sum of the difference array inside each clip. Entries of different lazy weights
        # do not cancel exactly, so the sum restarts from the previous clip's end (no residue carries into other
        # clips) and is clamped at 0 (no residue below 0 after a segment's end).
        running = torch.cumsum(self._pending_visit_diff, 0, out=self._work64[0])
        clip_end = running[self._clip_last_slot]
        base = torch.cat((clip_end.new_zeros(1), clip_end[:-1]))
        pending_visits = running.sub_(torch.index_select(base, 0, self._slots.slot_motion, out=self._work64[1]))
        pending_visits.clamp_min_(0.0)
        self._visited.logical_or_(torch.gt(pending_visits, 0.5, out=self._work_bool))  # a pending visit weighs >= 1
        self._failures.add_(self._pending_failures)
        self._visits.add_(pending_visits)
        self._totals.add_(self._pending_totals)
        self._pending.zero_()

    def _renormalise(self) -> None:
        """Apply the decay since step ``t0`` to the accumulators, so lazy weights restart at 1. O(bins)."""
        self.sync()
        self._merge()
        decay = self._decay()
        self._failures.mul_(decay)
        self._visits.mul_(decay)
        self._totals.mul_(decay)
        self._t0 = self._clock

    def _decay(self) -> float:
        """Factor that turns the accumulators (relative to step ``t0``) into values at the current step."""
        return 1.0 / self._lazy_weight(self._clock)

    def _update_distribution(self) -> None:
        """Recompute the distribution and its CDF from the merged statistics, in place. O(bins)."""
        cfg = self.cfg
        decay = self._decay()
        score, work, smoothed = self._work32
        if cfg.statistic == "rate":
            # (F d + r0 n0) / (N d + n0) with the decay d applied through the prior: one pass fewer
            kernels.failure_rate(
                self._failures, self._visits, cfg.rate_prior, cfg.rate_prior_visits / decay, out=score, work=work
            )
        else:
            score.copy_(self._failures).mul_(decay * cfg.ema_alpha if cfg.ema_alpha > 0 else decay)
        if cfg.additive_uniform_ratio > 0:
            score.add_(self._additive)
        kernels.lookahead_smooth(score, self._taps, self._slots, out=smoothed)
        if cfg.statistic == "rate":
            # a rate is a probability per start: tilt the prior by it, so with equal rates p_fail is the prior (and a
            # partial last bin gets its share of starts in proportion to its length, as in the prior)
            smoothed.mul_(self._prior)
        total = smoothed.sum()
        p_fail = smoothed.div_(total.clamp_min(torch.finfo(smoothed.dtype).tiny))
        # without any failure score (all zero) p_fail is the prior: decided on the device, no host sync
        no_score = (total <= 0).to(p_fail.dtype)
        if cfg.max_motion_share < 1.0:
            p_fail = kernels.cap_motion_share(
                torch.lerp(p_fail, self._prior, no_score),
                self._slots.slot_motion,
                self.layout.num_motions,
                cfg.max_motion_share,
            )
            weight = p_fail.new_tensor(cfg.uniform_ratio)
        else:  # the fallback folded into the mixture: one pass fewer
            weight = torch.lerp(p_fail.new_tensor(cfg.uniform_ratio), p_fail.new_tensor(1.0), no_score)
        torch.lerp(p_fail, self._prior, weight, out=self._probs)
        torch.cumsum(self._probs, 0, dtype=torch.float64, out=self._cdf)

    def _motion_prior_weights(self, motion_weights: Sequence[float] | torch.Tensor | None) -> torch.Tensor:
        lay = self.layout
        prior = self.cfg.prior
        if prior != "weights" and motion_weights is not None:
            raise ValueError(f"motion_weights needs AdaptiveSamplerCfg.prior='weights', got prior={prior!r}")
        if prior == "motion":
            w = torch.ones(lay.num_motions, dtype=torch.float64, device=self.device)
        elif prior == "duration":
            w = lay.num_frames.double() / lay.fps
        else:
            if motion_weights is None:
                raise ValueError("AdaptiveSamplerCfg.prior='weights' needs motion_weights, got None")
            w = torch.as_tensor(motion_weights, dtype=torch.float64).to(self.device)
            if w.shape != (lay.num_motions,):
                raise ValueError(f"motion_weights must have shape ({lay.num_motions},), got {tuple(w.shape)}")
            if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
                raise ValueError(f"motion_weights must be finite, >= 0 and not all 0, got {w.tolist()[:8]}")
        return w / w.sum()

    def _check_tensor(self, name: str, t: Any) -> None:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
        if t.device != self.device:
            raise ValueError(f"{name} must be on the sampler's device {self.device}, got {t.device}")

    def _check_index(self, name: str, t: Any) -> int:
        self._check_tensor(name, t)
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise TypeError(f"{name} must be an integer tensor, got dtype {t.dtype}")
        return t.shape[0]

    def _any_bad_segment(
        self, motion_ids: torch.Tensor, start_frames: torch.Tensor, end_frames: torch.Tensor, failed: torch.Tensor
    ) -> bool:
        """Whether any value of a record() call is out of range (one host sync)."""
        bad = (motion_ids < 0) | (motion_ids >= self.layout.num_motions)
        limit = self.layout.num_frames[motion_ids.clamp(0, self.layout.num_motions - 1).long()]
        bad |= (start_frames < 0) | (end_frames < start_frames) | (end_frames >= limit)
        if failed.is_floating_point():
            bad |= ~((failed >= 0) & (failed <= 1))
        return bool(bad.any())

    def _check_motion_ids(self, motion_ids: torch.Tensor) -> None:
        bad = (motion_ids < 0) | (motion_ids >= self.layout.num_motions)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"motion_ids must be in [0, {self.layout.num_motions}), got motion_ids[{i}]={int(motion_ids[i])}"
            )

    def _check_frames(self, name: str, motion_ids: torch.Tensor, frames: torch.Tensor) -> None:
        limit = self.layout.num_frames[motion_ids.long()]
        bad = (frames < 0) | (frames >= limit)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"{name} must be in [0, num_frames) of their motion, got {name}[{i}]={int(frames[i])} for motion "
                f"{int(motion_ids[i])} with {int(limit[i])} frames"
            )

    def _remap_stats(self, saved: dict[str, Any], same_grid: bool) -> tuple[dict[str, torch.Tensor], LoadReport]:
        """Statistics of motions kept by name (same frames, fps and bins), zeros (priors) elsewhere; bin space."""
        lay = saved["layout"]
        here = self.layout
        report = LoadReport()
        old = {n: i for i, n in enumerate(lay["motion_names"])}
        old_bins = torch.tensor(lay["bins_per_motion"], dtype=torch.int64)
        old_offsets = torch.cat((torch.zeros(1, dtype=torch.int64), torch.cumsum(old_bins, 0)))
        frames_here, fps_here, bins_here = here.num_frames.tolist(), here.fps.tolist(), here.bins_per_motion.tolist()
        src, dst = [], []
        for m, name in enumerate(here.motion_names):
            j = old.get(name)
            if (
                j is not None
                and same_grid
                and lay["num_frames"][j] == frames_here[m]
                and lay["fps"][j] == fps_here[m]
                and lay["bins_per_motion"][j] == bins_here[m]
            ):
                report.kept.append(name)
                src.append(j)
                dst.append(m)
            else:
                report.added.append(name)
        kept = set(report.kept)
        report.dropped = [n for n in lay["motion_names"] if n not in kept]
        src_m = torch.tensor(src, dtype=torch.int64)
        dst_m = torch.tensor(dst, dtype=torch.int64)
        counts = old_bins[src_m]
        # bins: each kept clip's B_m entries; visit differences: its B_m + 1 entries (bins, then the closing one)
        src_bins = _segments(old_offsets[src_m], counts)
        dst_bins = _segments(here.bin_offsets.cpu()[dst_m], counts)
        src_diff = _segments(old_offsets[src_m] + src_m, counts + 1)
        dst_diff = _segments(here.bin_offsets.cpu()[dst_m] + dst_m, counts + 1)
        staged: dict[str, torch.Tensor] = {}
        for key in (*_STAT_KEYS, "visited"):
            is_diff = key in _DIFF_KEYS
            size = here.num_bins + (here.num_motions if is_diff else 0)
            values = saved[key]
            out = torch.zeros(size, dtype=values.dtype)
            out[dst_diff if is_diff else dst_bins] = values[src_diff if is_diff else src_bins]
            staged[key] = out.to(self.device)
        return staged, report


def _segments(starts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Concatenated ranges ``[starts[i], starts[i] + counts[i])``. Shape: (n,), (n,) -> (sum(counts),)."""
    total = int(counts.sum())
    begin = torch.repeat_interleave(starts - (torch.cumsum(counts, 0) - counts), counts)
    return begin + torch.arange(total, dtype=torch.int64)


# ---------------------------------------------------------------------- helpers


def _same_config(saved: dict[str, Any], cfg: AdaptiveSamplerCfg) -> bool:
    """Whether a saved config gives the same distribution as ``cfg`` (the seed and validation do not matter)."""
    ignore = ("seed", "validate_args")
    here = {k: v for k, v in cfg.to_dict().items() if k not in ignore}
    return all(saved.get(k) == v for k, v in here.items())


def _normalise_device(device: torch.device | str | None) -> torch.device:
    try:
        dev = torch.device(device) if device is not None else torch.device("cpu")
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda:0', got {device!r}") from err
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def _validated_state(state: Any) -> dict[str, Any]:
    """Check a saved state's structure, types and values; return it (not copied, not modified)."""
    if not isinstance(state, dict):
        raise TypeError(f"state_dict must be a dict, got {type(state).__name__}")
    version = state.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"state_dict['version'] must be an int, got {version!r}")
    if version > STATE_VERSION:
        raise ValueError(
            f"state_dict['version'] is {version}, newer than this library's {STATE_VERSION}; upgrade adaptive-sampling"
        )
    if version < 1:
        raise ValueError(f"state_dict['version'] must be >= 1, got {version}")
    required = (
        "config",
        "layout",
        "clock",
        "t0",
        "steps_since_rebuild",
        "training",
        *_STAT_KEYS,
        "totals",
        "pending_totals",
        "visited",
        "probabilities",
        "generator_state",
    )
    missing = [k for k in required if k not in state]
    if missing:
        raise ValueError(f"state_dict is missing keys {missing}")
    lay = state["layout"]
    if not isinstance(lay, dict):
        raise ValueError(f"state_dict['layout'] must be a dict, got {type(lay).__name__}")
    for key in ("motion_names", "num_frames", "fps", "bins_per_motion", "bin_duration_s", "bin_layout"):
        if key not in lay:
            raise ValueError(f"state_dict['layout'] is missing {key!r}")
    num_motions = len(lay["motion_names"])
    for key in ("num_frames", "fps", "bins_per_motion"):
        if not isinstance(lay[key], (list, tuple)) or len(lay[key]) != num_motions:
            raise ValueError(f"state_dict['layout'][{key!r}] must be a list of {num_motions} values")
    if not all(isinstance(b, int) and b > 0 for b in lay["bins_per_motion"]):
        raise ValueError("state_dict['layout']['bins_per_motion'] must hold positive ints")
    if not isinstance(state["config"], dict):
        raise ValueError(f"state_dict['config'] must be a dict, got {type(state['config']).__name__}")
    alpha = state["config"].get("ema_alpha", 0.0)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha < 1.0:
        raise ValueError(f"state_dict['config']['ema_alpha'] must be a number in [0, 1), got {alpha!r}")
    for key in ("clock", "t0", "steps_since_rebuild"):
        v = state[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"state_dict[{key!r}] must be an int >= 0, got {v!r}")
    if state["t0"] > state["clock"]:
        raise ValueError(f"state_dict['t0'] ({state['t0']}) must be <= state_dict['clock'] ({state['clock']})")
    if not isinstance(state["training"], bool):
        raise ValueError(f"state_dict['training'] must be a bool, got {state['training']!r}")
    num_bins = sum(lay["bins_per_motion"])
    shapes = {
        **{k: (num_bins + num_motions,) if k in _DIFF_KEYS else (num_bins,) for k in _STAT_KEYS},
        "visited": (num_bins,),
        "probabilities": (num_bins,),
        "totals": (2,),
        "pending_totals": (2,),
    }
    for key, shape in shapes.items():
        t = state[key]
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"state_dict[{key!r}] must be a tensor, got {type(t).__name__}")
        if tuple(t.shape) != shape:
            raise ValueError(f"state_dict[{key!r}] must have shape {shape}, got {tuple(t.shape)}")
        if key == "visited":
            if t.dtype != torch.bool:
                raise ValueError(f"state_dict['visited'] must be bool, got {t.dtype}")
            continue
        if not t.is_floating_point():
            raise ValueError(f"state_dict[{key!r}] must be floating point, got {t.dtype}")
        if not bool(torch.isfinite(t).all()) or (key not in _DIFF_KEYS and bool((t < 0).any())):
            raise ValueError(
                f"state_dict[{key!r}] must be finite{'' if key in _DIFF_KEYS else ' and >= 0'} (corrupt state)"
            )
    probs = state["probabilities"].double()
    if abs(float(probs.sum()) - 1.0) > 1e-3:
        raise ValueError(f"state_dict['probabilities'] must sum to 1, got {float(probs.sum())}")
    g = state["generator_state"]
    if not isinstance(g, torch.Tensor) or g.dtype != torch.uint8:
        raise ValueError("state_dict['generator_state'] must be a uint8 tensor (torch.Generator.get_state())")
    return state


def _describe_difference(saved: dict[str, Any], here: dict[str, list], same_grid: bool) -> str:
    parts = []
    if not same_grid:
        parts.append("bins differ (saved bin_duration_s/bin_layout differ from the config)")
    old, new = saved["motion_names"], here["motion_names"]
    removed = [n for n in old if n not in set(new)]
    added = [n for n in new if n not in set(old)]
    if removed:
        parts.append(f"motions only in the state: {removed[:10]}{' ...' if len(removed) > 10 else ''}")
    if added:
        parts.append(f"motions only in this library: {added[:10]}{' ...' if len(added) > 10 else ''}")
    index = {n: i for i, n in enumerate(old)}
    changed = [
        n
        for m, n in enumerate(new)
        if n in index and any(saved[k][index[n]] != here[k][m] for k in ("num_frames", "fps", "bins_per_motion"))
    ]
    if changed:
        parts.append(f"motions with other frames/fps/bins: {changed[:10]}")
    if not (removed or added or changed) and old != new:
        parts.append("the same motions in another order")
    return "; ".join(parts) + ". Pass remap=True to keep what matches by name."
