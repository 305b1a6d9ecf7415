"""Heatmaps of a sampler's tables (probability and failure rate per motion x time bin).

matplotlib and numpy are imported lazily (the ``plot`` extra); nothing here imports rsl_rl or a simulator.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .sampler import AdaptiveSampler

CHECKPOINT_KEYS = ("adaptive_sampler_state_dict", "adaptive_sampler")
"""Keys under which a training checkpoint may hold a sampler state (the rsl-rl runner uses the first)."""


def find_sampler_state(checkpoint: Any) -> dict[str, Any]:
    """The sampler ``state_dict`` inside a checkpoint, or the checkpoint itself if it is one.

    Looks at the checkpoint itself (a bare ``AdaptiveSampler.state_dict()``), at :data:`CHECKPOINT_KEYS`, then one
    level down in nested dicts (e.g. an rsl-rl ``infos`` dict).

    Raises:
        TypeError: If ``checkpoint`` is not a dict.
        ValueError: If no sampler state is found.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"checkpoint must be a dict, got {type(checkpoint).__name__}")
    if _is_sampler_state(checkpoint):
        return dict(checkpoint)
    for key in CHECKPOINT_KEYS:
        if _is_sampler_state(checkpoint.get(key)):
            return dict(checkpoint[key])
    for value in checkpoint.values():
        if isinstance(value, Mapping):
            for candidate in (value, *(value.get(k) for k in CHECKPOINT_KEYS)):
                if _is_sampler_state(candidate):
                    return dict(candidate)
    raise ValueError(
        f"checkpoint holds no adaptive sampler state (looked for a state dict and keys {list(CHECKPOINT_KEYS)}); "
        f"its top-level keys are {sorted(map(str, checkpoint.keys()))}"
    )


def load_sampler(path: str, *, trust: bool = False, device: str = "cpu") -> AdaptiveSampler:
    """Rebuild the sampler saved in a checkpoint file (rsl-rl checkpoint or bare state dict).

    Args:
        path: The file.
        trust: Allow full unpickling (``weights_only=False``) if the safe loader refuses the file. Only for files
            you trust.
        device: Device of the rebuilt sampler.
    """
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {path!r} does not exist or is not a file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the safe unpickler raises several types
        if not trust:
            raise ValueError(
                f"{path!r} cannot be read with torch.load(weights_only=True) ({type(err).__name__}: {err}); if you "
                "trust the file, pass --trust"
            ) from err
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    return AdaptiveSampler.from_state_dict(find_sampler_state(checkpoint), device=device)


def seconds_to_bins(sampler: AdaptiveSampler, motion: int, seconds: float) -> float:
    """Continuous bin coordinate of a time inside a motion (for drawing on the heatmap)."""
    lay = sampler.layout
    fps = float(lay.fps[motion])
    num_frames = int(lay.num_frames[motion])
    bins = int(lay.bins_per_motion[motion])
    frame = min(max(seconds * fps, 0.0), float(num_frames))
    if lay.bin_layout == "beyondmimic":
        return frame * bins / num_frames
    return min(frame / (lay.bin_duration_s * fps), float(bins))


def env_steps_title(
    sampler: AdaptiveSampler, num_envs: int, world_size: int = 1, prefix: str = "adaptive sampler"
) -> str:
    """A title with the total env steps behind the sampler's statistics.

    ``sampler.clock`` counts steps of the vectorised env (each advances every env once): the total is that times
    ``num_envs`` (times ``world_size`` under ``torch.distributed``).
    """
    per_env = sampler.clock
    envs = num_envs * world_size
    ranks = f" ({world_size} ranks)" if world_size > 1 else ""
    return f"{prefix} after {per_env * envs:,} env steps ({per_env:,} per env x {envs:,} envs{ranks})"


def _time_grid(sampler: AdaptiveSampler, max_columns: int = 2000) -> tuple[torch.Tensor, float, float]:
    """Flat bin of each (motion, time column), -1 past the clip's end, for a heatmap with time in seconds.

    Returns:
        ``(bins, column_s, max_duration_s)``; ``bins`` has shape (M, columns).
    """
    lay = sampler.layout
    fps = lay.fps.cpu()
    num_frames = lay.num_frames.cpu()
    durations = num_frames.double() / fps
    bin_motion = lay.bin_motion.cpu()
    bin_seconds = lay.bin_num_frames.cpu().double() / fps[bin_motion]
    max_duration = float(durations.max())
    column_s = max(float(bin_seconds.min()) / 2.0, max_duration / max_columns)
    columns = max(1, math.ceil(max_duration / column_s))
    centres = (torch.arange(columns, dtype=torch.float64) + 0.5) * column_s  # (C,)
    frames = torch.floor(centres[None, :] * fps[:, None]).long()  # (M, C)
    inside = frames < num_frames[:, None]
    motions = torch.arange(lay.num_motions)[:, None].expand_as(frames)
    safe = torch.minimum(frames, num_frames[:, None] - 1)
    local = lay.local_bins_of(motions.reshape(-1).to(lay.device), safe.reshape(-1).to(lay.device)).cpu()
    bins = lay.bin_offsets.cpu()[motions.reshape(-1)] + local
    bins = torch.where(inside.reshape(-1), bins, torch.full_like(bins, -1)).reshape(frames.shape)
    return bins, column_s, columns * column_s


