"""A checkpoint written by the previous release loads in this one and continues exactly where it stopped.

tests/data/sampler_state_0.1.0.pt is an ``AdaptiveSampler.state_dict()`` written by release 0.1.0 (STATE_VERSION 1,
by tests/release/make_state_0_1_0.py), mid-cycle (3 steps after a rebuild, pending statistics); the .json beside it
holds what that sampler did next. Policy (README "Release"): a release that raises STATE_VERSION upgrades every older
version on load, so this test keeps passing unchanged; newer versions are rejected.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((DATA / "sampler_state_0.1.0.json").read_text())


@pytest.fixture
def saved() -> dict:
    return torch.load(DATA / "sampler_state_0.1.0.pt", weights_only=True)


def unpadded(table: torch.Tensor) -> list[list[float]]:
    return [row[~row.isnan()].tolist() for row in table]


def test_fixture_is_the_previous_release(saved, expected):
    """The stored state is release 0.1.0's format (version 1) with the library the expectations describe."""
    assert expected["release"] == "0.1.0" and saved["version"] == expected["state_version"] == 1
    assert saved["layout"]["motion_names"] == expected["library"]["motion_names"]
    assert saved["steps_since_rebuild"] == 3 and saved["steps_since_rebuild"] < saved["config"]["rebuild_every"]


def test_exact_load_reproduces_the_next_draws(saved, expected):
    """Loaded into the same library, the state gives the saved distribution and statistics, and the same draws as the
    sampler that wrote it, both unconstrained and inside given motions (before the next rebuild)."""
    sampler = AdaptiveSampler(AdaptiveSamplerCfg(**expected["config"]), **expected["library"])
    report = sampler.load_state_dict(saved)
    assert report.exact and report.kept == expected["library"]["motion_names"]
    assert torch.equal(sampler.state_dict()["probabilities"], torch.tensor(expected["probabilities"]))
    tables = sampler.tables()
    assert unpadded(tables["failures"]) == expected["failures"]
    assert unpadded(tables["visits"]) == expected["visits"]
    motion_ids, start_frames = sampler.sample(16)
    assert motion_ids.tolist() == expected["sample_16"]["motion_ids"]
    assert start_frames.tolist() == expected["sample_16"]["start_frames"]
    _, start_frames = sampler.sample(motion_ids=torch.tensor(expected["sample_in_motions"]["motion_ids"]))
    assert start_frames.tolist() == expected["sample_in_motions"]["start_frames"]


def test_remap_load_keeps_motions_by_name(saved, expected):
    """Into a changed library (reordered, one motion dropped, one added) the state loads only with remap=True, and
    the statistics of the motions kept by name are those the previous release had."""
    cfg = AdaptiveSamplerCfg(**expected["config"])
    sampler = AdaptiveSampler(cfg, [260, 70, 150], [50.0, 30.0, 30.0], ["jump", "roll", "walk"])
    with pytest.raises(ValueError, match="different motion library"):
        sampler.load_state_dict(saved)
    report = sampler.load_state_dict(saved, remap=True)
    assert sorted(report.kept) == ["jump", "walk"] and report.added == ["roll"] and report.dropped == ["spin"]
    failures, visits = unpadded(sampler.tables()["failures"]), unpadded(sampler.tables()["visits"])
    for here, there in ((0, 1), (2, 0)):  # jump, walk
        assert failures[here] == pytest.approx(expected["failures"][there], rel=1e-6)
        assert visits[here] == pytest.approx(expected["visits"][there], rel=1e-6)
    assert failures[1] == [0.0, 0.0, 0.0]  # roll starts from the prior
    motion_ids, start_frames = sampler.sample(256)
    assert (start_frames < torch.tensor([260, 70, 150])[motion_ids]).all()


def test_a_newer_version_is_rejected(saved):
    """A state from a later release (a higher version) is refused with an error that names both versions."""
    saved["version"] = 99
    sampler = AdaptiveSampler(AdaptiveSamplerCfg(), [150, 260, 95], [30.0, 50.0, 30.0], ["walk", "jump", "spin"])
    with pytest.raises(ValueError, match="version'\\] is 99, newer than this library's"):
        sampler.load_state_dict(saved)
