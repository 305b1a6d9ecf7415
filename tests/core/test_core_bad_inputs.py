"""The bad-input table: for every public argument and each bad value, the exception type, a message that names the
argument, and a sampler whose ``state_dict()``, generator state and next draws are as if the call never happened.
Then the inputs that must be accepted (integer-likes, numpy values, devices) and what they must not break."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from _core_reference import state_equal

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

FRAMES = [120, 90, 200]
FPS = [50.0, 30.0, 50.0]
NAMES = ["walk", "run", "jump"]


def T(*values, dtype=torch.int64):  # noqa: N802
    return torch.tensor(values, dtype=dtype)


def F(*values):  # noqa: N802
    return torch.tensor(values, dtype=torch.float32)


def with_history(s: AdaptiveSampler) -> AdaptiveSampler:
    """Merged and pending statistics and a moved generator."""
    for step in range(5):
        s.record(T(0, 1, 2, 2), T(0, 10, 50, 100), T(110, 80, 150, 100 + step), F(1.0, 0.0, 0.5, 1.0))
        s.sample(8)
        s.step()
    s.record(T(2), T(0), T(199), T(True, dtype=torch.bool))
    return s


@pytest.fixture
def sampler() -> AdaptiveSampler:
    return with_history(AdaptiveSampler(AdaptiveSamplerCfg(rebuild_every=2, seed=0), FRAMES, FPS, NAMES))


def state_with(s: AdaptiveSampler, key: str, value: Any = None, layout: dict | None = None) -> dict:
    state = copy.deepcopy(s.state_dict())
    if layout is not None:
        state["layout"].update(layout)
    else:
        state[key] = value(state[key]) if callable(value) else value
    return state


def big_failures(t: torch.Tensor) -> torch.Tensor:
    out = t.clone()
    out[0] = 1e39  # finite in float64, overflows float32
    return out


# (argument, bad value label, call, exception, message pattern naming the argument)
METHOD_CASES: list[tuple[str, str, Callable[[AdaptiveSampler], Any], type, str]] = [
    # record
    ("motion_ids", "list", lambda s: s.record([0], T(0), T(1), F(1)), TypeError, r"motion_ids must be a torch.Tensor"),
    ("motion_ids", "float", lambda s: s.record(F(0), T(0), T(1), F(1)), TypeError, r"motion_ids must be an integer"),
    ("motion_ids", "bool", lambda s: s.record(T(1, dtype=torch.bool), T(0), T(1), F(1)), TypeError, r"motion_ids"),
    ("motion_ids", "2-D", lambda s: s.record(T(0).view(1, 1), T(0), T(1), F(1)), ValueError, r"motion_ids must be 1-D"),
    ("motion_ids", "0-d", lambda s: s.record(torch.tensor(0), T(0), T(1), F(1)), ValueError, r"motion_ids must be 1-D"),
    ("motion_ids", "too large", lambda s: s.record(T(3), T(0), T(1), F(1)), ValueError, r"motion_ids must be in"),
    ("motion_ids", "negative", lambda s: s.record(T(-1), T(0), T(1), F(1)), ValueError, r"motion_ids must be in"),
    ("motion_ids", "meta", lambda s: s.record(T(0).to("meta"), T(0), T(1), F(1)), ValueError, r"motion_ids must be on"),
    ("start_frames", "negative", lambda s: s.record(T(0), T(-1), T(1), F(1)), ValueError, r"start_frames must be in"),
    ("start_frames", "past clip", lambda s: s.record(T(1), T(90), T(89), F(1)), ValueError, r"start_frames must be in"),
    (
        "start_frames",
        "float",
        lambda s: s.record(T(0), F(0), T(1), F(1)),
        TypeError,
        r"start_frames must be an integer",
    ),
    (
        "start_frames",
        "length",
        lambda s: s.record(T(0, 1), T(0), T(1, 1), F(1, 1)),
        ValueError,
        r"start_frames must have",
    ),
    (
        "start_frames",
        "numpy",
        lambda s: s.record(T(0), np.array([0]), T(1), F(1)),
        TypeError,
        r"start_frames must be a",
    ),
    ("end_frames", "past clip", lambda s: s.record(T(0), T(0), T(120), F(1)), ValueError, r"end_frames must be in"),
    ("end_frames", "before start", lambda s: s.record(T(0), T(5), T(4), F(1)), ValueError, r"end_frames must be >="),
    ("end_frames", "float", lambda s: s.record(T(0), T(0), F(1), F(1)), TypeError, r"end_frames must be an integer"),
    ("failed", "int", lambda s: s.record(T(0), T(0), T(1), T(1)), TypeError, r"failed must be a bool or floating"),
    ("failed", "complex", lambda s: s.record(T(0), T(0), T(1), F(1).to(torch.complex64)), TypeError, r"failed must be"),
    ("failed", "NaN", lambda s: s.record(T(0), T(0), T(1), F(math.nan)), ValueError, r"failed must be in \[0, 1\]"),
    ("failed", "above 1", lambda s: s.record(T(0), T(0), T(1), F(1.5)), ValueError, r"failed must be in \[0, 1\]"),
    ("failed", "negative", lambda s: s.record(T(0), T(0), T(1), F(-0.1)), ValueError, r"failed must be in \[0, 1\]"),
    ("failed", "list", lambda s: s.record(T(0), T(0), T(1), [True]), TypeError, r"failed must be a torch.Tensor"),
    ("failed", "length", lambda s: s.record(T(0), T(0), T(1), F(1, 1)), ValueError, r"failed must have the length"),
    # sample
    ("num", "negative", lambda s: s.sample(-1), ValueError, r"num must be an int in"),
    ("num", "huge", lambda s: s.sample(10**12), ValueError, r"num must be an int in \[0, 2147483647\]"),
    ("num", "float", lambda s: s.sample(2.0), TypeError, r"num must be an int, got 2.0"),
    ("num", "bool", lambda s: s.sample(True), TypeError, r"num must be an int, got True"),
    ("num", "str", lambda s: s.sample("3"), TypeError, r"num must be an int"),
    ("num", "numpy bool", lambda s: s.sample(np.bool_(True)), TypeError, r"num must be an int"),
    ("num", "neither", lambda s: s.sample(), ValueError, r"exactly one of num and motion_ids"),
    ("num", "both", lambda s: s.sample(3, motion_ids=T(0)), ValueError, r"exactly one of num and motion_ids"),
    ("motion_ids", "sample range", lambda s: s.sample(motion_ids=T(0, 3)), ValueError, r"motion_ids must be in"),
    ("motion_ids", "sample float", lambda s: s.sample(motion_ids=F(0)), TypeError, r"motion_ids must be an integer"),
    ("motion_ids", "sample meta", lambda s: s.sample(motion_ids=T(0).to("meta")), ValueError, r"motion_ids must be on"),
    # train / eval
    ("mode", "str", lambda s: s.train("False"), TypeError, r"mode must be a bool, got 'False'"),
    ("mode", "None", lambda s: s.train(None), TypeError, r"mode must be a bool, got None"),
    ("mode", "int", lambda s: s.train(0), TypeError, r"mode must be a bool, got 0"),
    ("mode", "numpy bool", lambda s: s.train(np.bool_(False)), TypeError, r"mode must be a bool"),
    # load_state_dict
    ("remap", "str", lambda s: s.load_state_dict(s.state_dict(), remap="no"), TypeError, r"remap must be a bool"),
    ("remap", "None", lambda s: s.load_state_dict(s.state_dict(), remap=None), TypeError, r"remap must be a bool"),
    ("state_dict", "list", lambda s: s.load_state_dict([1]), TypeError, r"state_dict must be a dict"),
    (
        "state_dict",
        "float32 overflow",
        lambda s: s.load_state_dict(state_with(s, "failures", big_failures)),
        ValueError,
        r"state_dict\['failures'\] must hold values of magnitude <= 1e\+30",
    ),
    (
        "state_dict",
        "meta tensor",
        lambda s: s.load_state_dict(state_with(s, "visits", lambda t: t.to("meta"))),
        ValueError,
        r"state_dict\['visits'\] must hold values, got a meta tensor",
    ),
    (
        "state_dict",
        "meta generator",
        lambda s: s.load_state_dict(state_with(s, "generator_state", lambda t: t.to("meta"))),
        ValueError,
        r"state_dict\['generator_state'\]",
    ),
    (
        "state_dict",
        "unhashable names",
        lambda s: s.load_state_dict(state_with(s, "", layout={"motion_names": [["walk"], "run", "jump"]}), remap=True),
        ValueError,
        r"state_dict\['layout'\]\['motion_names'\] must be a list of str",
    ),
    (
        "state_dict",
        "bool frames",
        lambda s: s.load_state_dict(state_with(s, "", layout={"num_frames": [True, 90, 200]})),
        ValueError,
        r"state_dict\['layout'\]\['num_frames'\] must hold positive ints",
    ),
    (
        "state_dict",
        "NaN fps",
        lambda s: s.load_state_dict(state_with(s, "", layout={"fps": [math.nan, 30.0, 50.0]})),
        ValueError,
        r"state_dict\['layout'\]\['fps'\] must hold finite numbers",
    ),
]


@pytest.mark.parametrize(
    ("argument", "label", "call", "exc", "match"), METHOD_CASES, ids=[f"{a}-{b}" for a, b, *_ in METHOD_CASES]
)
def test_bad_argument_raises_and_changes_nothing(sampler, argument, label, call, exc, match):
    """The call raises the documented exception type with a message naming the argument, and the sampler's state,
    generator state and next draws (free, conditional and after one more step) equal those of an untouched copy."""
    twin = copy.deepcopy(sampler)
    before = sampler.state_dict()
    generator = sampler.generator.get_state()
    with pytest.raises(exc, match=match):
        call(sampler)
    assert argument in match or "state_dict" in match or "num and motion_ids" in match
    assert state_equal(before, sampler.state_dict()), label
    assert torch.equal(generator, sampler.generator.get_state())
    for s in (sampler, twin):
        s.record(T(0, 2), T(0, 30), T(60, 190), F(1.0, 0.0))
        s.step()
    for a, b in zip(sampler.sample(64), twin.sample(64), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(sampler.sample(motion_ids=T(0, 1, 2, 2)), twin.sample(motion_ids=T(0, 1, 2, 2)), strict=True):
        assert torch.equal(a, b)
    assert state_equal(sampler.state_dict(), twin.state_dict())


# (argument, label, keyword arguments of the constructor, exception, message pattern)
CONSTRUCTOR_CASES: list[tuple[str, str, dict, type, str]] = [
    ("cfg", "dict", dict(cfg={}), TypeError, r"cfg must be an AdaptiveSamplerCfg"),
    ("num_frames", "set", dict(num_frames={120, 90, 200}), TypeError, r"num_frames must be an ordered sequence"),
    ("num_frames", "numpy bool", dict(num_frames=np.array([True, True, True])), TypeError, r"num_frames\[0\]"),
    ("num_frames", "2-D numpy", dict(num_frames=np.ones((3, 1), dtype=int)), ValueError, r"num_frames must be 1-D"),
    ("num_frames", "meta", dict(num_frames=torch.tensor(FRAMES, device="meta")), ValueError, r"num_frames must hold"),
    ("fps", "bool", dict(fps=True), TypeError, r"fps must be a real number or one per motion, got True"),
    ("fps", "bool list", dict(fps=[True, 30.0, 50.0]), TypeError, r"fps\[0\] must be a real number"),
    ("fps", "complex", dict(fps=[50.0, 30.0 + 1j, 50.0]), TypeError, r"fps\[1\] must be a real number"),
    ("fps", "0-d bool tensor", dict(fps=torch.tensor(True)), TypeError, r"fps must be a real number"),
    ("fps", "set", dict(fps={50.0, 30.0}), TypeError, r"fps must be an ordered sequence"),
    ("motion_names", "set", dict(motion_names={"walk", "run", "jump"}), TypeError, r"motion_names must be an ordered"),
    ("motion_names", "dict", dict(motion_names=dict.fromkeys(NAMES)), TypeError, r"motion_names must be an ordered"),
    ("device", "meta", dict(device="meta"), ValueError, r"device must hold data"),
    ("device", "unknown", dict(device="nodevice"), ValueError, r"device must name a torch device"),
    ("device", "int list", dict(device=[0]), TypeError, r"device must be a str or torch.device"),
    ("motion_weights", "complex", dict(motion_weights=[1 + 1j, 1.0, 1.0]), TypeError, r"motion_weights must hold real"),
    ("motion_weights", "str", dict(motion_weights="abc"), TypeError, r"motion_weights must be a sequence of real"),
    ("motion_weights", "str list", dict(motion_weights=["a", "b", "c"]), TypeError, r"motion_weights must be a seq"),
    ("motion_weights", "bool", dict(motion_weights=[True, False, True]), TypeError, r"motion_weights must hold real"),
    (
        "motion_weights",
        "meta",
        dict(motion_weights=torch.ones(3, device="meta")),
        ValueError,
        r"motion_weights must hold values",
    ),
    ("motion_weights", "inf", dict(motion_weights=[math.inf, 1.0, 1.0]), ValueError, r"motion_weights must be finite"),
]
if not torch.cuda.is_available():
    CONSTRUCTOR_CASES.append(
        ("device", "cuda on a CPU build", dict(device="cuda"), ValueError, r"device 'cuda' is not")
    )


@pytest.mark.parametrize(
    ("argument", "label", "kwargs", "exc", "match"),
    CONSTRUCTOR_CASES,
    ids=[f"{a}-{b}" for a, b, *_ in CONSTRUCTOR_CASES],
)
def test_bad_constructor_argument(argument, label, kwargs, exc, match):
    """The constructor raises the documented exception type naming the argument, leaves the caller's config as it
    was and does not touch torch's global generator."""
    cfg = AdaptiveSamplerCfg(prior="weights" if argument == "motion_weights" else "motion", seed=0)
    values = {**dict(cfg=cfg, num_frames=FRAMES, fps=FPS, motion_names=NAMES), **kwargs}
    cfg_before = cfg.to_dict()
    rng = torch.get_rng_state()
    with pytest.raises(exc, match=match):
        AdaptiveSampler(**values)
    assert argument in match
    assert cfg.to_dict() == cfg_before
    assert torch.equal(rng, torch.get_rng_state())


