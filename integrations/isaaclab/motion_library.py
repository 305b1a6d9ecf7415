"""Motion library: BeyondMimic-format ``.npz`` clips loaded into one flat store on the device.

A clip file holds ``fps`` (scalar or (1,)), ``joint_pos`` / ``joint_vel`` (T, J), ``body_pos_w`` (T, Nb, 3),
``body_quat_w`` (T, Nb, 4, **wxyz**), ``body_lin_vel_w`` / ``body_ang_vel_w`` (T, Nb, 3), and optionally
``joint_names`` (J,) and ``body_names`` (Nb,). With names, joints and bodies are mapped to the robot's order by
name (BeyondMimic's files have none: then the file's order is taken as the robot's and the counts must match).
Clips recorded at another rate than the control rate are resampled to it (positions and velocities interpolated
linearly, quaternions by slerp), so every frame of the store is one control step.

The store concatenates all frames; ``motion_offsets[m]`` is the first global frame of motion ``m``. No simulator is
imported here.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import pathlib
import zipfile
from collections.abc import Sequence

import numpy as np
import torch

from .rotations import normalize, quat_slerp

__all__ = ["MotionClip", "MotionLibrary", "load_motion_file", "resample_clip", "resolve_motion_files"]

MotionSource = str | os.PathLike | Sequence[str | os.PathLike]

_VECTOR_FIELDS = ("body_pos_w", "body_lin_vel_w", "body_ang_vel_w")
REQUIRED_FIELDS = ("fps", "joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
"""Fields every motion file must hold."""


@dataclasses.dataclass
class MotionClip:
    """One validated clip on the host (float64 numpy, quaternions wxyz)."""

    name: str
    path: pathlib.Path
    fps: float
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
    body_names: list[str] | None = None

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.joint_pos.shape[0])


def resolve_motion_files(motions: MotionSource) -> list[pathlib.Path]:
    """Expand files, directories (every ``*.npz`` inside, sorted) and glob patterns into a list of files.

    Args:
        motions: One path, directory or glob, or a sequence of them.

    Returns:
        The files, in the given order, each once.

    Raises:
        ValueError: an entry matches nothing, or nothing is found at all.
    """
    if isinstance(motions, (str, os.PathLike)):
        entries = [motions]
    elif isinstance(motions, Sequence):
        entries = list(motions)
    else:
        raise TypeError(f"motions must be a path, a glob or a sequence of them, got {type(motions).__name__}")
    if not entries:
        raise ValueError("motions is empty: give at least one file, directory or glob")
    files: list[pathlib.Path] = []
    for entry in entries:
        if not isinstance(entry, (str, os.PathLike)):
            raise TypeError(f"motions entries must be paths, got {type(entry).__name__}: {entry!r}")
        path = pathlib.Path(entry).expanduser()
        if path.is_dir():
            found = sorted(path.glob("*.npz"))
            if not found:
                raise ValueError(f"motions: directory {str(path)!r} holds no .npz files")
        elif path.is_file():
            found = [path]
        elif glob.has_magic(str(path)):
            found = sorted(pathlib.Path(p) for p in glob.glob(str(path), recursive=True) if p.endswith(".npz"))
            if not found:
                raise ValueError(f"motions: glob {str(entry)!r} matches no .npz files")
        else:
            raise ValueError(f"motions: {str(entry)!r} is neither a file, a directory nor a glob that matches")
        files.extend(found)
    unique: list[pathlib.Path] = []
    seen: set[pathlib.Path] = set()
    for file in files:
        resolved = file.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append(resolved)
    return unique


def _names(data: np.lib.npyio.NpzFile, field: str, count: int, path: pathlib.Path) -> list[str] | None:
    if field not in data.files:
        return None
    names = np.asarray(data[field]).reshape(-1)
    if names.shape[0] != count:
        raise ValueError(f"{path}: field '{field}' has {names.shape[0]} names but the data has {count} entries")
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in names.tolist()]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: field '{field}' has duplicate names")
    return names


def load_motion_file(path: str | os.PathLike, name: str | None = None) -> MotionClip:
    """Load and validate one BeyondMimic-format motion file.

    Raises:
        ValueError: the file cannot be read, or a field is missing, has the wrong shape, holds NaN/inf, or the
            clip has zero frames; the message names the file and the field.
    """
    path = pathlib.Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: cannot be read as a .npz motion file ({error})") from error
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: is a single array, not a .npz archive of motion fields")
    with data:
        missing = [field for field in REQUIRED_FIELDS if field not in data.files]
        if missing:
            raise ValueError(f"{path}: missing field(s) {missing} (a motion file needs {list(REQUIRED_FIELDS)})")
        arrays = {field: np.asarray(data[field]) for field in REQUIRED_FIELDS}
        for field, array in arrays.items():
            if not np.issubdtype(array.dtype, np.number):
                raise ValueError(f"{path}: field '{field}' must be numeric, got dtype {array.dtype}")
        fps_array = arrays.pop("fps").astype(np.float64).reshape(-1)
        if fps_array.shape != (1,):
            raise ValueError(f"{path}: field 'fps' must hold one value, got shape {tuple(fps_array.shape)}")
        fps = float(fps_array[0])
        if not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"{path}: field 'fps' must be a positive finite number, got {fps}")
        arrays = {field: array.astype(np.float64) for field, array in arrays.items()}

        joint_pos = arrays["joint_pos"]
        if joint_pos.ndim != 2:
            raise ValueError(f"{path}: field 'joint_pos' must have shape (T, J), got {tuple(joint_pos.shape)}")
        num_frames, num_joints = joint_pos.shape
        if num_frames == 0:
            raise ValueError(f"{path}: field 'joint_pos' has zero frames; a motion needs at least one")
        if arrays["joint_vel"].shape != joint_pos.shape:
            raise ValueError(
                f"{path}: field 'joint_vel' must have the shape of joint_pos {tuple(joint_pos.shape)}, "
                f"got {tuple(arrays['joint_vel'].shape)}"
            )
        body_pos = arrays["body_pos_w"]
        if body_pos.ndim != 3 or body_pos.shape[0] != num_frames or body_pos.shape[2] != 3:
            raise ValueError(
                f"{path}: field 'body_pos_w' must have shape ({num_frames}, Nb, 3), got {tuple(body_pos.shape)}"
            )
        num_bodies = body_pos.shape[1]
        if num_bodies == 0:
            raise ValueError(f"{path}: field 'body_pos_w' has zero bodies")
        expected = {"body_quat_w": (num_frames, num_bodies, 4), "body_lin_vel_w": (num_frames, num_bodies, 3),
                    "body_ang_vel_w": (num_frames, num_bodies, 3)}
        for field, shape in expected.items():
            if arrays[field].shape != shape:
                raise ValueError(f"{path}: field '{field}' must have shape {shape}, got {tuple(arrays[field].shape)}")
        for field, array in arrays.items():
            if not np.isfinite(array).all():
                bad = int((~np.isfinite(array)).any(axis=tuple(range(1, array.ndim))).argmax())
                raise ValueError(f"{path}: field '{field}' holds NaN or inf values (first at frame {bad})")
        quat_norm = np.linalg.norm(arrays["body_quat_w"], axis=-1)
        if (quat_norm < 1e-6).any():
            raise ValueError(f"{path}: field 'body_quat_w' holds zero quaternions")
        joint_names = _names(data, "joint_names", num_joints, path)
        body_names = _names(data, "body_names", num_bodies, path)
    return MotionClip(
        name=name if name is not None else path.stem,
        path=path,
        fps=fps,
        joint_pos=joint_pos,
        joint_vel=arrays["joint_vel"],
        body_pos_w=body_pos,
        body_quat_w=arrays["body_quat_w"] / quat_norm[..., None],
        body_lin_vel_w=arrays["body_lin_vel_w"],
        body_ang_vel_w=arrays["body_ang_vel_w"],
        joint_names=joint_names,
        body_names=body_names,
    )


def resample_clip(clip: MotionClip, fps: float) -> MotionClip:
    """Resample ``clip`` to ``fps``, keeping its duration.

    Frame ``k`` of the result is the clip at time ``k / fps``; positions, joint states and velocities are linearly
    interpolated, body orientations slerped. The result has ``floor((T - 1) * fps / clip.fps) + 1`` frames.
    """
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive finite number, got {fps}")
    if math.isclose(clip.fps, fps, rel_tol=1e-9) or clip.num_frames == 1:
        return dataclasses.replace(clip, fps=float(fps))
    duration = (clip.num_frames - 1) / clip.fps
    num_frames = int(math.floor(duration * fps + 1e-9)) + 1
    source = np.arange(num_frames, dtype=np.float64) * (clip.fps / fps)
    lower = np.minimum(np.floor(source).astype(np.int64), clip.num_frames - 2)
    frac = source - lower

    def lerp(array: np.ndarray) -> np.ndarray:
        weight = frac.reshape(-1, *([1] * (array.ndim - 1)))
        return array[lower] * (1.0 - weight) + array[lower + 1] * weight

    quat = quat_slerp(
        torch.from_numpy(clip.body_quat_w[lower]),
        torch.from_numpy(clip.body_quat_w[lower + 1]),
        torch.from_numpy(frac)[:, None].expand(-1, clip.body_quat_w.shape[1]),
    ).numpy()
    return dataclasses.replace(
        clip,
        fps=float(fps),
        joint_pos=lerp(clip.joint_pos),
        joint_vel=lerp(clip.joint_vel),
        body_pos_w=lerp(clip.body_pos_w),
        body_quat_w=quat,
        body_lin_vel_w=lerp(clip.body_lin_vel_w),
        body_ang_vel_w=lerp(clip.body_ang_vel_w),
    )


def _order(clip: MotionClip, kind: str, names: Sequence[str] | None, count: int) -> np.ndarray | None:
    """Indices into the clip's ``kind`` axis that give the robot's order (None: keep the file's order)."""
    file_names = clip.joint_names if kind == "joint" else clip.body_names
    if names is None:
        return None
    names = list(names)
    plural = "joints" if kind == "joint" else "bodies"
    if file_names is None:
        if count != len(names):
            raise ValueError(
                f"{clip.path}: the file has {count} {plural} and no '{kind}_names' field, but the robot has "
                f"{len(names)} {plural}; without names the file's order is taken as the robot's, so the counts "
                f"must match (add '{kind}_names' to the file to map by name)"
            )
        return None
    index = {name: i for i, name in enumerate(file_names)}
    missing = [name for name in names if name not in index]
    if missing:
        raise ValueError(f"{clip.path}: field '{kind}_names' lacks the robot's {kind}(s) {missing}")
    return np.asarray([index[name] for name in names], dtype=np.int64)


def _reorder(clip: MotionClip, joint_names: Sequence[str] | None, body_names: Sequence[str] | None) -> MotionClip:
    joint_order = _order(clip, "joint", joint_names, clip.joint_pos.shape[1])
    body_order = _order(clip, "body", body_names, clip.body_pos_w.shape[1])
    fields = {}
    if joint_order is not None:
        fields.update(joint_pos=clip.joint_pos[:, joint_order], joint_vel=clip.joint_vel[:, joint_order],
                      joint_names=list(joint_names))
    if body_order is not None:
        fields.update({f: getattr(clip, f)[:, body_order] for f in (*_VECTOR_FIELDS, "body_quat_w")},
                      body_names=list(body_names))
    return dataclasses.replace(clip, **fields)


def _motion_names(files: Sequence[pathlib.Path]) -> list[str]:
    """File stems; a stem that occurs twice is qualified by its parent folders until unique."""
    names = [f.stem for f in files]
    depth = 1
    while len(set(names)) != len(names) and depth < 8:
        counts = {n: names.count(n) for n in names}
        names = [
            "/".join([*f.parent.parts[-depth:], f.stem]) if counts[n] > 1 else n
            for f, n in zip(files, names, strict=True)
        ]
        depth += 1
    return names


class MotionLibrary:
    """All clips in one flat store on a device, at one frame rate.

    Attributes:
        joint_pos: Shape: (F, J). F is the total number of frames.
        joint_vel: Shape: (F, J).
        body_pos_w: Shape: (F, Nb, 3).
        body_quat_w: wxyz. Shape: (F, Nb, 4).
        body_lin_vel_w: Shape: (F, Nb, 3).
        body_ang_vel_w: Shape: (F, Nb, 3).
        motion_offsets: First global frame of each motion, and F last. Shape: (M + 1,), int64.
        num_frames: Frames per motion. Shape: (M,), int64.
        fps: The common frame rate (the control rate).
        motion_names: One name per motion (the file stem).
        files: The source file of each motion.
        source_fps: Each file's own frame rate.
    """

    def __init__(self, clips: Sequence[MotionClip], device: str | torch.device = "cpu") -> None:
        """Build the store from clips that already share one fps and one joint/body order."""
        if not clips:
            raise ValueError("clips is empty: a motion library needs at least one motion")
        fps = clips[0].fps
        for clip in clips:
            if not math.isclose(clip.fps, fps, rel_tol=1e-9):
                raise ValueError(f"clips must share one fps; {clip.path} has {clip.fps}, the first has {fps}")
            for field in ("joint_pos", "body_pos_w"):
                if getattr(clip, field).shape[1:] != getattr(clips[0], field).shape[1:]:
                    raise ValueError(
                        f"{clip.path}: field '{field}' has per-frame shape {getattr(clip, field).shape[1:]}, but "
                        f"{clips[0].path} has {getattr(clips[0], field).shape[1:]}"
                    )
        self.device = torch.device(device)
        self.fps = float(fps)
        self.motion_names = [clip.name for clip in clips]
        self.files = [clip.path for clip in clips]
        self.joint_names = clips[0].joint_names
        self.body_names = clips[0].body_names

        def cat(field: str) -> torch.Tensor:
            array = np.concatenate([getattr(clip, field) for clip in clips], axis=0)
            return torch.as_tensor(array, dtype=torch.float32, device=self.device)

        self.joint_pos = cat("joint_pos")
        self.joint_vel = cat("joint_vel")
        self.body_pos_w = cat("body_pos_w")
        self.body_quat_w = normalize(cat("body_quat_w"))
        self.body_lin_vel_w = cat("body_lin_vel_w")
        self.body_ang_vel_w = cat("body_ang_vel_w")
        counts = [clip.num_frames for clip in clips]
        self.num_frames = torch.tensor(counts, dtype=torch.long, device=self.device)
        self.motion_offsets = torch.tensor([0, *np.cumsum(counts).tolist()], dtype=torch.long, device=self.device)
        self.source_fps: list[float] = []

    @classmethod
    def load(
        cls,
        motions: MotionSource,
        fps: float,
        device: str | torch.device = "cpu",
        joint_names: Sequence[str] | None = None,
        body_names: Sequence[str] | None = None,
    ) -> MotionLibrary:
        """Load files, directories or globs, map them to the robot's order and resample them to ``fps``.

        Args:
            motions: One path, directory or glob, or a sequence of them.
            fps: The control rate (1 / env step) every clip is resampled to.
            device: Where the store lives.
            joint_names: The robot's joints, in its order (None: keep the files' order).
            body_names: The robot's bodies, in its order (None: keep the files' order).
        """
        files = resolve_motion_files(motions)
        clips = []
        for file, name in zip(files, _motion_names(files), strict=True):
            clip = load_motion_file(file, name=name)
            clips.append((clip.fps, resample_clip(_reorder(clip, joint_names, body_names), fps)))
        library = cls([clip for _, clip in clips], device=device)
        library.source_fps = [source for source, _ in clips]
        return library

    @property
    def num_motions(self) -> int:
        """Number of motions M."""
        return len(self.motion_names)

    @property
    def total_frames(self) -> int:
        """Number of frames F over all motions."""
        return int(self.joint_pos.shape[0])

    def frame_index(self, motion_ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Global frame indices of local ``frames`` of ``motion_ids``, clamped into each clip.

        Shape: (N,), (N,) -> (N,), int64.
        """
        last = self.num_frames[motion_ids] - 1
        return self.motion_offsets[motion_ids] + torch.minimum(frames.clamp_min(0), last)

    def sampler_kwargs(self) -> dict[str, list]:
        """``num_frames``, ``fps`` and ``motion_names`` for :class:`adaptive_sampling.AdaptiveSampler`."""
        return {
            "num_frames": [int(n) for n in self.num_frames.tolist()],
            "fps": [self.fps] * self.num_motions,
            "motion_names": list(self.motion_names),
        }
