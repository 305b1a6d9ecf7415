"""The sampler's versioned state format.

Validation, upgrades from older versions, remapping by motion name, and the report of what differs between a saved
library and this one.

:meth:`AdaptiveSampler.state_dict` holds only tensors and plain values. Keys of version 1: ``version``, ``config``
(the config's fields), ``layout`` (``motion_names``, ``num_frames``, ``fps``, ``bins_per_motion``, ``bin_duration_s``,
``bin_layout``), ``clock``, ``t0``, ``steps_since_rebuild``, ``training``, ``failures``/``visits`` (merged, per bin,
shape (B,)), ``pending_failures`` (B,) and ``pending_visit_diff`` (recorded since the last merge; visits as one
difference array per clip, its B_m bins then a closing entry, shape (B + M,)), all weighted relative to step ``t0``
(value now = saved * (1 - alpha)^(clock - t0)), ``totals`` and ``pending_totals`` ([segments, failures], shape (2,)),
``visited`` (bool, (B,)), ``probabilities`` ((B,)) and ``generator_state`` (uint8); optional (added in 0.2 without a
version change, see :data:`STALL_KEYS`): ``stall_reference`` and ``stall_steps`` ((B,)).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .config import AdaptiveSamplerCfg
from .layout import MotionLayout

STATE_VERSION = 1
"""Version of :meth:`AdaptiveSampler.state_dict`; loading a newer one fails, an older one is upgraded."""

STAT_KEYS = ("failures", "visits", "pending_failures", "pending_visit_diff")
"""The statistics, all weighted relative to step ``t0`` (value now = saved * (1 - alpha)^(clock - t0))."""

DIFF_KEYS = ("pending_visit_diff",)
"""Statistics stored as one difference array per clip: its B_m bins, then a closing entry (shape (B + M,))."""

STALL_KEYS = ("stall_reference", "stall_steps")
"""Optional per-bin keys (float32, shape (B,)) of the stall clocks (``AdaptiveSamplerCfg.stall_patience``): each
bin's failure rate at its last move and the environment steps since. States saved before they existed load with
the clocks at their start (reference ``rate_prior``, 0 steps)."""

MAX_STAT = 1e30
"""Largest magnitude a saved statistic may hold: the rebuild scores in float32 (max ~3.4e38), over millions of bins."""

UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""``UPGRADES[v]`` turns a state of version ``v`` into one of version ``v + 1`` (a new dict; the argument is not
modified). Empty while version 1 is the only one; a format change adds its entry here and bumps STATE_VERSION."""


@dataclass
class LoadReport:
    """What :meth:`AdaptiveSampler.load_state_dict` did with each motion."""

    kept: list[str] = field(default_factory=list)
    """Motions whose statistics were restored."""
    added: list[str] = field(default_factory=list)
    """Motions of this library that the state did not have (or had with other frames/fps): they start from priors."""
    dropped: list[str] = field(default_factory=list)
    """Motions of the state that this library does not have (or has changed): their statistics were discarded."""
    generator_reseeded: bool = False
    """The generator state was saved on another kind of device (CPU <-> CUDA), whose random stream this device cannot
    continue: the generator was seeded from it instead (deterministically), so the next draws differ from the saved
    run's while statistics and distribution are restored."""

    @property
    def exact(self) -> bool:
        """True when the whole state was restored as saved (every motion, and the generator's stream)."""
        return not self.added and not self.dropped and not self.generator_reseeded


def generator_state_sizes() -> dict[str, int]:
    """Bytes of ``torch.Generator.get_state()`` per device type.

    The CPU's Mersenne twister, and CUDA's Philox (seed and offset, 16 bytes; measured where a GPU is present).
    """
    sizes = {"cpu": torch.Generator().get_state().numel(), "cuda": 16}
    if torch.cuda.is_available():
        sizes["cuda"] = torch.Generator(device="cuda").get_state().numel()
    return sizes