@pytest.mark.parametrize(("seed", "ok"), [(2**64 - 1, True), (2**64, False), (2**70, False)])
def test_seed_range_is_the_generators(seed, ok):
    """A seed is accepted exactly when torch.Generator.manual_seed takes it; a larger one raises ValueError naming
    the seed when the config is built (not an OverflowError inside the sampler)."""
    if ok:
        AdaptiveSampler(AdaptiveSamplerCfg(seed=seed), FRAMES, FPS)
    else:
        with pytest.raises(ValueError, match=r"AdaptiveSamplerCfg\.seed must be <= 18446744073709551615"):
            AdaptiveSamplerCfg(seed=seed)


# ---------------------------------------------------------------------------------------------------- accepted


def test_numpy_and_tensor_library_arguments_are_accepted():
    """num_frames and fps as numpy arrays, numpy scalars and 0-d tensors or arrays give the same layout as lists."""
    ref = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), FRAMES, FPS, NAMES).layout.signature()
    variants = [
        dict(num_frames=np.array(FRAMES), fps=np.array(FPS)),
        dict(num_frames=np.array(FRAMES, dtype=np.int32), fps=np.array(FPS, dtype=np.float32)),
        dict(num_frames=[np.int64(f) for f in FRAMES], fps=[np.float32(f) for f in FPS]),
        dict(num_frames=torch.tensor(FRAMES), fps=torch.tensor(FPS)),
        dict(num_frames=tuple(FRAMES), fps=tuple(FPS)),
    ]
    for kwargs in variants:
        assert AdaptiveSampler(AdaptiveSamplerCfg(seed=0), motion_names=NAMES, **kwargs).layout.signature() == ref
    one = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), FRAMES, 50.0).layout.fps.tolist()
    for fps in (np.float64(50.0), np.float32(50.0), np.int64(50), torch.tensor(50.0), np.array(50.0)):
        assert AdaptiveSampler(AdaptiveSamplerCfg(seed=0), FRAMES, fps).layout.fps.tolist() == one


