"""The exact cumulative distribution the sampler draws from, and a branch-free search of it.

Every probability is put on the grid of multiples of ``2^-52``: ``round(p * 2^52)``, an integer (half to even, the
rounding of ``(p + 1) - 1`` in float64; no change for ``p >= 2^-29``, at most ``2^-53`` otherwise). The CDF is the
prefix sum of these integers in int64 (exact in any order; an integer prefix sum also runs several times faster on a
CPU than a float64 one), and ``cdf[j] * 2^-52`` is exactly the float64 prefix sum of the grid values. When every
probability is ``>= 2^-29`` (or 0) the grid values are the float32 probabilities themselves, and a draw is bit for bit
the plain ``searchsorted(cumsum(probs, dtype=float64), u * total, right=True)``, the sampler's earlier inverse CDF.

A value ``v`` compares with the CDF as ``floor(v * 2^52)`` (exact: ``v * 2^52`` scales by a power of two and stays below
``2^53``), and the search is branch free: each of
``ceil(log2(S + 1))`` rounds gathers one CDF entry per value, compares and moves the position by a power of two
(:meth:`ExactCdf.search`). ``torch.searchsorted`` costs a branch misprediction per level and one dependent cache miss
after another per value; the rounds here are whole-tensor operations whose gathers overlap in memory, and the same
sequence of operations runs every call (no host sync, fixed shapes). They pay off from about a thousand values on the
CPU; fewer values (a few resets per step), and every search on a GPU (where a search costs no misprediction and each
round would be a kernel launch), go through ``torch.searchsorted`` over the same CDF, with the same results.
"""

from __future__ import annotations

import torch

_SCALE = 2.0**52
"""CDF units per unit of probability."""

BLOCK = 16
"""Slots per block of the two-level search in large tables (two 64-byte lines of CDF entries)."""

TWO_LEVEL_MIN_SLOTS = 1 << 15
"""Tables of at least this many slots search their block ends first (a table that stays in cache), then the block."""

ROUNDS_MIN_VALUES = 1024
"""On the CPU, searches of at least this many values run the branch-free rounds; fewer go through searchsorted."""


