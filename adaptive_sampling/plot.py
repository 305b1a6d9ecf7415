"""Heatmaps of a sampler's tables (probability and failure rate per motion x time bin).

matplotlib and numpy are imported lazily (the ``plot`` extra); nothing here imports rsl_rl or a simulator.
"""

from __future__ import annotations

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


def plot_sampler(
    sampler: AdaptiveSampler,
    path: str,
    *,
    title: str | None = None,
    hard_segments: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    dpi: int = 120,
) -> str:
    """Write a PNG with the sampling probability (relative to the prior) and the failure rate per motion x bin.

    Args:
        sampler: The sampler (its tables as of its last rebuild).
        path: Output file (PNG; the format follows the suffix).
        title: Figure title.
        hard_segments: Optional ``motion name -> [(start_s, end_s), ...]`` drawn as boxes on both panels.
        dpi: Resolution.

    Returns:
        ``path``.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib and numpy: pip install 'adaptive-sampling-rl[plot]'") from err

    tables = sampler.tables()
    names = list(sampler.layout.motion_names)
    prob = tables["probability"].double().numpy()
    prior = tables["prior"].double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = prob / prior
    rate = tables["failure_rate"].double().numpy()
    num_motions, max_bins = prob.shape
    height = max(3.0, 0.28 * num_motions + 1.5)
    width = min(18.0, max(8.0, 0.12 * max_bins + 4.0))
    fig, axes = plt.subplots(1, 2, figsize=(2 * width * 0.6, height), sharey=True, constrained_layout=True)
    panels = (
        (ratio, "sampling probability / prior", "magma", None),
        (rate, "smoothed failure rate", "viridis", (0.0, 1.0)),
    )
    for ax, (values, label, cmap, limits) in zip(axes, panels, strict=True):
        masked = np.ma.masked_invalid(values)
        vmin, vmax = limits if limits is not None else (0.0, max(float(masked.max()) if masked.count() else 1.0, 1.0))
        im = ax.imshow(
            masked,
            aspect="auto",
            interpolation="nearest",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            extent=(0, max_bins, num_motions - 0.5, -0.5),
        )
        ax.set_title(label)
        unit = (
            "bin" if sampler.layout.bin_layout == "beyondmimic" else f"time bin ({sampler.layout.bin_duration_s:g} s)"
        )
        ax.set_xlabel(unit)
        fig.colorbar(im, ax=ax, shrink=0.9)
        if hard_segments:
            for m, name in enumerate(names):
                for start_s, end_s in hard_segments.get(name, ()):
                    x0, x1 = seconds_to_bins(sampler, m, start_s), seconds_to_bins(sampler, m, end_s)
                    ax.add_patch(
                        plt.Rectangle((x0, m - 0.45), max(x1 - x0, 0.05), 0.9, fill=False, edgecolor="cyan", lw=1.2)
                    )
    axes[0].set_yticks(range(num_motions))
    axes[0].set_yticklabels(names, fontsize=max(5, min(9, int(200 / max(num_motions, 1)))))
    mass = tables["motion_mass"].double().numpy()
    top = int(np.argmax(mass))
    summary = (
        f"{num_motions} motions, {sampler.layout.num_bins} bins; largest motion share {names[top]} {mass[top]:.3f}"
    )
    fig.suptitle(f"{title}\n{summary}" if title else summary)
    if hard_segments:
        axes[1].plot([], [], color="cyan", lw=1.2, label="hard segments")
        axes[1].legend(loc="lower right", fontsize=7)
    out_dir = os.path.dirname(os.path.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _is_sampler_state(value: Any) -> bool:
    return isinstance(value, Mapping) and "version" in value and isinstance(value.get("layout"), Mapping)


__all__ = ["CHECKPOINT_KEYS", "find_sampler_state", "load_sampler", "plot_sampler", "seconds_to_bins"]
