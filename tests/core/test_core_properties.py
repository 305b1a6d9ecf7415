"""Property tests (hypothesis): random libraries, configurations and event histories."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import torch
from _core_reference import (
    BIN_DURATION_CHOICES,
    FPS_CHOICES,
    Event,
    ReferenceSampler,
    RefLibrary,
    make_sampler,
    record_events,
)
from hypothesis import assume, example, given
from hypothesis import strategies as st

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

# ---------------------------------------------------------------------------------------------------- strategies


@st.composite
def libraries(draw, max_motions: int = 6, max_frames: int = 400, bin_layout: str = "duration") -> RefLibrary:
    """1-6 motions with random frames and frame rates, and a random bin width."""
    num = draw(st.integers(1, max_motions))
    frames = draw(st.lists(st.integers(1, max_frames), min_size=num, max_size=num))
    if bin_layout == "beyondmimic":
        # integral fps and bin widths exact in binary, so T // (fps * width) is the same in floats and rationals
        fps = draw(st.lists(st.sampled_from(["24", "25", "30", "50", "60", "100"]), min_size=num, max_size=num))
        width = draw(st.sampled_from([Fraction(1, 2), Fraction(1), Fraction(2)]))
    else:
        fps = draw(st.lists(st.sampled_from(FPS_CHOICES), min_size=num, max_size=num))
        width = draw(st.sampled_from(BIN_DURATION_CHOICES))
    names = [f"clip_{i}" for i in draw(st.permutations(range(num)))]
    return RefLibrary(frames, fps, width, names)


@st.composite
def configs(draw, num_motions: int, bin_layout: str = "duration", **fixed) -> AdaptiveSamplerCfg:
    """Any valid configuration (fields in ``fixed`` are not drawn; ``max_motion_share=None`` draws a cap < 1)."""
    values = dict(
        bin_layout=bin_layout,
        attribution=draw(st.sampled_from(["failure", "start"])),
        statistic=draw(st.sampled_from(["rate", "count"])),
        ema_alpha=draw(st.sampled_from([0.0, 0.001, 0.05, 0.5, 0.95])),
        # the core scores in float32: priors or soft failures below ~1e-30 would underflow (a precision limit)
        rate_prior=draw(st.one_of(st.just(0.0), st.floats(1e-6, 1.0))),
        rate_prior_visits=draw(st.floats(0.01, 10.0)),
        kernel_size=draw(st.integers(1, 5)),
        kernel_decay=draw(st.floats(0.01, 1.0)),
        uniform_ratio=draw(st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))),
        additive_uniform_ratio=draw(st.one_of(st.just(0.0), st.floats(0.01, 2.0))),
        prior=draw(st.sampled_from(["motion", "duration", "weights"])),
        max_motion_share=draw(st.one_of(st.just(1.0), st.floats(1.0 / num_motions, 1.0))),
        rebuild_every=draw(st.integers(1, 3)),
        stall_patience=draw(st.sampled_from([0.0, 1.0, 3.0, 1000.0])),
        stall_threshold=draw(st.floats(0.01, 0.9)),
        stall_moves=draw(st.sampled_from(["fall", "any"])),
        seed=draw(st.integers(0, 2**31)),
    )
    if fixed.get("max_motion_share", 0.0) is None:  # None: draw a real cap (< 1 where possible)
        del fixed["max_motion_share"]
        values["max_motion_share"] = draw(st.floats(1.0 / num_motions, 1.0, exclude_max=num_motions > 1))
    values.update(fixed)
    if values["statistic"] == "count" and values["ema_alpha"] == 0.0:
        values["additive_uniform_ratio"] = 0.0
    return AdaptiveSamplerCfg(**values)


@st.composite
def step_events(draw, lib: RefLibrary, max_events: int = 8) -> list[Event]:
    """Segments that ended in one step: any motion, start <= end inside it, hard or soft failures."""
    events = []
    for _ in range(draw(st.integers(0, max_events))):
        m = draw(st.integers(0, len(lib.num_frames) - 1))
        t = lib.num_frames[m]
        start = draw(st.integers(0, t - 1))
        end = draw(st.integers(start, t - 1))
        failed = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(2.0**-20, 1.0, width=32)))
        events.append(Event(m, start, end, failed))
    return events


@dataclass
class Scenario:
    lib: RefLibrary
    cfg: AdaptiveSamplerCfg
    weights: list[float] | None
    steps: list[list[Event]]


@st.composite
def scenarios(
    draw, max_steps: int = 6, bin_layouts: tuple[str, ...] = ("duration", "duration", "beyondmimic"), **fixed
) -> Scenario:
    """A library, a configuration, prior weights if needed, and the events of a few steps."""
    bin_layout = draw(st.sampled_from(bin_layouts))
    lib = draw(libraries(bin_layout=bin_layout))
    cfg = draw(configs(len(lib.num_frames), bin_layout=bin_layout, bin_duration_s=float(lib.bin_duration), **fixed))
    weights = None
    if cfg.prior == "weights":
        # a weight is 0 or at least 1e-6 of the largest: the core keeps the prior in float32, where a motion of
        # relative weight 1e-88 is 0 (the reference, in float64, would still give it a capped share)
        weight = st.one_of(st.just(0.0), st.floats(1e-3, 10.0))
        weights = draw(
            st.lists(weight, min_size=len(lib.num_frames), max_size=len(lib.num_frames)).filter(lambda w: sum(w) > 1e-3)
        )
    steps = draw(st.lists(step_events(lib), min_size=0, max_size=max_steps))
    return Scenario(lib, cfg, weights, steps)


def run(sc: Scenario, *, float_failed: bool = True) -> AdaptiveSampler:
    """The core sampler after recording every step's events and stepping."""
    sampler = make_sampler(sc.cfg, sc.lib, sc.weights)
    for events in sc.steps:
        if events:
            record_events(sampler, events, float_failed=float_failed)
        sampler.step()
    return sampler


