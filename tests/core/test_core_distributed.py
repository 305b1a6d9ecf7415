"""torch.distributed sync with real processes on the gloo backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _dist_worker import FPS, FRAMES, SCENARIOS, make_cfg, rank_events
from _gloo import run_ranks

from adaptive_sampling import AdaptiveSampler

WORKER = Path(__file__).with_name("_dist_worker.py")
pytestmark = pytest.mark.distributed


def launch(world: int, scenario: str, out_dir: Path, timeout: float = 90.0) -> None:
    """Run ``world`` worker processes to completion; fail (and stop them) if one fails or they hang."""
    run_ranks(WORKER, world, [str(out_dir), scenario], timeout)


def single_process_union(scenario: str, world: int) -> AdaptiveSampler:
    """One sampler that records the events of all ranks in every step."""
    sampler = AdaptiveSampler(make_cfg(scenario, seed=0), FRAMES, FPS)
    for step in range(SCENARIOS[scenario][1]):
        events = [rank_events(rank, step) for rank in range(world)]
        sampler.record(*(torch.cat([e[i] for e in events]) for i in range(4)))
        sampler.step()
    return sampler


@pytest.mark.parametrize(("world", "scenario"), [(2, "basic"), (3, "basic"), (3, "fold")])
def test_ranks_hold_identical_statistics_equal_to_union(tmp_path, world, scenario):
    """Each rank records different events and steps to a rebuild (in "fold" also through the internal fold of the
    lazy accumulators): afterwards every rank holds bitwise identical statistics and probabilities, equal to one
    process that recorded the union of the events; ranks still draw different samples (own generators)."""
    if scenario == "fold":  # check the scenario does what it claims: a fold without a rebuild before the last step
        probe = AdaptiveSampler(make_cfg(scenario, seed=0), FRAMES, FPS)
        for _ in range(SCENARIOS[scenario][1] - 1):
            probe.step()
        assert probe.state_dict()["t0"] > 0
    launch(world, scenario, tmp_path)
    results = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(world)]
    states = [r["state"] for r in results]
    keys = sorted(k for k, v in states[0].items() if isinstance(v, torch.Tensor) and k != "generator_state")
    assert "probabilities" in keys
    for state in states[1:]:
        for key in keys:
            assert torch.equal(state[key], states[0][key]), key
        assert state["clock"] == states[0]["clock"]
    for gathered in (r["gathered"] for r in results):
        assert all(torch.equal(p, gathered[0]) for p in gathered)

    union = single_process_union(scenario, world).state_dict()
    for key in keys:
        if states[0][key].is_floating_point():
            torch.testing.assert_close(states[0][key], union[key], rtol=1e-5, atol=1e-7, msg=key)
        else:
            assert torch.equal(states[0][key], union[key]), key
    # the run was not trivial: the learned distribution is far from the prior
    p = states[0]["probabilities"].double()
    assert float(p.max() / p.min()) > 1.5

    samples = [r["samples"] for r in results]
    for i in range(world):
        for j in range(i + 1, world):
            assert not torch.equal(samples[i][1], samples[j][1]), "ranks must draw with their own generators"


def test_clock_mismatch_between_ranks_is_reported(tmp_path):
    """If ranks reach a rebuild at different clocks (one stepped less), sync raises ValueError on every rank
    naming the clock, instead of merging inconsistent statistics."""
    launch(2, "mismatch", tmp_path)
    for rank in range(2):
        message = (tmp_path / f"rank{rank}.txt").read_text()
        assert message.startswith("ValueError") and "clock" in message and "differs between ranks" in message, message
