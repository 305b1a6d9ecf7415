"""Hand-computed cases for every formula of the sampler: kernel, clip boundary, mixture floor, rate, attribution,
EMA, motion cap and priors."""

from __future__ import annotations

import pytest
import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg


def rec(sampler: AdaptiveSampler, events: list[tuple[int, int, int, float]]) -> None:
    """Record (motion, start, end, failed) events in one call."""
    sampler.record(
        torch.tensor([e[0] for e in events], dtype=torch.int64),
        torch.tensor([e[1] for e in events], dtype=torch.int64),
        torch.tensor([e[2] for e in events], dtype=torch.int64),
        torch.tensor([float(e[3]) for e in events], dtype=torch.float32),
    )


def count_cfg(**kw) -> AdaptiveSamplerCfg:
    """Cumulative raw failure counts, no floor, no additive term: p is the smoothed, normalised counts."""
    values = dict(statistic="count", ema_alpha=0.0, uniform_ratio=0.0, kernel_size=1, rebuild_every=1, seed=0)
    values.update(kw)
    return AdaptiveSamplerCfg(**values)


def probs(sampler: AdaptiveSampler) -> list[float]:
    return sampler.probabilities.double().tolist()


# ---------------------------------------------------------------------------------------------------- kernel


def test_kernel_raises_earlier_bins_never_later():
    """A failure in bin b raises bins b, b-1, ..., b-K+1 with weights gamma^u / sum (u = 0..K-1); bins after b and
    bins further than K-1 before it stay 0 (K = 3, gamma = 0.5: taps 4/7, 2/7, 1/7)."""
    s = AdaptiveSampler(count_cfg(kernel_size=3, kernel_decay=0.5), [300], [50.0])  # 6 bins
    rec(s, [(0, 200, 210, 1.0)])  # fails in bin 4
    s.step()
    assert probs(s) == pytest.approx([0.0, 0.0, 1 / 7, 2 / 7, 4 / 7, 0.0], abs=1e-7)


def test_kernel_size_one_is_identity():
    """With K = 1 the distribution is the normalised statistic itself (no smoothing)."""
    s = AdaptiveSampler(count_cfg(kernel_size=1), [300], [50.0])
    rec(s, [(0, 0, 60, 1.0), (0, 0, 260, 1.0), (0, 0, 270, 1.0)])
    s.step()
    assert probs(s) == pytest.approx([0.0, 1 / 3, 0.0, 0.0, 0.0, 2 / 3], abs=1e-7)


def test_kernel_replicate_padding_at_clip_end():
    """A failure in a clip's last bin reads the last bin again beyond the end (replicate padding): the last bin gets
    the full tap sum 1, the bin before gets taps[1] + taps[2] = 3/7, the one before that 1/7; total 11/7."""
    s = AdaptiveSampler(count_cfg(kernel_size=3, kernel_decay=0.5), [250], [50.0])  # 5 bins
    rec(s, [(0, 0, 249, 1.0)])
    s.step()
    assert probs(s) == pytest.approx([0.0, 0.0, 1 / 11, 3 / 11, 7 / 11], abs=1e-7)


def test_kernel_never_crosses_into_previous_clip():
    """A failure in the first bin of motion 1 gives no mass to the last bins of motion 0 (no bleed backwards over
    the clip boundary)."""
    s = AdaptiveSampler(count_cfg(kernel_size=4, kernel_decay=0.9), [150, 150], [50.0, 50.0])
    rec(s, [(1, 0, 10, 1.0)])
    s.step()
    p = probs(s)
    assert p[:3] == [0.0, 0.0, 0.0]
    assert p[3] == pytest.approx(1.0, abs=1e-7)


