"""The exact cumulative distribution the sampler draws from, built without a serial pass over the whole table.

A float64 prefix sum over millions of bins is one serial chain of additions (a few ns per bin on a CPU, tens of
memory passes), and its rounding makes each draw depend on that exact chain. Here every probability is first put on
the grid of multiples of ``2^-52`` (``(p + 1) - 1`` in float64: a rounding of at most ``2^-53`` per bin, and none for
``p >= 2^-29``). Every partial sum of such values below 2 is then exact in float64, so the prefix sum has the same
value whatever the order of the additions: the table is cut into blocks of :data:`BLOCK` slots, the rebuild only sums
each block (a vectorised reduction) and prefix-sums the block totals, and a draw finds its block by a binary search
over the block ends, then its slot by a binary search in the prefix sums of its block's 16 values. The result is exactly
``searchsorted(cumsum(grid), v, right=True)``; when every probability is ``>= 2^-29`` (or 0) the grid is the float32
probabilities themselves and this is bit for bit the plain float64 ``cumsum`` + ``searchsorted`` of the float32
probabilities, the sampler's earlier inverse CDF.

Small tables (at most :data:`FULL_CDF_MAX_SLOTS` slots) keep the whole exact prefix sum and search it directly: a
draw is then one ``searchsorted``, and the results are the same as the blocked search (tested against each other).
"""

from __future__ import annotations

import torch

BLOCK = 16
"""Slots per block of the two-level search (one 128-byte float64 row per draw)."""

FULL_CDF_MAX_SLOTS = 1 << 15
"""Tables up to this many slots keep the full prefix sum (a draw is one binary search); larger ones are blocked."""


class ExactCdf:
    """The exact inverse CDF of a probability table over ``num_slots`` slots (float32 probabilities, float64 CDF).

    Buffers are allocated once; :meth:`build` and :meth:`search` make no host sync.

    Args:
        num_slots: Length S of the probability tables passed to :meth:`build`.
        device: Device of the buffers.
        blocked: Force the two-level (``True``) or the full (``False``) layout; default by size.
    """

    def __init__(self, num_slots: int, device: torch.device, *, blocked: bool | None = None) -> None:
        self.num_slots = num_slots
        self.blocked = num_slots > FULL_CDF_MAX_SLOTS if blocked is None else blocked
        self.num_blocks = -(-num_slots // BLOCK)
        length = self.num_blocks * BLOCK if self.blocked else num_slots
        self.grid = torch.zeros(length, dtype=torch.float64, device=device)
        """The probabilities on the ``2^-52`` grid (0 past ``num_slots``). Shape: (S rounded up to BLOCK,)."""
        if self.blocked:
            self._ones = torch.ones(BLOCK, dtype=torch.float64, device=device)
            self.block_ends = torch.zeros(self.num_blocks, dtype=torch.float64, device=device)
            """CDF at the end of each block. Shape: (S / BLOCK,)."""
            self.block_starts = torch.zeros(self.num_blocks, dtype=torch.float64, device=device)
            """CDF before each block. Shape: (S / BLOCK,)."""
            self.cdf = None
        else:
            self.cdf = torch.zeros(num_slots, dtype=torch.float64, device=device)
            """The full CDF (small tables only). Shape: (S,)."""

    @property
    def total(self) -> torch.Tensor:
        """The exact sum of the grid values (0-dim view, updated by :meth:`build`)."""
        return self.block_ends[-1] if self.blocked else self.cdf[-1]

    def build(self, probs: torch.Tensor) -> None:
        """Put ``probs`` (float32, in [0, 1]) on the grid and build the CDF. Shape: (S,)."""
        grid = self.grid[: self.num_slots]
        grid.copy_(probs).add_(1.0).sub_(1.0)  # exact: the rounding happens in the addition only
        if self.blocked:
            # block sums as a matrix-vector product (a BLAS kernel; exact in any order), then their prefix sum
            torch.mv(self.grid.view(self.num_blocks, BLOCK), self._ones, out=self.block_starts)
            torch.cumsum(self.block_starts, 0, out=self.block_ends)
            self.block_starts[0] = 0.0
            self.block_starts[1:] = self.block_ends[:-1]
        else:
            torch.cumsum(grid, 0, out=self.cdf)

    def search(self, values: torch.Tensor) -> torch.Tensor:
        """``searchsorted(cdf, values, right=True)``: the first slot whose CDF exceeds each value.

        A value at or past the total (none exceeds it) gives an index ``>= S``: ``S`` with the full prefix sum, the end
        of the padded table with blocks.

        Shape: (N,) -> (N,), int64.
        """
        if not self.blocked:
            return torch.searchsorted(self.cdf, values, right=True)
        block = torch.searchsorted(self.block_ends, values, right=True).clamp_max_(self.num_blocks - 1)
        # v - (CDF before the block) is exact: both are multiples of ulp(v) and the difference is at most v
        inside = torch.sub(values, torch.index_select(self.block_starts, 0, block)).unsqueeze_(1)
        inside = torch.searchsorted(self._local_cdf(block), inside, right=True).squeeze_(1)
        return inside.add_(block, alpha=BLOCK)

    def at(self, slots: torch.Tensor) -> torch.Tensor:
        """The CDF at each slot (inclusive), float64. Shape: (N,) -> (N,)."""
        if not self.blocked:
            return self.cdf[slots]
        block = torch.div(slots, BLOCK, rounding_mode="floor")
        local = self._local_cdf(block).gather(1, torch.remainder(slots, BLOCK).unsqueeze(1)).squeeze(1)
        return local.add_(torch.index_select(self.block_starts, 0, block))

    def _local_cdf(self, block: torch.Tensor) -> torch.Tensor:
        """The prefix sums inside each given block (exact). Shape: (N,) -> (N, BLOCK)."""
        return torch.index_select(self.grid.view(self.num_blocks, BLOCK), 0, block).cumsum_(1)
