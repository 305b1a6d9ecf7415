"""torch.distributed helpers: the sampler works unchanged when no process group exists."""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_active() -> bool:
    """True when a process group with more than one rank is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum_(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all ranks in place (no-op without a process group)."""
    if is_active():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def check_same_across_ranks(value: int, name: str) -> None:
    """Raise ``ValueError`` when the integer ``value`` differs between ranks (one small collective)."""
    if not is_active():
        return
    device = torch.device("cpu") if dist.get_backend() == "gloo" else torch.device("cuda", torch.cuda.current_device())
    t = torch.tensor([value, -value], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    high, low = int(t[0]), -int(t[1])
    if high != low:
        raise ValueError(
            f"{name} differs between ranks (from {low} to {high}); every rank must call step() equally often "
            "before sync()"
        )
