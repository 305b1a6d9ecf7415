"""Bad input: every case raises ValueError/TypeError naming the argument, and leaves the sampler's state as it was."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from _core_reference import state_equal

from adaptive_sampling import STATE_VERSION, AdaptiveSampler, AdaptiveSamplerCfg
from adaptive_sampling.state import STALL_KEYS

FRAMES = [120, 90, 200]
FPS = [50.0, 30.0, 50.0]
NAMES = ["walk", "run", "jump"]


def make(**kw) -> AdaptiveSampler:
    values = dict(rebuild_every=2, seed=0)
    values.update(kw)
    return AdaptiveSampler(AdaptiveSamplerCfg(**values), FRAMES, FPS, NAMES)


@pytest.fixture
def sampler() -> AdaptiveSampler:
    """A sampler with some history (merged and pending statistics, a moved generator)."""
    s = make()
    for step in range(5):
        s.record(
            torch.tensor([0, 1, 2, 2]),
            torch.tensor([0, 10, 50, 100]),
            torch.tensor([110, 80, 150, 100 + step]),
            torch.tensor([1.0, 0.0, 0.5, 1.0]),
        )
        s.sample(8)
        s.step()
    s.record(torch.tensor([2]), torch.tensor([0]), torch.tensor([199]), torch.tensor([True]))
    return s


def T(*values, dtype=torch.int64):  # noqa: N802
    return torch.tensor(values, dtype=dtype)


# ---------------------------------------------------------------------------------------------------- library


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(num_frames=[], fps=[]), ValueError, r"num_frames.*empty"),
        (dict(num_frames=[100, 0], fps=[50.0, 50.0]), ValueError, r"num_frames\[1\] must be > 0, got 0"),
        (dict(num_frames=[-5], fps=[50.0]), ValueError, r"num_frames\[0\] must be > 0, got -5"),
        (dict(num_frames=[100.5], fps=[50.0]), TypeError, r"num_frames\[0\] must be an integer"),
        (dict(num_frames=[True], fps=[50.0]), TypeError, r"num_frames\[0\] must be an integer"),
        (dict(num_frames=[100], fps=[0.0]), ValueError, r"fps\[0\] must be finite and > 0, got 0.0"),
        (dict(num_frames=[100], fps=[-30.0]), ValueError, r"fps\[0\] must be finite and > 0, got -30.0"),
        (dict(num_frames=[100, 100], fps=[50.0, math.nan]), ValueError, r"fps\[1\] must be finite and > 0, got nan"),
        (dict(num_frames=[100], fps=[math.inf]), ValueError, r"fps\[0\] must be finite and > 0, got inf"),
        (dict(num_frames=[100], fps=[50.0, 30.0]), ValueError, r"fps must have one entry per motion \(1\), got 2"),
        (dict(num_frames=[100], fps=["50"]), TypeError, r"fps\[0\] must be a real number"),
        (dict(num_frames=[100], fps=[0.5]), ValueError, r"fps\[0\] \* bin_duration_s must be >= 1 frame per bin"),
        (dict(num_frames=[100, 100], fps=50.0, motion_names=["a", "a"]), ValueError, r"unique.*\['a'\]"),
        (dict(num_frames=[100, 100], fps=50.0, motion_names=["a"]), ValueError, r"motion_names must have one entry"),
        (dict(num_frames=[100], fps=50.0, motion_names="a"), TypeError, r"motion_names must be a sequence of str"),
        (dict(num_frames=[100], fps=50.0, motion_names=[""]), TypeError, r"motion_names\[0\] must be a non-empty"),
        (dict(num_frames=[100], fps=50.0, motion_names=[3]), TypeError, r"motion_names\[0\] must be a non-empty"),
        (dict(num_frames=torch.ones(2, 2, dtype=torch.int64), fps=50.0), ValueError, r"num_frames must be 1-D"),
    ],
)
def test_bad_library(kwargs, exc, match):
    """A bad library (empty, frames <= 0 or fractional, fps <= 0/NaN/inf, duplicate or bad names, wrong lengths)
    raises at construction with a message naming the argument and the value."""
    with pytest.raises(exc, match=match):
        AdaptiveSampler(AdaptiveSamplerCfg(seed=0), **kwargs)


# ---------------------------------------------------------------------------------------------------- config

BAD_FIELDS = [
    ("bin_duration_s", 0.0, ValueError),
    ("bin_duration_s", -1.0, ValueError),
    ("bin_duration_s", math.nan, ValueError),
    ("bin_duration_s", "1", TypeError),
    ("bin_layout", "frames", ValueError),
    ("attribution", "end", ValueError),
    ("statistic", "mean", ValueError),
    ("ema_alpha", -0.1, ValueError),
    ("ema_alpha", 1.0, ValueError),
    ("ema_alpha", math.nan, ValueError),
    ("rate_prior", -0.1, ValueError),
    ("rate_prior", 1.5, ValueError),
    ("rate_prior_visits", 0.0, ValueError),
    ("rate_prior_visits", math.inf, ValueError),
    ("kernel_size", 0, ValueError),
    ("kernel_size", 2.0, TypeError),
    ("kernel_size", True, TypeError),
    ("kernel_decay", 0.0, ValueError),
    ("kernel_decay", 1.5, ValueError),
    ("uniform_ratio", -0.01, ValueError),
    ("uniform_ratio", 1.01, ValueError),
    ("uniform_ratio", math.nan, ValueError),
    ("additive_uniform_ratio", -1.0, ValueError),
    ("prior", "uniform", ValueError),
    ("max_motion_share", 0.0, ValueError),
    ("max_motion_share", 1.5, ValueError),
    ("rebuild_every", 0, ValueError),
    ("rebuild_every", 1.5, TypeError),
    ("eval_start", "middle", ValueError),
    ("seed", -1, ValueError),
    ("seed", 1.5, TypeError),
    ("validate_args", 1, TypeError),
]


@pytest.mark.parametrize(("name", "value", "exc"), BAD_FIELDS)
def test_bad_config_field_at_construction(name, value, exc):
    """Each config field out of range raises when the config is built, naming the field."""
    with pytest.raises(exc, match=rf"AdaptiveSamplerCfg\.{name}"):
        AdaptiveSamplerCfg(**{name: value})


@pytest.mark.parametrize(("name", "value", "exc"), BAD_FIELDS)
def test_bad_config_field_set_after_construction(name, value, exc):
    """A field set out of range after the config was built (as command-line overrides do) is caught by the
    sampler's constructor."""
    cfg = AdaptiveSamplerCfg(seed=0)
    setattr(cfg, name, value)
    with pytest.raises(exc, match=rf"AdaptiveSamplerCfg\.{name}"):
        AdaptiveSampler(cfg, FRAMES, FPS, NAMES)