def restored_generator(saved: torch.Tensor, device: torch.device) -> tuple[torch.Generator, bool]:
    """A generator on ``device`` in the saved state, and whether it had to be reseeded instead.

    A state saved on another kind of device (by its size) cannot continue here: the generator is seeded from a hash of
    it, with a warning. Any other state that does not fit raises ``ValueError``.
    """
    gen = torch.Generator(device=device)
    try:
        gen.set_state(saved)
        return gen, False
    except (RuntimeError, ValueError) as err:
        sizes = generator_state_sizes()
        other = [kind for kind, size in sizes.items() if kind != device.type and size == saved.numel()]
        if not other:
            raise ValueError(f"state_dict['generator_state'] does not fit a generator on {device}: {err}") from None
    seed = int.from_bytes(hashlib.sha256(bytes(saved.cpu().tolist())).digest()[:8], "little") >> 1
    gen.manual_seed(seed)
    warnings.warn(
        f"state_dict['generator_state'] was saved on {other[0]}, whose random stream a generator on {device} cannot "
        "continue: reseeded from it (statistics and distribution restored as saved; the next draws differ from the "
        "saved run's)",
        stacklevel=3,
    )
    return gen, True


def upgrade_state(state: dict[str, Any]) -> dict[str, Any]:
    """A state of any supported version as one of :data:`STATE_VERSION` (the argument is never modified).

    Applies :data:`UPGRADES` one version at a time; a state of the current version is returned as it is.
    """
    version = state["version"]
    while version < STATE_VERSION:
        if version not in UPGRADES:
            raise ValueError(f"state_dict['version'] {version} cannot be upgraded to {STATE_VERSION}")
        state = UPGRADES[version](state)
        version = state["version"]
    return state


def validated_state(state: Any) -> dict[str, Any]:
    """Check a saved state's structure, types and values; return it upgraded to the current version.

    Raises ``TypeError``/``ValueError`` naming the key. Not copied (unless upgraded), never modified.
    """
    if not isinstance(state, dict):
        raise TypeError(f"state_dict must be a dict, got {type(state).__name__}")
    version = state.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"state_dict['version'] must be an int, got {version!r}")
    if version > STATE_VERSION:
        raise ValueError(
            f"state_dict['version'] is {version}, newer than this library's {STATE_VERSION}; upgrade adaptive-sampling"
        )
    if version < 1:
        raise ValueError(f"state_dict['version'] must be >= 1, got {version}")
    state = upgrade_state(state)
    required = (
        "config",
        "layout",
        "clock",
        "t0",
        "steps_since_rebuild",
        "training",
        *STAT_KEYS,
        "totals",
        "pending_totals",
        "visited",
        "probabilities",
        "generator_state",
    )
    missing = [k for k in required if k not in state]
    if missing:
        raise ValueError(f"state_dict is missing keys {missing}")
    lay = state["layout"]
    if not isinstance(lay, dict):
        raise ValueError(f"state_dict['layout'] must be a dict, got {type(lay).__name__}")
    for key in ("motion_names", "num_frames", "fps", "bins_per_motion", "bin_duration_s", "bin_layout"):
        if key not in lay:
            raise ValueError(f"state_dict['layout'] is missing {key!r}")
    names = lay["motion_names"]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError("state_dict['layout']['motion_names'] must be a list of str")
    if len(set(names)) != len(names):
        raise ValueError("state_dict['layout']['motion_names'] must be unique")
    num_motions = len(names)
    for key in ("num_frames", "fps", "bins_per_motion"):
        if not isinstance(lay[key], (list, tuple)) or len(lay[key]) != num_motions:
            raise ValueError(f"state_dict['layout'][{key!r}] must be a list of {num_motions} values")
    for key in ("num_frames", "bins_per_motion"):
        if not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in lay[key]):
            raise ValueError(f"state_dict['layout'][{key!r}] must hold positive ints")
    if not all(
        isinstance(r, (int, float)) and not isinstance(r, bool) and math.isfinite(r) and r > 0 for r in lay["fps"]
    ):
        raise ValueError("state_dict['layout']['fps'] must hold finite numbers > 0")
    if not isinstance(state["config"], dict):
        raise ValueError(f"state_dict['config'] must be a dict, got {type(state['config']).__name__}")
    alpha = state["config"].get("ema_alpha", 0.0)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha < 1.0:
        raise ValueError(f"state_dict['config']['ema_alpha'] must be a number in [0, 1), got {alpha!r}")
    for key in ("clock", "t0", "steps_since_rebuild"):
        v = state[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"state_dict[{key!r}] must be an int >= 0, got {v!r}")
    if state["t0"] > state["clock"]:
        raise ValueError(f"state_dict['t0'] ({state['t0']}) must be <= state_dict['clock'] ({state['clock']})")
    if not isinstance(state["training"], bool):
        raise ValueError(f"state_dict['training'] must be a bool, got {state['training']!r}")
    num_bins = sum(lay["bins_per_motion"])
    shapes = {
        **{k: (num_bins + num_motions,) if k in DIFF_KEYS else (num_bins,) for k in STAT_KEYS},
        "visited": (num_bins,),
        "probabilities": (num_bins,),
        "totals": (2,),
        "pending_totals": (2,),
    }
    for key in STALL_KEYS:
        if key in state:
            shapes[key] = (num_bins,)
    for key, shape in shapes.items():
        t = state[key]
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"state_dict[{key!r}] must be a tensor, got {type(t).__name__}")
        if t.device.type == "meta":
            raise ValueError(f"state_dict[{key!r}] must hold values, got a meta tensor")
        if tuple(t.shape) != shape:
            raise ValueError(f"state_dict[{key!r}] must have shape {shape}, got {tuple(t.shape)}")
        if key == "visited":
            if t.dtype != torch.bool:
                raise ValueError(f"state_dict['visited'] must be bool, got {t.dtype}")
            continue
        if not t.is_floating_point():
            raise ValueError(f"state_dict[{key!r}] must be floating point, got {t.dtype}")
        if not bool(torch.isfinite(t).all()) or (key not in DIFF_KEYS and bool((t < 0).any())):
            raise ValueError(
                f"state_dict[{key!r}] must be finite{'' if key in DIFF_KEYS else ' and >= 0'} (corrupt state)"
            )
        if t.numel() > 0 and float(t.abs().max()) > MAX_STAT:
            raise ValueError(
                f"state_dict[{key!r}] must hold values of magnitude <= {MAX_STAT:g}, got {float(t.abs().max()):g}"
            )
    probs = state["probabilities"].double()
    if abs(float(probs.sum()) - 1.0) > 1e-3:
        raise ValueError(f"state_dict['probabilities'] must sum to 1, got {float(probs.sum())}")
    g = state["generator_state"]
    if not isinstance(g, torch.Tensor) or g.dtype != torch.uint8 or g.device.type == "meta":
        raise ValueError("state_dict['generator_state'] must be a uint8 tensor (torch.Generator.get_state())")
    return state