def test_kernel_clip_end_does_not_read_next_clip():
    """A failure in the last bin of motion 0 with a failure-free motion 1 after it: motion 0 keeps all the mass with
    replicate-padding weights, motion 1 gets none; a failure in motion 1's first bin does not change motion 0."""
    cfg = count_cfg(kernel_size=3, kernel_decay=0.5)
    s = AdaptiveSampler(cfg, [150, 150], [50.0, 50.0])
    rec(s, [(0, 120, 140, 1.0)])
    s.step()
    assert probs(s) == pytest.approx([1 / 11, 3 / 11, 7 / 11, 0.0, 0.0, 0.0], abs=1e-7)
    # add 1 failure in motion 1 bin 0: motion 1's first bin gets taps[0] = 4/7 of it, motion 0 nothing more
    rec(s, [(1, 0, 0, 1.0)])
    s.step()
    assert probs(s) == pytest.approx([1 / 15, 3 / 15, 7 / 15, 4 / 15, 0.0, 0.0], abs=1e-7)


# ---------------------------------------------------------------------------------------------------- mixture


def test_mixture_floor_hand_computed():
    """p = (1 - lambda) p_fail + lambda p_prior: with all failures in one bin, every other bin gets exactly
    lambda * p_prior (motion prior: 1/2 per motion, 1/2 and 1/3 per bin)."""
    cfg = count_cfg(uniform_ratio=0.2)
    s = AdaptiveSampler(cfg, [100, 90], [50.0, 30.0])  # bins: 2 + 3
    rec(s, [(1, 0, 45, 1.0)])  # bin 1 of motion 1 = flat bin 3
    s.step()
    prior = [0.25, 0.25, 1 / 6, 1 / 6, 1 / 6]
    expected = [0.2 * q for q in prior]
    expected[3] += 0.8
    assert probs(s) == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize("num_failures", [1, 10, 4096])
def test_mixture_floor_independent_of_failure_count(num_failures):
    """The floor lambda * p_prior does not shrink when failures grow (unlike BeyondMimic's additive term): the
    distribution is the same for 1 or 4096 failures in one bin."""
    s = AdaptiveSampler(count_cfg(uniform_ratio=0.1), [200], [50.0])  # 4 bins
    rec(s, [(0, 0, 120, 1.0)] * num_failures)
    s.step()
    assert probs(s) == pytest.approx([0.025, 0.025, 0.925, 0.025], abs=1e-7)


def test_additive_uniform_ratio_is_no_floor():
    """BeyondMimic's additive term eps/B before the kernel: its share shrinks as failures grow (count, alpha = 0,
    eps = 0.1, alpha = 0.5, 2 bins, n failures in bin 0: q = n / 2, p = [(q + .05) / (q + .1), .05 / (q + .1)])."""
    for n in (1, 100):
        s = AdaptiveSampler(count_cfg(additive_uniform_ratio=0.1, ema_alpha=0.5), [100], [50.0])
        rec(s, [(0, 0, 10, 1.0)] * n)
        s.step()
        q = 0.5 * n  # alpha * F
        assert probs(s) == pytest.approx([(q + 0.05) / (q + 0.1), 0.05 / (q + 0.1)], abs=1e-7)


# ---------------------------------------------------------------------------------------------------- rate


def test_rate_with_prior_hand_computed():
    """rate = (F + r0 n0) / (N + n0); an unvisited bin has rate r0 (r0 = 0.2, n0 = 2; K = 1, lambda = 0: p is the
    normalised rate)."""
    cfg = AdaptiveSamplerCfg(
        statistic="rate",
        attribution="start",
        rate_prior=0.2,
        rate_prior_visits=2.0,
        ema_alpha=0.0,
        kernel_size=1,
        uniform_ratio=0.0,
        rebuild_every=1,
        seed=0,
    )
    s = AdaptiveSampler(cfg, [150], [50.0])  # 3 bins
    # bin 0: 3 visits, 3 failures; bin 1: 2 visits, 0 failures (and one soft failure 0.5 -> 3 visits, 0.5 failures)
    rec(s, [(0, 0, 10, 1.0), (0, 5, 10, 1.0), (0, 49, 60, 1.0), (0, 50, 60, 0.0), (0, 99, 99, 0.0)])
    rec(s, [(0, 70, 149, 0.5)])
    s.step()
    rates = [(3 + 0.4) / (3 + 2), (0.5 + 0.4) / (3 + 2), 0.2]
    t = s.tables()
    assert t["failure_rate"][0].tolist() == pytest.approx(rates, abs=1e-6)
    assert t["failures"][0].tolist() == pytest.approx([3.0, 0.5, 0.0])
    assert t["visits"][0].tolist() == pytest.approx([3.0, 3.0, 0.0])
    total = sum(rates)
    assert probs(s) == pytest.approx([r / total for r in rates], abs=1e-7)


