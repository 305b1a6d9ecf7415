"""Write the checkpoint of release 0.1.0 that tests/release/test_state_compat.py loads.

Kept for the record: it ran once, on release 0.1.0 (STATE_VERSION 1); run on a later release it would write that
release's format instead, so never rerun it to "fix" the test.

    python tests/release/make_state_0_1_0.py    # writes tests/data/sampler_state_0.1.0.pt and .json
"""

import json
from pathlib import Path

import torch

import adaptive_sampling
from adaptive_sampling import STATE_VERSION, AdaptiveSampler, AdaptiveSamplerCfg

DATA = Path(__file__).resolve().parents[1] / "data"
LIBRARY = {"num_frames": [150, 260, 95], "fps": [30.0, 50.0, 30.0], "motion_names": ["walk", "jump", "spin"]}
CFG = {"seed": 7, "rebuild_every": 10, "kernel_size": 3, "ema_alpha": 0.05}
SAMPLE_IDS = [0, 1, 2, 2, 1, 0]


def unpadded(table: torch.Tensor) -> list[list[float]]:
    """The rows of a NaN-padded (motion x bin) table without the padding (JSON has no NaN)."""
    return [row[~row.isnan()].tolist() for row in table]


def main() -> None:
    sampler = AdaptiveSampler(AdaptiveSamplerCfg(**CFG), **LIBRARY)
    g = torch.Generator().manual_seed(0)
    frames = torch.tensor(LIBRARY["num_frames"])
    for _ in range(23):  # 2 rebuilds, then 3 steps: pending statistics and a clock mid-cycle are saved too
        ids, starts = sampler.sample(8)
        ends = torch.minimum(starts + torch.randint(1, 120, (8,), generator=g), frames[ids] - 1)
        sampler.record(ids, starts, ends, (ids == 1) & (torch.rand(8, generator=g) < 0.7))
        sampler.step()
    state = sampler.state_dict()
    assert state["version"] == STATE_VERSION == 1 and state["steps_since_rebuild"] == 3
    tables = sampler.tables()
    draws = sampler.sample(16)
    draws_in = sampler.sample(motion_ids=torch.tensor(SAMPLE_IDS))
    torch.save(state, DATA / "sampler_state_0.1.0.pt")
    expected = {
        "release": adaptive_sampling.__version__,
        "state_version": STATE_VERSION,
        "library": LIBRARY,
        "config": CFG,
        "probabilities": state["probabilities"].tolist(),
        "failures": unpadded(tables["failures"]),
        "visits": unpadded(tables["visits"]),
        "sample_16": {"motion_ids": draws[0].tolist(), "start_frames": draws[1].tolist()},
        "sample_in_motions": {"motion_ids": SAMPLE_IDS, "start_frames": draws_in[1].tolist()},
    }
    (DATA / "sampler_state_0.1.0.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