def layout_state(layout: MotionLayout) -> dict[str, Any]:
    """The ``layout`` entry of a state: what identifies the library and its bins."""
    out = layout.signature()
    out.update(bin_duration_s=layout.bin_duration_s, bin_layout=layout.bin_layout)
    return out


ADDED_FIELDS: dict[str, Any] = {"stall_patience": 0.0, "stall_threshold": 0.1, "stall_moves": "fall"}
"""Config fields added after release 0.1.0, with the values that behave as 0.1.0 did: a saved config without them
meant these."""


def same_config(saved: dict[str, Any], cfg: AdaptiveSamplerCfg) -> bool:
    """Whether a saved config gives the same distribution as ``cfg`` (the seed and validation do not matter)."""
    ignore = ("seed", "validate_args")
    here = {k: v for k, v in cfg.to_dict().items() if k not in ignore}
    return all(saved.get(k, ADDED_FIELDS.get(k)) == v for k, v in here.items())


def match_layout(saved: dict[str, Any], layout: MotionLayout) -> tuple[bool, bool]:
    """``(exact, same_grid)``: the saved library is this one, bin for bin; the bins are cut the same way."""
    here = layout.signature()
    same_grid = saved["bin_duration_s"] == layout.bin_duration_s and saved["bin_layout"] == layout.bin_layout
    return same_grid and all(saved[k] == here[k] for k in here), same_grid