def stat_keys(state: dict) -> list[str]:
    """The state's tensors other than the generator state (statistics, distribution)."""
    return sorted(k for k, v in state.items() if isinstance(v, torch.Tensor) and k != "generator_state")


def run_reference(sc: Scenario) -> ReferenceSampler:
    ref = ReferenceSampler(sc.cfg, sc.lib, sc.weights)
    for events in sc.steps:
        ref.record(events)
        ref.step()
    return ref


# ---------------------------------------------------------------------------------------------------- properties


@given(scenarios())
def test_probabilities_are_a_distribution(sc):
    """Whatever the library, configuration and events: probabilities are finite, >= 0 and sum to 1."""
    p = run(sc).probabilities.double()
    assert bool(torch.isfinite(p).all())
    assert bool((p >= 0).all())
    assert abs(float(p.sum()) - 1.0) < 1e-5


@given(scenarios())
def test_every_bin_keeps_its_floor(sc):
    """Every bin keeps at least uniform_ratio * p_prior (the true mixture), whatever the failure statistics."""
    sampler = run(sc)
    p = sampler.probabilities.double()
    floor = sc.cfg.uniform_ratio * sampler.prior.double()
    assert bool((p >= floor * (1 - 1e-5) - 1e-12).all()), (p - floor).min()


def _capped_weights_scenario(num_frames, bin_duration, rate_prior, max_share, weights, bin_layout):
    cfg = AdaptiveSamplerCfg(
        bin_duration_s=float(bin_duration),
        bin_layout=bin_layout,
        ema_alpha=0.0,
        rate_prior=rate_prior,
        kernel_size=1,
        kernel_decay=1.0,
        uniform_ratio=0.0,
        prior="weights",
        max_motion_share=max_share,
        rebuild_every=1,
        seed=0,
    )
    names = [f"clip_{i}" for i in range(len(num_frames))]
    lib = RefLibrary(num_frames=num_frames, fps=["24"] * len(num_frames), bin_duration=bin_duration, names=names)
    return Scenario(lib=lib, cfg=cfg, weights=weights, steps=[])


