"""Baselines for the speed benchmark, written from BeyondMimic's published formulas (arXiv 2508.08241, Sec. III-F)
and its released code (HybridRobotics/whole_body_tracking, ``tasks/tracking/mdp/commands.py``).

- :class:`BeyondMimicStep`: BeyondMimic's single-motion step (bincount of the failed episodes' end bins, dense EMA,
  additive term, replicate pad + ``conv1d`` with the look-ahead kernel, normalise, ``torch.multinomial``).
- :class:`LoopBaseline`: the same step generalised to many motions the natural way, with a Python loop over motions;
  it computes the same distribution as the library with ``statistic="count"``, ``attribution="failure"``.

BeyondMimic's smoothing (the formula both share) is written once, in :func:`lookahead`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lookahead_kernel(kernel_size: int, decay: float, device: torch.device) -> torch.Tensor:
    """BeyondMimic's look-ahead taps ``decay**u / sum``, u = 0..K-1, as a ``conv1d`` weight. Shape: (1, 1, K)."""
    taps = torch.tensor([decay**u for u in range(kernel_size)], dtype=torch.float32)
    return (taps / taps.sum()).view(1, 1, -1).to(device)


def lookahead(score: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``s_b = sum_u k_u * x_{min(b + u, B - 1)}``: right replicate pad by K - 1, then ``conv1d``. Shape: (B,)."""
    x = F.pad(score.view(1, 1, -1), (0, kernel.shape[-1] - 1), mode="replicate")
    return F.conv1d(x, kernel).view(-1)


class LoopBaseline:
    """BeyondMimic's sampler generalised to M motions with a Python loop over motions.

    It implements the library's formula for ``statistic="count"``, ``attribution="failure"``, ``bin_layout="duration"``
    and ``max_motion_share=1``: per motion ``q_m <- (1 - alpha) q_m + alpha c_m`` every step (``c_m`` the failures
    that ended in each bin this step), score ``x_m = q_m + a / B_m`` (BeyondMimic's additive term), look-ahead
    ``s_m = conv1d(pad(x_m, (0, K - 1), "replicate"), gamma^u / sum)``, failure part ``s / sum_m sum(s_m)``, true
    mixture with the prior ``lambda * w_m * frames_b / T_m`` (uniform in time), then per motion normalised, and
    sampled in two stages: the motion by its mass, then the bin inside it by ``torch.multinomial``.

    Args:
        bins_per_motion: Shape: (M,).
        num_frames: Shape: (M,).
        motion_prior: Prior mass of each motion (sums to 1). Shape: (M,).
        frames_per_bin: Frames of a full bin (every clip has the same bin width in frames; the last bin may be
            partial).
    """

    def __init__(
        self,
        bins_per_motion: torch.Tensor,
        num_frames: torch.Tensor,
        motion_prior: torch.Tensor,
        *,
        ema_alpha: float,
        kernel_size: int,
        kernel_decay: float,
        uniform_ratio: float,
        additive_uniform_ratio: float,
        device: torch.device,
        generator: torch.Generator,
        frames_per_bin: float = 50.0,
    ) -> None:
        self.device = device
        self.generator = generator
        self.alpha = ema_alpha
        self.uniform_ratio = uniform_ratio
        self.bins = bins_per_motion.tolist()
        self.num_motions = len(self.bins)
        self.num_frames = num_frames.to(device)
        self.frames_per_bin = frames_per_bin
        self.additive = [additive_uniform_ratio / b for b in self.bins]
        # the prior is uniform in time inside a motion: a partial last bin gets its share of the frames
        self.prior_per_bin = []
        for w, b, t in zip(motion_prior.tolist(), self.bins, num_frames.tolist(), strict=True):
            frames = torch.full((b,), self.frames_per_bin, dtype=torch.float64)
            frames[-1] = t - self.frames_per_bin * (b - 1)
            self.prior_per_bin.append((w * frames / t).to(device=device, dtype=torch.float32))
        self.motion_prior = motion_prior.to(device=device, dtype=torch.float32)
        self.kernel = lookahead_kernel(kernel_size, kernel_decay, device)
        self.q = [torch.zeros(b, device=device) for b in self.bins]
        self.smoothed: list[torch.Tensor] = [torch.zeros(b, device=device) for b in self.bins]
        self.cond: list[torch.Tensor] = [torch.full((b,), 1.0 / b, device=device) for b in self.bins]
        self.motion_mass = self.motion_prior.clone()

    def update(self, motion_ids: torch.Tensor, end_frames: torch.Tensor, failed: torch.Tensor) -> None:
        """BeyondMimic's per-step statistics, per motion: bincount of failure bins and the dense EMA."""
        fail_motion = motion_ids[failed]
        fail_bin = torch.div(end_frames[failed], self.frames_per_bin, rounding_mode="floor").long()
        order = torch.argsort(fail_motion, stable=True)
        counts = torch.bincount(fail_motion, minlength=self.num_motions).tolist()
        chunks = fail_bin[order].split(counts)
        keep = 1.0 - self.alpha
        for m in range(self.num_motions):
            q = self.q[m].mul_(keep)
            if counts[m]:
                q.add_(torch.bincount(chunks[m], minlength=self.bins[m]), alpha=self.alpha)

    def rebuild(self) -> None:
        """Per motion: additive term, replicate pad, conv1d, then the mixture and a per-motion normalisation."""
        sums = []
        for m in range(self.num_motions):
            s = lookahead(self.q[m] + self.additive[m], self.kernel)
            self.smoothed[m] = s
            sums.append(s.sum())
        score = torch.stack(sums)
        total = score.sum()
        if bool(total > 0):
            fail_share = (1.0 - self.uniform_ratio) / total
            mass = score * fail_share + self.uniform_ratio * self.motion_prior
        else:  # no failures yet: the failure part falls back to the prior
            fail_share = torch.zeros_like(total)
            mass = self.motion_prior.clone()
        self.motion_mass = mass
        prior_scale = self.uniform_ratio if bool(total > 0) else 1.0
        # p(b | m) = (fail_share * s_b + prior_scale * prior_b) / mass_m, two ops per motion
        scale = (fail_share / mass).tolist()
        offset = (prior_scale / mass).tolist()
        for m in range(self.num_motions):
            self.cond[m] = self.smoothed[m].mul(scale[m]).add_(self.prior_per_bin[m], alpha=offset[m])

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Motion by its mass, then per motion its bins by ``torch.multinomial``; a uniform frame inside the bin."""
        motion_ids = torch.multinomial(self.motion_mass, n, replacement=True, generator=self.generator)
        order = torch.argsort(motion_ids, stable=True)
        counts = torch.bincount(motion_ids, minlength=self.num_motions).tolist()
        chunks = []
        for m, c in enumerate(counts):
            if c:
                chunks.append(torch.multinomial(self.cond[m], c, replacement=True, generator=self.generator))
        bins = torch.empty(n, dtype=torch.int64, device=self.device)
        bins[order] = torch.cat(chunks)
        u = torch.rand(n, device=self.device, generator=self.generator)
        frames = ((bins + u) * self.frames_per_bin).long()
        frames = torch.minimum(frames, self.num_frames[motion_ids] - 1)
        return motion_ids, frames

    def step(self, motion_ids: torch.Tensor, end_frames: torch.Tensor, failed: torch.Tensor, n: int) -> None:
        """One environment step: statistics, distribution, the resets' draws (BeyondMimic recomputes every step)."""
        self.update(motion_ids, end_frames, failed)
        self.rebuild()
        self.sample(n)

    def probabilities(self) -> torch.Tensor:
        """Flat table ``mass_m * p(b | m)`` in motion order. Shape: (B,)."""
        return torch.cat([c * self.motion_mass[m] for m, c in enumerate(self.cond)])


class BeyondMimicStep:
    """BeyondMimic's single-motion step over ``num_bins`` bins of one clip of ``num_frames`` frames.

    Per step: the bin of each failed episode's last frame, ``bincount``, the dense EMA, the additive term, replicate
    pad + ``conv1d``, normalise, ``torch.multinomial`` and the start frame ``((bin + U) / B * (T - 1))``.
    """

    def __init__(
        self,
        num_bins: int,
        num_frames: int,
        *,
        ema_alpha: float,
        kernel_size: int,
        kernel_decay: float,
        uniform_ratio: float,
        device: torch.device,
        generator: torch.Generator,
    ) -> None:
        self.num_bins = num_bins
        self.num_frames = num_frames
        self.alpha = ema_alpha
        self.uniform_ratio = uniform_ratio
        self.device = device
        self.generator = generator
        self.kernel = lookahead_kernel(kernel_size, kernel_decay, device)
        self.failed_count = torch.zeros(num_bins, device=device)

    def step(self, end_frames: torch.Tensor, failed: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One environment step: the failures' bins, the EMA, the distribution and ``n`` draws (bins, frames)."""
        bins_of_end = torch.clamp((end_frames * self.num_bins) // self.num_frames, 0, self.num_bins - 1)
        current = torch.bincount(bins_of_end[failed], minlength=self.num_bins)
        self.failed_count = self.alpha * current + (1 - self.alpha) * self.failed_count
        p = self.failed_count + self.uniform_ratio / float(self.num_bins)
        p = lookahead(p, self.kernel)
        p = p / p.sum()
        bins = torch.multinomial(p, n, replacement=True, generator=self.generator)
        u = torch.rand(n, device=self.device, generator=self.generator)
        frames = ((bins + u) / self.num_bins * (self.num_frames - 1)).long()
        return bins, frames


class PlainInverseCdf:
    """The library's earlier draw, before its blocked CDF: a float64 prefix sum over every slot, one ``searchsorted``.

    Built from a sampler's current distribution and tables; with a generator in the sampler's state it draws what the
    sampler drew before (the benchmark checks the draws are identical and times both).
    """

    def __init__(self, sampler, generator: torch.Generator) -> None:
        self.generator = generator
        self.device = sampler.device
        self.cdf = torch.cumsum(sampler._probs, 0, dtype=torch.float64)
        self.last_real_slot = sampler._last_real_slot
        self.slot_motion = sampler._slots.slot_motion
        self.slot_start_frame = sampler._to_slots(sampler.layout.bin_start_frame)
        self.slot_num_frames = sampler._to_slots(sampler.layout.bin_num_frames, fill=1)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` starts (motion ids, local frames): a bin by inverse CDF, a uniform frame inside it."""
        u, r = torch.rand((2, n), dtype=torch.float64, device=self.device, generator=self.generator)
        slots = torch.searchsorted(self.cdf, u.mul_(self.cdf[-1]), right=True).clamp_max_(self.last_real_slot)
        width = torch.index_select(self.slot_num_frames, 0, slots)
        offset = torch.minimum((r * width).long(), width - 1)
        motion = torch.index_select(self.slot_motion, 0, slots)
        frames = torch.index_select(self.slot_start_frame, 0, slots).add_(offset)
        return motion, frames