def test_count_without_ema_and_additive_term_rejected():
    """statistic="count" with ema_alpha = 0 and an additive term cannot be scaled: rejected."""
    with pytest.raises(ValueError, match=r"ema_alpha must be > 0"):
        AdaptiveSamplerCfg(statistic="count", ema_alpha=0.0, additive_uniform_ratio=0.1)


def test_cfg_must_be_a_config():
    """cfg of another type raises TypeError."""
    with pytest.raises(TypeError, match=r"cfg must be an AdaptiveSamplerCfg, got dict"):
        AdaptiveSampler({}, FRAMES, FPS)  # type: ignore[arg-type]


def test_from_dict_rejects_unknown_fields():
    """AdaptiveSamplerCfg.from_dict names unknown fields."""
    with pytest.raises(ValueError, match=r"unknown fields \['kernel'\]"):
        AdaptiveSamplerCfg.from_dict({"kernel": 3})


def test_max_motion_share_below_one_over_m():
    """max_motion_share < 1/M cannot be met by any distribution: rejected at construction."""
    with pytest.raises(ValueError, match=r"max_motion_share must be >= 1 / num_motions = 0.333333.*got 0.3"):
        make(max_motion_share=0.3)
    make(max_motion_share=1.0 / 3.0)  # exactly 1/M is allowed


