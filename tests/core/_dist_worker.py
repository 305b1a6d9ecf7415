"""One rank of the distributed tests: records its own events, steps to rebuilds, saves what it holds.

Run as ``python _dist_worker.py RANK WORLD PORT OUT_DIR SCENARIO``; also imported by the test for the events.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

FRAMES = [120, 90, 300, 61]
FPS = [50.0, 30.0, 50.0, 24.0]
SCENARIOS = {
    # name: (config overrides, number of steps); every run ends right after a rebuild
    "basic": (dict(ema_alpha=0.05, rebuild_every=3, kernel_size=3), 6),
    # alpha 0.4: the lazy weights pass the fold bound around step 27, before the rebuild at step 30
    "fold": (dict(ema_alpha=0.4, rebuild_every=30, kernel_size=2, statistic="count"), 30),
}


def make_cfg(scenario: str, seed: int) -> AdaptiveSamplerCfg:
    return AdaptiveSamplerCfg(seed=seed, **SCENARIOS[scenario][0])


def rank_events(rank: int, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Different events per rank and step; rank r fails mostly in motion r % 4."""
    g = torch.Generator().manual_seed(1000 * rank + step)
    n = int(torch.randint(0, 20, (1,), generator=g))
    ids = torch.randint(0, len(FRAMES), (n,), generator=g)
    ids = torch.where(torch.rand(n, generator=g) < 0.5, torch.full_like(ids, rank % len(FRAMES)), ids)
    frames = torch.tensor(FRAMES)[ids]
    ends = (torch.rand(n, generator=g) * frames).long()
    starts = (torch.rand(n, generator=g) * (ends + 1)).long()
    failed = torch.rand(n, generator=g)
    return ids, starts, ends, failed


def main() -> None:
    rank, world, port = (int(a) for a in sys.argv[1:4])
    out_dir, scenario = Path(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        if scenario == "mismatch":
            run_mismatch(rank, out_dir)
            return
        sampler = AdaptiveSampler(make_cfg(scenario, seed=100 + rank), FRAMES, FPS)
        for step in range(SCENARIOS[scenario][1]):
            sampler.record(*rank_events(rank, step))
            sampler.sample(4)
            sampler.step()
        gathered = [torch.zeros_like(sampler.probabilities) for _ in range(world)]
        dist.all_gather(gathered, sampler.probabilities)
        torch.save(
            {"state": sampler.state_dict(), "samples": sampler.sample(256), "gathered": gathered},
            out_dir / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def run_mismatch(rank: int, out_dir: Path) -> None:
    """Rank 0 steps 3 times (a rebuild), rank 1 steps twice and rebuilds: both must raise, naming the clock."""
    sampler = AdaptiveSampler(make_cfg("basic", seed=rank), FRAMES, FPS)
    message = "no error"
    try:
        for _ in range(3 if rank == 0 else 2):
            sampler.step()
        if rank == 1:
            sampler.rebuild()
    except ValueError as err:
        message = f"ValueError: {err}"
    (out_dir / f"rank{rank}.txt").write_text(message)


if __name__ == "__main__":
    main()
