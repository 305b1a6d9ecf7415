"""Slow, independent reference implementations of the sampler's formulas (plain Python loops per motion).

Written from the docstrings of ``adaptive_sampling`` and from BeyondMimic's published formulas, not from the core's
code, so that tests compare two implementations. Everything here is exact (``Fraction``) or float64.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg

# Frame rates and bin widths used by generated libraries: exact decimals/rationals, so the reference can work in
# exact arithmetic and the core's float tolerance (which keeps exact multiples exact) is what gets tested.
FPS_CHOICES: tuple[str, ...] = ("24", "25", "29.97", "30", "50", "60", "100", "120")
BIN_DURATION_CHOICES: tuple[Fraction, ...] = (
    Fraction(1, 5),
    Fraction(1, 4),
    Fraction(1, 3),
    Fraction(1, 2),
    Fraction(1),
    Fraction(3, 2),
    Fraction(2),
)


def ref_bin_starts(num_frames: int, fps: Fraction, bin_duration: Fraction, bin_layout: str = "duration") -> list[int]:
    """First frame of every bin of one motion.

    ``"duration"``: bin ``j`` covers frames ``[j * fpb, (j + 1) * fpb)`` with ``fpb = fps * bin_duration``; a bin
    exists when its first frame is a real frame. ``"beyondmimic"``: ``B = int(T // fpb) + 1`` (at most ``T``), frame
    ``f`` in bin ``(f * B) // T``.
    """
    fpb = Fraction(fps) * Fraction(bin_duration)
    if bin_layout == "beyondmimic":
        num_bins = min(math.floor(num_frames / fpb) + 1, num_frames)
        # bin j starts at the smallest f with (f * B) // T >= j, i.e. f * B >= j * T: f = ceil(j * T / B)
        return [-(-j * num_frames // num_bins) for j in range(num_bins)]
    starts = []
    j = 0
    while math.ceil(j * fpb) <= num_frames - 1:
        starts.append(math.ceil(j * fpb))
        j += 1
    return starts


def ref_widths(starts: Sequence[int], num_frames: int) -> list[int]:
    """Frames per bin from the bin starts."""
    return [b - a for a, b in zip(starts, [*starts[1:], num_frames], strict=True)]


def ref_bin_of(starts: Sequence[int], frame: int) -> int:
    """Bin of a local frame."""
    return bisect.bisect_right(starts, frame) - 1


def ref_taps(kernel_size: int, decay: float) -> list[float]:
    """Normalised look-ahead taps ``decay**u / sum``."""
    raw = [decay**u for u in range(kernel_size)]
    return [t / sum(raw) for t in raw]


def ref_cap(masses: Sequence[float], cap: float) -> list[float]:
    """Per-motion scale factors of water-filling: motions above ``cap`` are cut to ``cap``, the excess goes to the
    others in proportion to their mass, repeated until nothing exceeds the cap."""
    num = len(masses)
    capped: set[int] = set()
    while True:
        free = 1.0 - cap * len(capped)
        rest = sum(masses[i] for i in range(num) if i not in capped)
        if rest <= 0.0:
            scale = 0.0
            break
        scale = free / rest
        over = {i for i in range(num) if i not in capped and masses[i] * scale > cap * (1 + 1e-9)}
        if not over:
            break
        capped |= over
    return [cap / masses[i] if i in capped else scale for i in range(num)]


@dataclass
class Event:
    """One recorded segment."""

    motion: int
    start: int
    end: int
    failed: float


@dataclass
class RefLibrary:
    """A motion library in exact terms."""

    num_frames: list[int]
    fps: list[str]
    bin_duration: Fraction = Fraction(1)
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.names:
            self.names = [f"motion_{i}" for i in range(len(self.num_frames))]

    @property
    def fps_float(self) -> list[float]:
        return [float(f) for f in self.fps]


class ReferenceSampler:
    """Per-motion Python-loop reference of :class:`AdaptiveSampler`'s statistics and distribution.

    Statistics per step (``a = ema_alpha``): ``F <- (1 - a) F + f_step``, ``N <- (1 - a) N + n_step`` where the step
    terms hold what was recorded since the previous step; a rebuild happens after every ``rebuild_every`` steps.
    """

    def __init__(self, cfg: AdaptiveSamplerCfg, lib: RefLibrary, weights: Sequence[float] | None = None) -> None:
        self.cfg = cfg
        self.lib = lib
        self.starts = [
            ref_bin_starts(t, Fraction(f), lib.bin_duration, cfg.bin_layout)
            for t, f in zip(lib.num_frames, lib.fps, strict=True)
        ]
        self.widths = [ref_widths(s, t) for s, t in zip(self.starts, lib.num_frames, strict=True)]
        num = len(lib.num_frames)
        if cfg.prior == "motion":
            w = [1.0] * num
        elif cfg.prior == "duration":
            w = [t / float(Fraction(f)) for t, f in zip(lib.num_frames, lib.fps, strict=True)]
        else:
            assert weights is not None
            w = [float(x) for x in weights]
        total = sum(w)
        self.prior = [[w[m] / total * width / lib.num_frames[m] for width in self.widths[m]] for m in range(num)]
        self.failures = [[0.0] * len(s) for s in self.starts]
        self.visits = [[0.0] * len(s) for s in self.starts]
        self.pending_failures = [[0.0] * len(s) for s in self.starts]
        self.pending_visits = [[0.0] * len(s) for s in self.starts]
        self.steps = 0
        # stall clocks: each bin's rate at its last move and the steps since (cfg.stall_patience)
        self.stall_reference = [[cfg.rate_prior] * len(s) for s in self.starts]
        self.stalled = [[0.0] * len(s) for s in self.starts]
        self.probs = self.compute()

    def record(self, events: Sequence[Event]) -> None:
        for e in events:
            sb = ref_bin_of(self.starts[e.motion], e.start)
            eb = ref_bin_of(self.starts[e.motion], e.end)
            if self.cfg.attribution == "failure":
                self.pending_failures[e.motion][eb] += e.failed
                for b in range(sb, eb + 1):
                    self.pending_visits[e.motion][b] += 1.0
            else:
                self.pending_failures[e.motion][sb] += e.failed
                self.pending_visits[e.motion][sb] += 1.0

    def step(self) -> None:
        a = self.cfg.ema_alpha
        for m in range(len(self.starts)):
            for b in range(len(self.starts[m])):
                self.failures[m][b] = (1 - a) * self.failures[m][b] + self.pending_failures[m][b]
                self.visits[m][b] = (1 - a) * self.visits[m][b] + self.pending_visits[m][b]
                self.pending_failures[m][b] = 0.0
                self.pending_visits[m][b] = 0.0
        self.steps += 1
        if self.steps % self.cfg.rebuild_every == 0:
            if self.cfg.stall_patience > 0 and self.cfg.statistic == "rate":
                for m, rates in enumerate(self.rates()):
                    for b, r in enumerate(rates):
                        ref = self.stall_reference[m][b]
                        fall = self.cfg.stall_moves == "fall"
                        if (ref - r if fall else abs(r - ref)) > self.cfg.stall_threshold:
                            self.stall_reference[m][b], self.stalled[m][b] = r, 0.0
                        else:
                            self.stall_reference[m][b] = max(ref, r) if fall else ref
                            self.stalled[m][b] += self.cfg.rebuild_every
            self.probs = self.compute()

    def nominal_bin(self, m: int) -> float:
        """Frames of a nominal (full) bin of motion m."""
        if self.cfg.bin_layout == "beyondmimic":
            return self.lib.num_frames[m] / len(self.starts[m])
        return float(Fraction(self.lib.fps[m]) * self.lib.bin_duration)

    def rates(self) -> list[list[float]]:
        cfg = self.cfg
        r0, n0 = cfg.rate_prior, cfg.rate_prior_visits
        return [
            [(f + r0 * n0) / (n + n0) for f, n in zip(fm, nm, strict=True)]
            for fm, nm in zip(self.failures, self.visits, strict=True)
        ]

    def compute(self, rate_weighting: str = "prior") -> list[float]:
        """The flat distribution (motion-major) from the current statistics.

        ``rate_weighting``: how the smoothed rates become the failure part. ``"prior"`` (the library's formula):
        ``p_fail(b) ~ p_prior(b) * s_b``. ``"width"`` (the formula before the prior tilt, kept to show that
        ``prior="duration"`` with the duration layout reproduces it): ``p_fail(b) ~ s_b * frames_b / nominal bin``.
        """
        cfg = self.cfg
        num = len(self.starts)
        if cfg.statistic == "rate":
            score = self.rates()
            if cfg.stall_patience > 0:  # a bin whose rate has not fallen reverts to the mean rate under the prior
                mean = sum(x * q for sm, qm in zip(score, self.prior, strict=True) for x, q in zip(sm, qm, strict=True))
                score = [
                    [mean + (x - mean) * math.exp(-st / cfg.stall_patience) for x, st in zip(sm, stm, strict=True)]
                    for sm, stm in zip(score, self.stalled, strict=True)
                ]
        else:
            scale = cfg.ema_alpha if cfg.ema_alpha > 0 else 1.0
            score = [[scale * f for f in fm] for fm in self.failures]
        if cfg.additive_uniform_ratio > 0:
            score = [[s + cfg.additive_uniform_ratio / len(sm) for s in sm] for sm in score]
        taps = ref_taps(cfg.kernel_size, cfg.kernel_decay)
        smoothed = []
        for sm in score:
            last = len(sm) - 1
            smoothed.append([sum(t * sm[min(j + u, last)] for u, t in enumerate(taps)) for j in range(len(sm))])
        if cfg.statistic == "rate" and rate_weighting == "prior":  # the prior tilted by the failure rate
            smoothed = [[s * q for s, q in zip(sm, self.prior[m], strict=True)] for m, sm in enumerate(smoothed)]
        elif cfg.statistic == "rate":  # the old weighting: the bin's length over a nominal bin
            smoothed = [
                [s * w / self.nominal_bin(m) for s, w in zip(sm, self.widths[m], strict=True)]
                for m, sm in enumerate(smoothed)
            ]
        total = sum(sum(sm) for sm in smoothed)
        self.fell_back_to_prior = not total > 0
        if total > 0:
            p_fail = [[s / total for s in sm] for sm in smoothed]
        else:
            p_fail = [list(pm) for pm in self.prior]
        masses = [sum(pm) for pm in p_fail]
        # water-filling can hold the cap only if enough motions have failure mass (float32-representable) to take it
        self.cap_feasible = sum(1 for x in masses if x > 1e-30) * cfg.max_motion_share >= 1.0 - 1e-9
        if cfg.max_motion_share < 1.0:
            factors = ref_cap(masses, cfg.max_motion_share)
            p_fail = [[p * factors[m] for p in p_fail[m]] for m in range(num)]
            z = sum(sum(pm) for pm in p_fail)
            p_fail = [[p / z for p in pm] for pm in p_fail]
        lam = cfg.uniform_ratio
        out = []
        for m in range(num):
            out.extend((1 - lam) * p + lam * q for p, q in zip(p_fail[m], self.prior[m], strict=True))
        return out

    def flat_prior(self) -> list[float]:
        return [q for pm in self.prior for q in pm]

    def flat_bin(self, motion: int, frame: int) -> int:
        return sum(len(s) for s in self.starts[:motion]) + ref_bin_of(self.starts[motion], frame)


def make_sampler(
    cfg: AdaptiveSamplerCfg, lib: RefLibrary, weights: Sequence[float] | None = None, **kwargs
) -> AdaptiveSampler:
    """The core sampler for a reference library (the config must use the library's bin width)."""
    assert cfg.bin_duration_s == float(lib.bin_duration), "config and reference library disagree on the bin width"
    return AdaptiveSampler(cfg, lib.num_frames, lib.fps_float, lib.names, motion_weights=weights, **kwargs)


def record_events(sampler: AdaptiveSampler, events: Sequence[Event], float_failed: bool = True) -> None:
    """Record events in one batched call."""
    ids = torch.tensor([e.motion for e in events], dtype=torch.int64)
    starts = torch.tensor([e.start for e in events], dtype=torch.int64)
    ends = torch.tensor([e.end for e in events], dtype=torch.int64)
    if float_failed:
        failed = torch.tensor([e.failed for e in events], dtype=torch.float32)
    else:
        failed = torch.tensor([bool(e.failed) for e in events], dtype=torch.bool)
    sampler.record(ids, starts, ends, failed)


def beyondmimic_reference_probs(q: torch.Tensor, uniform_ratio: float, kernel_size: int, decay: float) -> torch.Tensor:
    """BeyondMimic's ``_adaptive_sampling`` distribution for one motion, float64.

    ``p~ = q + uniform_ratio / B``, right replicate pad by ``K - 1``, ``conv1d`` with taps ``decay**u / sum``,
    normalise.
    """
    num_bins = q.numel()
    p = q + uniform_ratio / num_bins
    p = torch.nn.functional.pad(p.view(1, 1, -1), (0, kernel_size - 1), mode="replicate")
    kernel = torch.tensor([decay**u for u in range(kernel_size)], dtype=torch.float64)
    kernel = kernel / kernel.sum()
    p = torch.nn.functional.conv1d(p, kernel.view(1, 1, -1)).view(-1)
    return p / p.sum()


def state_equal(a: dict, b: dict, ignore: Sequence[str] = ()) -> bool:
    """True when two state dicts hold the same keys and values (tensors compared exactly), except ``ignore``."""
    if set(a) != set(b):
        return False
    for key in a:
        if key in ignore:
            continue
        x, y = a[key], b[key]
        if isinstance(x, torch.Tensor):
            if not isinstance(y, torch.Tensor) or x.dtype != y.dtype or not torch.equal(x, y):
                return False
        elif x != y:
            return False
    return True


def chi_square_pvalue(observed: torch.Tensor, expected: torch.Tensor) -> float:
    """Pearson's chi-square test of counts against expected counts (cells with expected 0 must be observed 0).

    p-value = Q(df / 2, X^2 / 2) (regularised upper incomplete gamma), df = cells - 1.
    """
    observed = observed.double()
    expected = expected.double()
    empty = expected == 0
    assert bool((observed[empty] == 0).all()), "a cell of zero probability was drawn"
    o, e = observed[~empty], expected[~empty]
    stat = ((o - e) ** 2 / e).sum()
    df = o.numel() - 1
    if df == 0:
        return 1.0
    return float(torch.special.gammaincc(torch.tensor(df / 2, dtype=torch.float64), stat / 2))