@given(scenarios())
# a motion with a tiny share receives the capped excess (scaled by ~1/its mass: no float32 cancellation there)
@example(_capped_weights_scenario([1, 89, 1, 1], Fraction(1, 2), 0.9375, 0.375, [2.0, 0.001, 0.0, 1.0], "beyondmimic"))
# no failure score at all and only zero-mass motions left uncapped (a huge factor on zero bins, never NaN)
@example(_capped_weights_scenario([1, 1, 1, 1], Fraction(1, 5), 0.0, 0.5, [0.0, 0.0, 0.0, 1.0], "duration"))
def test_batched_equals_per_motion_reference(sc):
    """The batched sampler's distribution equals a slow per-motion Python reference of the documented formulas
    (bins, attribution, visits of traversed bins, EMA per step, rate with prior or counts, additive term,
    look-ahead kernel with per-clip replicate padding, motion cap, true mixture, priors)."""
    sampler = run(sc)
    ref = run_reference(sc)
    assert sampler.layout.bins_per_motion.tolist() == [len(s) for s in ref.starts]
    assert sampler.layout.bin_start_frame.tolist() == [f for s in ref.starts for f in s]
    torch.testing.assert_close(
        sampler.prior.double(), torch.tensor(ref.flat_prior(), dtype=torch.float64), rtol=1e-5, atol=1e-7
    )
    torch.testing.assert_close(
        sampler.probabilities.double(), torch.tensor(ref.probs, dtype=torch.float64), rtol=1e-4, atol=1e-6
    )


@given(scenarios(bin_layouts=("duration",), statistic="rate", prior="duration", rebuild_every=1))
def test_duration_prior_reproduces_the_width_weighted_rate(sc):
    """With prior="duration" (and the duration layout) the prior-tilted failure part p_fail ~ p_prior * s equals
    the formula it replaced, p_fail ~ s * frames_b / nominal bin: p_prior_b = frames_b / (fps_m * total seconds)
    is the bin's length in bins up to a constant. The whole distribution agrees up to float rounding."""
    sampler = run(sc)
    ref = run_reference(sc)
    old = ref.compute(rate_weighting="width")
    torch.testing.assert_close(
        sampler.probabilities.double(), torch.tensor(old, dtype=torch.float64), rtol=1e-4, atol=1e-6
    )


@given(scenarios(max_motion_share=None))
def test_motion_share_cap_respected(sc):
    """Every motion's final mass is at most (1 - lambda) * max_motion_share + lambda * its prior share (when at least
    1 / max_motion_share motions have failure mass), and every bin keeps its floor (the cap never eats the floor)."""
    sampler = run(sc)
    ref = run_reference(sc)
    # documented limit (kernels.cap_motion_share): if fewer than 1 / cap motions have failure mass, no
    # redistribution inside p_fail can hold the cap
    assume(ref.cap_feasible)
    lam, cap = sc.cfg.uniform_ratio, sc.cfg.max_motion_share
    mass = sampler.layout.segment_sum(sampler.probabilities.double())
    prior_mass = sampler.layout.segment_sum(sampler.prior.double())
    bound = (1 - lam) * cap + lam * prior_mass
    assert bool((mass <= bound + 1e-5).all()), (mass, bound)
    assert bool((sampler.probabilities.double() >= lam * sampler.prior.double() * (1 - 1e-5) - 1e-12).all())


@given(scenarios())
def test_bool_and_float_failures_agree(sc):
    """failed as a bool tensor gives the same state as the same 0/1 values as floats."""
    steps = [[Event(e.motion, e.start, e.end, float(e.failed >= 0.5)) for e in events] for events in sc.steps]
    hard = Scenario(sc.lib, sc.cfg, sc.weights, steps)
    a = run(hard, float_failed=True).state_dict()
    b = run(hard, float_failed=False).state_dict()
    for key in stat_keys(a):
        assert torch.equal(a[key], b[key]), key