@pytest.mark.parametrize(
    ("weights", "prior", "exc", "match"),
    [
        (None, "weights", ValueError, r"prior='weights' needs motion_weights, got None"),
        ([1.0, 1.0, 1.0], "motion", ValueError, r"motion_weights needs AdaptiveSamplerCfg.prior='weights'"),
        ([1.0, 1.0], "weights", ValueError, r"motion_weights must have shape \(3,\), got \(2,\)"),
        ([1.0, -1.0, 1.0], "weights", ValueError, r"motion_weights must be finite, >= 0 and not all 0"),
        ([0.0, 0.0, 0.0], "weights", ValueError, r"motion_weights must be finite, >= 0 and not all 0"),
        ([1.0, math.nan, 1.0], "weights", ValueError, r"motion_weights must be finite, >= 0 and not all 0"),
    ],
)
def test_bad_motion_weights(weights, prior, exc, match):
    """prior="weights" needs one finite, non-negative weight per motion, not all zero; weights without that prior
    are rejected."""
    with pytest.raises(exc, match=match):
        AdaptiveSampler(AdaptiveSamplerCfg(prior=prior, seed=0), FRAMES, FPS, NAMES, motion_weights=weights)


# ---------------------------------------------------------------------------------------------------- record

RECORD_CASES = [
    # (motion_ids, start_frames, end_frames, failed, exc, match)
    (
        T(0, 3),
        T(0, 0),
        T(1, 1),
        T(0.0, 1.0, dtype=torch.float32),
        ValueError,
        r"motion_ids must be in \[0, 3\), got motion_ids\[1\]=3",
    ),
    (
        T(-1),
        T(0),
        T(1),
        T(1.0, dtype=torch.float32),
        ValueError,
        r"motion_ids must be in \[0, 3\), got motion_ids\[0\]=-1",
    ),
    (
        T(0, 1),
        T(0, 90),
        T(1, 89),
        T(1.0, 1.0, dtype=torch.float32),
        ValueError,
        r"start_frames must be in \[0, num_frames\).*start_frames\[1\]=90.*90 frames",
    ),
    (T(0), T(-1), T(1), T(1.0, dtype=torch.float32), ValueError, r"start_frames must be in \[0, num_frames\)"),
    (
        T(0),
        T(0),
        T(120),
        T(1.0, dtype=torch.float32),
        ValueError,
        r"end_frames must be in \[0, num_frames\).*end_frames\[0\]=120",
    ),
    (
        T(0, 0),
        T(5, 10),
        T(6, 9),
        T(1.0, 1.0, dtype=torch.float32),
        ValueError,
        r"end_frames must be >= start_frames, got end_frames\[1\]=9 < start_frames\[1\]=10",
    ),
    (
        T(0.0, dtype=torch.float32),
        T(0),
        T(1),
        T(1.0, dtype=torch.float32),
        TypeError,
        r"motion_ids must be an integer tensor, got dtype torch.float32",
    ),
    (
        T(True, dtype=torch.bool),
        T(0),
        T(1),
        T(1.0, dtype=torch.float32),
        TypeError,
        r"motion_ids must be an integer tensor, got dtype torch.bool",
    ),
    (
        T(0),
        T(0.0, dtype=torch.float64),
        T(1),
        T(1.0, dtype=torch.float32),
        TypeError,
        r"start_frames must be an integer tensor",
    ),
    (
        T(0),
        T(0),
        T(1.0, dtype=torch.float32),
        T(1.0, dtype=torch.float32),
        TypeError,
        r"end_frames must be an integer tensor",
    ),
    (
        T(0),
        T(0),
        T(1),
        T(math.nan, dtype=torch.float32),
        ValueError,
        r"failed must be in \[0, 1\] \(not NaN\), got failed\[0\]=nan",
    ),
    (
        T(0, 0),
        T(0, 0),
        T(1, 1),
        T(0.5, 1.5, dtype=torch.float32),
        ValueError,
        r"failed must be in \[0, 1\].*failed\[1\]=1.5",
    ),
    (T(0), T(0), T(1), T(-0.1, dtype=torch.float32), ValueError, r"failed must be in \[0, 1\].*failed\[0\]=-0.1"),
    (T(0), T(0), T(1), T(1), TypeError, r"failed must be a bool or floating tensor, got dtype torch.int64"),
    (
        T(0, 1),
        T(0),
        T(1, 1),
        T(1.0, 1.0, dtype=torch.float32),
        ValueError,
        r"start_frames must have the length of motion_ids \(2\), got 1",
    ),
    (
        T(0, 1),
        T(0, 0),
        T(1),
        T(1.0, 1.0, dtype=torch.float32),
        ValueError,
        r"end_frames must have the length of motion_ids \(2\), got 1",
    ),
    (
        T(0, 1),
        T(0, 0),
        T(1, 1),
        T(1.0, dtype=torch.float32),
        ValueError,
        r"failed must have the length of motion_ids \(2\), got 1",
    ),
    (
        T(0).view(1, 1),
        T(0),
        T(1),
        T(1.0, dtype=torch.float32),
        ValueError,
        r"motion_ids must be 1-D, got shape \(1, 1\)",
    ),
    (T(0), T(0).view(1, 1), T(1), T(1.0, dtype=torch.float32), ValueError, r"start_frames must be 1-D"),
    (T(0), T(0), T(1), T(1.0, dtype=torch.float32).view(1, 1), ValueError, r"failed must be 1-D"),
    (torch.tensor(0), T(0), T(1), T(1.0, dtype=torch.float32), ValueError, r"motion_ids must be 1-D, got shape \(\)"),
    ([0], T(0), T(1), T(1.0, dtype=torch.float32), TypeError, r"motion_ids must be a torch.Tensor, got list"),
    (T(0), T(0), T(1), [True], TypeError, r"failed must be a torch.Tensor, got list"),
]


