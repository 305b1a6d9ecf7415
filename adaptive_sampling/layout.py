"""The ragged motion x bin table: one flat array of bins over all motions of a library."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

import torch

from .config import BinLayout


class MotionLayout:
    """Motions of different lengths and frame rates cut into time bins, flattened into one table.

    Bin ``j`` of motion ``m`` is flat bin ``bin_offsets[m] + j``. Every bin holds at least one frame. Frames are
    local to their motion (``0 <= frame < num_frames[m]``); ``frame_offsets`` turns them into global frame indices.

    Args:
        num_frames: Frames per motion. Shape: (M,).
        fps: Frame rate per motion. Shape: (M,).
        motion_names: Unique name per motion; defaults to ``"motion_<i>"``.
        bin_duration_s: Width of a bin in seconds.
        bin_layout: ``"duration"`` or ``"beyondmimic"`` (see :class:`AdaptiveSamplerCfg`).
        device: Where the index tensors live.
    """

    def __init__(
        self,
        num_frames: Sequence[int] | torch.Tensor,
        fps: Sequence[float] | torch.Tensor | float,
        motion_names: Sequence[str] | None = None,
        *,
        bin_duration_s: float = 1.0,
        bin_layout: BinLayout = "duration",
        device: torch.device | str | None = None,
    ) -> None:
        frames = _as_list(num_frames, "num_frames")
        if len(frames) == 0:
            raise ValueError("num_frames must name at least one motion, got an empty library")
        for i, t in enumerate(frames):
            if not _is_integer(t):
                raise TypeError(f"num_frames[{i}] must be an integer, got {t!r}")
            if t <= 0:
                raise ValueError(f"num_frames[{i}] must be > 0, got {t!r}")
        frames = [int(t) for t in frames]
        num_motions = len(frames)

        scalar = _scalar(fps)
        rates = [scalar] * num_motions if scalar is not None else _as_list(fps, "fps")
        if len(rates) != num_motions:
            raise ValueError(f"fps must have one entry per motion ({num_motions}), got {len(rates)}")
        for i, r in enumerate(rates):
            if not _is_real(r):
                raise TypeError(f"fps[{i}] must be a real number, got {r!r}")
            if not math.isfinite(r) or r <= 0:
                raise ValueError(f"fps[{i}] must be finite and > 0, got {r!r}")
        rates = [float(r) for r in rates]

        if motion_names is None:
            names = [f"motion_{i}" for i in range(num_motions)]
        else:
            if isinstance(motion_names, str):
                raise TypeError(f"motion_names must be a sequence of str, got the str {motion_names!r}")
            names = _as_list(motion_names, "motion_names")
            if len(names) != num_motions:
                raise ValueError(f"motion_names must have one entry per motion ({num_motions}), got {len(names)}")
            for i, n in enumerate(names):
                if not isinstance(n, str) or not n:
                    raise TypeError(f"motion_names[{i}] must be a non-empty str, got {n!r}")
            if len(set(names)) != num_motions:
                seen: set[str] = set()
                dupes = sorted({n for n in names if n in seen or seen.add(n)})
                raise ValueError(f"motion_names must be unique, got duplicates {dupes}")
        if isinstance(bin_duration_s, bool) or not isinstance(bin_duration_s, (int, float)):
            raise TypeError(f"bin_duration_s must be a real number, got {bin_duration_s!r}")
        if not math.isfinite(bin_duration_s) or bin_duration_s <= 0:
            raise ValueError(f"bin_duration_s must be finite and > 0, got {bin_duration_s!r}")
        if bin_layout not in ("duration", "beyondmimic"):
            raise ValueError(f"bin_layout must be 'duration' or 'beyondmimic', got {bin_layout!r}")
        for i, r in enumerate(rates):
            if r * bin_duration_s < 1.0:
                raise ValueError(
                    f"fps[{i}] * bin_duration_s must be >= 1 frame per bin, got {r} * {bin_duration_s} = "
                    f"{r * bin_duration_s}"
                )

        frames_per_bin = [r * bin_duration_s for r in rates]
        bins_per_motion = [_num_bins(t, fpb, bin_layout) for t, fpb in zip(frames, frames_per_bin, strict=True)]
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.motion_names: list[str] = names
        self.bin_duration_s = float(bin_duration_s)
        self.bin_layout: BinLayout = bin_layout
        self._name_to_id = {n: i for i, n in enumerate(names)}

        dev = self.device
        self.num_motions = num_motions
        self.num_bins = sum(bins_per_motion)
        self.max_bins = max(bins_per_motion)
        self.num_frames = torch.tensor(frames, dtype=torch.int64, device=dev)
        """Shape: (M,)."""
        self.fps = torch.tensor(rates, dtype=torch.float64, device=dev)
        """Shape: (M,)."""
        self.bins_per_motion = torch.tensor(bins_per_motion, dtype=torch.int64, device=dev)
        """Shape: (M,)."""
        self.bin_offsets = torch.zeros(num_motions + 1, dtype=torch.int64, device=dev)
        """First flat bin of each motion, and the total. Shape: (M + 1,)."""
        self.bin_offsets[1:] = torch.cumsum(self.bins_per_motion, 0)
        self.frame_offsets = torch.zeros(num_motions + 1, dtype=torch.int64, device=dev)
        """First global frame of each motion, and the total. Shape: (M + 1,)."""
        self.frame_offsets[1:] = torch.cumsum(self.num_frames, 0)

        self.bin_motion = torch.repeat_interleave(torch.arange(num_motions, device=dev), self.bins_per_motion)
        """Motion of each flat bin. Shape: (B,)."""
        self.bin_index = torch.arange(self.num_bins, device=dev) - self.bin_offsets[self.bin_motion]
        """Index of each flat bin inside its motion. Shape: (B,)."""
        if bin_layout == "beyondmimic":
            # frame f lies in bin (f * B) // T, so bin j starts at ceil(j * T / B)
            t = self.num_frames[self.bin_motion]
            b = self.bins_per_motion[self.bin_motion]
            local_start = -torch.div(-self.bin_index * t, b, rounding_mode="floor")
        else:
            # frame f lies in bin floor(f / fpb); the tolerance keeps exact multiples (30 fps x 1/3 s) exact
            fpb = torch.tensor(frames_per_bin, dtype=torch.float64, device=dev)[self.bin_motion]
            local_start = torch.ceil(self.bin_index.double() * fpb - 1e-9).long()
        self.bin_start_frame = local_start
        """First (local) frame of each bin. Shape: (B,)."""
        next_start = torch.roll(local_start, -1)
        last_of_motion = self.bin_offsets[1:] - 1
        next_start[last_of_motion] = self.num_frames
        self.bin_num_frames = next_start - local_start
        """Frames in each bin (>= 1; the last bin of a motion may be partial). Shape: (B,)."""
        if bin_layout == "beyondmimic":
            nominal = self.num_frames.double() / self.bins_per_motion.double()
        else:
            nominal = torch.tensor(frames_per_bin, dtype=torch.float64, device=dev)
        self.bin_width = self.bin_num_frames.double() / nominal[self.bin_motion]
        """Each bin's length as a fraction of a nominal bin (about 1; less for a partial last bin). Shape: (B,)."""
        # frame -> bin by arithmetic (a gather and a few element-wise ops; searchsorted costs ~25 ns per query)
        self._frames_per_bin = torch.tensor(frames_per_bin, dtype=torch.float64, device=dev)

    # ------------------------------------------------------------------ mapping

    def local_bins_of(self, motion_ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Index of each (motion, local frame)'s bin inside its motion; inputs are assumed valid.

        ``"duration"``: ``floor((f + 1e-9) / (fps * bin_duration_s))``, the exact inverse of the bin starts
        ``ceil(j * fps * bin_duration_s - 1e-9)``; ``"beyondmimic"``: ``(f * B) // T``. Frames below ``T`` stay below
        the motion's bin count. ``frames`` may carry a leading dimension that broadcasts against ``motion_ids``.

        Shape: (E,) -> (E,), or (k, E) -> (k, E).
        """
        if self.bin_layout == "beyondmimic":
            bins = _per_motion(self.bins_per_motion, motion_ids)
            return torch.div(frames * bins, _per_motion(self.num_frames, motion_ids), rounding_mode="floor")
        return torch.floor((frames.double() + 1e-9) / _per_motion(self._frames_per_bin, motion_ids)).long()

    def bins_of(self, motion_ids: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Flat bin of each (motion, local frame); inputs are assumed valid. Shape: (E,) -> (E,)."""
        return self.bin_offsets[motion_ids] + self.local_bins_of(motion_ids, frames)

    def motion_id(self, name: str) -> int:
        """Index of a motion by name."""
        try:
            return self._name_to_id[name]
        except KeyError:
            raise ValueError(f"motion name {name!r} is not in the library") from None

    def to_padded(self, values: torch.Tensor, fill: float = float("nan")) -> torch.Tensor:
        """Scatter a flat per-bin tensor into a (M, max_bins) table, padded with ``fill``.

        Shape: (B,) -> (M, max_bins).
        """
        out = torch.full((self.num_motions, self.max_bins), fill, dtype=values.dtype, device=values.device)
        out[self.bin_motion, self.bin_index] = values
        return out

    def segment_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum a flat per-bin tensor over each motion. Shape: (B,) -> (M,)."""
        out = torch.zeros(self.num_motions, dtype=values.dtype, device=values.device)
        return out.index_add_(0, self.bin_motion, values)

    def signature(self) -> dict[str, list]:
        """Plain values that identify the layout (saved in state dicts)."""
        return {
            "motion_names": list(self.motion_names),
            "num_frames": self.num_frames.tolist(),
            "fps": self.fps.tolist(),
            "bins_per_motion": self.bins_per_motion.tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"MotionLayout(num_motions={self.num_motions}, num_bins={self.num_bins}, "
            f"bin_duration_s={self.bin_duration_s}, bin_layout={self.bin_layout!r})"
        )


def _per_motion(table: torch.Tensor, motion_ids: torch.Tensor) -> torch.Tensor:
    """``table[motion_ids]``; index_select for 1-D ids (several times faster than advanced indexing on the CPU)."""
    return torch.index_select(table, 0, motion_ids) if motion_ids.dim() == 1 else table[motion_ids]


def _as_list(values: Sequence | torch.Tensor, name: str) -> list:
    """A 1-D sequence, tensor or numpy array as a list; unordered collections are rejected (order is identity)."""
    if isinstance(values, torch.Tensor):
        if values.dim() != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(values.shape)}")
        if values.device.type == "meta":
            raise ValueError(f"{name} must hold values (not a meta tensor)")
        return values.tolist()
    if isinstance(values, (str, bytes, AbstractSet, Mapping)):
        raise TypeError(
            f"{name} must be an ordered sequence (list, tuple, tensor or array), got {type(values).__name__}"
        )
    if getattr(values, "ndim", 1) != 1:  # numpy arrays
        raise ValueError(f"{name} must be 1-D, got shape {tuple(getattr(values, 'shape', ()))}")
    try:
        return list(values)
    except TypeError:
        raise TypeError(f"{name} must be a sequence, got {type(values).__name__}") from None


def _is_integer(value: object) -> bool:
    """An integer (Python, numpy or other ``numbers.Integral``) or an integral float; never a bool."""
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()


def _is_real(value: object) -> bool:
    """A real number (Python, numpy or other ``numbers.Real``); never a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _scalar(value: object) -> float | None:
    """``value`` as one number when it is a scalar (a real, or a 0-d tensor or array), else None. Bools raise."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"fps must be a real number or one per motion, got {value!r}")
    if _is_real(value):
        return value  # type: ignore[return-value]
    if getattr(value, "ndim", None) == 0 or (isinstance(value, torch.Tensor) and value.dim() == 0):
        if isinstance(value, torch.Tensor) and value.device.type == "meta":
            raise ValueError("fps must hold a value (not a meta tensor)")
        item = value.item()  # type: ignore[union-attr]
        if not _is_real(item):
            raise TypeError(f"fps must be a real number or one per motion, got {value!r}")
        return item
    return None


def _num_bins(num_frames: int, frames_per_bin: float, bin_layout: BinLayout) -> int:
    """Number of bins of one motion."""
    if bin_layout == "beyondmimic":
        return min(int(num_frames // frames_per_bin) + 1, num_frames)
    return int(math.floor((num_frames - 1) / frames_per_bin + 1e-9)) + 1