@given(scenarios())
def test_samples_land_inside_a_bin_with_mass_and_inside_the_clip(sc):
    """Every sampled start is a real frame of its motion and lies in a bin of positive probability; with counts,
    no floor and K = 1, that means inside a bin where a failure was recorded."""
    sampler = run(sc)
    ids, frames = sampler.sample(200)
    assert ids.dtype == torch.int64 and frames.dtype == torch.int64
    assert bool(((ids >= 0) & (ids < sampler.num_motions)).all())
    assert bool(((frames >= 0) & (frames < sampler.layout.num_frames[ids])).all())
    ref = ReferenceSampler(sc.cfg, sc.lib, sc.weights)
    bins = [ref.flat_bin(m, f) for m, f in zip(ids.tolist(), frames.tolist(), strict=True)]
    p = sampler.probabilities
    assert all(float(p[b]) > 0 for b in bins)


@given(libraries(), st.lists(st.integers(0, 10**6), min_size=1, max_size=6), st.data())
def test_samples_only_in_failed_bins(lib, picks, data):
    """With raw counts, no floor, no additive term and K = 1, only bins with recorded failures can be drawn, and a
    draw lands on a frame inside such a bin."""
    cfg = AdaptiveSamplerCfg(
        statistic="count",
        ema_alpha=0.0,
        uniform_ratio=0.0,
        kernel_size=1,
        rebuild_every=1,
        bin_duration_s=float(lib.bin_duration),
        seed=data.draw(st.integers(0, 1000)),
    )
    ref = ReferenceSampler(cfg, lib)
    events = []
    for pick in picks:
        m = pick % len(lib.num_frames)
        frame = (pick // 7) % lib.num_frames[m]
        events.append(Event(m, 0, frame, 1.0))
    sampler = make_sampler(cfg, lib)
    record_events(sampler, events)
    sampler.step()
    failed_bins = {ref.flat_bin(e.motion, e.end) for e in events}
    ids, frames = sampler.sample(300)
    drawn = {ref.flat_bin(m, f) for m, f in zip(ids.tolist(), frames.tolist(), strict=True)}
    assert drawn <= failed_bins
    assert bool((frames < sampler.layout.num_frames[ids]).all())


@given(scenarios(max_steps=3), st.data())
def test_recording_split_across_calls_gives_same_state(sc, data):
    """Recording the events of a step in one call or split into several calls (some empty) in the same step gives
    the same statistics and distribution (up to float rounding)."""
    whole = make_sampler(sc.cfg, sc.lib, sc.weights)
    split = make_sampler(sc.cfg, sc.lib, sc.weights)
    for events in sc.steps:
        if events:
            record_events(whole, events)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=3)))
        for lo, hi in zip([0, *cuts], [*cuts, len(events)], strict=True):
            record_events(split, events[lo:hi])
        whole.step()
        split.step()
    a, b = whole.state_dict(), split.state_dict()
    assert stat_keys(a) == stat_keys(b) and "probabilities" in stat_keys(a)
    for key in stat_keys(a):
        if a[key].is_floating_point():
            torch.testing.assert_close(a[key], b[key], rtol=1e-9, atol=1e-9, msg=key)
        else:
            assert torch.equal(a[key], b[key]), key


@given(scenarios(max_steps=4), st.booleans())
def test_save_load_reproduces_next_draws(sc, through_bytes):
    """A sampler loaded from another's state_dict (optionally through torch.save / torch.load(weights_only=True))
    draws exactly the same next samples and evolves identically under the same future events."""
    a = run(sc)
    # leave some events pending (recorded but not yet stepped)
    if sc.steps and sc.steps[0]:
        record_events(a, sc.steps[0])
    state = a.state_dict()
    if through_bytes:
        buf = io.BytesIO()
        torch.save(state, buf)
        buf.seek(0)
        state = torch.load(buf, weights_only=True)
    other_cfg = AdaptiveSamplerCfg.from_dict({**sc.cfg.to_dict(), "seed": sc.cfg.seed + 1})
    b = make_sampler(other_cfg, sc.lib, sc.weights)
    report = b.load_state_dict(state)
    assert report.exact
    for x, y in zip(a.sample(64), b.sample(64), strict=True):
        assert torch.equal(x, y)
    ids = torch.arange(a.num_motions).repeat(5)
    for x, y in zip(a.sample(motion_ids=ids), b.sample(motion_ids=ids), strict=True):
        assert torch.equal(x, y)
    for events in sc.steps[1:]:
        for s in (a, b):
            if events:
                record_events(s, events)
            s.step()
    assert torch.equal(a.probabilities, b.probabilities)
    for x, y in zip(a.sample(64), b.sample(64), strict=True):
        assert torch.equal(x, y)


