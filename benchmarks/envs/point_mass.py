"""A fast, pure-torch multi-motion tracking benchmark with the structure that makes adaptive sampling matter.

A point mass in the plane tracks a library of reference clips. The clips differ in length (6-24 s) and frame rate
(25-60 fps); most of each clip is slow and easy, but some clips contain short *hard segments*: a visible cue (a
quick out-and-back maneuver of the reference) followed by an unobserved push of nearly the full action authority in
a direction fixed per segment. Actions reach the body only after a delay and their norm is limited, so feedback
alone reacts too late and leaves the tolerance band; the policy must learn, for this clip and this moment (it sees
the motion id and the cue coming), to lean into the push in advance. Nothing in the easy parts teaches that, so
each hard segment has to be practised: uniform starts spend few steps there, targeted starts many.

Dynamics (per axis, control step ``dt``)::

    applied_t = action_{t - delay} * max_accel          (action norm clipped to 1)
    vel      += (applied_t + push(t)) * dt               (push: unobserved, only in hard segments)
    pos      += vel * dt
    error     = |pos - ref(t)|                          (Euclidean)
    terminated (failure) = error > failure_threshold

An environment that reaches the end of its clip records a success with the sampler and gets a new start *without
ending its episode* (BeyondMimic); time-outs (``max_episode_length``) are reported in ``extras["time_outs"]`` and are
not failures. Starts come from the sampler exposed as ``env.adaptive_sampler`` (the protocol the runner uses); an
``AdaptiveSamplerCfg.uniform()`` sampler is the uniform baseline with the same interface.

Everything is deterministic given ``seed`` (the library, the initial-state noise) and the sampler's own seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tensordict import TensorDict

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg, segment_ends

try:  # rsl-rl >= 3 ships VecEnv here; the env is usable without rsl-rl as well.
    from rsl_rl.env import VecEnv as _VecEnvBase
except ImportError:  # pragma: no cover - exercised only without rsl-rl
    _VecEnvBase = object  # type: ignore[assignment,misc]


@dataclass
class PointMassClip:
    """One reference clip.

    Attributes:
        name: Clip name (the sampler's motion name).
        fps: Frame rate of the reference in Hz.
        positions: Reference positions. Shape: (num_frames, 2).
        hard_segments: ``(start_s, end_s)`` intervals of the fast maneuvers, for plots and analysis.
    """

    name: str
    fps: float
    positions: torch.Tensor
    hard_segments: list[tuple[float, float]] = field(default_factory=list)
    disturbance: torch.Tensor | None = None
    """Unobserved external acceleration (units/s^2) acting on the body at each frame. Shape: (num_frames, 2)."""

    @property
    def num_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.positions.shape[0])

    @property
    def duration_s(self) -> float:
        """Time of the last frame, ``(T - 1) / fps``."""
        return (self.num_frames - 1) / self.fps


@dataclass(kw_only=True)
class PointMassTrackingEnvCfg:
    """Configuration of :class:`PointMassTrackingEnv`."""

    num_envs: int = 512
    """Number of parallel environments."""

    dt: float = 0.02
    """Control step in seconds (50 Hz)."""

    max_accel: float = 2.0
    """Action authority: an action of 1 accelerates by this much (units/s^2) on its axis."""

    action_delay: int = 4
    """Control steps between an action and its effect (latency); forces anticipation of fast maneuvers."""

    failure_threshold: float = 0.12
    """Tracking error (units) above which an environment fails (terminated)."""

    episode_length_s: float = 10.0
    """Episode length in seconds; reaching it is a time-out, not a failure."""

    lookahead_s: tuple[float, ...] = (0.04, 0.08, 0.12, 0.16, 0.24, 0.32, 0.48, 0.64)
    """Horizons of the upcoming reference in the observation, in seconds ahead of now."""

    init_noise: float = 0.01
    """Std of the position noise (units) added at every start; velocity noise is ``5 * init_noise``."""

    reward_sigma: float = 0.05
    """Width of the tracking reward ``exp(-(error / sigma)^2)``."""

    seed: int = 0
    """Seed of the env's own generator (initial-state noise)."""

    reset_stamina: float | None = None
    """Stamina at every start, in [0, 1] (``None``: no stamina, the full authority always; the first two scenarios).
    With stamina ``s`` the authority is ``s * max_accel``; ``s`` recovers towards 1 with ``stamina_tau_s`` and is
    spent by large actions (``stamina_use``). A start gets ``reset_stamina``: the rested actuators a body has when it
    arrives at a moment by tracking calmly are an *approach state* that a reset cannot give it."""

    stamina_tau_s: float = 1.5
    """Time constant (seconds) of the stamina's recovery towards 1."""

    stamina_use: float = 0.05
    """Stamina spent per second at an action of norm 1 (``ds/dt = (1 - s) / tau - use * |action|``)."""

    observe_stamina: bool = True
    """With ``reset_stamina``: whether the policy observes its stamina (the critic always does). ``False`` hides it
    from the policy, as a real robot's observation does not show how a reset state differs from the state it
    arrives in: the policy cannot tell a tired start from a rested arrival at the same moment of a clip."""


def make_motion_library(
    seed: int = 0,
    num_clips: int = 24,
    num_hard_clips: int = 8,
    hard_accel_ratio: float = 0.45,
    push_ratio: float = 0.9,
    cue_s: float = 0.5,
    push_s: float = 0.8,
    max_accel: float = 2.0,
) -> list[PointMassClip]:
    """The benchmark's motion library: clips of 6 to 24 s at 25 to 60 fps, some with hard segments.

    The base motion is a sum of slow sinusoids (peak acceleration well below the authority). A hard segment is a cue,
    a minimum-jerk excursion out and back (legs of ``cue_s``, peak acceleration ``hard_accel_ratio * max_accel``),
    then for ``push_s`` an unobserved push of ``push_ratio * max_accel`` in a direction fixed per segment (0.05 s
    ramps). With the default delay and threshold a PD controller with perfect feed-forward of the reference still
    fails every hard segment, and succeeds everywhere once it also cancels the push (tested).

    Args:
        seed: Seed of the library (lengths, frame rates, which clips are hard, shapes, push directions).
        num_clips: Number of clips.
        num_hard_clips: Number of clips with hard segments (one, or two in clips of 18 s or more).
        hard_accel_ratio: Peak acceleration of a hard maneuver as a fraction of ``max_accel``; in (0, 1].
        push_ratio: Strength of the hidden push as a fraction of ``max_accel``; in [0, 1].
        cue_s: Duration of each leg of the visible cue maneuver in seconds.
        push_s: Duration of the push in seconds.
        max_accel: The env's action authority.

    Returns:
        The clips, in a fixed order.
    """
    if not 0.0 < hard_accel_ratio <= 1.0:
        raise ValueError(f"hard_accel_ratio must be in (0, 1], got {hard_accel_ratio}")
    if not 0.0 <= push_ratio <= 1.0:
        raise ValueError(f"push_ratio must be in [0, 1], got {push_ratio}")
    if max_accel <= 0.0:
        raise ValueError(f"max_accel must be positive, got {max_accel}")
    if num_clips < 1 or not 0 <= num_hard_clips <= num_clips:
        raise ValueError(f"need 1 <= num_clips and 0 <= num_hard_clips <= num_clips, got {num_clips}, {num_hard_clips}")
    g = torch.Generator().manual_seed(seed)
    hard = set(torch.randperm(num_clips, generator=g)[:num_hard_clips].tolist())

    def centres(i: int, duration: float) -> list[float]:
        # One hard segment, two in long clips; never in the first 2 s or the last 1.5 s.
        if i not in hard:
            return []
        count = 2 if duration >= 18 else 1
        out = []
        for k in range(count):
            lo = 2.0 + k * (duration - 3.5) / count
            width = (duration - 3.5) / count - 1.5
            out.append(lo + 1.0 + float(torch.rand((), generator=g)) * max(width, 0.0))
        return out

    return _library(g, num_clips, (6, 24), centres, hard_accel_ratio, push_ratio, cue_s, push_s, max_accel)


def make_rare_hard_library(
    seed: int = 0,
    num_clips: int = 10,
    hard_clips: int = 3,
    segments_per_hard_clip: tuple[int, ...] = (1, 2, 2),
    min_duration_s: int = 30,
    max_duration_s: int = 120,
    hard_accel_ratio: float = 0.45,
    push_ratio: float = 0.95,
    cue_s: float = 0.5,
    push_s: float = 1.2,
    max_accel: float = 2.0,
) -> list[PointMassClip]:
    """The ``rare_hard`` scenario: long clips (30-120 s) in which a few short moments are hard, on some clips only.

    The same clip construction as :func:`make_motion_library` (slow sinusoids; a hard segment is a cue and a hidden
    push), but long clips and few segments: with the defaults 10 clips, 3 of them with 1, 2 and 2 hard segments of
    2.2 s (1.0 s cue, 1.2 s push of 0.95 of the authority), 1.4% of all frames. Segments are spread over the clip
    (one per equal share of it), never in the first 3 s or the last 2 s. The push (0.95, 1.2 s, against 0.9, 0.8 s
    in the first scenario) was calibrated with uniform starts only (README, "Learning efficiency").

    Args:
        seed: Seed of the library.
        num_clips: Number of clips.
        hard_clips: Number of clips with hard segments.
        segments_per_hard_clip: Hard segments in each hard clip (length ``hard_clips``).
        min_duration_s: Shortest clip, in whole seconds.
        max_duration_s: Longest clip, in whole seconds.
        hard_accel_ratio: See :func:`make_motion_library`.
        push_ratio: See :func:`make_motion_library`.
        cue_s: See :func:`make_motion_library`.
        push_s: See :func:`make_motion_library`.
        max_accel: The env's action authority.

    Returns:
        The clips, in a fixed order.
    """
    if len(segments_per_hard_clip) != hard_clips or not 0 <= hard_clips <= num_clips:
        raise ValueError(
            f"need 0 <= hard_clips <= num_clips and len(segments_per_hard_clip) == hard_clips, got {hard_clips}, "
            f"{num_clips}, {segments_per_hard_clip}"
        )
    if not 5 <= min_duration_s <= max_duration_s:
        raise ValueError(f"need 5 <= min_duration_s <= max_duration_s, got {min_duration_s}, {max_duration_s}")
    g = torch.Generator().manual_seed(seed)
    hard = torch.randperm(num_clips, generator=g)[:hard_clips].tolist()
    counts = {clip: count for clip, count in zip(hard, segments_per_hard_clip, strict=True)}

    def centres(i: int, duration: float) -> list[float]:
        # one segment per equal share of the clip, never in the first 3 s or the last 2 s
        count = counts.get(i, 0)
        share = (duration - 5.0) / max(count, 1)
        room = share - 2 * cue_s - push_s
        return [3.0 + k * share + 2 * cue_s + float(torch.rand((), generator=g)) * room for k in range(count)]

    limits = (min_duration_s, max_duration_s)
    return _library(g, num_clips, limits, centres, hard_accel_ratio, push_ratio, cue_s, push_s, max_accel)


def make_approach_library(
    seed: int = 0,
    num_clips: int = 8,
    hard_clips: int = 3,
    min_duration_s: int = 15,
    max_duration_s: int = 30,
    two_segments_from_s: int = 22,
    hard_accel_ratio: float = 0.45,
    push_ratio: float = 0.8,
    cue_s: float = 0.5,
    push_s: float = 1.0,
    max_accel: float = 2.0,
) -> list[PointMassClip]:
    """The ``approach`` scenario's library: 8 clips of 15-30 s, 3 of them with hard segments of the first scenario's
    kind (a 1 s cue, then a hidden push; with the defaults 0.8 of the authority for 1.0 s), two in clips of 22 s or
    more.

    The scenario runs it with ``PointMassTrackingEnvCfg.reset_stamina``: every start begins with tired actuators
    that need about two seconds of calm tracking to recover, so the push is survivable only by a body that
    *approached* it (started early enough); starts in the last seconds before a hard segment are doomed whatever the
    policy does, and their failure rate never moves (issue 13's stuck mode). Hard segments start 5 s after a clip's
    start at the earliest (frame 0 is never doomed) and end 2 s before its end at the latest.

    Args:
        seed: Seed of the library.
        num_clips: Number of clips.
        hard_clips: Number of clips with a hard segment.
        min_duration_s: Shortest clip, in whole seconds.
        max_duration_s: Longest clip, in whole seconds.
        two_segments_from_s: Hard clips at least this long hold two hard segments.
        hard_accel_ratio: See :func:`make_motion_library`.
        push_ratio: See :func:`make_motion_library`.
        cue_s: See :func:`make_motion_library`.
        push_s: See :func:`make_motion_library`.
        max_accel: The env's action authority.

    Returns:
        The clips, in a fixed order.
    """
    if not 0 <= hard_clips <= num_clips or num_clips < 1:
        raise ValueError(f"need 1 <= num_clips and 0 <= hard_clips <= num_clips, got {num_clips}, {hard_clips}")
    if min_duration_s < 2 * cue_s + push_s + 7.0 or min_duration_s > max_duration_s:
        raise ValueError(
            f"need {2 * cue_s + push_s + 7.0:g} <= min_duration_s <= max_duration_s, got {min_duration_s}, "
            f"{max_duration_s}"
        )
    g = torch.Generator().manual_seed(seed)
    hard = set(torch.randperm(num_clips, generator=g)[:hard_clips].tolist())

    def centres(i: int, duration: float) -> list[float]:
        # one segment, two in clips of two_segments_from_s or more (one per equal share of the clip)
        if i not in hard:
            return []
        count = 2 if duration >= two_segments_from_s else 1
        share = (duration - 7.0 - 2 * cue_s - push_s) / count
        return [
            5.0 + 2 * cue_s + k * (share + 2 * cue_s + push_s) + float(torch.rand((), generator=g)) * share
            for k in range(count)
        ]

    limits = (min_duration_s, max_duration_s)
    return _library(g, num_clips, limits, centres, hard_accel_ratio, push_ratio, cue_s, push_s, max_accel)


def _library(
    g: torch.Generator,
    num_clips: int,
    duration_limits: tuple[int, int],
    centres_of: Callable[[int, float], list[float]],
    *clip_args: float,
) -> list[PointMassClip]:
    """The clips of a library, drawn in one fixed order from ``g`` (every scenario's stored results depend on it).

    Per clip ``i``: its frame rate, its duration (whole seconds in ``duration_limits``, both included), then the
    centres of its hard segments from ``centres_of(i, duration)`` (which may draw from ``g``); the clips' shapes are
    drawn after all of that, clip by clip (:func:`_clip`, with ``clip_args``: hard_accel_ratio, push_ratio, cue_s,
    push_s, max_accel).
    """
    kinds = ("walk", "jog", "dance", "kick", "spin", "hop", "balance", "combo")
    frame_rates = (25.0, 30.0, 50.0, 60.0)
    low, high = duration_limits
    specs = []
    for i in range(num_clips):
        fps = frame_rates[int(torch.randint(len(frame_rates), (), generator=g))]
        duration = float(torch.randint(low, high + 1, (), generator=g))
        specs.append((f"{kinds[i % len(kinds)]}_{i:02d}", fps, duration, centres_of(i, duration)))
    return [_clip(name, fps, duration, centres, g, *clip_args) for name, fps, duration, centres in specs]


def _clip(
    name: str,
    fps: float,
    duration: float,
    centres: list[float],
    g: torch.Generator,
    hard_accel_ratio: float,
    push_ratio: float,
    cue_s: float,
    push_s: float,
    max_accel: float,
) -> PointMassClip:
    """One clip: slow sinusoids per axis, then a cue and a push ending/starting at each centre (seconds)."""
    num_frames = int(round(duration * fps))
    t = torch.arange(num_frames, dtype=torch.float64) / fps
    pos = torch.zeros(num_frames, 2, dtype=torch.float64)
    for axis in range(2):
        for freq, amp in ((0.11, 0.25), (0.23, 0.08)):
            phase = float(torch.rand((), generator=g, dtype=torch.float64)) * 2 * math.pi
            pos[:, axis] += amp * torch.sin(2 * math.pi * freq * t + phase)
    segments = []
    push = torch.zeros(num_frames, 2, dtype=torch.float64)
    for centre in centres:
        # Cue: an out-and-back minimum-jerk excursion (legs of `cue_s`) that ends at `centre`; then the push.
        dist = hard_accel_ratio * max_accel * cue_s**2 / 5.7735
        angle = float(torch.rand((), generator=g, dtype=torch.float64)) * 2 * math.pi
        direction = torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
        start = centre - 2 * cue_s
        s_out = ((t - start) / cue_s).clamp(0.0, 1.0)
        s_back = ((t - centre + cue_s) / cue_s).clamp(0.0, 1.0)
        pos += dist * (_min_jerk(s_out) - _min_jerk(s_back))[:, None] * direction[None, :]
        push_angle = float(torch.rand((), generator=g, dtype=torch.float64)) * 2 * math.pi
        push_dir = torch.tensor([math.cos(push_angle), math.sin(push_angle)], dtype=torch.float64)
        # The push lasts `push_s` after the cue, with 0.05 s ramps.
        window = ((t - centre) / 0.05).clamp(0.0, 1.0) * ((centre + push_s - t) / 0.05).clamp(0.0, 1.0)
        push += push_ratio * max_accel * window[:, None] * push_dir[None, :]
        segments.append((start, centre + push_s))
    return PointMassClip(name=name, fps=fps, positions=pos.float(), hard_segments=segments, disturbance=push.float())


def _min_jerk(s: torch.Tensor) -> torch.Tensor:
    return s**3 * (10 - 15 * s + 6 * s**2)


class PointMassTrackingEnv(_VecEnvBase):
    """Vectorised point-mass tracking of a motion library, as an rsl-rl ``VecEnv``.

    Observation groups (``TensorDict`` of ``(num_envs, dim)`` tensors):
        ``"policy"``: position and velocity error to the reference now, the reference velocity, the upcoming
        reference at ``cfg.lookahead_s`` relative to the body, the actions still in the delay line, the motion id
        (one-hot), and the stamina with ``cfg.reset_stamina`` (unless ``cfg.observe_stamina`` is false).
        ``"critic"``: the same (the stamina always, with ``cfg.reset_stamina``) plus the clip phase in [0, 1].

    ``extras``: ``"time_outs"`` (bool, ``(num_envs,)``, what rsl-rl bootstraps on), ``"tracking_error"`` (the error
    that decided termination, before any restart, ``(num_envs,)``) and, on steps where segments ended, ``"log"``
    (``Tracking/...`` means over the ended segments, which rsl-rl's logger averages over the iteration).

    Args:
        clips: The motion library.
        sampler: Where starts come from; ``None`` builds a uniform sampler. Exposed as ``adaptive_sampler``.
        cfg: Env configuration.
        device: Torch device.
    """

    def __init__(
        self,
        clips: list[PointMassClip],
        sampler: AdaptiveSampler | None = None,
        cfg: PointMassTrackingEnvCfg | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        if not clips:
            raise ValueError("clips must not be empty")
        self.cfg = cfg if cfg is not None else PointMassTrackingEnvCfg()
        if self.cfg.num_envs < 1:
            raise ValueError(f"cfg.num_envs must be >= 1, got {self.cfg.num_envs}")
        if self.cfg.action_delay < 0:
            raise ValueError(f"cfg.action_delay must be >= 0, got {self.cfg.action_delay}")
        if self.cfg.failure_threshold <= 0:
            raise ValueError(f"cfg.failure_threshold must be positive, got {self.cfg.failure_threshold}")
        if self.cfg.reset_stamina is not None and not 0.0 <= self.cfg.reset_stamina <= 1.0:
            raise ValueError(f"cfg.reset_stamina must be None or in [0, 1], got {self.cfg.reset_stamina}")
        if self.cfg.stamina_tau_s <= 0 or self.cfg.stamina_use < 0:
            raise ValueError(
                f"need cfg.stamina_tau_s > 0 and cfg.stamina_use >= 0, got {self.cfg.stamina_tau_s}, "
                f"{self.cfg.stamina_use}"
            )
        self.device = torch.device(device)
        self.clips = clips
        self.num_envs = self.cfg.num_envs
        self.num_actions = 2
        self.num_motions = len(clips)
        self.max_episode_length = int(round(self.cfg.episode_length_s / self.cfg.dt))
        if sampler is None:
            sampler = AdaptiveSampler(
                AdaptiveSamplerCfg.uniform(),
                num_frames=[c.num_frames for c in clips],
                fps=[c.fps for c in clips],
                motion_names=[c.name for c in clips],
                device=self.device,
            )
        self.adaptive_sampler = sampler
        """The sampler that chooses starts (the runner's protocol)."""

        dev = self.device
        lengths = torch.tensor([c.num_frames for c in clips], device=dev)
        self._num_frames = lengths
        self._fps = torch.tensor([c.fps for c in clips], dtype=torch.float32, device=dev)
        self._duration = (lengths - 1).float() / self._fps
        self._offsets = torch.cat([torch.zeros(1, dtype=torch.long, device=dev), lengths.cumsum(0)])
        self._ref_pos = torch.cat([c.positions for c in clips]).to(dev)
        # Central-difference reference velocity and acceleration per clip (one-sided at the ends).
        vel, acc = [], []
        for c in clips:
            v = torch.gradient(c.positions, spacing=1.0 / c.fps, dim=0)[0]
            vel.append(v)
            acc.append(torch.gradient(v, spacing=1.0 / c.fps, dim=0)[0])
        self._ref_vel = torch.cat(vel).to(dev)
        self._ref_acc = torch.cat(acc).to(dev)
        self._push = torch.cat(
            [c.disturbance if c.disturbance is not None else torch.zeros(c.num_frames, 2) for c in clips]
        ).to(dev)
        self._lookahead = torch.tensor(self.cfg.lookahead_s, dtype=torch.float32, device=dev)
        self._eye = torch.eye(self.num_motions, device=dev)

        n = self.num_envs
        self.generator = torch.Generator(device=dev).manual_seed(self.cfg.seed)
        self.motion_ids = torch.zeros(n, dtype=torch.long, device=dev)
        self.start_frames = torch.zeros(n, dtype=torch.long, device=dev)
        self.time_s = torch.zeros(n, device=dev)
        self.pos = torch.zeros(n, 2, device=dev)
        self.vel = torch.zeros(n, 2, device=dev)
        self.action_buf = torch.zeros(n, max(self.cfg.action_delay, 1), 2, device=dev)
        self.episode_length_buf = torch.zeros(n, dtype=torch.long, device=dev)
        self.error = torch.zeros(n, device=dev)
        self.stamina = torch.ones(n, device=dev)
        """Share of the authority available (1 without ``cfg.reset_stamina``). Shape: (num_envs,)."""
        self._segment_steps = torch.zeros(n, dtype=torch.long, device=dev)
        self.record_to_sampler = True
        """False during evaluation: nothing is recorded and clip ends do not resample."""
        self.reset()

    # ----------------------------------------------------------------------------------------------------------
    # Reference lookup
    # ----------------------------------------------------------------------------------------------------------
    def reference(self, motion_ids: torch.Tensor, time_s: torch.Tensor, table: torch.Tensor | None = None):
        """Linearly interpolated reference at ``time_s`` (clamped to the clip).

        Shape: ``motion_ids`` and ``time_s`` broadcast to ``S``; returns ``S + (2,)``.
        """
        table = self._ref_pos if table is None else table
        f = (time_s * self._fps[motion_ids]).clamp_min(0.0)
        last = (self._num_frames[motion_ids] - 1).float()
        f = torch.minimum(f, last)
        f0 = f.floor()
        w = (f - f0).unsqueeze(-1)
        base = self._offsets[motion_ids]
        i0 = base + f0.long()
        i1 = base + torch.minimum(f0 + 1, last).long()
        return torch.lerp(table[i0], table[i1], w)

    # ----------------------------------------------------------------------------------------------------------
    # VecEnv interface
    # ----------------------------------------------------------------------------------------------------------
    def get_observations(self) -> TensorDict:
        """Current observations (groups ``policy`` and ``critic``)."""
        m, t = self.motion_ids, self.time_s
        ref = self.reference(m, t)
        ref_vel = self.reference(m, t, self._ref_vel)
        future = self.reference(m[:, None], t[:, None] + self._lookahead[None, :])  # (N, H, 2)
        pos_err = self.pos - ref
        vel_err = self.vel - ref_vel
        future_rel = (future - self.pos[:, None, :]).flatten(1)
        pending = (
            self.action_buf.flatten(1) if self.cfg.action_delay > 0 else self.action_buf.new_zeros(self.num_envs, 0)
        )
        onehot = self._eye[m]
        parts = [pos_err * 10.0, vel_err * 2.0, ref_vel, future_rel * 5.0, pending, onehot]
        private = []  # what the critic sees and the policy does not
        if self.cfg.reset_stamina is not None:
            (parts if self.cfg.observe_stamina else private).append(self.stamina.unsqueeze(-1))
        policy = torch.cat(parts, dim=-1)
        phase = (t / self._duration[m]).unsqueeze(-1)
        critic = torch.cat([policy, *private, phase], dim=-1)
        return TensorDict({"policy": policy, "critic": critic}, batch_size=[self.num_envs], device=self.device)

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Advance one control step.

        Args:
            actions: Shape: (num_envs, 2); the norm is clipped to 1.

        Returns:
            Observations, rewards ``(num_envs,)``, dones ``(num_envs,)`` (failure or time-out) and extras.
        """
        if actions.shape != (self.num_envs, self.num_actions):
            raise ValueError(f"actions must have shape {(self.num_envs, self.num_actions)}, got {tuple(actions.shape)}")
        actions = actions.to(self.device, torch.float32)
        # Authority is a disc: the action's norm is clipped to 1 (a box would leave diagonal pushes easy).
        actions = actions / torch.linalg.vector_norm(actions, dim=-1, keepdim=True).clamp_min(1.0)
        if self.cfg.action_delay > 0:
            applied = self.action_buf[:, 0].clone()
            self.action_buf = torch.roll(self.action_buf, -1, dims=1)
            self.action_buf[:, -1] = actions
        else:
            applied = actions
        dt = self.cfg.dt
        push = self.reference(self.motion_ids, self.time_s, self._push)
        if self.cfg.reset_stamina is None:
            self.vel += (applied * self.cfg.max_accel + push) * dt
        else:
            self.vel += (applied * (self.cfg.max_accel * self.stamina).unsqueeze(-1) + push) * dt
            spent = torch.linalg.vector_norm(applied, dim=-1) * self.cfg.stamina_use
            self.stamina += ((1.0 - self.stamina) / self.cfg.stamina_tau_s - spent) * dt
            self.stamina.clamp_(0.0, 1.0)
        self.pos += self.vel * dt
        self.time_s += dt
        self.episode_length_buf += 1
        self._segment_steps += 1

        ref = self.reference(self.motion_ids, self.time_s)
        self.error = torch.linalg.vector_norm(self.pos - ref, dim=-1)
        failed = self.error > self.cfg.failure_threshold
        m = self.motion_ids
        end_frames, clip_end = segment_ends(self.start_frames, self.time_s, self._fps[m], self._num_frames[m])
        clip_end &= ~failed
        time_outs = (self.episode_length_buf >= self.max_episode_length) & ~failed
        dones = failed | time_outs
        rewards = torch.exp(-((self.error / self.cfg.reward_sigma) ** 2))

        extras: dict = {"time_outs": time_outs, "tracking_error": self.error.clone()}
        if self.record_to_sampler:
            ended = dones | clip_end
            ended_ids = ended.nonzero().squeeze(-1)
            if ended_ids.numel() > 0:
                self.adaptive_sampler.record(
                    m[ended_ids], self.start_frames[ended_ids], end_frames[ended_ids], failed[ended_ids]
                )
                completed = clip_end[ended_ids].float()
                extras["log"] = {
                    "Tracking/segment_success": completed.mean(),
                    "Tracking/failure": failed[ended_ids].float().mean(),
                    "Tracking/segment_seconds": self._segment_steps[ended_ids].float().mean() * dt,
                }
                self._restart(ended_ids, new_episode=dones[ended_ids])
            self.adaptive_sampler.step()
        return self.get_observations(), rewards, dones, extras

    def reset(self) -> TensorDict:
        """Restart every environment from a sampled start; returns the observations."""
        ids = torch.arange(self.num_envs, device=self.device)
        self._restart(ids, new_episode=torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        return self.get_observations()

    # ----------------------------------------------------------------------------------------------------------
    # Starts
    # ----------------------------------------------------------------------------------------------------------
    def _restart(self, env_ids: torch.Tensor, new_episode: torch.Tensor) -> None:
        motion_ids, start_frames = self.adaptive_sampler.sample(int(env_ids.numel()))
        self.reset_to(env_ids, motion_ids.to(self.device), start_frames.to(self.device))
        self.episode_length_buf[env_ids] = torch.where(new_episode, 0, self.episode_length_buf[env_ids])

    def reset_to(self, env_ids: torch.Tensor, motion_ids: torch.Tensor, start_frames: torch.Tensor) -> None:
        """Put environments on the reference at given frames (state = reference + noise; delay line = feedforward).

        Does not touch the episode counters. Shape: all (E,).
        """
        if not (env_ids.shape == motion_ids.shape == start_frames.shape):
            raise ValueError(
                f"env_ids, motion_ids and start_frames must have one shape, got {tuple(env_ids.shape)}, "
                f"{tuple(motion_ids.shape)}, {tuple(start_frames.shape)}"
            )
        e = int(env_ids.numel())
        t0 = start_frames.float() / self._fps[motion_ids]
        noise = torch.randn(e, 4, generator=self.generator, device=self.device) * self.cfg.init_noise
        self.motion_ids[env_ids] = motion_ids
        self.start_frames[env_ids] = start_frames
        self.time_s[env_ids] = t0
        self.pos[env_ids] = self.reference(motion_ids, t0) + noise[:, :2]
        self.vel[env_ids] = self.reference(motion_ids, t0, self._ref_vel) + 5.0 * noise[:, 2:]
        if self.cfg.action_delay > 0:
            # The actions already in flight are the reference's own accelerations (as if it had been tracking).
            k = torch.arange(self.cfg.action_delay, device=self.device, dtype=torch.float32)
            t_k = t0[:, None] + (k[None, :] - self.cfg.action_delay) * self.cfg.dt + self.cfg.dt
            acc = self.reference(motion_ids[:, None].expand(-1, self.cfg.action_delay), t_k, self._ref_acc)
            a = acc / self.cfg.max_accel
            self.action_buf[env_ids] = a / torch.linalg.vector_norm(a, dim=-1, keepdim=True).clamp_min(1.0)
        self.error[env_ids] = torch.linalg.vector_norm(self.pos[env_ids] - self.reference(motion_ids, t0), dim=-1)
        if self.cfg.reset_stamina is not None:
            self.stamina[env_ids] = self.cfg.reset_stamina
        self._segment_steps[env_ids] = 0


@torch.no_grad()
def evaluate(
    policy,
    clips: list[PointMassClip],
    cfg: PointMassTrackingEnvCfg | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, torch.Tensor]:
    """Run a deterministic policy from frame 0 of every clip until it fails or reaches the clip's end.

    Args:
        policy: Callable mapping the observation ``TensorDict`` to actions ``(num_clips, 2)``.
        clips: The motion library.
        cfg: Env configuration (``num_envs`` and ``init_noise`` are overridden: one env per clip, no noise).
        device: Torch device.

    Returns:
        ``"success"`` (bool, reached the end), ``"completed"`` (fraction of the clip's duration tracked) and
        ``"fail_time_s"`` (time of failure, NaN if none). Shape: (num_clips,) each.
    """
    base = cfg if cfg is not None else PointMassTrackingEnvCfg()
    eval_cfg = PointMassTrackingEnvCfg(**{**base.__dict__, "num_envs": len(clips), "init_noise": 0.0})
    env = PointMassTrackingEnv(clips, sampler=None, cfg=eval_cfg, device=device)
    env.record_to_sampler = False
    ids = torch.arange(len(clips), device=env.device)
    env.reset_to(ids, ids, torch.zeros_like(ids))
    alive = torch.ones(len(clips), dtype=torch.bool, device=env.device)
    success = torch.zeros_like(alive)
    fail_time = torch.full((len(clips),), float("nan"), device=env.device)
    max_steps = int(math.ceil(float(env._duration.max()) / eval_cfg.dt)) + 1
    obs = env.get_observations()
    for _ in range(max_steps):
        _, _, _, _ = env.step(policy(obs))
        obs = env.get_observations()
        failed = alive & (env.error > eval_cfg.failure_threshold)
        fail_time = torch.where(failed, env.time_s, fail_time)
        reached = alive & ~failed & segment_ends(env.start_frames, env.time_s, env._fps, env._num_frames)[1]
        success |= reached
        alive &= ~(failed | reached)
        if not bool(alive.any()):
            break
    completed = torch.where(success, 1.0, (fail_time / env._duration).nan_to_num(0.0).clamp(0.0, 1.0))
    return {"success": success, "completed": completed, "fail_time_s": fail_time}