def test_rate_unvisited_library_gives_prior_rate_everywhere():
    """Before any event every bin has rate r0, so the failure part is the prior tilted by equal rates: the prior
    itself (motion prior: 1/2 per motion, 1/4 per bin of the 2-bin motion)."""
    cfg = AdaptiveSamplerCfg(rate_prior=0.3, kernel_size=1, uniform_ratio=0.0, seed=0)
    s = AdaptiveSampler(cfg, [100, 30], [50.0, 30.0])  # 2 + 1 bins
    assert probs(s) == pytest.approx([0.25, 0.25, 0.5], abs=1e-7)
    assert s.tables()["failure_rate"][:, 0].tolist() == pytest.approx([0.3, 0.3])


def test_rate_tilts_the_prior_hand_computed():
    """p_fail(b) ~ p_prior(b) * rate(b): motion prior (1/2 per motion) over clips of 2 and 1 bins, rates 0.9 in bin
    0 and r0 = 0.5 elsewhere (n0 = 1, one failing visit of bin 0 at K = 1, lambda = 0): masses 0.25 * 0.75,
    0.25 * 0.5, 0.5 * 0.5."""
    cfg = AdaptiveSamplerCfg(ema_alpha=0.0, kernel_size=1, uniform_ratio=0.0, rebuild_every=1, seed=0)
    s = AdaptiveSampler(cfg, [100, 30], [50.0, 30.0])
    rec(s, [(0, 10, 10, 1.0)])
    s.step()
    masses = [0.25 * 0.75, 0.25 * 0.5, 0.5 * 0.5]
    assert probs(s) == pytest.approx([m / sum(masses) for m in masses], abs=1e-7)