def describe_difference(saved: dict[str, Any], layout: MotionLayout, same_grid: bool) -> str:
    """What differs between a saved library and this one, in words (for the error without ``remap``)."""
    here = layout.signature()
    parts = []
    if not same_grid:
        parts.append("bins differ (saved bin_duration_s/bin_layout differ from the config)")
    old, new = saved["motion_names"], here["motion_names"]
    removed = [n for n in old if n not in set(new)]
    added = [n for n in new if n not in set(old)]
    if removed:
        parts.append(f"motions only in the state: {removed[:10]}{' ...' if len(removed) > 10 else ''}")
    if added:
        parts.append(f"motions only in this library: {added[:10]}{' ...' if len(added) > 10 else ''}")
    index = {n: i for i, n in enumerate(old)}
    changed = [
        n
        for m, n in enumerate(new)
        if n in index and any(saved[k][index[n]] != here[k][m] for k in ("num_frames", "fps", "bins_per_motion"))
    ]
    if changed:
        parts.append(f"motions with other frames/fps/bins: {changed[:10]}")
    if not (removed or added or changed) and old != new:
        parts.append("the same motions in another order")
    return "; ".join(parts) + ". Pass remap=True to keep what matches by name."


def staged_statistics(
    saved: dict[str, Any], layout: MotionLayout, exact: bool, same_grid: bool, device: torch.device
) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """The saved statistics and ``visited`` (and, when ``exact``, ``probabilities``) as new tensors on ``device``.

    They are in this library's bin space, with a report of what was kept. Exact: copies of everything. Otherwise
    motions kept by name (same frames, fps and bins) bring their statistics, the others start at zero (their
    priors). Never modifies ``saved``.
    """
    stall = [k for k in STALL_KEYS if k in saved]
    if exact:
        report = LoadReport(kept=list(layout.motion_names))
        keys = (*STAT_KEYS, "visited", "probabilities", *stall)
        return {k: saved[k].to(device, copy=True) for k in keys}, report
    lay = saved["layout"]
    report = LoadReport()
    old = {n: i for i, n in enumerate(lay["motion_names"])}
    old_bins = torch.tensor(lay["bins_per_motion"], dtype=torch.int64)
    old_offsets = torch.cat((torch.zeros(1, dtype=torch.int64), torch.cumsum(old_bins, 0)))
    frames_here, fps_here = layout.num_frames.tolist(), layout.fps.tolist()
    bins_here = layout.bins_per_motion.tolist()
    src, dst = [], []
    for m, name in enumerate(layout.motion_names):
        j = old.get(name)
        if (
            j is not None
            and same_grid
            and lay["num_frames"][j] == frames_here[m]
            and lay["fps"][j] == fps_here[m]
            and lay["bins_per_motion"][j] == bins_here[m]
        ):
            report.kept.append(name)
            src.append(j)
            dst.append(m)
        else:
            report.added.append(name)
    kept = set(report.kept)
    report.dropped = [n for n in lay["motion_names"] if n not in kept]
    src_m = torch.tensor(src, dtype=torch.int64)
    dst_m = torch.tensor(dst, dtype=torch.int64)
    counts = old_bins[src_m]
    # bins: each kept clip's B_m entries; visit differences: its B_m + 1 entries (bins, then the closing one)
    src_bins = _segments(old_offsets[src_m], counts)
    dst_bins = _segments(layout.bin_offsets.cpu()[dst_m], counts)
    src_diff = _segments(old_offsets[src_m] + src_m, counts + 1)
    dst_diff = _segments(layout.bin_offsets.cpu()[dst_m] + dst_m, counts + 1)
    staged: dict[str, torch.Tensor] = {}
    for key in (*STAT_KEYS, "visited", *stall):
        is_diff = key in DIFF_KEYS
        size = layout.num_bins + (layout.num_motions if is_diff else 0)
        values = saved[key].cpu()
        out = torch.zeros(size, dtype=values.dtype)
        out[dst_diff if is_diff else dst_bins] = values[src_diff if is_diff else src_bins]
        staged[key] = out.to(device)
    return staged, report


def _segments(starts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Concatenated ranges ``[starts[i], starts[i] + counts[i])``. Shape: (n,), (n,) -> (sum(counts),)."""
    total = int(counts.sum())
    begin = torch.repeat_interleave(starts - (torch.cumsum(counts, 0) - counts), counts)
    return begin + torch.arange(total, dtype=torch.int64)
