"""The motion file format: BeyondMimic's npz fields plus joint and body names.

A motion file is an ``.npz`` holding

============== ============ ===========================================================
field          shape        meaning
============== ============ ===========================================================
fps            (1,)         frame rate in frames per second
joint_pos      (T, J)       joint positions, rad or m
joint_vel      (T, J)       joint velocities
body_pos_w     (T, Nb, 3)   body positions, world frame, m
body_quat_w    (T, Nb, 4)   body orientations, world frame, **wxyz**
body_lin_vel_w (T, Nb, 3)   body linear velocities, world frame, m/s
body_ang_vel_w (T, Nb, 3)   body angular velocities, world frame, rad/s
joint_names    (J,)         joint names (unicode), optional in BeyondMimic's files
body_names     (Nb,)        body names (unicode), optional in BeyondMimic's files
============== ============ ===========================================================

Float arrays are written as float32 (as BeyondMimic does); the file loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import zipfile
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "BODY_FIELDS",
    "FLOAT_FIELDS",
    "JOINT_FIELDS",
    "NAME_FIELDS",
    "REQUIRED_FIELDS",
    "decode_names",
    "find_motion_files",
    "load_motion",
    "motion_fps",
    "motion_name",
    "names_array",
    "read_npz",
    "save_motion",
]

JOINT_FIELDS = ("joint_pos", "joint_vel")
"""Per-joint fields, shape (T, J)."""
BODY_FIELDS = ("body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
"""Per-body fields, shape (T, Nb, 3 or 4)."""
FLOAT_FIELDS = JOINT_FIELDS + BODY_FIELDS
"""All per-frame float fields."""
REQUIRED_FIELDS = ("fps",) + FLOAT_FIELDS
"""Fields every motion file must have (BeyondMimic's layout)."""
NAME_FIELDS = ("joint_names", "body_names")
"""Optional name fields; written by our tools, absent from BeyondMimic's files."""


def names_array(names: Sequence[str], field: str = "names") -> np.ndarray:
    """Names as a fixed-width unicode array (loads without pickle).

    Raises:
        TypeError: an entry is not a string.
        ValueError: an entry is empty or the names are not unique.
    """
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{field} must hold strings, got {type(name).__name__} {name!r}")
        if not name:
            raise ValueError(f"{field} holds an empty name")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{field} must be unique, repeated: {duplicates}")
    return np.asarray(names, dtype=np.str_)


def decode_names(array: np.ndarray) -> list[str]:
    """A stored name array as a list of str (unicode or bytes entries)."""
    return [name.decode() if isinstance(name, bytes) else str(name) for name in np.asarray(array).reshape(-1).tolist()]


def read_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read every field of an npz without pickle, keeping going past unreadable fields.

    Returns:
        ``(fields, unreadable)``: the arrays that could be read, and for each field that could not, the reason.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not an npz archive at all.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such motion file: {str(path)!r}")
    fields: dict[str, np.ndarray] = {}
    unreadable: dict[str, str] = {}
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"{str(path)!r} is not a readable npz file: {error}") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{str(path)!r} holds a single array, not an npz archive of named fields")
    with archive:
        for key in archive.files:
            try:
                fields[key] = archive[key]
            except (ValueError, OSError, zipfile.BadZipFile) as error:
                unreadable[key] = str(error)
    return fields, unreadable


def load_motion(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load a motion file into a dict of arrays (no checks on values; see ``validation``).

    Raises:
        ValueError: a field cannot be read (e.g. stored as an object array) or a required field is missing; the
            message names the file and the field.
    """
    fields, unreadable = read_npz(path)
    if unreadable:
        key, reason = next(iter(unreadable.items()))
        raise ValueError(f"{str(path)!r}: field {key!r} cannot be read without pickle: {reason}")
    missing = [key for key in REQUIRED_FIELDS if key not in fields]
    if missing:
        raise ValueError(f"{str(path)!r}: missing field(s) {missing}")
    return fields


def motion_fps(motion: Mapping[str, np.ndarray]) -> float:
    """The frame rate of a motion as a float.

    Raises:
        ValueError: ``fps`` is missing, not a single number, or not positive and finite.
    """
    if "fps" not in motion:
        raise ValueError("motion has no 'fps' field")
    fps = np.asarray(motion["fps"])
    if fps.size != 1 or fps.dtype.kind not in "iuf":
        raise ValueError(f"fps must be one number, got dtype {fps.dtype} and shape {fps.shape}")
    value = float(fps.reshape(-1)[0])
    if not np.isfinite(value) or value <= 0.0:
        raise ValueError(f"fps must be positive and finite, got {value}")
    return value


def save_motion(path: str | os.PathLike, motion: Mapping[str, np.ndarray], compress: bool = True) -> pathlib.Path:
    """Write a motion file atomically: float fields as float32, fps as float32 (1,), names as unicode.

    Args:
        path: Destination ``.npz`` path; parent directories are created.
        motion: The fields (at least :data:`REQUIRED_FIELDS`); other fields are written unchanged.
        compress: Deflate the archive (as ``np.savez_compressed``); ``np.load`` reads either.

    Returns:
        The path written.
    """
    path = pathlib.Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz, got {str(path)!r}")
    missing = [key for key in REQUIRED_FIELDS if key not in motion]
    if missing:
        raise ValueError(f"motion is missing field(s) {missing}")
    out: dict[str, np.ndarray] = {}
    for key, value in motion.items():
        if key == "fps":
            out[key] = np.asarray([motion_fps(motion)], dtype=np.float32)
        elif key in FLOAT_FIELDS:
            out[key] = np.ascontiguousarray(value, dtype=np.float32)
        elif key in NAME_FIELDS:
            out[key] = names_array(decode_names(value), field=key)
        else:
            out[key] = np.asarray(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write_npz(handle, out, compress)
        # mkstemp creates the file private (0600); give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return path


def _write_npz(handle, arrays: Mapping[str, np.ndarray], compress: bool) -> None:
    """Write arrays as an npz archive (as ``np.savez`` does) with fixed timestamps.

    Fixed timestamps make the same motion always give the same bytes (reproducible committed files).
    """
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(handle, mode="w", compression=compression, allowZip64=True) as archive:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            with archive.open(info, mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def motion_name(path: str | os.PathLike, root: str | os.PathLike | None = None) -> str:
    """Name of a motion: its path relative to ``root`` (a library directory) without the suffix, else its stem."""
    path = pathlib.Path(path)
    if root is not None:
        try:
            return path.relative_to(root).with_suffix("").as_posix()
        except ValueError:
            pass
    return path.stem


def find_motion_files(path: str | os.PathLike, suffix: str = ".npz") -> tuple[list[pathlib.Path], pathlib.Path | None]:
    """Files to work on: ``path`` itself, or every ``*suffix`` file under a directory (recursively, sorted).

    Returns:
        ``(files, root)``; ``root`` is the directory (for naming) or ``None`` for a single file.

    Raises:
        FileNotFoundError: ``path`` does not exist, or a directory holds no matching file.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob(f"*{suffix}") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise FileNotFoundError(f"no {suffix} files under {str(path)!r}")
        return files, path
    if path.is_file():
        return [path], None
    raise FileNotFoundError(f"no such file or directory: {str(path)!r}")