def sampler_figure(
    sampler: AdaptiveSampler,
    *,
    title: str | None = None,
    hard_segments: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> Any:
    """A matplotlib figure: sampling probability / prior and smoothed failure rate per motion over clip time (s).

    Args:
        sampler: The sampler (its tables as of its last rebuild).
        title: Figure title (a summary line is added below it).
        hard_segments: Optional ``motion name -> [(start_s, end_s), ...]`` drawn as boxes on both panels.

    Raises:
        ImportError: Without matplotlib and numpy (the ``plot`` extra).
    """
    plt, np = _pyplot()
    names = list(sampler.layout.motion_names)
    probs = sampler.probabilities.double().cpu()
    prior = sampler.prior.double().cpu()
    tables = sampler.tables()
    # the failure rate per flat bin (the padded table holds it per (motion, bin index))
    lay = sampler.layout
    rate = tables["failure_rate"].double().cpu()[lay.bin_motion.cpu(), lay.bin_index.cpu()]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (probs / prior).numpy()
    bins, _, width_s = _time_grid(sampler)
    grid = bins.numpy()
    outside = grid < 0
    safe = np.where(outside, 0, grid)
    num_motions = len(names)
    height = max(3.0, 0.28 * num_motions + 1.5)
    fig, axes = plt.subplots(1, 2, figsize=(13.0, height), sharey=True, constrained_layout=True)
    panels = (
        (ratio, "sampling probability / prior", "magma", None),
        (rate.numpy(), "smoothed failure rate", "viridis", (0.0, 1.0)),
    )
    for ax, (values, label, cmap, limits) in zip(axes, panels, strict=True):
        image = np.ma.masked_array(values[safe], mask=outside | ~np.isfinite(values[safe]))
        vmin, vmax = limits if limits is not None else (0.0, max(float(image.max()) if image.count() else 1.0, 1.0))
        im = ax.imshow(
            image,
            aspect="auto",
            interpolation="nearest",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            extent=(0.0, width_s, num_motions - 0.5, -0.5),
        )
        ax.set_title(label)
        ax.set_xlabel("time in clip (s)")
        fig.colorbar(im, ax=ax, shrink=0.9)
        if hard_segments:
            for m, name in enumerate(names):
                for start_s, end_s in hard_segments.get(name, ()):
                    ax.add_patch(
                        plt.Rectangle(
                            (start_s, m - 0.45), max(end_s - start_s, 0.02), 0.9, fill=False, edgecolor="cyan", lw=1.2
                        )
                    )
    axes[0].set_yticks(range(num_motions))
    axes[0].set_yticklabels(names, fontsize=max(5, min(9, int(200 / max(num_motions, 1)))))
    mass = tables["motion_mass"].double().numpy()
    top = int(np.argmax(mass))
    summary = f"{num_motions} motions, {lay.num_bins} bins; largest motion share {names[top]} {mass[top]:.3f}"
    fig.suptitle(f"{title}\n{summary}" if title else summary)
    if hard_segments:
        axes[1].plot([], [], color="cyan", lw=1.2, label="hard segments")
        axes[1].legend(loc="lower right", fontsize=7)
    return fig


def motion_mass_figure(sampler: AdaptiveSampler, *, title: str | None = None) -> Any:
    """A matplotlib bar chart: probability mass per motion, with the prior's share marked.

    Raises:
        ImportError: Without matplotlib and numpy (the ``plot`` extra).
    """
    plt, np = _pyplot()
    names = list(sampler.layout.motion_names)
    lay = sampler.layout
    mass = lay.segment_sum(sampler.probabilities.double()).cpu().numpy()
    prior = lay.segment_sum(sampler.prior.double()).cpu().numpy()
    num_motions = len(names)
    fig, ax = plt.subplots(figsize=(7.0, max(2.5, 0.25 * num_motions + 1.2)), constrained_layout=True)
    y = np.arange(num_motions)
    ax.barh(y, mass, color="tab:orange", label="sampling probability")
    ax.scatter(prior, y, marker="|", s=200, color="black", label="prior", zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=max(5, min(9, int(200 / max(num_motions, 1)))))
    ax.invert_yaxis()
    ax.set_xlabel("probability mass per motion")
    ax.set_xlim(0.0, max(float(mass.max()), float(prior.max())) * 1.1)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax.set_title(f"sampling mass per motion\n{title}" if title else "sampling mass per motion", fontsize=9)
    return fig


def plot_sampler(
    sampler: AdaptiveSampler,
    path: str,
    *,
    title: str | None = None,
    hard_segments: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    dpi: int = 120,
) -> str:
    """Write :func:`sampler_figure` to a file (PNG; the format follows the suffix).

    Args:
        sampler: The sampler (its tables as of its last rebuild).
        path: Output file.
        title: Figure title.
        hard_segments: Optional ``motion name -> [(start_s, end_s), ...]`` drawn as boxes on both panels.
        dpi: Resolution.

    Returns:
        ``path``.
    """
    plt, _ = _pyplot()
    fig = sampler_figure(sampler, title=title, hard_segments=hard_segments)
    out_dir = os.path.dirname(os.path.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _pyplot() -> tuple[Any, Any]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError as err:
        raise ImportError("plotting needs matplotlib and numpy: pip install 'adaptive-sampling-rl[plot]'") from err
    return plt, np


def _is_sampler_state(value: Any) -> bool:
    return isinstance(value, Mapping) and "version" in value and isinstance(value.get("layout"), Mapping)


__all__ = [
    "CHECKPOINT_KEYS",
    "env_steps_title",
    "find_sampler_state",
    "load_sampler",
    "motion_mass_figure",
    "plot_sampler",
    "sampler_figure",
    "seconds_to_bins",
]
