"""The state format module: the upgrade hook for the next version, and the pure formula function."""

from __future__ import annotations

import copy

import pytest
import torch
from _core_reference import state_equal

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg, kernels, state


@pytest.fixture
def saved() -> dict:
    s = AdaptiveSampler(AdaptiveSamplerCfg(seed=0, rebuild_every=1), [120, 90], [50.0, 30.0], ["a", "b"])
    s.record(torch.tensor([0, 1]), torch.tensor([0, 10]), torch.tensor([100, 80]), torch.tensor([True, False]))
    s.step()
    return s.state_dict()


def test_current_version_passes_through_the_upgrade_hook(saved):
    """upgrade_state returns a state of the current version as it is (same object, unchanged)."""
    snapshot = copy.deepcopy(saved)
    assert state.upgrade_state(saved) is saved
    assert state_equal(snapshot, saved)


def test_upgrade_hook_runs_for_an_older_version(saved, monkeypatch):
    """With a version 2 format and an entry UPGRADES[1], a version 1 state is upgraded on validation (a new dict;
    the argument is not modified); without an upgrade path an older version is rejected naming the version."""
    monkeypatch.setattr(state, "STATE_VERSION", 2)
    monkeypatch.setitem(state.UPGRADES, 1, lambda old: {**old, "version": 2, "new_key": 7})
    snapshot = copy.deepcopy(saved)
    upgraded = state.validated_state(saved)
    assert upgraded["version"] == 2 and upgraded["new_key"] == 7
    assert state_equal(snapshot, saved)
    monkeypatch.delitem(state.UPGRADES, 1)
    with pytest.raises(ValueError, match=r"state_dict\['version'\] 1 cannot be upgraded to 2"):
        state.validated_state(saved)


def test_start_distribution_hand_computed():
    """kernels.start_distribution on one clip of 3 bins, rate statistic (r0 = 0.5, n0 = 1, no decay), K = 2 taps
    (2/3, 1/3), motion prior, lambda = 0.1: rates (1 + .5)/(1 + 1) = .75, .5, .5 -> smoothed .6667, .5, .5 -> tilted
    by the prior (1/3 each) and normalised -> mixed with the prior."""
    cfg = AdaptiveSamplerCfg(kernel_size=2, kernel_decay=0.5, uniform_ratio=0.1)
    slots = kernels.PaddedSlots.build(torch.tensor([3]), pad=1)
    failures = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    visits = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    prior = torch.tensor([1 / 3, 1 / 3, 1 / 3, 0.0])
    taps = kernels.exponential_taps(2, 0.5)
    p = kernels.start_distribution(cfg, failures, visits, 1.0, prior, torch.zeros(4), taps, slots, 1)
    smoothed = [2 / 3 * 0.75 + 1 / 3 * 0.5, 0.5, 0.5]
    expected = [0.9 * x / sum(smoothed) + 0.1 / 3 for x in smoothed] + [0.0]
    torch.testing.assert_close(p.double(), torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-7)


def test_sampler_probabilities_are_start_distribution_of_its_statistics():
    """The sampler's distribution is exactly kernels.start_distribution of its merged statistics (one formula)."""
    cfg = AdaptiveSamplerCfg(seed=0, rebuild_every=1, max_motion_share=0.6, additive_uniform_ratio=0.05)
    s = AdaptiveSampler(cfg, [120, 90, 40], [50.0, 30.0, 25.0])
    s.record(
        torch.tensor([0, 1, 2]), torch.tensor([0, 10, 3]), torch.tensor([100, 80, 30]), torch.tensor([1.0, 0.0, 1.0])
    )
    s.step()
    p = kernels.start_distribution(
        s.cfg, s._failures, s._visits, s._decay(), s._prior, s._additive, s._taps, s._slots, s.num_motions
    )
    assert torch.equal(p[s._slots.slot_of_bin], s.probabilities)
