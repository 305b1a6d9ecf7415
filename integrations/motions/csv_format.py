"""Reading retargeted motion CSVs in the LAFAN1-G1 layout.

Each row is one frame: base position ``x y z`` (m), base orientation quaternion ``x y z w`` (scalar last), then one
column per joint in the robot's joint order. No header is needed; a first line that is not numbers is skipped as a
header. The frame rate is not stored in the file: it is given, or parsed from the file name (``walk_30fps.csv``,
``walk_fps30.csv``, ``walk@60hz.csv``).
"""

from __future__ import annotations

import os
import pathlib
import re

import numpy as np

from .quaternions import xyzw_to_wxyz

__all__ = ["BASE_COLUMNS", "fps_from_filename", "read_csv"]

BASE_COLUMNS = 7
"""Base position (3) and base quaternion xyzw (4) come before the joint columns."""

_FPS_PATTERNS = (
    re.compile(r"(?<![0-9.])(\d+(?:\.\d+)?)[ _-]?(?:fps|hz)(?![a-z])", re.IGNORECASE),
    re.compile(r"(?<![a-z])(?:fps|hz)[ _=-]?(\d+(?:\.\d+)?)(?![0-9.])", re.IGNORECASE),
)


def fps_from_filename(path: str | os.PathLike) -> float | None:
    """The frame rate written in a file name (``dance_30fps.csv`` -> 30.0), or ``None`` if there is none."""
    stem = pathlib.Path(path).stem
    for pattern in _FPS_PATTERNS:
        match = pattern.search(stem)
        if match:
            value = float(match.group(1))
            if value > 0.0:
                return value
    return None


def read_csv(path: str | os.PathLike, num_joints: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a LAFAN1-G1-style CSV.

    Args:
        path: The CSV file (comma separated).
        num_joints: Number of joint columns expected after the 7 base columns.

    Returns:
        ``(root_pos, root_quat, joint_pos)`` as float64; ``root_quat`` converted to **wxyz**.
        Shapes: (T, 3), (T, 4), (T, J).

    Raises:
        ValueError: wrong column count, non-numeric values, NaN/inf, no frames or a zero quaternion; the message names
            the file (and the row where it helps).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such CSV file: {str(path)!r}")
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle]
    rows = [(number, line) for number, line in enumerate(lines, start=1) if line and not line.startswith("#")]
    if rows and not _is_numeric_row(rows[0][1]):
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{str(path)!r}: no frames")
    expected = BASE_COLUMNS + num_joints
    values = np.empty((len(rows), expected), dtype=np.float64)
    for index, (number, line) in enumerate(rows):
        cells = [cell.strip() for cell in line.split(",")]
        if cells and cells[-1] == "":
            cells = cells[:-1]
        if len(cells) != expected:
            raise ValueError(
                f"{str(path)!r} line {number}: expected {expected} columns (3 position + 4 quaternion xyzw + "
                f"{num_joints} joints), got {len(cells)}"
            )
        try:
            values[index] = [float(cell) for cell in cells]
        except ValueError as error:
            raise ValueError(f"{str(path)!r} line {number}: not a number ({error})") from error
    if not np.all(np.isfinite(values)):
        row = int(np.flatnonzero(~np.all(np.isfinite(values), axis=1))[0])
        raise ValueError(f"{str(path)!r} line {rows[row][0]}: NaN or inf")
    root_quat = xyzw_to_wxyz(values[:, 3:7])
    norms = np.linalg.norm(root_quat, axis=1)
    if np.any(norms < 1e-6):
        row = int(np.flatnonzero(norms < 1e-6)[0])
        raise ValueError(f"{str(path)!r} line {rows[row][0]}: zero base quaternion")
    return values[:, 0:3].copy(), root_quat / norms[:, None], values[:, BASE_COLUMNS:].copy()


def _is_numeric_row(line: str) -> bool:
    try:
        [float(cell) for cell in line.split(",") if cell.strip()]
    except ValueError:
        return False
    return True


def write_csv(path: str | os.PathLike, root_pos: np.ndarray, root_quat_wxyz: np.ndarray, joint_pos: np.ndarray) -> None:
    """Write a trajectory in the same layout (base quaternion converted to xyzw), e.g. to export or to test.

    Shapes: root_pos (T, 3), root_quat_wxyz (T, 4), joint_pos (T, J).
    """
    root_pos = np.asarray(root_pos, dtype=np.float64)
    joint_pos = np.asarray(joint_pos, dtype=np.float64)
    root_quat = np.asarray(root_quat_wxyz, dtype=np.float64)
    if root_pos.ndim != 2 or root_pos.shape[1] != 3:
        raise ValueError(f"root_pos must have shape (T, 3), got {root_pos.shape}")
    if root_quat.shape != (root_pos.shape[0], 4):
        raise ValueError(f"root_quat_wxyz must have shape ({root_pos.shape[0]}, 4), got {root_quat.shape}")
    if joint_pos.ndim != 2 or joint_pos.shape[0] != root_pos.shape[0]:
        raise ValueError(f"joint_pos must have shape ({root_pos.shape[0]}, J), got {joint_pos.shape}")
    table = np.concatenate([root_pos, root_quat[:, [1, 2, 3, 0]], joint_pos], axis=1)
    np.savetxt(path, table, delimiter=",", fmt="%.9g")
