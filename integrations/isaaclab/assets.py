"""Where the local Isaac Lab assets live (written by ``scripts/setup_isaaclab.sh``). No simulator import."""

from __future__ import annotations

import os
import pathlib

__all__ = ["assets_dir", "check_local_assets", "demo_motions_dir", "g1_usd_path", "ground_plane_usd_path"]


def assets_dir() -> pathlib.Path:
    """``${ADAPTIVE_SAMPLING_CACHE:-~/.cache/adaptive_sampling}/isaaclab``."""
    root = os.environ.get("ADAPTIVE_SAMPLING_CACHE")
    base = pathlib.Path(root).expanduser() if root else pathlib.Path.home() / ".cache" / "adaptive_sampling"
    return base / "isaaclab"


def _missing(what: str, path: pathlib.Path) -> FileNotFoundError:
    return FileNotFoundError(f"{what} not found at {path}; run `scripts/setup_isaaclab.sh [VENV]` once to create it")


def g1_usd_path(check: bool = True) -> pathlib.Path:
    """The G1 USD converted from the mjlab MJCF.

    Args:
        check: Raise if the set-up script has not created it yet (else return the expected path).

    Raises:
        FileNotFoundError: ``check`` and the set-up script has not been run.
    """
    folder = assets_dir() / "g1"
    files = sorted(p for p in folder.glob("*.usd*") if p.is_file()) if (folder / ".complete").is_file() else []
    if files:
        return files[0]
    if check:
        raise _missing("the local G1 USD", folder)
    return folder / "g1_29dof_rev_1_0.usda"


def ground_plane_usd_path(check: bool = True) -> pathlib.Path:
    """The local ground-plane ``.usda``.

    Args:
        check: Raise if the set-up script has not created it yet (else return the expected path).

    Raises:
        FileNotFoundError: ``check`` and the set-up script has not been run.
    """
    path = assets_dir() / "ground_plane.usda"
    if check and not path.is_file():
        raise _missing("the local ground plane", path)
    return path


def check_local_assets() -> None:
    """Raise a :class:`FileNotFoundError` that says what to run if the local G1 or ground plane is missing."""
    g1_usd_path()
    ground_plane_usd_path()


def demo_motions_dir() -> pathlib.Path:
    """The demo clips shipped with the package (``data/motions``)."""
    return pathlib.Path(__file__).resolve().parent / "data" / "motions"
