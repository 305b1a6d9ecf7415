"""The adaptive sampler: records where policies fail and draws start points (motion id, start frame) accordingly.

This module is the algorithm: the statistics and how they are recorded, merged and decayed, the rebuild and the
draws. The formula of the distribution is :func:`kernels.start_distribution`; argument checks live in ``checks``,
the state format (versions, validation, remapping) in ``state``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from . import checks, distributed, kernels
from . import state as state_format
from .cdf import ExactCdf
from .config import AdaptiveSamplerCfg, FrozenAdaptiveSamplerCfg
from .layout import MotionLayout
from .state import STATE_VERSION, LoadReport

__all__ = ["STATE_VERSION", "AdaptiveSampler", "LoadReport"]

# Renormalise the lazily decayed accumulators before their weights (1 - alpha)^-n pass this bound.
_MAX_LAZY_WEIGHT = 2.0**20
# With statistic="count" the visits feed only coverage and tables: a rebuild leaves them pending (a serial prefix
# sum less), but merges them at least every this many rebuilds, so the float64 residue of cancelled difference
# entries stays far below the 0.5 that marks a bin visited.
_MAX_DEFERRED_VISIT_MERGES = 64
# Libraries of at most this many frames in all map frames to slots through one table lookup.
_FRAME_TABLE_MAX_FRAMES = 1 << 16


class AdaptiveSampler:
    """Failure-driven sampler of episode start points over a library of motions.

    Per environment step: :meth:`record` the segments that ended, :meth:`sample` starts for the environments that
    reset, then :meth:`step` once. Every ``cfg.rebuild_every`` steps the distribution over the flat (motion x bin)
    table is rebuilt from the failure statistics by :func:`kernels.start_distribution`, where the formula is.

    The statistics ``F`` (failures) and ``N`` (visits) are exponentially decayed sums (decay ``1 - ema_alpha`` per
    step), kept as lazily decayed accumulators so recording costs O(events), not O(bins).

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
        # a read-only copy: the caller may edit or reuse its config without changing this sampler
        cfg = FrozenAdaptiveSamplerCfg.of(cfg)
        self.cfg: AdaptiveSamplerCfg = cfg
        """This sampler's configuration (a read-only copy of the one it was built with)."""
        self.device = checks.normalise_device(device)
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
            # stall clocks (cfg.stall_patience): each slot's rate at its last move and the env steps since
            self._stall_reference = torch.full((num_slots,), cfg.rate_prior, dtype=torch.float32, device=dev)
            self._stall_steps = torch.zeros(num_slots, dtype=torch.float32, device=dev)
            self._use_stall = cfg.stall_patience > 0 and cfg.statistic == "rate"
            self._probs = torch.zeros(num_slots, dtype=torch.float32, device=dev)
            # the lazy weight of the events recorded next, on the device: a captured record() reads it, not a
            # constant baked into the graph
            self._record_weight = torch.ones((), dtype=torch.float64, device=dev)
            self._use_cdf(ExactCdf(num_slots, dev))
            # visits are needed by the rate statistic at every rebuild; "count" reads them only for coverage/tables
            self._defer_visits = cfg.statistic == "count"
            self._deferred_merges = 0
            # small libraries: local frame -> slot by one lookup in a table over all frames (same map as
            # local_bins_of); a single motion needs no frame offset either
            self._frame_slot: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
            if int(lay.frame_offsets[-1]) <= _FRAME_TABLE_MAX_FRAMES:
                frame_motion = torch.repeat_interleave(torch.arange(num_motions, device=dev), lay.num_frames.to(dev))
                local = torch.arange(frame_motion.numel(), device=dev) - lay.frame_offsets[frame_motion]
                frame_slot = slots.slot_offsets[frame_motion] + lay.local_bins_of(frame_motion, local)
                self._frame_slot = (frame_slot, frame_slot + num_slots, frame_slot + num_slots + 1)
            self._single_motion = num_motions == 1
            self._visit_offsets = torch.tensor([[num_slots], [num_slots + 1]], device=dev)
            self._record_cache: dict[int, _RecordBuffers] = {}
            self._generator = torch.Generator(device=dev)
        seed = cfg.seed if cfg.seed is not None else int(torch.randint(0, 2**62, (1,)))
        self._generator.manual_seed(seed)
        self._clock = 0  # environment steps so far
        self._t0 = 0  # step at which the lazy accumulators were last folded
        self._steps_since_rebuild = 0
        self.training = True
        self._update_record_weight()
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
        self.training = checks.check_bool("mode", mode)
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
        num = checks.check_record(
            self.layout, self.device, self.cfg.validate_args, motion_ids, start_frames, end_frames, failed
        )
        if not self.training or num == 0:
            return
        if failed.requires_grad:
            failed = failed.detach()  # a soft failure may come from a graph; statistics never join one

        # One index_add_ into the flat pending buffer (failures | visit differences) of the rows
        #   index:  first bin + S | last bin    | last bin + S + 1
        #   value:  +w            | failed * w  | -w
        # visits as a difference array, +w on the segment's first bin and -w after its last (the slot after a clip's
        # last bin is its own spare slot, so clips stay separate), the failure at the last bin (the start's with
        # attribution="start"); then the totals [segments, failures] as the sums of the first two value rows.
        buf = self._record_buffers(num)
        self._record_index(motion_ids, start_frames, end_frames, buf)
        buf.failed.copy_(failed)
        torch.mul(buf.values, self._record_weight, out=buf.weighted)
        self._pending.index_add_(0, buf.flat_index, buf.flat_weighted)
        self._pending_totals.add_(buf.counted.sum(1))

    def _record_buffers(self, num: int) -> _RecordBuffers:
        """The index and value rows of :meth:`record`'s index_add_ for ``num`` segments (cached per ``num``)."""
        cached = self._record_cache.get(num)
        if cached is None:
            if len(self._record_cache) >= 16:  # a bounded cache: callers with ever-changing E pay a rebuild
                self._record_cache.clear()
            with torch.inference_mode(False):  # written in place later, in or out of inference mode
                cached = self._record_cache[num] = _RecordBuffers(num, self.device)
        return cached

    def _record_index(
        self, motion_ids: torch.Tensor, start_frames: torch.Tensor, end_frames: torch.Tensor, buf: _RecordBuffers
    ) -> None:
        """The rows of :meth:`record`'s index: the first slot + S, the failure's slot, the last slot + S + 1.

        Shape: (E,) each.
        """
        lay = self.layout
        if not self.cfg.validate_args:
            # unchecked values: clamp them into range, so every index is valid before anything is written (wrong
            # values give wrong statistics, never a half-applied record)
            motion_ids = motion_ids.long().clamp(0, lay.num_motions - 1)
            frames = torch.stack((start_frames, end_frames)).long()
            start_frames, end_frames = torch.minimum(frames.clamp_min(0), lay.num_frames[motion_ids] - 1)
        last = end_frames if self.cfg.attribution == "failure" else start_frames
        if self._frame_slot is None:
            motion_ids = motion_ids.long()
            frames = torch.stack((start_frames, last)).long()
            slots = torch.index_select(self._slots.slot_offsets, 0, motion_ids) + lay.local_bins_of(motion_ids, frames)
            torch.add(slots, self._visit_offsets, out=buf.visit_rows)
            buf.rows[1].copy_(slots[1])
            return
        # small libraries: three lookups in tables of the slot of every frame (+ S, + S + 1)
        if not self._single_motion:
            offsets = torch.index_select(lay.frame_offsets, 0, _as_index(motion_ids))
            start_frames, last = start_frames + offsets, last + offsets
        start_frames, last = _as_index(start_frames), _as_index(last)
        torch.index_select(self._frame_slot[1], 0, start_frames, out=buf.rows[0])
        torch.index_select(self._frame_slot[0], 0, last, out=buf.rows[1])
        torch.index_select(self._frame_slot[2], 0, last, out=buf.rows[2])

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
        lay = self.layout
        if motion_ids is not None:
            num = checks.check_index("motion_ids", motion_ids, self.device)
            if self.cfg.validate_args and num > 0:
                checks.check_motion_ids(lay, motion_ids)
            motion_ids = motion_ids.long()
            if not self.cfg.validate_args:
                motion_ids = motion_ids.clamp(0, lay.num_motions - 1)  # unchecked: keep every index valid
        else:
            num = checks.check_num(num)
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
            slots = cdf.draw(u)
        else:
            first = self._slots.slot_offsets[motion_ids]
            last = first + lay.bins_per_motion[motion_ids] - 1
            low = torch.where(first > 0, cdf.at((first - 1).clamp_min(0)), torch.zeros_like(u))
            high = cdf.at(last)
            # inverse CDF restricted to the motion's slots: u = low + U * (high - low)
            slots = cdf.search(low + u * (high - low))
            slots = torch.minimum(torch.maximum(slots, first), last)
        # the bin's motion, first frame and width (large tables: one row gather, one cache miss instead of three).
        # The frame inside the bin is floor(r * width) <= width - 1: r <= 1 - 2^-53 keeps r * width below width in
        # float64 (width < 2^52)
        if self._draw_table is not None:
            motion, first_frame, width = torch.index_select(self._draw_table, 0, slots).unbind(1)
            frames = torch.mul(r, width).to(torch.int64).add_(first_frame)
            motion = motion.to(torch.int64)
        else:
            motion_table, first_table, width_table = self._draw_columns
            frames = torch.index_select(width_table, 0, slots).mul_(r).to(torch.int64)
            frames.add_(torch.index_select(first_table, 0, slots))
            motion = torch.index_select(motion_table, 0, slots)
        if motion_ids is not None:
            # a motion without probability mass: start from its prior (uniform in time), decided on the device
            num_frames = lay.num_frames[motion_ids]
            uniform = torch.minimum((r * num_frames).long(), num_frames - 1)
            frames = torch.where(high > low, frames, uniform)
        return motion, frames

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
        self._update_record_weight()

    def rebuild(self) -> None:
        """Merge what was recorded (after :meth:`sync` across ranks) and rebuild the distribution now. O(bins).

        In a multi-process run this is a collective: call it on every rank.
        """
        self.sync()
        self._merge(visits=not self._defer_visits or self._deferred_merges >= _MAX_DEFERRED_VISIT_MERGES)
        if self._use_stall:
            # the stall clocks advance with the statistics (identical on every rank after the sync)
            rate, work = self._work32[0], self._work32[1]
            kernels.failure_rate(
                self._failures,
                self._visits,
                self.cfg.rate_prior,
                self.cfg.rate_prior_visits / self._decay(),
                out=rate,
                work=work,
            )
            kernels.update_stall(
                rate,
                self._stall_reference,
                self._stall_steps,
                self._steps_since_rebuild,
                self.cfg.stall_threshold,
                self.cfg.stall_moves,
            )
            self._update_distribution(rate=rate)  # the rate just computed: not twice per rebuild
        else:
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
        ``concentrated_bin_fraction`` (p > 10 / B), ``max_motion_mass``, ``coverage`` (share of bins ever visited),
        ``mean_failure_rate`` (smoothed share of segments that failed), ``num_bins``.

        When they update: the distribution metrics describe ``p`` as of the last rebuild (every
        ``cfg.rebuild_every`` steps, or :meth:`rebuild`); ``coverage`` counts visits merged by then (a rebuild, a
        :meth:`sync` or an internal renormalisation), so it reads 0 after the first ``record`` + ``step`` until the
        first rebuild, except with ``statistic="count"``, whose rebuilds leave visits pending and which counts this
        rank's pending visits too; ``mean_failure_rate`` includes every segment recorded so far.
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
                self._visited_now()[self._slots.slot_of_bin].double().sum() / num_bins,
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
        (decayed sums; with ``statistic="count"`` the visits include those still pending), and ``motion_mass``
        (probability per motion, shape (M,)).
        """
        real = self._slots.slot_of_bin
        decay = self._decay()
        visits = self._visits + self._pending_visits() if self._defer_visits else self._visits
        failures, visits = self._failures[real] * decay, visits[real] * decay
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

        Holds only tensors and plain values (``torch.load(weights_only=True)`` reads it back); the keys, shapes and
        versions are described in :mod:`adaptive_sampling.state`.
        """
        real, diff = self._slots.slot_of_bin, self._slots.diff_slots
        visits, visited, visit_diff = self._visits, self._visited, self._pending_visit_diff
        if self._defer_visits and not distributed.is_active():
            # saved as if merged, so the state does not depend on when the deferred visits were last merged (with
            # several ranks they stay pending: the next sync sums them over the ranks)
            pending = self._pending_visits()
            visits, visited, visit_diff = visits + pending, visited | (pending > 0.5), torch.zeros_like(visit_diff)
        return {
            "version": STATE_VERSION,
            "config": self.cfg.to_dict(),
            "layout": state_format.layout_state(self.layout),
            "clock": self._clock,
            "t0": self._t0,
            "steps_since_rebuild": self._steps_since_rebuild,
            "training": self.training,
            "failures": self._failures[real].cpu(),
            "visits": visits[real].cpu(),
            "pending_failures": self._pending_failures[real].cpu(),
            "pending_visit_diff": visit_diff[diff].cpu(),
            "totals": self._totals.clone().cpu(),
            "pending_totals": self._pending_totals.clone().cpu(),
            "visited": visited[real].cpu(),
            "probabilities": self._probs[real].cpu(),
            "generator_state": self._generator.get_state(),
            "stall_reference": self._stall_reference[real].cpu(),
            "stall_steps": self._stall_steps[real].cpu(),
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
        checks.check_bool("remap", remap)
        saved = state_format.validated_state(state)
        exact, same_grid = state_format.match_layout(saved["layout"], self.layout)
        if not exact and not remap:
            raise ValueError(
                "state_dict was saved for a different motion library: "
                + state_format.describe_difference(saved["layout"], self.layout, same_grid)
            )

        # stage every new value before touching the sampler
        gen, reseeded = state_format.restored_generator(saved["generator_state"], self.device)
        dev = self.device
        staged, report = state_format.staged_statistics(saved, self.layout, exact, same_grid, dev)
        report.generator_reseeded = reseeded
        new_probs = staged.pop("probabilities", None)
        # stall clocks of a state saved before they existed (or of motions it did not keep): at their start
        stall_reference = staged.pop("stall_reference", None)
        stall_steps = staged.pop("stall_steps", None)
        if stall_reference is None:
            stall_reference = torch.full((self.num_bins,), self.cfg.rate_prior, device=dev)
        stall_reference = self._to_slots(stall_reference.float(), fill=self.cfg.rate_prior)
        stall_steps = self._to_slots(
            stall_steps.float() if stall_steps is not None else torch.zeros(self.num_bins, device=dev)
        )
        if not state_format.same_config(saved["config"], self.cfg):
            new_probs = None  # the distribution follows this sampler's configuration
        real, diff = self._slots.slot_of_bin, self._slots.diff_slots
        for key in staged:
            staged[key] = self._to_slots(staged[key], index=diff if key in state_format.DIFF_KEYS else real)
        # copies: the staged values are rescaled in place below, and the argument is never modified
        totals = saved["totals"].to(dev, torch.float64, copy=True)
        pending_totals = saved["pending_totals"].to(dev, torch.float64, copy=True)
        clock, t0 = saved["clock"], saved["t0"]
        saved_alpha = saved["config"].get("ema_alpha", self.cfg.ema_alpha)
        # log of the lazy weight (1 - alpha)^-(clock + 1 - t0) the next event would get under the saved alpha
        log_weight = 0.0 if saved_alpha == 0.0 else -(clock + 1 - t0) * math.log1p(-saved_alpha)
        if saved_alpha != self.cfg.ema_alpha or log_weight > math.log(_MAX_LAZY_WEIGHT):
            # the saved accumulators are relative to step t0 under the saved alpha: take their values now (also
            # when t0 lies so far back that the lazy weights would overflow; this sampler never saves such a state)
            decay = (1.0 - saved_alpha) ** (clock - t0)
            for t in (*(staged[k] for k in state_format.STAT_KEYS), totals, pending_totals):
                t.mul_(decay)
            t0 = clock

        # commit
        self._failures.copy_(staged["failures"])
        self._visits.copy_(staged["visits"])
        self._pending_failures.copy_(staged["pending_failures"])
        self._pending_visit_diff.copy_(staged["pending_visit_diff"])
        self._visited.copy_(staged["visited"])
        self._stall_reference.copy_(stall_reference)
        self._stall_steps.copy_(stall_steps)
        self._totals.copy_(totals)
        self._pending_totals.copy_(pending_totals)
        self._clock, self._t0 = clock, t0
        self._steps_since_rebuild = saved["steps_since_rebuild"]
        self.training = saved["training"]
        self._generator.set_state(gen.get_state())
        self._update_record_weight()
        if new_probs is not None:
            self._probs.copy_(self._to_slots(new_probs.float()))
            self._cdf.build(self._probs)
        else:
            self._update_distribution()
        return report

    @classmethod
    def from_state_dict(
        cls, state: dict[str, Any], *, device: torch.device | str | None = None, **cfg_overrides: Any
    ) -> AdaptiveSampler:
        """Build a sampler with the saved configuration and library, then load the state (for plots and tools)."""
        saved = state_format.validated_state(state)
        # fields added since the state was saved take the values that behave as its version did
        cfg = AdaptiveSamplerCfg.from_dict({**state_format.ADDED_FIELDS, **saved["config"], **cfg_overrides})
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

    def _use_cdf(self, cdf: ExactCdf) -> None:
        """Draw through ``cdf`` (built at the next rebuild), with the per-slot tables of a draw sized for it."""
        self._cdf = cdf
        # per-slot tables of a draw, extended past the last slot with the last real slot's entries: a search that
        # ends past the table (a value at the total) needs no clamp
        table = torch.stack(
            (
                self._slots.slot_motion,
                self._to_slots(self.layout.bin_start_frame),
                self._to_slots(self.layout.bin_num_frames, fill=1),
            ),
            dim=1,
        )
        past = table[self._last_real_slot].expand(cdf.max_result + 1 - self._slots.num_slots, 3)
        table = torch.cat((table, past))
        self._draw_table: torch.Tensor | None = None
        """Large tables: (motion, first frame, frames) of each slot's bin, int32 rows (one random row read, not three).
        Shape: (S + 1.., 3)."""
        self._draw_columns: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        """Small tables: the same as three columns (motion, first frame as int64, frames as float64): fewer conversions,
        which cost more than the reads there."""
        if cdf.block > 1:
            dtype = torch.int32 if int(self.layout.frame_offsets[-1]) < 2**31 else torch.int64
            self._draw_table = table.to(dtype)
        else:
            self._draw_columns = (table[:, 0].contiguous(), table[:, 1].contiguous(), table[:, 2].double())

    def _update_record_weight(self) -> None:
        """Set the weight of the next step's events, ``(1 - alpha)^-(clock + 1 - t0)`` (a no-op when it is 1)."""
        if self.cfg.ema_alpha > 0.0:
            self._record_weight.fill_(self._lazy_weight(self._clock + 1))

    def _to_slots(self, values: torch.Tensor, index: torch.Tensor | None = None, fill: float = 0) -> torch.Tensor:
        """Scatter per-bin values (or per-clip difference entries with ``index=diff_slots``) into slot space."""
        index = self._slots.slot_of_bin if index is None else index
        out = torch.full((self._slots.num_slots,), fill, dtype=values.dtype, device=values.device)
        return out.index_copy_(0, index, values)

    def _merge(self, visits: bool = True) -> None:
        """Add what was recorded since the last merge to the statistics. O(bins).

        Args:
            visits: Also merge the visits; without, they stay pending (a difference array; see ``_defer_visits``).
        """
        if visits:
            pending_visits = self._pending_visits(out=self._work64[0], work=self._work64[1])
            self._visited.logical_or_(torch.gt(pending_visits, 0.5, out=self._work_bool))  # a visit weighs >= 1
            self._visits.add_(pending_visits)
            self._deferred_merges = 0
        self._failures.add_(self._pending_failures)
        self._totals.add_(self._pending_totals)
        if visits:
            self._pending.zero_()
        else:
            self._pending_failures.zero_()
            self._pending_totals.zero_()
            self._deferred_merges += 1

    def _pending_visits(self, out: torch.Tensor | None = None, work: torch.Tensor | None = None) -> torch.Tensor:
        """The visits recorded since the last merge, per slot (float64), from their difference array. O(bins)."""
        # Visits are the running sum of the difference array inside each clip. Entries of different lazy weights
        # do not cancel exactly, so the sum restarts from the previous clip's end (no residue carries into other
        # clips) and is clamped at 0 (no residue below 0 after a segment's end).
        running = torch.cumsum(self._pending_visit_diff, 0, out=out)
        clip_end = running[self._clip_last_slot]
        base = torch.cat((clip_end.new_zeros(1), clip_end[:-1]))
        return running.sub_(torch.index_select(base, 0, self._slots.slot_motion, out=work)).clamp_min_(0.0)

    def _visited_now(self) -> torch.Tensor:
        """Which slots were ever visited: merged visits, and with deferred visits the pending ones too. Shape: (S,)."""
        if not self._defer_visits:
            return self._visited
        return self._visited | (self._pending_visits() > 0.5)

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

    def _update_distribution(self, rate: torch.Tensor | None = None) -> None:
        """Recompute the distribution (:func:`kernels.start_distribution`) and its CDF in place. O(bins).

        Args:
            rate: The smoothed failure rate per slot from the statistics now, if already computed (in ``_work32[0]``).
        """
        kernels.start_distribution(
            self.cfg,
            self._failures,
            self._visits,
            self._decay(),
            self._prior,
            self._additive,
            self._taps,
            self._slots,
            self.layout.num_motions,
            out=self._probs,
            work=self._work32,
            stall=self._stall_steps,
            rate=rate,
        )
        self._cdf.build(self._probs)

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
            w = checks.motion_weights(motion_weights, lay.num_motions).to(self.device)
        return w / w.sum()


class _RecordBuffers:
    """The rows of :meth:`AdaptiveSampler.record`'s one index_add_ for E segments, and views of them made once.

    ``index`` (3, E), int64, written per call. ``values`` (3, E), float64: +1, the failures (written per call), -1;
    ``weighted`` the values times the lazy weight, whose first two rows sum to the totals' increments.
    """

    def __init__(self, num: int, device: torch.device) -> None:
        self.index = torch.empty((3, num), dtype=torch.int64, device=device)
        self.values = torch.zeros((3, num), dtype=torch.float64, device=device)
        self.values[0] = 1.0
        self.values[2] = -1.0
        self.weighted = torch.empty_like(self.values)
        self.rows = tuple(self.index.unbind(0))
        self.visit_rows = self.index[0::2]
        self.failed = self.values[1]
        self.counted = self.weighted[:2]
        self.flat_index = self.index.view(-1)
        self.flat_weighted = self.weighted.view(-1)


def _as_index(t: torch.Tensor) -> torch.Tensor:
    """An integer tensor as ``index_select`` takes it (int32 or int64)."""
    return t if t.dtype in (torch.int32, torch.int64) else t.long()