@pytest.mark.parametrize(("ids", "starts", "ends", "failed", "exc", "match"), RECORD_CASES)
def test_bad_record_leaves_state_unchanged(sampler, ids, starts, ends, failed, exc, match):
    """record() with ids/frames out of range, end < start, float or bool ids, NaN or out-of-[0, 1] failures, an
    integer failed tensor, mismatched lengths, non-1-D tensors or non-tensors raises with a message naming the
    argument and value, and changes nothing."""
    before = sampler.state_dict()
    with pytest.raises(exc, match=match):
        sampler.record(ids, starts, ends, failed)
    assert state_equal(before, sampler.state_dict())


@pytest.mark.parametrize("arg", ["motion_ids", "start_frames", "end_frames", "failed"])
def test_record_wrong_device(sampler, arg):
    """An input on another device (here "meta") raises ValueError naming the argument and both devices."""
    args = dict(motion_ids=T(0), start_frames=T(0), end_frames=T(1), failed=T(1.0, dtype=torch.float32))
    args[arg] = args[arg].to("meta")
    before = sampler.state_dict()
    with pytest.raises(ValueError, match=rf"{arg} must be on the sampler's device cpu, got meta"):
        sampler.record(**args)
    assert state_equal(before, sampler.state_dict())


def test_record_without_validation_skips_only_value_checks():
    """validate_args=False skips range checks (no host sync) but still checks dtype, shape and device."""
    s = make(validate_args=False)
    with pytest.raises(TypeError, match=r"motion_ids must be an integer tensor"):
        s.record(T(0.0, dtype=torch.float32), T(0), T(1), T(1.0, dtype=torch.float32))
    with pytest.raises(ValueError, match=r"failed must have the length"):
        s.record(T(0), T(0), T(1), T(1.0, 1.0, dtype=torch.float32))


# ---------------------------------------------------------------------------------------------------- sample


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(), ValueError, r"exactly one of num and motion_ids"),
        (dict(num=3, motion_ids=T(0)), ValueError, r"exactly one of num and motion_ids"),
        (dict(num=-1), ValueError, r"num must be an int in \[0, 2147483647\].*got -1"),
        (dict(num=10**12), ValueError, r"num must be an int in \[0, 2147483647\].*got 1000000000000"),
        (dict(num=2.0), TypeError, r"num must be an int, got 2.0"),
        (dict(num=True), TypeError, r"num must be an int, got True"),
        (dict(motion_ids=T(0, 3)), ValueError, r"motion_ids must be in \[0, 3\), got motion_ids\[1\]=3"),
        (dict(motion_ids=T(0.0, dtype=torch.float32)), TypeError, r"motion_ids must be an integer tensor"),
        (dict(motion_ids=T(True, dtype=torch.bool)), TypeError, r"motion_ids must be an integer tensor"),
        (dict(motion_ids=T(0).view(1, 1)), ValueError, r"motion_ids must be 1-D"),
        (dict(motion_ids=T(0).to("meta")), ValueError, r"motion_ids must be on the sampler's device cpu, got meta"),
    ],
)
def test_bad_sample_leaves_state_unchanged(sampler, kwargs, exc, match):
    """sample() with neither or both of num and motion_ids, a bad num, or bad motion_ids raises and does not even
    advance the generator."""
    before = sampler.state_dict()
    with pytest.raises(exc, match=match):
        sampler.sample(**kwargs)
    assert state_equal(before, sampler.state_dict())


