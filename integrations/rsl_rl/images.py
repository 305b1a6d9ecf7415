"""Log matplotlib figures to whichever writer rsl-rl uses (TensorBoard, W&B, Neptune).

rsl-rl's W&B and Neptune writers subclass TensorBoard's ``SummaryWriter``, so every figure goes into the event
files (``add_image``) and, for those two, also to the service (a ``wandb.Image``; a Neptune ``File`` appended to
a series under the same tag).
"""

from __future__ import annotations

from typing import Any

__all__ = ["figure_to_rgb", "log_figure", "writer_kind"]


def writer_kind(writer: Any) -> str:
    """``"wandb"``, ``"neptune"`` or ``"tensorboard"`` (by the writer's class name, as rsl-rl-lib 3.x-5.x name them)."""
    name = type(writer).__name__.lower()
    if "wandb" in name:
        return "wandb"
    if "neptune" in name:
        return "neptune"
    return "tensorboard"


def figure_to_rgb(fig: Any) -> Any:
    """Render a matplotlib figure to an RGB array. Shape: (H, W, 3), uint8."""
    import numpy as np

    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def log_figure(writer: Any, tag: str, fig: Any, step: int) -> Any:
    """Log ``fig`` under ``tag`` at ``step`` to ``writer``; return the RGB array that was logged."""
    rgb = figure_to_rgb(fig)
    if hasattr(writer, "add_image"):
        writer.add_image(tag, rgb, step, dataformats="HWC")
    kind = writer_kind(writer)
    if kind == "wandb":
        import wandb

        wandb.log({tag: wandb.Image(rgb)}, step=step)
    elif kind == "neptune":
        from neptune.types import File

        series = writer.run[tag]
        append = getattr(series, "append", None) or series.log  # neptune-client >= 1.0: append
        append(File.as_image(fig), step=step)
    return rgb
