"""Configuration of the adaptive sampler: one dataclass, presets as classmethods."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, asdict, dataclass, fields
from typing import Any, Literal

Attribution = Literal["failure", "start"]
Statistic = Literal["rate", "count"]
BinLayout = Literal["duration", "beyondmimic"]
Prior = Literal["motion", "duration", "weights"]
EvalStart = Literal["zero", "uniform"]
StallMoves = Literal["fall", "any"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "bin_layout": ("duration", "beyondmimic"),
    "attribution": ("failure", "start"),
    "statistic": ("rate", "count"),
    "prior": ("motion", "duration", "weights"),
    "eval_start": ("zero", "uniform"),
    "stall_moves": ("fall", "any"),
}


@dataclass(kw_only=True)
class AdaptiveSamplerCfg:
    """Configuration of :class:`~adaptive_sampling.AdaptiveSampler`.

    The default is the library's recommendation: failures are attributed to the bin where the policy failed, turned
    into a failure *rate* per bin (failures / visits, with a prior), smoothed by a short look-ahead kernel and mixed
    with a true uniform floor. Rates do not grow with the number of environments and do not favour bins that are
    simply visited more often, which raw counts do; failure attribution points at the hard moment itself even in
    long episodes. See the README for the formulas and ``benchmarks/learning.py`` for the measurements.
    """

    bin_duration_s: float = 1.0
    """Width of a time bin in seconds. The last bin of a clip may be partial."""

    bin_layout: BinLayout = "duration"
    """``"duration"``: bins of ``bin_duration_s`` seconds, the last one partial.
    ``"beyondmimic"``: ``int(T // (fps * bin_duration_s)) + 1`` equal-width bins over the ``T`` frames of each clip,
    frame ``f`` in bin ``(f * B) // T`` (BeyondMimic's code)."""

    attribution: Attribution = "failure"
    """Which bin a failure counts against: ``"failure"``, the bin of the frame where the segment failed (BeyondMimic's
    code), or ``"start"``, the bin where it started (the paper). With ``"failure"`` a segment visits every bin it
    traversed; with ``"start"`` only its start bin."""

    statistic: Statistic = "rate"
    """``"rate"``: smoothed failures / smoothed visits with a prior. ``"count"``: BeyondMimic's EMA of raw failure
    counts, ``q <- ema_alpha * c + (1 - ema_alpha) * q`` every environment step."""

    ema_alpha: float = 0.001
    """EMA rate per environment step (BeyondMimic: 0.001 per control step). ``0`` keeps cumulative statistics."""

    rate_prior: float = 0.5
    """Prior failure rate of a bin that has not been visited (``statistic="rate"``)."""

    rate_prior_visits: float = 1.0
    """Strength of the prior in pseudo-visits: ``rate = (F + rate_prior * n0) / (N + n0)``."""

    kernel_size: int = 3
    """Number K of look-ahead kernel taps ``kernel_decay**u``, ``u = 0..K-1`` (BeyondMimic: 1; was 3)."""

    kernel_decay: float = 0.8
    """Decay gamma of the look-ahead kernel (BeyondMimic's ``adaptive_lambda``)."""

    uniform_ratio: float = 0.1
    """Weight lambda of the true mixture ``p = (1 - lambda) * p_fail + lambda * p_prior``: every bin keeps at least
    ``lambda * p_prior`` whatever the number of environments or the failure statistics."""

    additive_uniform_ratio: float = 0.0
    """BeyondMimic's additive term: ``additive_uniform_ratio / B_m`` is added to every bin's score before the kernel.
    It is no floor (its share shrinks as failures grow); kept to reproduce BeyondMimic."""

    prior: Prior = "motion"
    """Prior over start points: ``"motion"`` (each motion equally likely, uniform in time inside it), ``"duration"``
    (uniform over all frames of the library) or ``"weights"`` (the sampler's ``motion_weights``). It is the floor of
    the mixture and, with ``statistic="rate"``, also the base of the failure part (``p_fail ~ p_prior * rate``), so
    with equal failure rates the whole distribution is the prior."""

    max_motion_share: float = 1.0
    """Cap on one motion's share of the failure-driven part ``p_fail`` (1 = no cap; at least 1 / M). A motion's final
    share is then at most ``(1 - lambda) * max_motion_share + lambda * prior_share``. The cap can only hold while at
    least ``1 / max_motion_share`` motions have failure mass; otherwise the failure part stays on the motions that
    have it."""

    stall_patience: float = 0.0
    """Environment steps after which a bin whose failure rate does not improve has lost most of its pull (0 turns it
    off; ignored with ``statistic="count"``, which has no rate). The rate of a bin that has not moved for ``s`` steps
    (``stall_moves`` says what a move is) is pulled towards the library's mean rate under the prior,
    ``rbar + (rate - rbar) * exp(-s / stall_patience)``. So the sampler stops hammering a moment the policy is not
    improving on (doomed starts, a segment it cannot crack yet) and gives those starts back to the prior, while a bin
    whose rate falls keeps its pull; when nothing improves, the distribution returns to the prior."""

    stall_threshold: float = 0.1
    """Change of a bin's smoothed failure rate (absolute, in (0, 1)) that counts as a move (``stall_patience``)."""

    stall_moves: StallMoves = "fall"
    """What restarts a bin's stall clock: ``"fall"``, its rate falling more than ``stall_threshold`` below the
    highest rate since its last move (progress; a rising rate raises that reference but does not restart the clock,
    so a bin that fails more because the sampler sends more doomed starts to it still stalls), or ``"any"``, a
    change of more than ``stall_threshold`` either way."""

    rebuild_every: int = 24
    """Rebuild the distribution every this many environment steps (one rsl-rl rollout of BeyondMimic's PPO). The
    per-step cost is O(events + samples); a rebuild is O(bins)."""

    eval_start: EvalStart = "zero"
    """Start frames in evaluation mode: ``"zero"`` (frame 0) or ``"uniform"`` (uniform inside the motion)."""

    seed: int | None = None
    """Seed of the sampler's own generator (``None``: drawn from torch's global generator)."""

    validate_args: bool = True
    """Check values of inputs (ranges, NaN), which needs a host sync. Shape, dtype and device are always checked."""

    # ------------------------------------------------------------------ presets

    @classmethod
    def beyondmimic(cls, **overrides: Any) -> AdaptiveSamplerCfg:
        """BeyondMimic's code (HybridRobotics/whole_body_tracking) with its defaults.

        Failure-bin attribution, raw failure counts with EMA 0.001, additive uniform ratio 0.1 before the kernel,
        kernel size 1 (decay 0.8), no true mixture, its bin layout and a rebuild every step. Start frames are uniform
        over the drawn bin's frames (upstream scales ``(b + U) / B`` by ``T - 1``: up to 2 frames earlier).
        """
        values: dict[str, Any] = dict(
            bin_layout="beyondmimic",
            attribution="failure",
            statistic="count",
            ema_alpha=0.001,
            kernel_size=1,
            kernel_decay=0.8,
            uniform_ratio=0.0,
            additive_uniform_ratio=0.1,
            prior="duration",
            rebuild_every=1,
            stall_patience=0.0,
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def paper(cls, **overrides: Any) -> AdaptiveSamplerCfg:
        """BeyondMimic's paper (Sec. III-F): start-bin attribution, failure rate, look-ahead kernel, true mixture."""
        values: dict[str, Any] = dict(
            attribution="start",
            statistic="rate",
            ema_alpha=0.001,
            kernel_size=3,
            kernel_decay=0.8,
            uniform_ratio=0.1,
            additive_uniform_ratio=0.0,
            stall_patience=0.0,
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def uniform(cls, **overrides: Any) -> AdaptiveSamplerCfg:
        """Uniform starts from the prior, with the same interface and statistics (the baseline)."""
        values: dict[str, Any] = dict(uniform_ratio=1.0, stall_patience=0.0)
        values.update(overrides)
        return cls(**values)

    # ------------------------------------------------------------------ checks

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming the first field out of range (called again by the sampler)."""
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"AdaptiveSamplerCfg.{name} must be one of {choices}, got {value!r}")
        _check_real(self, "bin_duration_s", low=0.0, low_open=True)
        _check_real(self, "ema_alpha", low=0.0, high=1.0, high_open=True)
        _check_real(self, "rate_prior", low=0.0, high=1.0)
        _check_real(self, "rate_prior_visits", low=0.0, low_open=True)
        _check_real(self, "kernel_decay", low=0.0, high=1.0, low_open=True)
        _check_real(self, "uniform_ratio", low=0.0, high=1.0)
        _check_real(self, "additive_uniform_ratio", low=0.0)
        _check_real(self, "max_motion_share", low=0.0, high=1.0, low_open=True)
        _check_real(self, "stall_patience", low=0.0)
        _check_real(self, "stall_threshold", low=0.0, high=1.0, low_open=True, high_open=True)
        _check_int(self, "kernel_size", low=1)
        _check_int(self, "rebuild_every", low=1)
        if self.seed is not None:
            _check_int(self, "seed", low=0, high=2**64 - 1)  # the range of torch.Generator.manual_seed
        if not isinstance(self.validate_args, bool):
            raise TypeError(f"AdaptiveSamplerCfg.validate_args must be a bool, got {self.validate_args!r}")
        if self.statistic == "count" and self.ema_alpha == 0.0 and self.additive_uniform_ratio > 0.0:
            raise ValueError(
                "AdaptiveSamplerCfg.ema_alpha must be > 0 with statistic='count' and additive_uniform_ratio > 0 "
                "(the additive term is scaled against the EMA of counts), got ema_alpha=0.0"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-value copy of the fields (for state dicts and logs)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AdaptiveSamplerCfg:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"AdaptiveSamplerCfg.from_dict got unknown fields {unknown}")
        return cls(**values)


def _check_real(
    cfg: AdaptiveSamplerCfg,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"AdaptiveSamplerCfg.{name} must be a real number, got {value!r}")
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        raise ValueError(
            f"AdaptiveSamplerCfg.{name} must be finite and in {lo or '(-inf'}, {hi or 'inf)'}, got {value!r}"
        )


def _check_int(cfg: AdaptiveSamplerCfg, name: str, *, low: int, high: int | None = None) -> None:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"AdaptiveSamplerCfg.{name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"AdaptiveSamplerCfg.{name} must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"AdaptiveSamplerCfg.{name} must be <= {high}, got {value!r}")


class FrozenAdaptiveSamplerCfg(AdaptiveSamplerCfg):
    """A read-only copy of a configuration, what a sampler keeps.

    Editing the caller's config (or reusing it for another sampler) cannot change a sampler built from it. Setting a
    field raises ``dataclasses.FrozenInstanceError``; ``dataclasses.replace`` and :meth:`to_dict` give new values.
    """

    def __init__(self, **values: Any) -> None:
        checked = AdaptiveSamplerCfg(**values)
        for f in fields(AdaptiveSamplerCfg):
            object.__setattr__(self, f.name, getattr(checked, f.name))

    @classmethod
    def of(cls, cfg: AdaptiveSamplerCfg) -> FrozenAdaptiveSamplerCfg:
        """A read-only copy of ``cfg`` (checked again)."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(AdaptiveSamplerCfg)})

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(
            f"a sampler's configuration is read-only (cannot set {name!r}); build a new sampler with "
            "dataclasses.replace(sampler.cfg, ...)"
        )

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"a sampler's configuration is read-only (cannot delete {name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AdaptiveSamplerCfg):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]
