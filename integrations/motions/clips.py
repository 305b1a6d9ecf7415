"""Motion clips for training: find files, name them, load and check them, map them to a robot, resample them.

This is the one reader every consumer of motion files uses (the ``motions info`` table, the Isaac Lab motion library,
any other simulator's loader). It needs only numpy: no mujoco, no torch, no simulator. A motion's name is what
sampler checkpoints remap by, so every name comes from :func:`~adaptive_sampling_motions.motion_file.motion_name`:
the file's path relative to the library directory it was found in, without the suffix (``subject1/walk``), or the
stem of a file given on its own.

>>> clips = load_clips("motions/", fps=50.0, joint_names=robot_joints, body_names=robot_bodies)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import pathlib
from collections.abc import Sequence

import numpy as np

from .motion_file import (
    BODY_FIELDS,
    FLOAT_FIELDS,
    JOINT_FIELDS,
    decode_names,
    find_motion_files,
    load_motion,
    motion_fps,
    motion_name,
)
from .resample import interpolate_linear, interpolate_slerp, resample_times

__all__ = [
    "MotionClip",
    "MotionSource",
    "load_clip",
    "load_clips",
    "reorder_clip",
    "resample_clip",
    "resolve_motion_files",
]

MotionSource = str | os.PathLike | Sequence[str | os.PathLike]
"""A file, a directory (searched recursively), a glob pattern, or a sequence of them."""


@dataclasses.dataclass
class MotionClip:
    """One checked clip on the host: float64 arrays, unit quaternions in wxyz order."""

    name: str
    """The motion's name (see :func:`resolve_motion_files`)."""
    path: pathlib.Path
    """The file it was read from."""
    fps: float
    """Frame rate of the arrays."""
    joint_pos: np.ndarray
    """Shape: (T, J)."""
    joint_vel: np.ndarray
    """Shape: (T, J)."""
    body_pos_w: np.ndarray
    """Shape: (T, Nb, 3)."""
    body_quat_w: np.ndarray
    """Unit quaternions, wxyz. Shape: (T, Nb, 4)."""
    body_lin_vel_w: np.ndarray
    """Shape: (T, Nb, 3)."""
    body_ang_vel_w: np.ndarray
    """Shape: (T, Nb, 3)."""
    joint_names: list[str] | None = None
    """Name of each joint column; ``None`` when the file stores none (BeyondMimic's files)."""
    body_names: list[str] | None = None
    """Name of each body; ``None`` when the file stores none."""

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.joint_pos.shape[0])


def _glob_root(pattern: str) -> pathlib.Path:
    """The directory part of a glob pattern before its first wildcard (``lib/*/walk.npz`` -> ``lib``)."""
    parts = pathlib.Path(pattern).parts
    static = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        static.append(part)
    return pathlib.Path(*static) if static else pathlib.Path(".")


def _expand(entry: str | os.PathLike) -> tuple[list[pathlib.Path], pathlib.Path | None]:
    """The ``.npz`` files of one entry and the directory their names are relative to (``None``: a lone file)."""
    path = pathlib.Path(entry).expanduser()
    if path.exists() or not glob.has_magic(str(path)):
        return find_motion_files(path)
    root = _glob_root(str(path))
    files = sorted(
        pathlib.Path(match) for match in glob.glob(str(path), recursive=True)
        if match.endswith(".npz") and pathlib.Path(match).is_file()
    )
    if not files:
        raise FileNotFoundError(f"motions: glob {str(entry)!r} matches no .npz files")
    return files, root