@given(scenarios(max_steps=4), st.data())
def test_remap_keeps_statistics_of_motions_that_stayed(sc, data):
    """Loading a state into a library that kept some motions (by name, same frames and fps), dropped some, changed
    one and added new ones, in another order: the kept motions keep their statistics, the others start from zero
    (the prior), and the report lists kept/added/dropped exactly."""
    a = run(sc)
    if sc.steps and sc.steps[-1]:
        record_events(a, sc.steps[-1])  # pending events are remapped too
    lib = sc.lib
    num = len(lib.num_frames)
    keep = data.draw(st.lists(st.sampled_from(range(num)), unique=True, max_size=num))
    changed = data.draw(st.sampled_from([None, *keep])) if keep else None
    new_frames = data.draw(st.lists(st.integers(1, 300), max_size=3))
    order = data.draw(st.permutations(range(len(keep) + len(new_frames))))
    entries = [(lib.names[i], lib.num_frames[i] + (1 if i == changed else 0), lib.fps[i]) for i in keep]
    entries += [(f"new_{j}", t, "30") for j, t in enumerate(new_frames)]
    entries = [entries[i] for i in order]
    if not entries:
        entries = [("new_x", 50, "30")]
    cfg_b = AdaptiveSamplerCfg.from_dict({**sc.cfg.to_dict(), "prior": "motion", "max_motion_share": 1.0})
    lib_b = RefLibrary([e[1] for e in entries], [e[2] for e in entries], lib.bin_duration, [e[0] for e in entries])
    b = make_sampler(cfg_b, lib_b)
    state = a.state_dict()
    report = b.load_state_dict(state, remap=True)
    kept_names = {lib.names[i] for i in keep if i != changed}
    assert report.kept == [n for n in lib_b.names if n in kept_names]
    assert report.added == [n for n in lib_b.names if n not in kept_names]
    assert report.dropped == [n for n in lib.names if n not in kept_names]
    a.rebuild()
    b.rebuild()
    ta, tb = a.tables(), b.tables()
    for m_b, name in enumerate(lib_b.names):
        nb = int(b.layout.bins_per_motion[m_b])
        if name in kept_names:
            m_a = lib.names.index(name)
            for key in ("failures", "visits"):
                torch.testing.assert_close(tb[key][m_b, :nb], ta[key][m_a, :nb], rtol=1e-6, atol=1e-9, msg=key)
        else:  # exact zeros are pinned by test_visits_never_leak_into_other_motions; here rounding is tolerated
            assert bool((tb["failures"][m_b, :nb] == 0).all())
            assert bool((tb["visits"][m_b, :nb].abs() < 1e-9).all()), tb["visits"][m_b, :nb]


@given(scenarios(max_steps=3), st.data())
def test_conditional_sampling_stays_in_requested_motions(sc, data):
    """sample(motion_ids=...) returns exactly the requested motions and a real frame inside each."""
    sampler = run(sc)
    num = len(sc.lib.num_frames)
    ids = torch.tensor(data.draw(st.lists(st.integers(0, num - 1), max_size=40)), dtype=torch.int64)
    got_ids, frames = sampler.sample(motion_ids=ids)
    assert torch.equal(got_ids, ids)
    assert bool(((frames >= 0) & (frames < sampler.layout.num_frames[ids])).all())
