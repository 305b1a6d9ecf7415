"""A fixed stream of draws, saved before the sampler was split into modules: the same seed must keep giving the
same starts and the same distribution, bit for bit, through restructurings that promise not to change behaviour.

Regenerate (only on a deliberate change of behaviour, and say so in the commit):
``python tests/core/test_core_stream.py --write``.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

import pytest
import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

DATA = pathlib.Path(__file__).with_name("data") / "stream_v1.json"
FRAMES = [120, 90, 200, 57]
FPS = [50.0, 30.0, 50.0, 25.0]
NAMES = ["walk", "run", "jump", "spin"]

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "beyondmimic": {"preset": "beyondmimic"},
    "paper": {"preset": "paper"},
    "uniform": {"preset": "uniform"},
    "count_cap_weights": dict(
        statistic="count", kernel_size=4, kernel_decay=0.6, max_motion_share=0.4, prior="weights", ema_alpha=0.05
    ),
    "rate_additive_duration": dict(
        additive_uniform_ratio=0.2, prior="duration", rebuild_every=3, eval_start="uniform", ema_alpha=0.3
    ),
}


def make(name: str, frames=FRAMES, fps=FPS, names=NAMES) -> AdaptiveSampler:
    values = dict(CONFIGS[name])
    preset = values.pop("preset", None)
    values.setdefault("rebuild_every", 2)
    cfg = getattr(AdaptiveSamplerCfg, preset)(seed=7, **values) if preset else AdaptiveSamplerCfg(seed=7, **values)
    weights = [1.0, 2.0, 0.5, 3.0][: len(frames)] if cfg.prior == "weights" else None
    return AdaptiveSampler(cfg, frames, fps, names, motion_weights=weights)


def stream(name: str) -> dict[str, list]:
    """Draws and distributions of one configuration over 40 steps, a save/load into a fresh sampler, a remap into a
    changed library, and evaluation-mode draws."""
    g = torch.Generator().manual_seed(123)
    s = make(name)
    out: dict[str, list] = {"ids": [], "frames": [], "probabilities": []}
    num_frames = s.layout.num_frames
    ids, starts = s.sample(16)
    for step in range(40):
        lengths = torch.randint(0, 60, (16,), generator=g)
        ends = torch.minimum(starts + lengths, num_frames[ids] - 1)
        failed = torch.rand(16, generator=g) < 0.3 + 0.5 * (ids == 2).float()
        done = torch.rand(16, generator=g) < 0.5
        k = done.nonzero().flatten()
        s.record(ids[k], starts[k], ends[k], failed[k] if step % 2 else failed[k].float() * 0.75)
        new_ids, new_starts = s.sample(k.numel())
        ids[k], starts[k] = new_ids, new_starts
        if step % 5 == 4:
            cond_ids, cond_frames = s.sample(motion_ids=torch.tensor([0, 1, 2, 3, 3]))
            out["ids"] += cond_ids.tolist()
            out["frames"] += cond_frames.tolist()
        s.step()
        out["ids"] += new_ids.tolist()
        out["frames"] += new_starts.tolist()
        if step == 20:
            resumed = make(name)
            resumed.load_state_dict(s.state_dict())
            s = resumed
    out["probabilities"] = s.probabilities.tolist()
    changed = make(name, FRAMES[:3] + [80], FPS[:3] + [25.0], NAMES[:3] + ["new"])
    report = changed.load_state_dict(s.state_dict(), remap=True)
    out["remap_report"] = [report.kept, report.added, report.dropped]
    changed.rebuild()
    out["remap_probabilities"] = changed.probabilities.tolist()
    out["remap_draws"] = [t.tolist() for t in changed.sample(32)]
    s.eval()
    out["eval_draws"] = [t.tolist() for t in s.sample(16)]
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_stream_is_bit_identical_to_the_saved_one(name):
    """Starts drawn, conditional starts, the distribution after 40 steps, a resumed run, a remapped library and
    evaluation draws equal those saved before the split, exactly."""
    saved = json.loads(DATA.read_text())[name]
    got = stream(name)
    assert got["ids"] == saved["ids"]
    assert got["frames"] == saved["frames"]
    assert got["probabilities"] == saved["probabilities"]
    assert got["remap_report"] == saved["remap_report"]
    assert got["remap_probabilities"] == saved["remap_probabilities"]
    assert got["remap_draws"] == saved["remap_draws"]
    assert got["eval_draws"] == saved["eval_draws"]


if __name__ == "__main__" and "--write" in sys.argv:
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps({name: stream(name) for name in CONFIGS}, separators=(",", ":")) + "\n")
    print(f"wrote {DATA}")