def resolve_motion_files(motions: MotionSource) -> list[tuple[pathlib.Path, str]]:
    """Expand files, directories and glob patterns into ``(file, motion name)`` pairs.

    A directory is searched recursively (sorted, hidden files skipped) and its files are named by their path relative
    to it without the suffix (``subject1/walk``); a glob's matches are named relative to the pattern's directory part
    before the first wildcard; a file given on its own is named by its stem.

    Args:
        motions: One path, directory or glob, or a sequence of them.

    Returns:
        The files (resolved to absolute paths) with their names, in the given order, each file once.

    Raises:
        TypeError: ``motions`` or an entry is not a path.
        ValueError: ``motions`` is empty, or two different files get the same name.
        FileNotFoundError: an entry matches no file.
    """
    if isinstance(motions, (str, os.PathLike)):
        entries = [motions]
    elif isinstance(motions, Sequence):
        entries = list(motions)
    else:
        raise TypeError(f"motions must be a path, a glob or a sequence of them, got {type(motions).__name__}")
    if not entries:
        raise ValueError("motions is empty: give at least one file, directory or glob")
    for entry in entries:
        if not isinstance(entry, (str, os.PathLike)):
            raise TypeError(f"motions entries must be paths, got {type(entry).__name__}: {entry!r}")
    resolved: list[tuple[pathlib.Path, str]] = []
    seen_files: set[pathlib.Path] = set()
    seen_names: dict[str, pathlib.Path] = {}
    for entry in entries:
        files, root = _expand(entry)
        for file in files:
            absolute = file.resolve()
            if absolute in seen_files:
                continue
            name = motion_name(file, root)
            if name in seen_names:
                raise ValueError(
                    f"motions: two files are both named {name!r} ({str(seen_names[name])!r} and {str(absolute)!r}); "
                    "motion names must be unique: pass their common parent directory, or rename one"
                )
            seen_files.add(absolute)
            seen_names[name] = absolute
            resolved.append((absolute, name))
    return resolved


def _names(fields: dict[str, np.ndarray], key: str, count: int, where: str) -> list[str] | None:
    if key not in fields:
        return None
    names = decode_names(fields[key])
    if len(names) != count:
        raise ValueError(f"{where}: field '{key}' has {len(names)} names but the data has {count} entries")
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: field '{key}' has duplicate names")
    return names


def load_clip(path: str | os.PathLike, name: str | None = None) -> MotionClip:
    """Load and check one motion file.

    Args:
        path: An ``.npz`` motion file (see :mod:`~adaptive_sampling_motions.motion_file`).
        name: The motion's name; defaults to the file's stem.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file cannot be read, or a field is missing, not numeric, has the wrong shape, holds NaN/inf
            or a zero quaternion, or the clip has no frames; the message names the file and the field.
    """
    path = pathlib.Path(path)
    where = repr(str(path))
    fields = load_motion(path)
    for key in ("fps", *FLOAT_FIELDS):
        dtype = np.asarray(fields[key]).dtype
        if dtype.kind not in "iuf":
            raise ValueError(f"{where}: field '{key}' must hold real numbers, got dtype {dtype}")
    try:
        fps = motion_fps(fields)
    except ValueError as error:
        raise ValueError(f"{where}: field {error}") from None
    arrays = {key: np.asarray(fields[key], dtype=np.float64) for key in FLOAT_FIELDS}

    joint_pos = arrays["joint_pos"]
    if joint_pos.ndim != 2:
        raise ValueError(f"{where}: field 'joint_pos' must have shape (T, J), got {joint_pos.shape}")
    num_frames, num_joints = joint_pos.shape
    if num_frames == 0:
        raise ValueError(f"{where}: field 'joint_pos' has zero frames; a motion needs at least one")
    body_pos = arrays["body_pos_w"]
    if body_pos.ndim != 3 or body_pos.shape[0] != num_frames or body_pos.shape[2] != 3:
        raise ValueError(f"{where}: field 'body_pos_w' must have shape ({num_frames}, Nb, 3), got {body_pos.shape}")
    num_bodies = body_pos.shape[1]
    if num_bodies == 0:
        raise ValueError(f"{where}: field 'body_pos_w' has zero bodies")
    expected = {"joint_vel": joint_pos.shape, "body_quat_w": (num_frames, num_bodies, 4),
                "body_lin_vel_w": (num_frames, num_bodies, 3), "body_ang_vel_w": (num_frames, num_bodies, 3)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ValueError(f"{where}: field '{key}' must have shape {shape}, got {arrays[key].shape}")
    for key, array in arrays.items():
        if not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).reshape(num_frames, -1).any(axis=1).argmax())
            raise ValueError(f"{where}: field '{key}' holds NaN or inf values (first at frame {bad})")
    quat_norm = np.linalg.norm(arrays["body_quat_w"], axis=-1, keepdims=True)
    if (quat_norm < 1e-6).any():
        raise ValueError(f"{where}: field 'body_quat_w' holds zero quaternions")
    arrays["body_quat_w"] = arrays["body_quat_w"] / quat_norm
    return MotionClip(
        name=name if name is not None else motion_name(path),
        path=path,
        fps=fps,
        **arrays,
        joint_names=_names(fields, "joint_names", num_joints, where),
        body_names=_names(fields, "body_names", num_bodies, where),
    )