def test_unparsable_device_rejected_with_value_error():
    """A device that torch cannot parse is rejected with ValueError naming the argument."""
    with pytest.raises(ValueError, match=r"device"):
        AdaptiveSampler(AdaptiveSamplerCfg(seed=0), FRAMES, FPS, device="nodevice")


def test_sampler_on_meta_device_rejected():
    """A sampler cannot live on the "meta" device (it holds no data): ValueError naming the device."""
    with pytest.raises(ValueError, match=r"device must hold data.*'meta'"):
        AdaptiveSampler(AdaptiveSamplerCfg(seed=0), FRAMES, FPS, device="meta")


# ---------------------------------------------------------------------------------------------------- state


def corrupt(state: dict, key: str, value) -> dict:
    out = copy.deepcopy(state)
    out[key] = value
    return out


def corrupt_cases(state: dict) -> list[tuple[str, dict, type, str]]:
    """(label, bad state, exception, message pattern)."""
    stats = sorted(
        k for k, v in state.items() if isinstance(v, torch.Tensor) and v.is_floating_point() and k != "probabilities"
    )
    cases = [
        ("not a dict", [1, 2], TypeError, r"state_dict must be a dict, got list"),
        ("newer version", corrupt(state, "version", STATE_VERSION + 1), ValueError, r"newer than this library"),
        ("bad version", corrupt(state, "version", "1"), ValueError, r"state_dict\['version'\] must be an int"),
        ("old version", corrupt(state, "version", 0), ValueError, r"state_dict\['version'\] must be >= 1"),
        ("negative clock", corrupt(state, "clock", -1), ValueError, r"state_dict\['clock'\] must be an int >= 0"),
        ("training not bool", corrupt(state, "training", 1), ValueError, r"state_dict\['training'\] must be a bool"),
        (
            "probs not summing to 1",
            corrupt(state, "probabilities", state["probabilities"] * 2),
            ValueError,
            r"state_dict\['probabilities'\] must sum to 1",
        ),
        (
            "generator state wrong dtype",
            corrupt(state, "generator_state", torch.zeros(10)),
            ValueError,
            r"state_dict\['generator_state'\]",
        ),
        (
            "generator state wrong size",
            corrupt(state, "generator_state", torch.zeros(10, dtype=torch.uint8)),
            ValueError,
            r"state_dict\['generator_state'\]",
        ),
    ]
    for key in [k for k in state if k not in ("version", *STALL_KEYS)]:  # the stall clocks are optional
        missing = copy.deepcopy(state)
        del missing[key]
        cases.append((f"missing {key}", missing, ValueError, rf"state_dict is missing keys \['{key}'\]"))
    for key in stats:
        t = state[key]
        cases.append(
            (
                f"{key} wrong shape",
                corrupt(state, key, torch.zeros(t.numel() + 1, dtype=t.dtype)),
                ValueError,
                rf"state_dict\['{key}'\] must have shape",
            )
        )
        nan = t.clone()
        nan[0] = math.nan
        cases.append((f"{key} NaN", corrupt(state, key, nan), ValueError, rf"state_dict\['{key}'\] must be finite"))
        cases.append(
            (
                f"{key} not a tensor",
                corrupt(state, key, t.tolist()),
                ValueError,
                rf"state_dict\['{key}'\] must be a tensor",
            )
        )
    for key in ("failures", "visits", "pending_failures"):
        if key in state:
            neg = state[key].clone()
            neg[0] = -1.0
            cases.append(
                (
                    f"{key} negative",
                    corrupt(state, key, neg),
                    ValueError,
                    rf"state_dict\['{key}'\] must be finite and >= 0",
                )
            )
    bad_layout = copy.deepcopy(state)
    bad_layout["layout"]["num_frames"] = bad_layout["layout"]["num_frames"][:-1]
    cases.append(
        (
            "layout lists of different lengths",
            bad_layout,
            ValueError,
            r"state_dict\['layout'\]\['num_frames'\] must be a list of 3 values",
        )
    )
    return cases