def test_integer_likes_accepted_by_sample(sampler):
    """sample(num) takes any integer-like (operator.index): numpy integers draw what the same int draws."""
    twin = copy.deepcopy(sampler)
    for a, b in zip(sampler.sample(np.int64(5)), twin.sample(5), strict=True):
        assert torch.equal(a, b)


def test_cpu_zero_device_accepts_its_own_samples():
    """device="cpu:0" is the CPU: the sampler reports cpu and records the samples it drew."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), FRAMES, FPS, device="cpu:0")
    assert s.device == torch.device("cpu")
    ids, frames = s.sample(8)
    s.record(ids, frames, frames, torch.zeros(8, dtype=torch.bool))
    s.step()


def test_config_is_copied_and_read_only():
    """Editing the config after construction, or reusing it for a second sampler, does not change the first sampler;
    the sampler's own copy refuses edits."""
    cfg = AdaptiveSamplerCfg(seed=0, uniform_ratio=0.1)
    first = AdaptiveSampler(cfg, FRAMES, FPS)
    cfg.uniform_ratio = 2.0  # would give negative probabilities
    cfg.ema_alpha = math.nan
    assert first.cfg.uniform_ratio == 0.1 and first.cfg.ema_alpha == 0.001
    with pytest.raises(dataclasses.FrozenInstanceError, match=r"read-only.*uniform_ratio"):
        first.cfg.uniform_ratio = 0.5  # type: ignore[misc]
    with_history(first)
    p = first.probabilities
    assert bool((p >= 0).all()) and abs(float(p.sum()) - 1.0) < 1e-5
    with pytest.raises(ValueError, match=r"AdaptiveSamplerCfg\.ema_alpha"):
        AdaptiveSampler(cfg, FRAMES, FPS)  # the edited config itself is checked again
    cfg.uniform_ratio, cfg.ema_alpha = 0.5, 0.001
    second = AdaptiveSampler(cfg, FRAMES, FPS)
    assert second.cfg.uniform_ratio == 0.5 and first.cfg.uniform_ratio == 0.1
    assert first.cfg == AdaptiveSamplerCfg(seed=0, uniform_ratio=0.1)
    assert dataclasses.replace(first.cfg, seed=1).seed == 1


