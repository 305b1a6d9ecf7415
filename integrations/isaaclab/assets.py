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


def _local_asset(what: str, path: pathlib.Path, present: bool, check: bool) -> pathlib.Path:
    """``path``; with ``check``, a ``FileNotFoundError`` saying what to run where the set-up script has not made it."""
    if check and not present:
        raise FileNotFoundError(f"{what} not found at {path}; run `scripts/setup_isaaclab.sh [VENV]` once to create it")
    return path


def g1_usd_path(check: bool = True) -> pathlib.Path:
    """The G1 USD converted from the mjlab MJCF (``check``: raise if it is missing, else return the expected path)."""
    folder = assets_dir() / "g1"
    files = sorted(p for p in folder.glob("*.usd*") if p.is_file()) if (folder / ".complete").is_file() else []
    if files:
        return files[0]
    _local_asset("the local G1 USD", folder, present=False, check=check)
    return folder / "g1_29dof_rev_1_0.usda"


def ground_plane_usd_path(check: bool = True) -> pathlib.Path:
    """The local ground-plane ``.usda`` (``check``: raise if it is missing, else return the expected path)."""
    path = assets_dir() / "ground_plane.usda"
    return _local_asset("the local ground plane", path, present=path.is_file(), check=check)


def check_local_assets() -> None:
    """Raise a :class:`FileNotFoundError` that says what to run if the local G1 or ground plane is missing."""
    g1_usd_path()
    ground_plane_usd_path()


def demo_motions_dir() -> pathlib.Path:
    """The demo clips shipped with the package (``data/motions``)."""
    return pathlib.Path(__file__).resolve().parent / "data" / "motions"
