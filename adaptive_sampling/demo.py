"""A self-contained demo: the sampler finds a planted hard segment and a toy "policy" masters it sooner.

``python -m adaptive_sampling.demo`` runs thousands of vectorised environments tracking a small library of motions
(different lengths and frame rates). Each motion has a hazard per frame; one motion has a short hard segment
whose hazard is high until it has been practised: every visit to a frame lowers its hazard (a caricature of a
policy learning). The demo compares uniform starts with adaptive starts at equal environment steps and prints the
sampler's metrics as it goes. No simulator, no training: it shows what the sampler does, in seconds.
"""

from __future__ import annotations

import argparse
import time

import torch

from .config import AdaptiveSamplerCfg
from .sampler import AdaptiveSampler

_MOTIONS = (  # name, seconds, fps, hard segment (start s, end s) or None
    ("walk", 12.0, 50.0, None),
    ("dance_cartwheel", 8.0, 30.0, (5.0, 5.6)),
    ("jog", 6.0, 50.0, None),
    ("kick", 4.0, 60.0, None),
)


class PracticeWorld:
    """Vectorised toy tracking: envs step through reference frames and fail with a per-frame hazard.

    The hazard of a frame falls as it is practised: ``hazard = base + hard * exp(-visits / practice)``.
    """

    def __init__(self, num_envs: int, practice: float, seed: int) -> None:
        self.names = [m[0] for m in _MOTIONS]
        self.fps = torch.tensor([m[2] for m in _MOTIONS])
        self.num_frames = torch.tensor([int(m[1] * m[2]) for m in _MOTIONS])
        self.offsets = torch.cat((torch.zeros(1, dtype=torch.long), torch.cumsum(self.num_frames, 0)))
        total = int(self.offsets[-1])
        self.base = torch.full((total,), 2e-5)
        self.hard = torch.zeros(total)
        for m, (_, _, fps, seg) in enumerate(_MOTIONS):
            if seg is not None:
                a, b = int(seg[0] * fps), int(seg[1] * fps)
                self.hard[self.offsets[m] + a : self.offsets[m] + b] = 0.25
        self.practice_scale = practice
        self.practice = torch.zeros(total)
        self.num_envs = num_envs
        self.gen = torch.Generator().manual_seed(seed)
        self.motion = torch.zeros(num_envs, dtype=torch.long)
        self.start = torch.zeros(num_envs, dtype=torch.long)
        self.frame = torch.zeros(num_envs, dtype=torch.long)
        self.phase = torch.zeros(num_envs)  # sub-frame time, so motions play at their own fps at 50 Hz control

    def hazard(self, global_frames: torch.Tensor) -> torch.Tensor:
        """Failure probability per control step at these frames."""
        return self.base[global_frames] + self.hard[global_frames] * torch.exp(
            -self.practice[global_frames] / self.practice_scale
        )

    def hard_segment_hazard(self) -> float:
        """Mean hazard over the planted hard segment (how far from mastered it is)."""
        frames = torch.nonzero(self.hard > 0).flatten()
        return float(self.hazard(frames).mean())


def run(sampler: AdaptiveSampler, world: PracticeWorld, steps: int, log_every: int, label: str) -> dict[str, float]:
    """Run ``steps`` control steps of the toy world with starts from ``sampler``; return final figures."""
    n = world.num_envs
    world.motion, world.start = sampler.sample(n)
    world.frame = world.start.clone()
    mastered_at = -1
    for step in range(1, steps + 1):
        g = world.offsets[world.motion] + world.frame
        world.practice.index_add_(0, g, torch.ones(n))
        failed = torch.rand(n, generator=world.gen) < world.hazard(g)
        # advance at the motion's fps under a 50 Hz control rate
        world.phase += world.fps[world.motion] / 50.0
        adv = world.phase.floor().long()
        world.phase -= adv
        nxt = world.frame + adv
        ended = nxt >= world.num_frames[world.motion]
        done = failed | ended
        ids = torch.nonzero(done).flatten()
        end_frames = torch.minimum(world.frame, world.num_frames[world.motion] - 1)
        sampler.record(world.motion[ids], world.start[ids], end_frames[ids], failed[ids])
        new_m, new_f = sampler.sample(ids.numel())
        world.motion[ids], world.start[ids], world.frame[ids] = new_m, new_f, new_f
        keep = ~done
        world.frame[keep] = nxt[keep]
        sampler.step()
        hard = world.hard_segment_hazard()
        if mastered_at < 0 and hard < 0.01:
            mastered_at = step
        if step % log_every == 0:
            m = sampler.metrics()
            print(
                f"[{label:8s}] step {step:5d}  hard-segment hazard {hard:.4f}  entropy {m['entropy']:.3f}  "
                f"eff. bins {m['effective_num_bins']:6.1f}  top1 {world.names[int(m['top1_motion'])]}"
                f"@bin{int(m['top1_bin'])} p={m['top1_prob']:.3f}  failure rate {m['mean_failure_rate']:.3f}"
            )
    return {"mastered_at": float(mastered_at), "final_hazard": world.hard_segment_hazard()}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m adaptive_sampling.demo``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--practice", type=float, default=3000.0, help="visits that cut a frame's hard hazard by e")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=250)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = {}
    for label, cfg in (
        ("uniform", AdaptiveSamplerCfg.uniform(seed=args.seed)),
        ("adaptive", AdaptiveSamplerCfg(seed=args.seed)),
    ):
        world = PracticeWorld(args.num_envs, args.practice, args.seed)
        sampler = AdaptiveSampler(cfg, world.num_frames, world.fps, world.names)
        t0 = time.perf_counter()
        results[label] = run(sampler, world, args.steps, args.log_every, label)
        results[label]["seconds"] = time.perf_counter() - t0
        if label == "adaptive":
            table = sampler.tables()
            m = world.names.index("dance_cartwheel")
            probs = table["probability"][m]
            probs = probs[~probs.isnan()]
            print("\nadaptive start probability per 1 s bin of 'dance_cartwheel' (hard segment at 5.0-5.6 s):")
            print("  " + " ".join(f"{float(p):.3f}" for p in probs))
            print(f"  its share of all starts: {float(table['motion_mass'][m]):.3f} (prior share 0.250)\n")
    print(f"{'sampler':10s} {'hard segment mastered at step':>30s} {'final hazard':>13s} {'wall s':>7s}")
    for label, r in results.items():
        mastered = "never" if r["mastered_at"] < 0 else f"{int(r['mastered_at'])}"
        print(f"{label:10s} {mastered:>30s} {r['final_hazard']:13.4f} {r['seconds']:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