def resample_clip(clip: MotionClip, fps: float) -> MotionClip:
    """The clip played at ``fps``, over the same duration.

    Frame ``k`` of the result is the clip at time ``k / fps``: joint states, positions and velocities are
    interpolated linearly, body orientations by slerp. The result has ``floor((T - 1) * fps / clip.fps) + 1``
    frames; a clip already at ``fps`` (or of one frame) keeps its arrays.

    Raises:
        TypeError: ``fps`` is not a real number.
        ValueError: ``fps`` is not positive and finite.
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise TypeError(f"fps must be a real number, got {type(fps).__name__} {fps!r}")
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive finite number, got {fps}")
    if math.isclose(clip.fps, fps, rel_tol=1e-9) or clip.num_frames == 1:
        return dataclasses.replace(clip, fps=float(fps))
    times = resample_times(clip.num_frames, clip.fps, float(fps))
    fields = {key: interpolate_linear(getattr(clip, key), clip.fps, times) for key in FLOAT_FIELDS}
    fields["body_quat_w"] = interpolate_slerp(clip.body_quat_w, clip.fps, times)
    return dataclasses.replace(clip, fps=float(fps), **fields)


def _order(clip: MotionClip, kind: str, target: Sequence[str], count: int) -> np.ndarray | None:
    """Indices into the clip's joint or body axis that give the ``target`` order (``None``: keep the file's)."""
    file_names = clip.joint_names if kind == "joint" else clip.body_names
    plural = "joints" if kind == "joint" else "bodies"
    if file_names is None:
        if count != len(target):
            raise ValueError(
                f"{str(clip.path)!r}: the file has {count} {plural} and no '{kind}_names' field, but the robot has "
                f"{len(target)} {plural}; without names the file's order is taken as the robot's, so the counts "
                f"must match (add '{kind}_names' to the file to map by name)"
            )
        return None
    index = {name: i for i, name in enumerate(file_names)}
    missing = [name for name in target if name not in index]
    if missing:
        raise ValueError(f"{str(clip.path)!r}: field '{kind}_names' lacks the robot's {kind}(s) {missing}")
    return np.asarray([index[name] for name in target], dtype=np.int64)


def reorder_clip(
    clip: MotionClip, joint_names: Sequence[str] | None = None, body_names: Sequence[str] | None = None
) -> MotionClip:
    """The clip with its joints and bodies in the given order, picked by name (a subset of the file's may be asked).

    A clip without names keeps its order; then the counts must match.

    Raises:
        ValueError: a name is missing from the file, or an unnamed file's count differs.
    """
    changes: dict = {}
    for kind, target, keys, count in (
        ("joint", joint_names, JOINT_FIELDS, clip.joint_pos.shape[1]),
        ("body", body_names, BODY_FIELDS, clip.body_pos_w.shape[1]),
    ):
        if target is None:
            continue
        order = _order(clip, kind, list(target), count)
        if order is not None:
            changes.update({key: getattr(clip, key)[:, order] for key in keys}, **{f"{kind}_names": list(target)})
    return dataclasses.replace(clip, **changes)


def load_clips(
    motions: MotionSource,
    *,
    fps: float | None = None,
    joint_names: Sequence[str] | None = None,
    body_names: Sequence[str] | None = None,
) -> list[MotionClip]:
    """Resolve, load and check motion files, map them to a robot's joint and body order, resample them.

    Args:
        motions: One path, directory or glob, or a sequence of them (see :func:`resolve_motion_files`).
        fps: Frame rate to resample every clip to (``None``: keep each file's).
        joint_names: The robot's joints in its order (``None``: keep the files' order).
        body_names: The robot's bodies in its order (``None``: keep the files' order).

    Returns:
        One clip per file, named as :func:`resolve_motion_files` names them.
    """
    clips = []
    for path, name in resolve_motion_files(motions):
        clip = reorder_clip(load_clip(path, name=name), joint_names, body_names)
        clips.append(clip if fps is None else resample_clip(clip, fps))
    return clips
