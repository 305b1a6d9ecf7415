"""Pure functions on tensors: the formulas of adaptive sampling, in one place.

:func:`start_distribution` is the whole distribution (the README's "Concepts and formulas"); the functions after it
are its parts. Symbols: B flat bins over all motions, M motions, K kernel taps, E recorded segments, N samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .config import AdaptiveSamplerCfg


def start_distribution(
    cfg: AdaptiveSamplerCfg,
    failures: torch.Tensor,
    visits: torch.Tensor,
    decay: float,
    prior: torch.Tensor,
    additive: torch.Tensor,
    taps: Sequence[float],
    slots: PaddedSlots,
    num_motions: int,
    *,
    out: torch.Tensor | None = None,
    work: torch.Tensor | None = None,
    stall: torch.Tensor | None = None,
    rate: torch.Tensor | None = None,
) -> torch.Tensor:
    """The start distribution over bins from the failure statistics.

    ::

        score_b = (F_b d + r0 n0) / (N_b d + n0)                 statistic "rate"  (EMA fold d, rate prior r0, n0)
        score_b = alpha * F_b d                                  statistic "count" (BeyondMimic's EMA of counts)
        score_b = rbar + (score_b - rbar) exp(-stalled_b / T)     "rate", stall_patience T > 0 (update_stall):
                  rbar = sum_c p_prior_c score_c                 a stalled bin reverts to the mean rate
        score_b = score_b + additive_uniform_ratio / B_m         BeyondMimic's additive term (0 by default)
        s_b     = sum_u gamma^u score_{min(b + u, last_b)} / sum_u gamma^u      look-ahead kernel, inside each clip
        s_b     = p_prior_b * s_b                                "rate" only: the prior tilted by the failure rate
        p_fail  = s / sum(s)       (the prior when sum(s) = 0)
        p_fail  = cap(p_fail)      each motion's share <= max_motion_share (water-filling), if < 1
        p       = (1 - lambda) * p_fail + lambda * p_prior       the true mixture, lambda = uniform_ratio

    ``F``, ``N`` are the lazily decayed sums of failures and visits relative to the last fold and ``d`` the decay
    since then, so ``F d`` and ``N d`` are the EMA values now (``alpha = ema_alpha``; with ``alpha = 0`` counts are
    cumulative and not scaled). With ``"rate"`` the failure part is the prior conditioned on failing: equal rates
    give ``p = p_prior``. No host sync.

    Args:
        cfg: The configuration (statistic, rate prior, kernel, floor, cap).
        failures: Decayed failure sums ``F`` per slot, float64. Shape: (S,).
        visits: Decayed visit sums ``N`` per slot, float64. Shape: (S,).
        decay: ``d = (1 - alpha)^(clock - t0)``.
        prior: ``p_prior`` per slot (0 on spare slots), sums to 1. Shape: (S,).
        additive: ``additive_uniform_ratio / B_m`` per slot (read only when that ratio is > 0). Shape: (S,).
        taps: Kernel taps from :func:`exponential_taps`.
        slots: The padded slot layout of all per-slot tensors.
        num_motions: M.
        out: Optional float32 buffer for the result. Shape: (S,).
        work: Optional float32 work buffer (overwritten). Shape: (3, S).
        stall: Steps each slot's rate has not moved (:func:`update_stall`), float32; read only with
            ``statistic="rate"`` and ``stall_patience > 0``. Shape: (S,).
        rate: The smoothed failure rate per slot, float32, when the caller has computed it already (as
            :func:`failure_rate` with ``prior_visits = rate_prior_visits / decay``); used instead of computing it
            again. It may be ``work[0]``. Read only with ``statistic="rate"``. Shape: (S,).

    Returns:
        ``p`` per slot, float32, 0 on spare slots. Shape: (S,).
    """
    if work is None:
        work = torch.empty((3, failures.numel()), dtype=torch.float32, device=failures.device)
    if out is None:
        out = torch.empty(failures.numel(), dtype=torch.float32, device=failures.device)
    score, tmp, smoothed = work
    if cfg.statistic == "rate":
        # (F d + r0 n0) / (N d + n0) with the decay d applied through the prior: one pass fewer
        if rate is None:
            failure_rate(failures, visits, cfg.rate_prior, cfg.rate_prior_visits / decay, out=score, work=tmp)
        elif rate.data_ptr() != score.data_ptr():
            score.copy_(rate)
        if cfg.stall_patience > 0 and stall is not None:
            # a stalled bin's rate reverts to the library's mean rate (under the prior), not to 0: stalled bins
            # give their extra starts back to the prior, and a library where nothing moves samples the prior
            mean = torch.dot(score, prior)
            score.sub_(mean).mul_(stall_weights(stall, cfg.stall_patience, out=tmp)).add_(mean)
    else:
        score.copy_(failures).mul_(decay * cfg.ema_alpha if cfg.ema_alpha > 0 else decay)
    if cfg.additive_uniform_ratio > 0:
        score.add_(additive)
    lookahead_smooth(score, taps, slots, out=smoothed)
    if cfg.statistic == "rate":
        # a rate is a probability per start: tilt the prior by it, so with equal rates p_fail is the prior (and a
        # partial last bin gets its share of starts in proportion to its length, as in the prior)
        smoothed.mul_(prior)
    total = smoothed.sum()
    p_fail = smoothed.div_(total.clamp_min(torch.finfo(smoothed.dtype).tiny))
    # without any failure score (all zero) p_fail is the prior: decided on the device, no host sync
    no_score = (total <= 0).to(p_fail.dtype)
    if cfg.max_motion_share < 1.0:
        p_fail = cap_motion_share(
            torch.lerp(p_fail, prior, no_score), slots.slot_motion, num_motions, cfg.max_motion_share
        )
        weight = _constant(cfg.uniform_ratio, p_fail)
    else:  # the fallback folded into the mixture: one pass fewer
        weight = torch.lerp(_constant(cfg.uniform_ratio, p_fail), _constant(1.0, p_fail), no_score)
    return torch.lerp(p_fail, prior, weight, out=out)


def update_stall(
    rate: torch.Tensor,
    reference: torch.Tensor,
    stalled: torch.Tensor,
    steps: int,
    threshold: float,
    moves: str = "fall",
) -> None:
    """Advance the stall clocks by ``steps`` environment steps, in place, from the smoothed failure rates now.

    ``moves="fall"``: a slot whose rate fell more than ``threshold`` below its ``reference`` (the highest rate since
    its last move) has moved: its reference becomes the rate now and its clock restarts at 0; a rate above the
    reference raises it without restarting the clock. ``moves="any"``: a change of more than ``threshold`` either
    way is a move. Every other slot's clock advances by ``steps``. No host sync.

    Args:
        rate: Smoothed failure rate per slot now. Shape: (S,).
        reference: Rate at each slot's last move (updated). Shape: (S,), float32.
        stalled: Environment steps since each slot's last move (updated). Shape: (S,), float32.
        steps: Environment steps since the previous update.
        threshold: Change of the rate that counts as a move (``stall_threshold``).
        moves: ``"fall"`` or ``"any"`` (``stall_moves``).
    """
    rate = rate.to(reference.dtype)
    change = rate - reference
    moved = change.neg_() > threshold if moves == "fall" else change.abs_() > threshold
    if moves == "fall":
        reference.copy_(torch.where(moved, rate, torch.maximum(reference, rate)))
    else:
        reference.copy_(torch.where(moved, rate, reference))
    stalled.add_(float(steps)).masked_fill_(moved, 0.0)


def stall_weights(stalled: torch.Tensor, patience: float, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """Failure weight of each slot from its stall clock: ``exp(-stalled / patience)``, in (0, 1]. Shape: (S,)."""
    return torch.mul(stalled, -1.0 / patience, out=out).exp_()


def exponential_taps(kernel_size: int, decay: float) -> list[float]:
    """Normalised look-ahead taps ``decay**u / sum_u decay**u``, ``u = 0..K-1`` (plain floats: no device sync)."""
    taps = [decay**u for u in range(kernel_size)]
    total = sum(taps)
    return [t / total for t in taps]


def failure_rate(
    failures: torch.Tensor,
    visits: torch.Tensor,
    prior_rate: float,
    prior_visits: float,
    *,
    out: torch.Tensor | None = None,
    work: torch.Tensor | None = None,
) -> torch.Tensor:
    """Smoothed failure rate with a Beta-style prior: ``(F + r0 * n0) / (N + n0)``.

    An unvisited bin gets ``r0``; a bin visited often tends to ``F / N``. With ``out`` and ``work`` (buffers of the
    result's shape and dtype) nothing is allocated. Shape: (B,).
    """
    if out is None or work is None:
        return (failures + prior_rate * prior_visits) / (visits + prior_visits)
    out.copy_(failures).add_(prior_rate * prior_visits)
    return out.div_(work.copy_(visits).add_(prior_visits))


@dataclass(frozen=True)
class PaddedSlots:
    """The flat bin table with ``pad`` spare slots after each clip, where statistics and probabilities live.

    Clip ``m`` owns slots ``[slot_offsets[m], slot_offsets[m] + B_m + pad)``: its ``B_m`` bins, then ``pad`` spare
    slots. A look-ahead kernel then reads past a clip's end into its own spare slots (filled with its last value)
    and never into the next clip, and a visit difference array closes each clip in its first spare slot. Spare
    slots have zero probability, so inverse-CDF sampling never lands on one.
    """

    pad: int
    num_slots: int
    slot_offsets: torch.Tensor
    """First slot of each clip, and the total. Shape: (M + 1,)."""
    slot_of_bin: torch.Tensor
    """Slot of each flat bin. Shape: (B,)."""
    slot_motion: torch.Tensor
    """Motion of each slot. Shape: (S,)."""
    slot_bin: torch.Tensor
    """Flat bin of each slot, -1 for spare slots. Shape: (S,)."""
    pad_slots: torch.Tensor
    """The spare slots. Shape: (M * pad,)."""
    pad_source: torch.Tensor
    """The last bin's slot of each spare slot's clip. Shape: (M * pad,)."""
    diff_slots: torch.Tensor
    """Per clip, its bins' slots then its first spare slot: a clip-separable difference array. Shape: (B + M,)."""

    @classmethod
    def build(cls, bins_per_motion: torch.Tensor, pad: int) -> PaddedSlots:
        """Index maps for clips of ``bins_per_motion`` bins with ``pad >= 1`` spare slots each."""
        device = bins_per_motion.device
        num_motions = bins_per_motion.numel()
        motions = torch.arange(num_motions, device=device)
        slots_per_motion = bins_per_motion + pad
        slot_offsets = torch.zeros(num_motions + 1, dtype=torch.int64, device=device)
        slot_offsets[1:] = torch.cumsum(slots_per_motion, 0)
        num_slots = int(slot_offsets[-1])
        bin_motion = torch.repeat_interleave(motions, bins_per_motion)
        num_bins = bin_motion.numel()
        slot_of_bin = torch.arange(num_bins, device=device) + pad * bin_motion
        slot_motion = torch.repeat_interleave(motions, slots_per_motion)
        slot_bin = torch.full((num_slots,), -1, dtype=torch.int64, device=device)
        slot_bin[slot_of_bin] = torch.arange(num_bins, device=device)
        pad_motion = torch.repeat_interleave(motions, pad)
        pad_slots = (
            slot_offsets[pad_motion]
            + bins_per_motion[pad_motion]
            + torch.arange(pad, device=device).repeat(num_motions)
        )
        pad_source = slot_offsets[pad_motion] + bins_per_motion[pad_motion] - 1
        diff_motion = torch.repeat_interleave(motions, bins_per_motion + 1)
        diff_offsets = torch.zeros(num_motions + 1, dtype=torch.int64, device=device)
        diff_offsets[1:] = torch.cumsum(bins_per_motion + 1, 0)
        diff_slots = (
            slot_offsets[diff_motion] + torch.arange(num_bins + num_motions, device=device) - diff_offsets[diff_motion]
        )
        return cls(pad, num_slots, slot_offsets, slot_of_bin, slot_motion, slot_bin, pad_slots, pad_source, diff_slots)


def lookahead_smooth(
    values: torch.Tensor, taps: Sequence[float], slots: PaddedSlots, *, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Look-ahead ("non-causal") kernel inside each clip: ``out[b] = sum_u taps[u] * values[min(b + u, last_b)]``.

    A high value at bin ``b + u`` raises the bins *before* it, where a policy can still recover. Beyond the clip's
    last bin the last value repeats (replicate padding), so clips never bleed into each other: BeyondMimic's
    ``conv1d(pad(x, (0, K - 1), "replicate"), taps)`` per clip, for all clips at once as K shifted slices.

    Args:
        values: Per-slot values; spare slots are overwritten. Shape: (S,).
        taps: Kernel taps, from :func:`exponential_taps`; ``len(taps) - 1 <= slots.pad``.
        slots: The padded layout of ``values``.
        out: Optional buffer for the result (not ``values``).

    Returns:
        Smoothed values, zero on spare slots. Shape: (S,).
    """
    kernel_size = len(taps)
    out = torch.empty_like(values) if out is None else out
    if kernel_size == 1:
        torch.mul(values, taps[0], out=out)
    else:
        # index_copy_ / index_fill_: several times faster than advanced-index assignment on the CPU
        values.index_copy_(0, slots.pad_slots, torch.index_select(values, 0, slots.pad_source))
        length = values.numel() - kernel_size + 1
        head = out[:length]
        torch.mul(values[:length], taps[0], out=head)
        for u in range(1, kernel_size):
            head.add_(values[u : u + length], alpha=taps[u])
        out[length:] = 0.0  # the last clip's spare slots
    out.index_fill_(0, slots.pad_slots, 0.0)
    return out


def cap_motion_share(probs: torch.Tensor, bin_motion: torch.Tensor, num_motions: int, max_share: float) -> torch.Tensor:
    """Cap every motion's total mass at ``max_share`` and give the excess to the others in proportion (water-filling).

    Sorted motion masses ``m_(1) >= m_(2) >= ...``: the ``k`` largest are set to ``max_share`` and the rest scaled by
    ``(1 - k * max_share) / sum_{i > k} m_(i)``, with the smallest ``k`` that keeps the rest under the cap. Needs
    ``max_share * M >= 1``. If only zero-mass motions remain uncapped, the result is renormalised and the cap
    cannot hold. No host sync.

    Shape: (B,) -> (B,).
    """
    # per-motion masses in float64 (M values), and the uncapped rest as a suffix sum rather than total - prefix: a
    # motion with a small share gets the excess scaled by ~1/rest, so a cancellation there would show in its bins
    mass = torch.zeros(num_motions, dtype=torch.float64, device=probs.device).index_add_(0, bin_motion, probs.double())
    sorted_mass, order = torch.sort(mass, descending=True)
    k = torch.arange(num_motions, dtype=torch.float64, device=probs.device)
    rest = sorted_mass.flip(0).cumsum(0).flip(0)  # mass of motions k.. (0-based, k uncapped first)
    tiny = torch.finfo(torch.float64).tiny
    scale = (1.0 - k * max_share) / rest.clamp_min(tiny)
    valid = sorted_mass * scale <= max_share * (1 + 1e-6)
    # first valid k; if none is valid every motion is capped
    first = torch.where(valid.any(), valid.to(torch.int64).argmax(), _constant(num_motions, valid, torch.int64))
    capped_sorted = k < first
    scale_k = scale.gather(0, first.clamp_max(num_motions - 1).reshape(1))  # not scale[first]: a 0-dim index syncs
    factor_sorted = torch.where(capped_sorted, max_share / sorted_mass.clamp_min(tiny), scale_k)
    # a factor only meets zero-mass bins when it is huge: keep it finite in probs' dtype (0 * inf would be NaN)
    factor = torch.empty_like(factor_sorted).scatter_(0, order, factor_sorted)
    factor = factor.clamp_max(torch.finfo(probs.dtype).max).to(probs.dtype)
    out = probs * factor[bin_motion]
    return out / out.sum().clamp_min(torch.finfo(probs.dtype).tiny)


def draw_bins(cdf: torch.Tensor, low: torch.Tensor, high: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: the bin ``b`` with ``cdf[b - 1] <= u < cdf[b]`` for ``u = low + U * (high - low)``.

    Bins of zero mass are never drawn. Shape: (N,) -> (N,).
    """
    u = low + uniforms * (high - low)
    return torch.searchsorted(cdf, u, right=True)


def _constant(value: float, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A 0-dim tensor holding ``value`` on ``like``'s device, filled there.

    ``torch.tensor`` / ``new_tensor`` copy from the host: a synchronising copy on a GPU (an error under
    ``torch.cuda.set_sync_debug_mode("error")``).
    """
    return torch.full((), value, dtype=dtype or like.dtype, device=like.device)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats, with ``0 log 0 = 0``. Shape: (B,) -> ()."""
    return -torch.special.xlogy(probs, probs).sum()