def test_motion_prior_governs_the_start_before_any_failure():
    """Clips of 137, 500 and 3001 frames with the default (motion prior): each clip starts with a share of 1/3
    (the width-weighted rate gave them 0.067 / 0.157 / 0.776, in proportion to their length)."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), [137, 500, 3001], [50.0] * 3)
    assert s.tables()["motion_mass"].tolist() == pytest.approx([1 / 3] * 3, abs=1e-6)


@pytest.mark.parametrize("prior", ["motion", "duration", "weights"])
def test_equal_rates_give_the_prior_for_every_prior(prior):
    """Whatever the prior, equal failure rates everywhere (here: every bin visited once, failing half the time, K =
    3, lambda = 0.1) give exactly the prior: the failure part is the prior conditioned on failing."""
    cfg = AdaptiveSamplerCfg(prior=prior, ema_alpha=0.0, rate_prior=0.5, rebuild_every=1, seed=0)
    weights = [1.0, 3.0, 0.5] if prior == "weights" else None
    s = AdaptiveSampler(cfg, [137, 500, 90], [50.0, 50.0, 30.0], motion_weights=weights)
    ids = torch.tensor([0] * 3 + [1] * 10 + [2] * 3)
    frames = s.layout.bin_start_frame  # one visit per bin, attributed to the bin it ends in
    s.record(ids, frames, frames, torch.full((16,), 0.5))
    s.step()
    assert s.num_bins == 16
    torch.testing.assert_close(s.probabilities, s.prior, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------------- attribution


@pytest.mark.parametrize("attribution", ["failure", "start"])
def test_attribution_modes(attribution):
    """ "failure": the failure counts in the bin of the end frame and every traversed bin gets a visit; "start": the
    failure counts in the start bin and only the start bin gets a visit."""
    cfg = AdaptiveSamplerCfg(attribution=attribution, ema_alpha=0.0, rebuild_every=1, seed=0)
    s = AdaptiveSampler(cfg, [300], [50.0])  # 6 bins
    rec(s, [(0, 60, 210, 1.0), (0, 10, 20, 0.0)])  # bins 1 -> 4 failed; bin 0 -> 0 timed out
    s.step()
    t = s.tables()
    if attribution == "failure":
        assert t["failures"][0].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        assert t["visits"][0].tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    else:
        assert t["failures"][0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
        assert t["visits"][0].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_duplicate_events_add_up():
    """Several segments ending in the same bin in one step add up (as BeyondMimic's ``bincount`` does)."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(ema_alpha=0.0, rebuild_every=1, seed=0), [100], [50.0])
    rec(s, [(0, 60, 70, 1.0)] * 5 + [(0, 60, 70, 0.25)])
    s.step()
    assert s.tables()["failures"][0].tolist() == [0.0, 5.25]
    assert s.tables()["visits"][0].tolist() == [0.0, 6.0]


# ---------------------------------------------------------------------------------------------------- EMA


def ema_reference(per_step: list[list[float]], alpha: float) -> list[float]:
    """q <- alpha * c + (1 - alpha) * q, q_0 = 0, for per-step count vectors c."""
    q = [0.0] * len(per_step[0])
    for c in per_step:
        q = [alpha * ci + (1 - alpha) * qi for ci, qi in zip(c, q, strict=True)]
    return q


def run_ema(alpha: float, rebuild_every: int, num_steps: int, seed: int = 0):
    """Random failures per step into a 4-bin motion; returns (sampler, per-step failure count vectors, visits)."""
    g = torch.Generator().manual_seed(seed)
    cfg = AdaptiveSamplerCfg(
        statistic="count", ema_alpha=alpha, kernel_size=1, uniform_ratio=0.0, rebuild_every=rebuild_every, seed=0
    )
    s = AdaptiveSampler(cfg, [200], [50.0])
    per_step, visits = [], []
    for _ in range(num_steps):
        n = int(torch.randint(0, 6, (1,), generator=g))
        ends = torch.randint(0, 200, (n,), generator=g)
        failed = (torch.rand(n, generator=g) < 0.7).float()
        s.record(torch.zeros(n, dtype=torch.int64), ends, ends, failed)
        c = [0.0] * 4
        v = [0.0] * 4
        for e, f in zip(ends.tolist(), failed.tolist(), strict=True):
            c[e // 50] += f
            v[e // 50] += 1.0
        per_step.append(c)
        visits.append(v)
        s.step()
    return s, per_step, visits


@pytest.mark.parametrize("rebuild_every", [1, 7, 1000])
def test_ema_count_matches_recursion(rebuild_every):
    """After k steps alpha * F equals the recursion q <- alpha c + (1 - alpha) q with c the per-step counts, whether
    the lazy accumulators are folded every step, every 7 steps or only once at the end."""
    alpha = 0.05
    s, per_step, _ = run_ema(alpha, rebuild_every, 60)
    s.rebuild()  # merge whatever is pending (events recorded before the last step)
    q = ema_reference(per_step, alpha)
    got = (s.tables()["failures"][0].double() * alpha).tolist()
    assert got == pytest.approx(q, rel=1e-5, abs=1e-9)
    total = sum(q)
    assert probs(s) == pytest.approx([x / total for x in q], abs=1e-6)


def test_ema_across_internal_fold_threshold():
    """With a large alpha the lazy weights (1 - alpha)^-n pass the internal fold bound within the run (seen as a
    fold without rebuild: t0 > 0); the statistics still follow the EMA recursion for failures and visits."""
    alpha = 0.3  # (0.7)^-n > 2^20 after ~39 steps
    s, per_step, visits = run_ema(alpha, rebuild_every=10_000, num_steps=150, seed=3)
    assert s.state_dict()["t0"] > 0, "the run should have crossed the internal fold threshold"
    s.rebuild()
    t = s.tables()
    assert (t["failures"][0].double() * alpha).tolist() == pytest.approx(ema_reference(per_step, alpha), rel=1e-5)
    assert (t["visits"][0].double() * alpha).tolist() == pytest.approx(ema_reference(visits, alpha), rel=1e-5)


def test_ema_rate_uses_decayed_failures_and_visits():
    """With statistic "rate" both sums decay by the recursion: a failing visit, a clean visit, an empty step at
    alpha = 0.5 give F = 0.25, N = 0.75 and rate = (F + r0 n0) / (N + n0)."""
    cfg = AdaptiveSamplerCfg(ema_alpha=0.5, rate_prior=0.5, rate_prior_visits=1.0, rebuild_every=1, seed=0)
    s = AdaptiveSampler(cfg, [50], [50.0])  # one bin
    rec(s, [(0, 0, 0, 1.0)])
    s.step()  # F = 1, N = 1
    rec(s, [(0, 0, 0, 0.0)])
    s.step()  # F = 0.5, N = 1.5
    s.step()  # F = 0.25, N = 0.75
    t = s.tables()
    assert float(t["failures"][0, 0]) == pytest.approx(0.25)
    assert float(t["visits"][0, 0]) == pytest.approx(0.75)
    assert float(t["failure_rate"][0, 0]) == pytest.approx((0.25 + 0.5) / (0.75 + 1.0))


def test_rebuild_every_holds_distribution_between_rebuilds():
    """The distribution changes only on every rebuild_every-th step."""
    cfg = count_cfg(rebuild_every=3)
    s = AdaptiveSampler(cfg, [100], [50.0])
    before = s.probabilities.clone()
    rec(s, [(0, 0, 0, 1.0)])
    s.step()
    s.step()
    assert torch.equal(s.probabilities, before)
    s.step()
    assert probs(s) == [1.0, 0.0]


# ---------------------------------------------------------------------------------------------------- motion cap


def test_motion_cap_hand_computed():
    """max_motion_share = 0.5 on p_fail masses (0.6, 0.3, 0.1): motion 0 is cut to 0.5 and the excess goes to the
    others in proportion (0.375, 0.125); then the mixture with lambda = 0.1 adds the motion prior's floor."""
    cfg = count_cfg(max_motion_share=0.5, uniform_ratio=0.1)
    s = AdaptiveSampler(cfg, [100, 100, 100], [50.0] * 3)  # 2 bins each
    rec(s, [(0, 0, 0, 1.0)] * 6 + [(1, 0, 0, 1.0)] * 3 + [(2, 60, 60, 1.0)])
    s.step()
    floor = 0.1 / 6
    expected = [0.9 * 0.5 + floor, floor, 0.9 * 0.375 + floor, floor, floor, 0.9 * 0.125 + floor]
    assert probs(s) == pytest.approx(expected, abs=1e-7)
    mass = s.tables()["motion_mass"].tolist()
    assert mass[0] <= 0.9 * 0.5 + 0.1 / 3 + 1e-6


def test_motion_cap_cascades():
    """Masses (0.5, 0.45, 0.05) under cap 0.4: cutting motion 0 pushes motion 1 over the cap, so both are cut to
    0.4 and motion 2 gets the remaining 0.2 (lambda = 0)."""
    cfg = count_cfg(max_motion_share=0.4)
    s = AdaptiveSampler(cfg, [50, 50, 50], [50.0] * 3)  # 1 bin each
    rec(s, [(0, 0, 0, 1.0)] * 10 + [(1, 0, 0, 1.0)] * 9 + [(2, 0, 0, 1.0)])
    s.step()
    assert probs(s) == pytest.approx([0.4, 0.4, 0.2], abs=1e-6)


def test_motion_cap_below_cap_is_unchanged():
    """Masses all under the cap are left as they are."""
    cfg = count_cfg(max_motion_share=0.7)
    s = AdaptiveSampler(cfg, [50, 50], [50.0] * 2)
    rec(s, [(0, 0, 0, 1.0)] * 6 + [(1, 0, 0, 1.0)] * 4)
    s.step()
    assert probs(s) == pytest.approx([0.6, 0.4], abs=1e-7)


def test_motion_cap_holds_when_falling_back_to_prior():
    """With no failure score yet the failure part falls back to the prior; the documented cap still holds: duration
    prior 3 s : 1 s, max_motion_share = 0.5, lambda = 0 -> each motion at most 0.5 (got 0.75 / 0.25)."""
    cfg = AdaptiveSamplerCfg(
        statistic="count",
        ema_alpha=0.0,
        uniform_ratio=0.0,
        kernel_size=1,
        prior="duration",
        max_motion_share=0.5,
        seed=0,
    )
    s = AdaptiveSampler(cfg, [150, 50], [50.0, 50.0])
    assert s.tables()["motion_mass"].tolist() == pytest.approx([0.5, 0.5], abs=1e-6)


# ---------------------------------------------------------------------------------------------------- priors


def test_prior_motion_each_motion_equal_uniform_in_time():
    """prior="motion": each motion 1/M, inside a motion in proportion to the frames of each bin (partial last bin
    gets less)."""
    s = AdaptiveSampler(AdaptiveSamplerCfg.uniform(prior="motion", seed=0), [120, 60], [50.0, 30.0])
    expected = [0.5 * 50 / 120, 0.5 * 50 / 120, 0.5 * 20 / 120, 0.5 * 30 / 60, 0.5 * 30 / 60]
    assert s.prior.double().tolist() == pytest.approx(expected, abs=1e-7)
    assert probs(s) == pytest.approx(expected, abs=1e-7)


def test_prior_duration_uniform_over_time():
    """prior="duration": uniform over seconds of the library: 2.4 s at 50 fps and 2 s at 30 fps -> every full 1 s
    bin 1/4.4, the 0.4 s partial bin 0.4/4.4."""
    s = AdaptiveSampler(AdaptiveSamplerCfg.uniform(prior="duration", seed=0), [120, 60], [50.0, 30.0])
    expected = [1 / 4.4, 1 / 4.4, 0.4 / 4.4, 1 / 4.4, 1 / 4.4]
    assert probs(s) == pytest.approx(expected, abs=1e-7)


def test_prior_weights():
    """prior="weights": motion masses proportional to the given weights (3 : 1), uniform in time inside."""
    cfg = AdaptiveSamplerCfg.uniform(prior="weights", seed=0)
    s = AdaptiveSampler(cfg, [100, 50], [50.0, 50.0], motion_weights=[3.0, 1.0])
    assert probs(s) == pytest.approx([0.375, 0.375, 0.25], abs=1e-7)


def test_uniform_preset_ignores_failures():
    """uniform_ratio = 1: p = p_prior whatever was recorded."""
    s = AdaptiveSampler(AdaptiveSamplerCfg.uniform(rebuild_every=1, seed=0), [100, 50], [50.0, 50.0])
    rec(s, [(0, 0, 0, 1.0)] * 50)
    s.step()
    assert probs(s) == pytest.approx([0.25, 0.25, 0.5], abs=1e-7)


def test_paper_preset_fields():
    """The paper preset: start attribution, rate statistic, true mixture, look-ahead kernel."""
    cfg = AdaptiveSamplerCfg.paper()
    assert (cfg.attribution, cfg.statistic, cfg.additive_uniform_ratio) == ("start", "rate", 0.0)
    assert cfg.uniform_ratio > 0 and cfg.kernel_size > 1


def test_beyondmimic_preset_fields():
    """The beyondmimic preset: failure attribution, raw counts, EMA 0.001, additive 0.1, K = 1, decay 0.8, no true
    mixture, rebuild every step, BeyondMimic's bin layout."""
    cfg = AdaptiveSamplerCfg.beyondmimic()
    assert cfg.attribution == "failure" and cfg.statistic == "count" and cfg.bin_layout == "beyondmimic"
    assert (cfg.ema_alpha, cfg.additive_uniform_ratio, cfg.kernel_size, cfg.kernel_decay) == (0.001, 0.1, 1, 0.8)
    assert cfg.uniform_ratio == 0.0 and cfg.rebuild_every == 1


def test_rate_mass_of_a_partial_last_bin_is_proportional_to_its_length():
    """The rate tilts the prior, which is uniform in time: with equal rates, a partial last bin (20 of 50 frames)
    gets 0.4 of a full bin's failure mass instead of a full share (which would waste starts that hit the clip's end
    at once)."""
    cfg = AdaptiveSamplerCfg(statistic="rate", uniform_ratio=0.0, kernel_size=1, seed=0)
    sampler = AdaptiveSampler(cfg, [120], [50.0])
    assert sampler.layout.bin_num_frames.tolist() == [50, 50, 20]
    expected = torch.tensor([1.0, 1.0, 0.4]) / 2.4
    torch.testing.assert_close(sampler.probabilities, expected)


def test_count_mass_ignores_bin_length():
    """Counts already scale with how often a bin is visited, so the count statistic is not weighted by length
    (BeyondMimic's formula): one failure in the partial last bin gives it the whole failure mass."""
    cfg = AdaptiveSamplerCfg(statistic="count", uniform_ratio=0.0, kernel_size=1, rebuild_every=1, seed=0)
    sampler = AdaptiveSampler(cfg, [120], [50.0])
    sampler.record(torch.tensor([0]), torch.tensor([100]), torch.tensor([110]), torch.tensor([True]))
    sampler.step()
    torch.testing.assert_close(sampler.probabilities, torch.tensor([0.0, 0.0, 1.0]))


def test_duration_prior_equals_the_old_width_weighted_rate():
    """prior="duration" reproduces the formula the prior tilt replaced, p_fail ~ s_b * frames_b / nominal bin,
    computed here by hand in float64 on a library with partial bins and two frame rates (K = 3, lambda = 0.1)."""
    cfg = AdaptiveSamplerCfg(prior="duration", ema_alpha=0.0, rebuild_every=1, seed=0)
    s = AdaptiveSampler(cfg, [120, 100], [50.0, 30.0])  # bins of 50, 50, 20 and 30, 30, 30, 10 frames
    rec(s, [(0, 0, 60, 1.0), (0, 100, 119, 1.0), (1, 0, 95, 0.0), (1, 35, 40, 1.0)])
    s.step()
    failures = [[0, 1, 1], [0, 1, 0, 0]]
    visits = [[1, 1, 1], [1, 2, 1, 1]]
    width = [[1, 1, 0.4], [1, 1, 1, 1 / 3]]
    taps = [1 / 2.44, 0.8 / 2.44, 0.64 / 2.44]
    old = []
    for f, n, w in zip(failures, visits, width, strict=True):
        rate = [(fi + 0.5) / (ni + 1.0) for fi, ni in zip(f, n, strict=True)]
        last = len(rate) - 1
        old += [sum(t * rate[min(j + u, last)] for u, t in enumerate(taps)) * w[j] for j in range(len(rate))]
    seconds = 2.4 + 10 / 3
    prior = [x / seconds for x in (1, 1, 0.4, 1, 1, 1, 1 / 3)]
    expected = [0.9 * x / sum(old) + 0.1 * q for x, q in zip(old, prior, strict=True)]
    torch.testing.assert_close(s.probabilities.double(), torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-7)
