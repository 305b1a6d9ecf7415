"""State dicts, generator handling and metrics: hand-made cases next to the property tests."""

from __future__ import annotations

import io
import math

import pytest
import torch
from _core_reference import state_equal

from adaptive_sampling import STATE_VERSION, AdaptiveSampler, AdaptiveSamplerCfg


def rec(s: AdaptiveSampler, motion: int, start: int, end: int, failed: float) -> None:
    s.record(torch.tensor([motion]), torch.tensor([start]), torch.tensor([end]), torch.tensor([failed]))


def history(s: AdaptiveSampler) -> AdaptiveSampler:
    """Visits of the same bins at different steps (different lazy weights), then a rebuild."""
    rec(s, 0, 0, 0, 0.0)
    s.step()
    s.step()
    rec(s, 0, 0, int(s.layout.num_frames[0]) - 1, 0.0)
    s.step()
    return s


# ---------------------------------------------------------------------------------------------------- round trips


def test_state_dict_is_plain_and_versioned():
    """state_dict holds only tensors and plain values, carries the version and the layout signature, and survives
    torch.save / torch.load(weights_only=True)."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(seed=3), [120, 90], [50.0, 30.0], ["a", "b"])
    state = s.state_dict()
    assert state["version"] == STATE_VERSION
    assert state["layout"]["motion_names"] == ["a", "b"]
    assert state["layout"]["bins_per_motion"] == [3, 3]

    def plain(x) -> bool:
        if isinstance(x, dict):
            return all(isinstance(k, str) and plain(v) for k, v in x.items())
        if isinstance(x, (list, tuple)):
            return all(plain(v) for v in x)
        return x is None or isinstance(x, (bool, int, float, str, torch.Tensor))

    assert plain(state)
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    assert state_equal(torch.load(buf, weights_only=True), state)


def test_state_dict_is_a_snapshot():
    """Changing the returned state's tensors, or the tensor from .probabilities, does not change the sampler."""
    s = history(AdaptiveSampler(AdaptiveSamplerCfg(seed=0, rebuild_every=3), [100, 50], [50.0, 50.0]))
    before = s.state_dict()
    state = s.state_dict()
    for v in state.values():
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            v.fill_(123.0)
    s.probabilities.fill_(7.0)
    assert state_equal(before, s.state_dict())


def test_same_seed_same_draws_different_seed_different_draws():
    """The sampler's own generator: equal seeds give equal draws, other seeds other draws; torch's global generator
    is neither used nor advanced when a seed is given."""
    make = lambda seed: AdaptiveSampler(AdaptiveSamplerCfg(seed=seed), [300, 200], [50.0, 30.0])  # noqa: E731
    global_state = torch.random.get_rng_state()
    a, b, c = make(1), make(1), make(2)
    da, db, dc = a.sample(100), b.sample(100), c.sample(100)
    assert torch.equal(torch.random.get_rng_state(), global_state)
    assert torch.equal(da[1], db[1]) and torch.equal(da[0], db[0])
    assert not torch.equal(da[1], dc[1])


