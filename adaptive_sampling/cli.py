"""Command line: ``adaptive-sampling plot CHECKPOINT -o heatmap.png`` and ``adaptive-sampling motions ...``.

Also ``python -m adaptive_sampling``. Imports torch only at start-up; matplotlib, numpy and the motions package are
imported when a command needs them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adaptive-sampling",
        description="Tools for adaptive start-point sampling in motion-tracking RL.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    plot = sub.add_parser(
        "plot",
        help="render the sampler's probability and failure-rate tables from a checkpoint",
        description="Render the sampler's probability (relative to its prior) and failure-rate tables, motion x time "
        "bin, from an rsl-rl checkpoint written by AdaptiveSamplingRunner or a bare AdaptiveSampler.state_dict().",
    )
    plot.add_argument("checkpoint", help="checkpoint file (.pt)")
    plot.add_argument("-o", "--output", default="sampler_heatmap.png", help="output image (default: %(default)s)")
    plot.add_argument("--title", default=None, help="figure title (default: the checkpoint's file name)")
    plot.add_argument("--dpi", type=int, default=120, help="resolution (default: %(default)s)")
    plot.add_argument(
        "--trust",
        action="store_true",
        help="allow full unpickling if torch.load(weights_only=True) refuses the file (only for trusted files)",
    )
    sub.add_parser("motions", help="motion library tools (adaptive_sampling_motions; arguments are passed on)")
    return parser


def _plot(args: argparse.Namespace) -> int:
    import os

    from .plot import load_sampler, plot_sampler

    sampler = load_sampler(args.checkpoint, trust=args.trust)
    title = args.title if args.title is not None else os.path.basename(args.checkpoint)
    path = plot_sampler(sampler, args.output, title=title, dpi=args.dpi)
    print(f"wrote {path} ({sampler.layout.num_motions} motions, {sampler.layout.num_bins} bins)")
    return 0


def _motions(argv: list[str]) -> int:
    try:
        module = importlib.import_module("adaptive_sampling_motions.cli")
        # the tools import numpy and mujoco when they build their parser (also for --help) or run a command
        result = module.main(argv)
    except ImportError as err:
        print(
            "error: 'adaptive-sampling motions' needs the motions integration (adaptive_sampling_motions) and its "
            f"dependencies: pip install 'adaptive-sampling-rl[motions]' ({err})",
            file=sys.stderr,
        )
        return 2
    return int(result) if result is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        from . import _distribution  # noqa: F401  (the import checks that this package is ours, not its namesake)
    except ImportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "motions":
        return _motions(args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _plot(args)
    except (ValueError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except ImportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