def test_huge_motion_weights_normalise():
    """motion_weights near the float64 maximum keep a prior that sums to 1 (the weights are scaled before summing)."""
    cfg = AdaptiveSamplerCfg(prior="weights", seed=0)
    s = AdaptiveSampler(cfg, FRAMES, FPS, motion_weights=[1e308, 1e308, 1e308])
    torch.testing.assert_close(s.layout.segment_sum(s.prior.double()), torch.full((3,), 1 / 3, dtype=torch.float64))
    assert abs(float(s.probabilities.double().sum()) - 1.0) < 1e-6


def test_soft_failure_with_grad_is_detached(sampler):
    """A soft `failed` tensor that requires grad records like its detached values, and the sampler stays usable
    (record, rebuild, deepcopy, state_dict)."""
    twin = copy.deepcopy(sampler)
    soft = torch.tensor([0.25, 1.0], requires_grad=True)
    sampler.record(T(0, 1), T(0, 0), T(10, 20), soft * 1.0)
    twin.record(T(0, 1), T(0, 0), T(10, 20), soft.detach())
    for s in (sampler, twin):
        s.rebuild()
        s.record(T(0), T(0), T(1), F(1.0))
    assert not any(t.requires_grad for t in sampler.state_dict().values() if isinstance(t, torch.Tensor))
    assert state_equal(copy.deepcopy(sampler).state_dict(), twin.state_dict())