class ExactCdf:
    """The exact inverse CDF of a probability table over ``num_slots`` slots (float32 probabilities, integer CDF).

    Buffers are allocated once; :meth:`build` and :meth:`search` make no host sync.

    Large tables search in two levels: the CDF at the end of every block of :data:`BLOCK` slots (a table 16 times
    smaller, whose entries a search touches stay in cache), then ``log2(BLOCK)`` rounds inside the block. The CDF is
    padded past S to whole blocks plus one with entries equal to the total: they hold no mass, and a value at the
    total ends there (a result ``>= S``).

    Args:
        num_slots: Length S of the probability tables passed to :meth:`build`.
        device: Device of the buffers.
        block: Slots per block; default :data:`BLOCK` for tables of at least :data:`TWO_LEVEL_MIN_SLOTS` slots, 1 (one
            level) below.
    """

    def __init__(self, num_slots: int, device: torch.device, *, block: int | None = None) -> None:
        if num_slots < 1:
            raise ValueError(f"num_slots must be >= 1, got {num_slots}")
        if block is None:
            block = BLOCK if num_slots >= TWO_LEVEL_MIN_SLOTS else 1
        if block < 1 or block & (block - 1):
            raise ValueError(f"block must be a power of two >= 1, got {block}")
        self.num_slots = num_slots
        self.block = block
        num_blocks = -(-num_slots // block)
        length = num_slots if block == 1 else (num_blocks + 1) * block
        self._full = torch.zeros(length, dtype=torch.int64, device=device)
        self.cdf = self._full[:num_slots]
        """Prefix sums of ``round(p * 2^52)``: the CDF in units of ``2^-52``. Shape: (S,)."""
        self.max_result = num_slots if block == 1 else length - 1
        """The largest index a search returns (for a value at or past the total)."""
        self.total = torch.zeros((), dtype=torch.float64, device=device)
        """The exact total of the grid values, float64 (updated in place by :meth:`build`)."""
        self._scaled_total = torch.zeros((), dtype=torch.float64, device=device)
        self._grid = torch.zeros(length, dtype=torch.float32, device=device)  # 0 past S
        # int32 positions halve the traffic of the gathers (and index_select takes them)
        self._index_dtype = torch.int32 if length < 2**31 - 1 else torch.int64
        if block == 1:
            self._top = self.cdf
            self._top_source = None
        else:
            self._top = torch.zeros(num_blocks, dtype=torch.int64, device=device)
            self._top_source = self._full[: num_blocks * block].view(num_blocks, block)[:, block - 1]
        # Search schedule over the T + 1 possible results 0..T of the top table (T entries: the CDF, or the block
        # ends): the first round tests entry T - h (h the largest power of two <= T) and leaves h candidates
        # [pos, pos + h); each further round halves them by testing entry pos + m - 1. Inside a block (pos * block)
        # the same halving runs over block candidates. The views are made once: a round costs a gather, a compare
        # and an add.
        num_top = self._top.numel()
        half = 1 << (num_top.bit_length() - 1)
        self._first = self._top[num_top - half]
        self._first_step = num_top + 1 - half
        self._rounds = [(self._top[m - 1 :], m) for m in _halvings(half)]
        self._block_rounds = [(self._full[m - 1 :], m) for m in _halvings(block)]
        self.rounds_min_values: int | None = ROUNDS_MIN_VALUES if self._full.device.type == "cpu" else None
        """Searches of at least this many values run the branch-free rounds (None: never); the same results."""

    @property
    def grid(self) -> torch.Tensor:
        """The probabilities on the ``2^-52`` grid, float64 (a copy). Shape: (S,)."""
        return self._grid[: self.num_slots].double().mul_(1.0 / _SCALE)

    def build(self, probs: torch.Tensor) -> None:
        """Put ``probs`` (float32, in [0, 1]) on the grid and build the CDF. Shape: (S,)."""
        # p * 2^52 is exact in float32 (a power of two; p <= 1), and rounding it to an integer is exact too
        torch.mul(probs, _SCALE, out=self._grid[: self.num_slots]).round_()
        self._full.copy_(self._grid).cumsum_(0)
        if self._top_source is not None:
            self._top.copy_(self._top_source)
        self._scaled_total.copy_(self.cdf[-1])  # < 2^53: exact in float64
        torch.mul(self._scaled_total, 1.0 / _SCALE, out=self.total)

    def draw(self, uniforms: torch.Tensor) -> torch.Tensor:
        """``search(uniforms * total)`` for float64 uniforms in [0, 1), one multiplication less.

        ``floor((u * total) * 2^52) = floor(u * (total * 2^52))``: scaling by a power of two commutes with rounding.

        Shape: (N,) -> (N,), int32 (int64 past 2^31 slots).
        """
        return self._search_keys(torch.mul(uniforms, self._scaled_total).to(torch.int64))

    def search(self, values: torch.Tensor) -> torch.Tensor:
        """``searchsorted(cdf, values, right=True)`` in probability units: the first slot whose CDF exceeds each value.

        ``values`` are float64 in [0, 2). A value at or past the total (none exceeds it) gives an index in
        ``[S, max_result]``.

        Shape: (N,) -> (N,), int32 (int64 past 2^31 slots).
        """
        return self._search_keys(torch.mul(values, _SCALE).to(torch.int64))

    def at(self, slots: torch.Tensor) -> torch.Tensor:
        """The CDF at each slot (inclusive), float64. Shape: (N,) -> (N,)."""
        return torch.index_select(self.cdf, 0, slots).double().mul_(1.0 / _SCALE)

    def _search_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """How many CDF entries are ``<= key``, for int64 keys (CDF units). Shape: (N,) -> (N,)."""
        if self.rounds_min_values is None or keys.numel() < self.rounds_min_values:
            return torch.searchsorted(self.cdf, keys, right=True, out_int32=self._index_dtype == torch.int32)
        pos = torch.ge(keys, self._first).to(self._index_dtype).mul_(self._first_step)
        # two work buffers for all rounds: a fresh bool mask per round would cost an allocation and a conversion
        entry = torch.empty_like(keys)
        below = torch.empty_like(pos)
        for entries, step in self._rounds:
            torch.index_select(entries, 0, pos, out=entry)
            pos.add_(torch.le(entry, keys, out=below), alpha=step)
        if self._block_rounds:
            pos.mul_(self.block)  # the first slot of the block
            for entries, step in self._block_rounds:
                torch.index_select(entries, 0, pos, out=entry)
                pos.add_(torch.le(entry, keys, out=below), alpha=step)
        return pos


def _halvings(candidates: int) -> list[int]:
    """The steps ``candidates / 2, ..., 1`` of a search over a power of two of candidates."""
    steps = []
    m = candidates // 2
    while m >= 1:
        steps.append(m)
        m //= 2
    return steps