def test_from_state_dict_reproduces():
    """from_state_dict rebuilds a sampler with the saved config and library that draws like the original."""
    s = history(AdaptiveSampler(AdaptiveSamplerCfg(seed=0, rebuild_every=3, ema_alpha=0.0), [100, 50], [50.0, 30.0]))
    t = AdaptiveSampler.from_state_dict(s.state_dict())
    assert t.layout.motion_names == s.layout.motion_names
    assert torch.equal(t.probabilities, s.probabilities)
    for x, y in zip(t.sample(32), s.sample(32), strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize("statistic", ["rate", "count"])
def test_save_load_through_bytes_continues_identically(statistic):
    """After torch.save / torch.load(weights_only=True) through a BytesIO, a fresh sampler (other seed) draws the
    same next samples as the original and evolves identically under the same events (pending events included)."""
    cfg = AdaptiveSamplerCfg(statistic=statistic, ema_alpha=0.0, rebuild_every=2, seed=11)
    a = AdaptiveSampler(cfg, [120, 90, 61], [50.0, 30.0, 24.0], ["a", "b", "c"])
    g = torch.Generator().manual_seed(0)

    def events() -> tuple[torch.Tensor, ...]:
        ids = torch.randint(0, 3, (12,), generator=g)
        ends = (torch.rand(12, generator=g) * a.layout.num_frames[ids]).long()
        return ids, ends // 2, ends, torch.rand(12, generator=g)

    for _ in range(5):
        a.record(*events())
        a.sample(10)
        a.step()
    a.record(*events())  # pending at save time
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = AdaptiveSampler(
        AdaptiveSamplerCfg(statistic=statistic, ema_alpha=0.0, rebuild_every=2, seed=99),
        [120, 90, 61],
        [50.0, 30.0, 24.0],
        ["a", "b", "c"],
    )
    assert b.load_state_dict(torch.load(buf, weights_only=True)).exact
    for x, y in zip(a.sample(50), b.sample(50), strict=True):
        assert torch.equal(x, y)
    for _ in range(4):
        batch = events()
        for s in (a, b):
            s.record(*batch)
            s.step()
    assert torch.equal(a.probabilities, b.probabilities)
    assert state_equal(a.state_dict(), b.state_dict(), ignore=("config",))  # the configs differ in the seed


def test_state_saved_on_another_kind_of_device_loads_with_a_reseeded_generator():
    """A checkpoint written on a GPU (CUDA's 16-byte Philox generator state) loads into a CPU sampler: statistics
    and distribution as saved, the generator seeded from the saved state (deterministically, with a warning and
    ``LoadReport.generator_reseeded``), since a Mersenne twister cannot continue a Philox stream. A generator state of
    no device's size still raises."""
    a = history(AdaptiveSampler(AdaptiveSamplerCfg(seed=3), [120, 90], 50.0))
    state = a.state_dict()
    state["generator_state"] = torch.arange(16, dtype=torch.uint8)  # the size of a CUDA generator's state
    draws = []
    for _ in range(2):
        b = AdaptiveSampler(AdaptiveSamplerCfg(seed=5), [120, 90], 50.0)
        with pytest.warns(UserWarning, match=r"generator_state'\] was saved on cuda.*reseeded"):
            report = b.load_state_dict(state)
        assert report.generator_reseeded and not report.exact and report.kept == a.layout.motion_names
        assert torch.equal(b.probabilities, a.probabilities)
        assert state_equal(b.state_dict(), a.state_dict(), ignore=("generator_state", "config"))
        draws.append(b.sample(256))
    assert torch.equal(draws[0][0], draws[1][0]) and torch.equal(draws[0][1], draws[1][1])
    assert not torch.equal(draws[0][0], AdaptiveSampler(AdaptiveSamplerCfg(seed=5), [120, 90], 50.0).sample(256)[0])
    assert a.load_state_dict(a.state_dict()).generator_reseeded is False
    state["generator_state"] = torch.zeros(17, dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"state_dict\['generator_state'\] does not fit a generator on cpu"):
        b.load_state_dict(state)


def test_own_state_always_reloads_after_differently_weighted_visits():
    """A sampler's own state_dict loads back, also after visits of the same bins recorded at different steps
    (lazy weights 1/0.95 and 1/0.95^3 with ema_alpha = 0.05): library [100, 50] frames at 50 fps."""
    s = history(AdaptiveSampler(AdaptiveSamplerCfg(ema_alpha=0.05, rebuild_every=3, seed=0), [100, 50], [50.0] * 2))
    s.load_state_dict(s.state_dict())


@pytest.mark.parametrize("alpha", [0.05, 0.001])
def test_visits_never_leak_into_other_motions(alpha):
    """Visits recorded only in motion 0 leave motions 1 and 2 with exactly zero visits."""
    s = history(AdaptiveSampler(AdaptiveSamplerCfg(ema_alpha=alpha, rebuild_every=3, seed=0), [300] * 3, [50.0] * 3))
    visits = s.state_dict()["visits"]
    assert bool((visits[6:] == 0).all()), visits


def test_loading_with_another_ema_alpha_keeps_statistics_or_raises():
    """A state saved with ema_alpha = 0.1 and loaded into a sampler with ema_alpha = 0.5 either keeps the decayed
    statistics as they were at save time or is rejected with a ValueError naming ema_alpha."""
    a = AdaptiveSampler(AdaptiveSamplerCfg(ema_alpha=0.1, rebuild_every=100, seed=0), [100], [50.0])
    rec(a, 0, 0, 10, 1.0)
    for _ in range(10):
        a.step()
    a.rebuild()
    assert float(a.tables()["failures"][0, 0]) == pytest.approx(0.9**9, rel=1e-6)
    b = AdaptiveSampler(AdaptiveSamplerCfg(ema_alpha=0.5, rebuild_every=100, seed=0), [100], [50.0])
    try:
        b.load_state_dict(a.state_dict())
    except ValueError as err:
        assert "ema_alpha" in str(err)
        return
    assert float(b.tables()["failures"][0, 0]) == pytest.approx(0.9**9, rel=1e-6)


def test_remap_report_and_priors_for_new_motions():
    """remap=True keeps motions with the same name, frames and fps, starts new or changed ones from zero statistics,
    and reports kept/added/dropped; the generator state is restored."""
    a = AdaptiveSampler(
        AdaptiveSamplerCfg(ema_alpha=0.0, rebuild_every=1, seed=0), [100, 50, 80], [50.0] * 3, ["x", "y", "z"]
    )
    rec(a, 0, 0, 60, 1.0)
    rec(a, 1, 0, 10, 1.0)
    rec(a, 2, 0, 70, 1.0)
    a.step()
    b = AdaptiveSampler(
        AdaptiveSamplerCfg(ema_alpha=0.0, rebuild_every=1, seed=5), [40, 81, 100], [50.0] * 3, ["new", "z", "x"]
    )
    report = b.load_state_dict(a.state_dict(), remap=True)
    assert (report.kept, report.added, report.dropped) == (["x"], ["new", "z"], ["y", "z"])
    assert not report.exact
    t = b.tables()
    assert t["failures"][2, :2].tolist() == [0.0, 1.0]  # x kept
    assert t["visits"][2, :2].tolist() == [1.0, 1.0]
    assert t["failures"][0, :1].tolist() == [0.0] and t["failures"][1, :2].tolist() == [0.0, 0.0]
    assert torch.equal(b.generator.get_state(), a.generator.get_state())
    assert abs(float(b.probabilities.double().sum()) - 1) < 1e-6


# ---------------------------------------------------------------------------------------------------- metrics


def test_metrics_hand_computed():
    """metrics(): normalised entropy, effective number of bins, top-1 (prob, motion, bin), max/uniform, coverage and
    mean failure rate on a hand-made case (counts, alpha = 0, K = 1, lambda = 0.5, 4 bins)."""
    cfg = AdaptiveSamplerCfg(
        statistic="count", ema_alpha=0.0, kernel_size=1, uniform_ratio=0.5, rebuild_every=1, seed=0
    )
    s = AdaptiveSampler(cfg, [100, 100], [50.0, 50.0])  # 2 + 2 bins, prior 0.25 each
    m = s.metrics()
    assert m["entropy"] == pytest.approx(1.0)
    assert m["effective_num_bins"] == pytest.approx(4.0)
    assert m["max_over_uniform"] == pytest.approx(1.0)
    assert m["coverage"] == 0.0
    # motion 1 bin 1: one failure; motion 0 bin 0: one time-out -> p = [.125, .125, .125, .625]
    s.record(torch.tensor([1, 0]), torch.tensor([60, 0]), torch.tensor([60, 10]), torch.tensor([1.0, 0.0]))
    s.step()
    m = s.metrics()
    p = [0.125, 0.125, 0.125, 0.625]
    assert s.probabilities.double().tolist() == pytest.approx(p)
    assert m["entropy"] == pytest.approx(-sum(x * math.log(x) for x in p) / math.log(4))
    assert m["effective_num_bins"] == pytest.approx(1 / sum(x * x for x in p))
    assert (m["top1_prob"], m["top1_motion"], m["top1_bin"]) == (pytest.approx(0.625), 1.0, 1.0)
    assert m["max_over_uniform"] == pytest.approx(2.5)
    assert m["max_motion_mass"] == pytest.approx(0.75)
    assert m["coverage"] == pytest.approx(0.5)
    assert m["mean_failure_rate"] == pytest.approx(0.5)
    assert m["num_bins"] == 4.0
    assert all(math.isfinite(v) for v in m.values())
    tables = s.tables()
    assert tables["probability"].shape == (2, 2)
    assert tables["motion_mass"].tolist() == pytest.approx([0.25, 0.75])


def test_remap_with_other_bin_width_keeps_nothing():
    """A state saved with other bins (bin_duration_s 1.0 -> 0.5) cannot keep any statistics: with remap=True every
    motion is reported added and dropped and starts from zero; without remap the error says the bins differ."""
    a = AdaptiveSampler(AdaptiveSamplerCfg(ema_alpha=0.0, rebuild_every=1, seed=0), [100, 50], [50.0] * 2, ["x", "y"])
    rec(a, 0, 0, 60, 1.0)
    a.step()
    b = AdaptiveSampler(AdaptiveSamplerCfg(bin_duration_s=0.5, seed=1), [100, 50], [50.0] * 2, ["x", "y"])
    with pytest.raises(ValueError, match=r"bins differ"):
        b.load_state_dict(a.state_dict())
    report = b.load_state_dict(a.state_dict(), remap=True)
    assert (report.kept, report.added, report.dropped) == ([], ["x", "y"], ["x", "y"])
    t = b.tables()
    assert float(t["failures"].nan_to_num().abs().sum()) == 0.0
    assert float(t["visits"].nan_to_num().abs().sum()) == 0.0