def test_unchecked_out_of_range_values_record_whole_events():
    """With validate_args=False an out-of-range motion id or frame never leaves a half-applied record: every index
    is clamped into range before anything is written (here: the same state as recording the clamped values)."""
    cfg = AdaptiveSamplerCfg(seed=0, rebuild_every=1, validate_args=False)
    a = AdaptiveSampler(cfg, FRAMES, FPS)
    b = AdaptiveSampler(cfg, FRAMES, FPS)
    a.record(T(0, 5, -2, 1), T(-3, 10, 0, 40), T(10, 10, 500, 95), F(1.0, 1.0, 0.0, 1.0))
    b.record(T(0, 2, 0, 1), T(0, 10, 0, 40), T(10, 10, 119, 89), F(1.0, 1.0, 0.0, 1.0))
    assert state_equal(a.state_dict(), b.state_dict())
    a.step()
    b.step()
    assert state_equal(a.state_dict(), b.state_dict())
    ids, frames = a.sample(motion_ids=T(7, -1))  # clamped to the last and first motion
    assert ids.tolist() == [2, 0] and bool((frames < a.layout.num_frames[ids]).all())


def test_conditional_sample_in_a_motion_without_mass_is_uniform_in_time():
    """sample(motion_ids=...) in a motion whose bins all have zero probability (count statistic, no floor, failures
    only elsewhere) draws frames uniform over the whole motion (its prior), not its last bin."""
    cfg = AdaptiveSamplerCfg(statistic="count", uniform_ratio=0.0, rebuild_every=1, seed=0)
    s = AdaptiveSampler(cfg, [500, 100], [50.0, 50.0])
    s.record(T(1), T(0), T(10), F(1.0))
    s.step()
    assert float(s.layout.segment_sum(s.probabilities.double())[0]) == 0.0
    ids, frames = s.sample(motion_ids=torch.zeros(20_000, dtype=torch.int64))
    assert bool((ids == 0).all())
    counts = torch.bincount(frames // 50, minlength=10).double()  # 10 bins of 50 frames
    assert bool((counts > 1700).all()) and bool((counts < 2300).all()), counts
    # a motion with mass still draws from its bins only
    ids, frames = s.sample(motion_ids=torch.ones(1000, dtype=torch.int64))
    assert bool((frames < 50).all())


# ---------------------------------------------------------------------------------------------------- state


def test_load_with_another_alpha_does_not_modify_the_argument(sampler):
    """Loading a state saved with another ema_alpha rescales copies, never the given tensors."""
    state = sampler.state_dict()
    snapshot = copy.deepcopy(state)
    other = AdaptiveSampler(AdaptiveSamplerCfg(rebuild_every=2, seed=0, ema_alpha=0.01), FRAMES, FPS, NAMES)
    other.load_state_dict(state)
    assert state_equal(snapshot, state)


@pytest.mark.parametrize("alpha", [0.001, 0.01])
def test_clock_far_ahead_of_t0_loads_and_steps(sampler, alpha):
    """A state whose clock is far ahead of its t0 (lazy weights that would overflow) is folded on load, under the
    same or another ema_alpha: loading, stepping and rebuilding work and give a finite distribution whose
    statistics decayed to (nearly) nothing."""
    state = sampler.state_dict()
    state["clock"] = 10**6
    target = AdaptiveSampler(AdaptiveSamplerCfg(rebuild_every=2, seed=0, ema_alpha=alpha), FRAMES, FPS, NAMES)
    target.load_state_dict(state)
    assert target.clock == 10**6
    for _ in range(30):
        target.record(T(0), T(0), T(10), F(1.0))
        target.step()
    p = target.probabilities.double()
    assert bool(torch.isfinite(p).all()) and abs(float(p.sum()) - 1.0) < 1e-6
    assert float(target.tables()["visits"][2].nansum()) < 1e-6  # motion 2's old visits decayed away


def test_state_saved_by_the_sampler_is_never_folded_on_load(sampler):
    """A state the sampler wrote itself loads bit-exactly (the overflow fold only applies to foreign states)."""
    state = sampler.state_dict()
    target = AdaptiveSampler(AdaptiveSamplerCfg(rebuild_every=2, seed=0), FRAMES, FPS, NAMES)
    target.load_state_dict(state)
    assert state_equal(state, target.state_dict())
