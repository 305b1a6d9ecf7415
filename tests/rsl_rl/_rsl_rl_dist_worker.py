"""One rank of the runner's 2-process gloo test: trains a few iterations, saves its sampler tables and state.

Run as ``python _rsl_rl_dist_worker.py RANK WORLD PORT OUT_DIR``. WORLD_SIZE is not set, so rsl-rl itself does not
go distributed (it would insist on CUDA and NCCL); the process group exists, which is what the sampler syncs over.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from _rsl_rl_helpers import make_env, small_train_cfg
from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner

from adaptive_sampling import AdaptiveSamplerCfg


def main() -> None:
    rank, world, port = (int(a) for a in sys.argv[1:4])
    out_dir = Path(sys.argv[4])
    torch.set_num_threads(1)
    torch.manual_seed(rank)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        # ema_alpha=0 keeps plain counts, so the synced totals must be the sum of the ranks' own segments.
        cfg = AdaptiveSamplerCfg(seed=rank, ema_alpha=0.0, rebuild_every=5)
        # A tight threshold makes segments end (and differ between ranks) within a few iterations.
        env = make_env(num_envs=24, seed=rank, cfg=cfg, failure_threshold=0.02)
        sampler = env.adaptive_sampler
        local = {"segments": 0, "failures": 0.0}
        record = sampler.record

        def counting_record(motion_ids, start_frames, end_frames, failed):
            local["segments"] += int(motion_ids.numel())
            local["failures"] += float(failed.float().sum())
            return record(motion_ids, start_frames, end_frames, failed)

        sampler.record = counting_record
        with contextlib.redirect_stdout(io.StringIO()):
            runner = AdaptiveSamplingRunner(env, small_train_cfg(), log_dir=str(out_dir / f"logs{rank}"))
            runner.learn(3)
        torch.save(
            {
                "tables": sampler.tables(),
                "state": sampler.state_dict(),
                "local_segments": local["segments"],
                "local_failures": local["failures"],
            },
            out_dir / f"rank{rank}.pt",
        )
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
