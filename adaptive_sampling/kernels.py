"""Pure functions on tensors: the formulas of adaptive sampling, in one place.

Symbols: B flat bins over all motions, M motions, K kernel taps, E recorded segments, N samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def exponential_taps(kernel_size: int, decay: float) -> list[float]:
    """Normalised look-ahead taps ``decay**u / sum_u decay**u``, ``u = 0..K-1`` (plain floats: no device sync)."""
    taps = [decay**u for u in range(kernel_size)]
    total = sum(taps)
    return [t / total for t in taps]


def failure_rate(failures: torch.Tensor, visits: torch.Tensor, prior_rate: float, prior_visits: float) -> torch.Tensor:
    """Smoothed failure rate with a Beta-style prior: ``(F + r0 * n0) / (N + n0)``.

    An unvisited bin gets ``r0``; a bin visited often tends to ``F / N``. Shape: (B,).
    """
    return (failures + prior_rate * prior_visits) / (visits + prior_visits)


def lookahead_padding_index(bins_per_motion: torch.Tensor, kernel_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Index maps for the per-clip replicate-padded layout used by :func:`lookahead_smooth`.

    Each motion's bins are followed by ``K - 1`` spare slots that repeat its last bin, so a kernel never reads
    across a clip boundary.

    Returns:
        ``(position, source)``: ``position[b]`` is flat bin ``b``'s slot in the padded buffer, shape (B,);
        ``source[s]`` is the flat bin whose value padded slot ``s`` holds, shape (B + M * (K - 1),).
    """
    device = bins_per_motion.device
    num_motions = bins_per_motion.numel()
    pad = kernel_size - 1
    padded_len = bins_per_motion + pad
    padded_offsets = torch.zeros(num_motions + 1, dtype=torch.int64, device=device)
    padded_offsets[1:] = torch.cumsum(padded_len, 0)
    bin_offsets = torch.zeros(num_motions + 1, dtype=torch.int64, device=device)
    bin_offsets[1:] = torch.cumsum(bins_per_motion, 0)
    slot_motion = torch.repeat_interleave(torch.arange(num_motions, device=device), padded_len)
    slot_index = torch.arange(int(padded_offsets[-1]), device=device) - padded_offsets[slot_motion]
    source = bin_offsets[slot_motion] + torch.minimum(slot_index, bins_per_motion[slot_motion] - 1)
    bin_motion = torch.repeat_interleave(torch.arange(num_motions, device=device), bins_per_motion)
    position = torch.arange(int(bin_offsets[-1]), device=device) + pad * bin_motion
    return position, source


def lookahead_smooth(
    values: torch.Tensor, taps: Sequence[float], position: torch.Tensor, source: torch.Tensor
) -> torch.Tensor:
    """Look-ahead ("non-causal") kernel inside each clip: ``out[b] = sum_u taps[u] * values[min(b + u, last_b)]``.

    A high value at bin ``b + u`` raises the bins *before* it, where a policy can still recover. Beyond the clip's
    last bin the last value repeats (replicate padding), so clips never bleed into each other. Equivalent to
    BeyondMimic's ``conv1d(pad(x, (0, K - 1), "replicate"), taps)`` per clip, done for all clips at once with K
    shifted slices of one padded buffer.

    Args:
        values: Per-bin values. Shape: (B,).
        taps: Kernel taps, from :func:`exponential_taps`.
        position: Slot of each bin in the padded buffer, from :func:`lookahead_padding_index`.
        source: Bin whose value each padded slot holds, from :func:`lookahead_padding_index`.

    Returns:
        Shape: (B,).
    """
    kernel_size = len(taps)
    if kernel_size == 1:
        return values * taps[0]
    padded = values[source]
    length = padded.numel() - kernel_size + 1
    out = padded[:length] * taps[0]
    for u in range(1, kernel_size):
        out.add_(padded[u : u + length], alpha=taps[u])
    return out[position]


def cap_motion_share(probs: torch.Tensor, bin_motion: torch.Tensor, num_motions: int, max_share: float) -> torch.Tensor:
    """Cap every motion's total mass at ``max_share`` and give the excess to the others in proportion (water-filling).

    Sorted motion masses ``m_(1) >= m_(2) >= ...``: the ``k`` largest are set to ``max_share`` and the rest scaled by
    ``(1 - k * max_share) / sum_{i > k} m_(i)``, with the smallest ``k`` that keeps the rest under the cap. Needs
    ``max_share * M >= 1``. If only zero-mass motions remain uncapped, the result is renormalised and the cap
    cannot hold. No host sync.

    Shape: (B,) -> (B,).
    """
    mass = torch.zeros(num_motions, dtype=probs.dtype, device=probs.device).index_add_(0, bin_motion, probs)
    total = mass.sum()
    sorted_mass, order = torch.sort(mass, descending=True)
    k = torch.arange(num_motions, dtype=probs.dtype, device=probs.device)
    rest = total - torch.cumsum(sorted_mass, 0) + sorted_mass  # mass of motions k.. (0-based, k uncapped first)
    scale = (1.0 - k * max_share) / rest.clamp_min(torch.finfo(probs.dtype).tiny)
    valid = sorted_mass * scale <= max_share * (1 + 1e-6)
    # first valid k; if none is valid every motion is capped
    first = torch.where(valid.any(), valid.to(torch.int64).argmax(), torch.tensor(num_motions, device=probs.device))
    capped_sorted = k < first
    scale_k = scale[first.clamp_max(num_motions - 1)]
    factor_sorted = torch.where(
        capped_sorted, max_share / sorted_mass.clamp_min(torch.finfo(probs.dtype).tiny), scale_k
    )
    factor = torch.empty_like(factor_sorted).scatter_(0, order, factor_sorted)
    out = probs * factor[bin_motion]
    return out / out.sum().clamp_min(torch.finfo(probs.dtype).tiny)


def cdf_of(probs: torch.Tensor) -> torch.Tensor:
    """Inclusive float64 cumulative sum; exact enough to sample a 1e-9 tail of a million-bin table. Shape: (B,)."""
    return torch.cumsum(probs.to(torch.float64), 0)


def draw_bins(cdf: torch.Tensor, low: torch.Tensor, high: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: the bin ``b`` with ``cdf[b - 1] <= u < cdf[b]`` for ``u = low + U * (high - low)``.

    Bins of zero mass are never drawn. Shape: (N,) -> (N,).
    """
    u = low + uniforms * (high - low)
    return torch.searchsorted(cdf, u, right=True)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats, with ``0 log 0 = 0``. Shape: (B,) -> ()."""
    return -torch.special.xlogy(probs, probs).sum()