def test_corrupt_state_dicts_rejected_and_state_unchanged(sampler):
    """Corrupt states (missing keys, wrong shapes, NaN, negative counts, non-tensors, bad or newer version, bad
    generator state, probabilities not summing to 1, inconsistent layout) raise ValueError/TypeError naming the
    key, and the sampler keeps its state."""
    state = sampler.state_dict()
    before = sampler.state_dict()
    cases = corrupt_cases(state)
    assert any(label == "failures negative" for label, *_ in cases)
    for label, bad, exc, match in cases:
        with pytest.raises(exc, match=match):
            sampler.load_state_dict(bad)
        assert state_equal(before, sampler.state_dict()), label


def test_different_library_without_remap_names_the_difference(sampler):
    """Loading a state saved for another library without remap raises ValueError saying which motions differ
    (only in the state, only here, other frames/fps, other bins, other order), and changes nothing."""
    state = sampler.state_dict()
    cfg = AdaptiveSamplerCfg(rebuild_every=2, seed=0)
    cases = [
        (AdaptiveSampler(cfg, [120, 90], [50.0, 30.0], ["walk", "run"]), r"motions only in the state: \['jump'\]"),
        (
            AdaptiveSampler(cfg, [*FRAMES, 10], [*FPS, 50.0], [*NAMES, "kick"]),
            r"motions only in this library: \['kick'\]",
        ),
        (AdaptiveSampler(cfg, [120, 91, 200], FPS, NAMES), r"motions with other frames/fps/bins: \['run'\]"),
        (AdaptiveSampler(cfg, FRAMES, [50.0, 60.0, 50.0], NAMES), r"motions with other frames/fps/bins: \['run'\]"),
        (AdaptiveSampler(cfg, FRAMES[::-1], FPS[::-1], NAMES[::-1]), r"the same motions in another order"),
        (AdaptiveSampler(AdaptiveSamplerCfg(bin_duration_s=0.5, seed=0), FRAMES, FPS, NAMES), r"bins differ"),
    ]
    for other, match in cases:
        before = other.state_dict()
        with pytest.raises(ValueError, match=r"different motion library.*" + match):
            other.load_state_dict(state)
        assert state_equal(before, other.state_dict())


def test_load_state_dict_never_mutates_its_argument(sampler):
    """load_state_dict leaves the given dict (and its tensors and nested lists) exactly as it was, on success, on
    remap and on failure."""
    state = sampler.state_dict()
    snapshot = copy.deepcopy(state)
    target = make()
    target.load_state_dict(state)
    target.record(T(0), T(0), T(100), T(1.0, dtype=torch.float32))
    target.step()
    target.step()
    assert state_equal(snapshot, state) and snapshot["layout"] == state["layout"]
    remapped = AdaptiveSampler(AdaptiveSamplerCfg(seed=0), [120, 33], [50.0, 30.0], ["walk", "new"])
    remapped.load_state_dict(state, remap=True)
    remapped.record(T(0), T(0), T(100), T(1.0, dtype=torch.float32))
    remapped.rebuild()
    assert state_equal(snapshot, state) and snapshot["layout"] == state["layout"]
    bad = copy.deepcopy(state)
    bad["failures"] = bad["failures"].clone()
    bad["failures"][0] = math.nan
    bad_snapshot = copy.deepcopy(bad)
    with pytest.raises(ValueError):
        target.load_state_dict(bad)
    assert torch.equal(bad["failures"].isnan(), bad_snapshot["failures"].isnan())
    assert state_equal(
        {k: v for k, v in bad.items() if k != "failures"}, {k: v for k, v in bad_snapshot.items() if k != "failures"}
    )


def test_from_state_dict_rejects_weights_prior():
    """from_state_dict cannot rebuild motion weights: it says so."""
    s = AdaptiveSampler(AdaptiveSamplerCfg(prior="weights", seed=0), FRAMES, FPS, NAMES, motion_weights=[1, 2, 3])
    with pytest.raises(ValueError, match=r"cannot rebuild motion_weights"):
        AdaptiveSampler.from_state_dict(s.state_dict())
