"""The stall clocks (``AdaptiveSamplerCfg.stall_patience``): a bin whose failure rate does not move loses its failure
weight, one whose rate moves keeps it; the clocks are saved, restored, remapped, and optional in older states."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
from adaptive_sampling.kernels import stall_weights, update_stall
from adaptive_sampling.state import STALL_KEYS

FPS = 10.0  # 10 frames per 1 s bin


def stall_cfg(**overrides) -> AdaptiveSamplerCfg:
    values = dict(
        ema_alpha=0.0,
        kernel_size=1,
        uniform_ratio=0.0,
        rebuild_every=1,
        stall_patience=2.0,
        stall_threshold=0.1,
        seed=0,
    )
    values.update(overrides)
    return AdaptiveSamplerCfg(**values)


def fail_in_bin(sampler: AdaptiveSampler, bins: list[int], failed: list[bool]) -> None:
    """One segment per entry, started and ended inside ``bins[i]`` of motion 0; then one step."""
    frames = torch.tensor([int(b * FPS) for b in bins])
    sampler.record(torch.zeros(len(bins), dtype=torch.int64), frames, frames, torch.tensor(failed))
    sampler.step()


@pytest.mark.parametrize(
    ("moves", "reference", "stalled"),
    [
        # fall: only slot 2 fell by more than 0.15; slots 1 and 3 rose (their reference follows, the clock runs)
        ("fall", [0.5, 0.75, 0.3, 0.62], [4.0, 11.0, 0.0, 6.0]),
        # any: slots 1 and 2 changed by more than 0.15 either way
        ("any", [0.5, 0.75, 0.3, 0.5], [4.0, 0.0, 0.0, 6.0]),
    ],
)
def test_update_stall_hand_computed(moves, reference, stalled):
    """A slot that moved takes the rate now as its reference and restarts its clock; the others' clocks advance by
    the steps."""
    rate = torch.tensor([0.5, 0.75, 0.3, 0.62])
    ref = torch.tensor([0.5, 0.5, 0.5, 0.5])
    clock = torch.tensor([0.0, 7.0, 3.0, 2.0])
    update_stall(rate, ref, clock, steps=4, threshold=0.15, moves=moves)
    assert ref.tolist() == pytest.approx(reference)
    assert clock.tolist() == stalled
    assert stall_weights(torch.tensor([0.0, 2.0]), 2.0).tolist() == pytest.approx([1.0, math.exp(-1.0)])


@pytest.mark.parametrize(
    ("moves", "clocks", "reference"),
    [
        # fall: bin 2's rate only rises, its clock never restarts
        ("fall", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 6.5 / 7),
        # any: it moves from the prior 0.5 to 0.75 and again to 0.875
        ("any", [0.0, 1.0, 0.0, 1.0, 2.0, 3.0], 0.875),
    ],
)
def test_a_bin_whose_rate_does_not_fall_loses_its_failure_weight_hand_computed(moves, clocks, reference):
    """Bin 2 fails on every visit (rate (k + 0.5) / (k + 1) after k steps), bin 0 never (rate 0.5 / (k + 1): it
    falls by more than 0.1 at steps 1 and 3). The distribution is the prior tilted by the rates pulled towards their
    mean under the prior, mean + (rate - mean) x exp(-clock / 2)."""
    s = AdaptiveSampler(stall_cfg(stall_moves=moves), [50], FPS)
    seen = []
    for _ in range(6):
        fail_in_bin(s, [2, 0], [True, False])
        seen.append(s.state_dict()["stall_steps"][2].item())
    assert seen == clocks
    state = s.state_dict()
    assert state["stall_reference"][2].item() == pytest.approx(reference)
    rate = torch.tensor([0.5 / 7, 0.5, 6.5 / 7, 0.5, 0.5], dtype=torch.float64)
    # bins 1, 3, 4 never visited: their rate stays the prior for 6 steps; bin 0 last moved at step 3
    clock = torch.tensor([3.0, 6.0, clocks[-1], 6.0, 6.0], dtype=torch.float64)
    assert state["stall_steps"].tolist() == clock.tolist()
    mean = rate.mean()  # the prior is uniform over the 5 bins of 1 s
    score = mean + (rate - mean) * torch.exp(-clock / 2.0)
    torch.testing.assert_close(s.probabilities.double(), score / score.sum(), rtol=1e-5, atol=1e-7)


def test_stalled_bin_gives_its_starts_back_while_a_moving_bin_keeps_them():
    """A doomed bin (fails always) and a learning bin (its failures fall) start alike; after a while without moving
    the doomed bin is back near its prior share, while the learning bin's clock restarted when its rate fell.
    Without stall clocks the doomed bin keeps the most mass."""
    shares = {}
    for patience in (0.0, 20.0):
        s = AdaptiveSampler(stall_cfg(stall_patience=patience, ema_alpha=0.05), [50], FPS)
        for step in range(200):
            learning_fails = step < 100 or step % 4 == 0 if step < 150 else step % 20 == 0
            fail_in_bin(s, [1] * 4 + [3] * 4 + [0], [True] * 4 + [learning_fails] * 4 + [False])
        shares[patience] = s.probabilities.tolist()
        clocks = s.state_dict()["stall_steps"]
    assert shares[0.0][1] > shares[0.0][3]  # without: the doomed bin 1 gets the most
    assert shares[20.0][1] < 0.5 * shares[0.0][1]
    assert shares[20.0][1] < 1.25 * 0.2  # back near its prior (5 bins of 1 s)
    assert clocks[3] < 60 < clocks[1]  # the learning bin's rate fell recently, the doomed bin's has not for long


def test_stall_off_is_the_previous_formula():
    """stall_patience = 0 gives bit for bit the distribution of a sampler that never had stall clocks (the clocks
    still exist in the state, at their start)."""
    a = AdaptiveSampler(stall_cfg(stall_patience=0.0), [50], FPS)
    for _ in range(5):
        fail_in_bin(a, [2, 0], [True, False])
    state = a.state_dict()
    assert state["stall_steps"].eq(0).all()
    rate = torch.tensor([0.5 / 6, 0.5, 5.5 / 6, 0.5, 0.5], dtype=torch.float64)
    torch.testing.assert_close(a.probabilities.double(), rate / rate.sum(), rtol=1e-6, atol=1e-8)


def test_count_statistic_ignores_the_stall_clocks():
    """With statistic="count" (no rate to watch) stall_patience changes nothing."""
    probs = []
    for patience in (0.0, 2.0):
        s = AdaptiveSampler(stall_cfg(stall_patience=patience, statistic="count", ema_alpha=0.1), [50], FPS)
        for _ in range(8):
            fail_in_bin(s, [2, 0], [True, False])
        probs.append(s.probabilities)
    assert torch.equal(probs[0], probs[1])


@pytest.mark.parametrize(
    ("name", "value", "exc"),
    [
        ("stall_patience", -1.0, ValueError),
        ("stall_patience", math.inf, ValueError),
        ("stall_patience", "1", TypeError),
        ("stall_threshold", 0.0, ValueError),
        ("stall_threshold", 1.0, ValueError),
        ("stall_threshold", math.nan, ValueError),
    ],
)
def test_bad_stall_fields_rejected(name, value, exc):
    """Out-of-range stall fields raise, naming the field and the value."""
    with pytest.raises(exc, match=rf"AdaptiveSamplerCfg\.{name}.*{value!r}" if exc is ValueError else name):
        AdaptiveSamplerCfg(**{name: value})


def test_clocks_saved_and_restored_exactly():
    """state_dict holds the clocks; a fresh sampler that loads them continues with the same distributions."""
    a = AdaptiveSampler(stall_cfg(), [50, 30], FPS)
    for _ in range(5):
        fail_in_bin(a, [2, 0], [True, False])
    b = AdaptiveSampler(stall_cfg(), [50, 30], FPS)
    b.load_state_dict(a.state_dict())
    for key in STALL_KEYS:
        assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    for _ in range(4):
        fail_in_bin(a, [2, 1], [True, True])
        fail_in_bin(b, [2, 1], [True, True])
        assert torch.equal(a.probabilities, b.probabilities)


def test_state_without_clocks_loads_with_clocks_at_their_start():
    """A state saved before the clocks existed (no stall keys) loads: every clock at 0, references at rate_prior."""
    a = AdaptiveSampler(stall_cfg(), [50], FPS)
    for _ in range(5):
        fail_in_bin(a, [2, 0], [True, False])
    old = {k: v for k, v in a.state_dict().items() if k not in STALL_KEYS}
    b = AdaptiveSampler(stall_cfg(), [50], FPS)
    b.load_state_dict(old)
    state = b.state_dict()
    assert state["stall_steps"].eq(0).all()
    assert state["stall_reference"].eq(stall_cfg().rate_prior).all()


def test_remap_keeps_the_clocks_of_kept_motions():
    """Loaded into a changed library with remap=True, a kept motion keeps its clocks, an added one starts them."""
    a = AdaptiveSampler(stall_cfg(), [50, 30], FPS, ["walk", "run"])
    for _ in range(5):
        fail_in_bin(a, [2, 0], [True, False])
    b = AdaptiveSampler(stall_cfg(), [40, 50], FPS, ["jump", "walk"])
    b.load_state_dict(a.state_dict(), remap=True)
    saved, here = a.state_dict(), b.state_dict()
    assert torch.equal(here["stall_steps"][4:], saved["stall_steps"][:5])
    assert here["stall_steps"][:4].eq(0).all()


@settings(deadline=None, max_examples=60)
@given(
    frames=st.lists(st.integers(1, 120), min_size=1, max_size=4),
    patience=st.sampled_from([0.5, 3.0, 50.0]),
    threshold=st.floats(0.01, 0.9),
    uniform_ratio=st.floats(0.0, 1.0),
    prior=st.sampled_from(["motion", "duration"]),
    data=st.data(),
)
def test_probabilities_sum_to_one_and_keep_the_floor_with_stall(
    frames, patience, threshold, uniform_ratio, prior, data
):
    """With stall clocks, however long bins stay stalled: probabilities are finite, sum to 1 and every bin keeps
    uniform_ratio x its prior."""
    cfg = AdaptiveSamplerCfg(
        stall_patience=patience,
        stall_threshold=threshold,
        uniform_ratio=uniform_ratio,
        prior=prior,
        ema_alpha=data.draw(st.sampled_from([0.0, 0.01, 0.3])),
        rebuild_every=data.draw(st.integers(1, 3)),
        seed=0,
    )
    s = AdaptiveSampler(cfg, frames, FPS)
    for _ in range(data.draw(st.integers(0, 30))):
        n = data.draw(st.integers(0, 4))
        if n:
            ids = torch.tensor(data.draw(st.lists(st.integers(0, len(frames) - 1), min_size=n, max_size=n)))
            starts = torch.tensor([data.draw(st.integers(0, frames[m] - 1)) for m in ids.tolist()])
            ends = torch.minimum(starts + 5, torch.tensor(frames)[ids] - 1)
            failed = torch.tensor(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
            s.record(ids, starts, ends, failed)
        s.step()
    p = s.probabilities.double()
    assert bool(torch.isfinite(p).all()) and abs(float(p.sum()) - 1.0) < 1e-5
    assert bool((p >= uniform_ratio * s.prior.double() * (1 - 1e-5) - 1e-12).all())


def test_rebuild_with_stall_computes_the_rate_once_and_as_without(monkeypatch):
    """With the clocks on, a rebuild computes the failure rate once (for the clocks) and the distribution from it
    equals the formula computing the rate itself."""
    from adaptive_sampling import kernels

    sampler = AdaptiveSampler(stall_cfg(ema_alpha=0.01, kernel_size=3), [40, 25], [FPS, FPS], ["a", "b"])
    for _ in range(5):
        fail_in_bin(sampler, [0, 1, 2, 3], [True, False, True, True])
    calls = []
    original = kernels.failure_rate
    monkeypatch.setattr(kernels, "failure_rate", lambda *a, **k: calls.append(1) or original(*a, **k))
    sampler.rebuild()
    assert len(calls) == 1
    monkeypatch.undo()
    expected = kernels.start_distribution(
        sampler.cfg,
        sampler._failures,
        sampler._visits,
        sampler._decay(),
        sampler._prior,
        sampler._additive,
        sampler._taps,
        sampler._slots,
        sampler.layout.num_motions,
        stall=sampler._stall_steps,
    )
    assert torch.equal(sampler._probs, expected)
