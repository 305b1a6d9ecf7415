"""Render docs/logger_view.png: what TensorBoard shows of a training run, from the run's own event files.

The images are the PNGs the runner logged (``Sampler/heatmap``, ``Sampler/motion_mass``) at the last step they
were logged, the curves the scalars rsl-rl and the runner wrote; laid out as TensorBoard's scalar and image cards.

    python docs/make_logger_view.py logs/rsl_rl/g1_multi_motion_tracking/<run> -o docs/logger_view.png
"""

from __future__ import annotations

import argparse
import io
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

SCALARS = (("Train/mean_reward", "Train/mean_reward"), ("Sampler/mean_failure_rate", "Sampler/mean_failure_rate"))
ORANGE, GREY, HEADER = "#f57c00", "#616161", "#ff6f00"


def card(ax, title: str) -> None:
    """Style an axis as a TensorBoard scalar card."""
    ax.set_title(title, loc="left", fontsize=8, color=GREY)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=6, colors=GREY)


def main() -> int:
    """Render the view; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=pathlib.Path, help="run folder holding the TensorBoard event files")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("docs/logger_view.png"))
    args = parser.parse_args()
    acc = EventAccumulator(str(args.run), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    heat = acc.Images("Sampler/heatmap")[-1]
    mass = acc.Images("Sampler/motion_mass")[-1]

    fig = plt.figure(figsize=(12.0, 6.6), dpi=100)
    fig.patch.set_facecolor("#f5f5f5")
    header = fig.add_axes((0.0, 0.95, 1.0, 0.05))
    header.set_facecolor(HEADER)
    header.set_xticks([])
    header.set_yticks([])
    header.text(0.01, 0.5, "TensorBoard    TIME SERIES    SCALARS    IMAGES", fontsize=10, color="white", va="center")
    header.text(0.99, 0.5, f"run {args.run.name}", fontsize=8, color="white", ha="right", va="center")
    grid = fig.add_gridspec(2, 4, left=0.04, right=0.99, top=0.9, bottom=0.07, hspace=0.3, wspace=0.3,
                            height_ratios=[1.45, 1.0])
    ax = fig.add_subplot(grid[0, :])
    ax.imshow(mpimg.imread(io.BytesIO(heat.encoded_image_string)))
    ax.set_axis_off()
    ax.set_title(f"Sampler/heatmap   step {heat.step}", loc="left", fontsize=8, color=GREY)
    ax = fig.add_subplot(grid[1, 0:2])
    ax.imshow(mpimg.imread(io.BytesIO(mass.encoded_image_string)))
    ax.set_axis_off()
    ax.set_title(f"Sampler/motion_mass   step {mass.step}", loc="left", fontsize=8, color=GREY)
    tags = set(acc.Tags()["scalars"])
    for col, (tag, title) in enumerate(SCALARS[:2], start=2):
        ax = fig.add_subplot(grid[1, col])
        card(ax, title)
        if tag in tags:
            events = acc.Scalars(tag)
            ax.plot([e.step for e in events], [e.value for e in events], color=ORANGE, lw=1.2)
        ax.set_xlabel("iteration", fontsize=6, color=GREY)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100, facecolor=fig.get_facecolor())
    plt.close(fig)
    buffer.seek(0)
    # a 256-colour palette keeps the file small (heatmaps and flat cards quantise well)
    image = Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.output, optimize=True)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB) from {args.run} step {heat.step}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
