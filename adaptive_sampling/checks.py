"""Argument checks of the sampler's public methods.

``TypeError`` for a wrong type or dtype, ``ValueError`` for a bad shape, range or device; every message names the
argument, the expectation and the value. Checks of shape, dtype and device cost no host sync and always run; the
value checks of :func:`check_record` and :func:`check_motion_ids` sync once and run only under ``validate_args``.
Nothing here changes any state.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import torch

from .layout import MotionLayout

MAX_SAMPLES = 2**31 - 1
"""Most starts one :meth:`AdaptiveSampler.sample` call draws (far above any batch of environments)."""


def normalise_device(device: torch.device | str | None) -> torch.device:
    """The device as tensors made there report it (``"cpu:0"`` -> ``cpu``, ``"cuda"`` -> ``cuda:<current>``)."""
    if device is not None and not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    try:
        dev = torch.device(device) if device is not None else torch.device("cpu")
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda:0', got {device!r}") from err
    if dev.type == "meta":
        raise ValueError(f"device must hold data (the sampler cannot live on 'meta'), got {device!r}")
    try:
        return torch.empty(0, device=dev).device
    except (RuntimeError, AssertionError) as err:  # a CPU-only build raises AssertionError for "cuda"
        raise ValueError(f"device {device!r} is not available here: {err}") from None


def check_bool(name: str, value: Any) -> bool:
    """A real ``bool`` (not a truthy string, int or None)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def check_num(num: Any) -> int:
    """``num`` of :meth:`AdaptiveSampler.sample` as an int in ``[0, MAX_SAMPLES]`` (integer-likes accepted)."""
    if isinstance(num, bool) or type(num).__name__ == "bool_":
        raise TypeError(f"num must be an int, got {num!r}")
    try:
        value = operator.index(num)
    except TypeError:
        raise TypeError(f"num must be an int, got {num!r}") from None
    if not 0 <= value <= MAX_SAMPLES:
        raise ValueError(f"num must be an int in [0, {MAX_SAMPLES}] (split larger draws), got {value}")
    return value


def motion_weights(values: Sequence[float] | torch.Tensor | Any, num_motions: int) -> torch.Tensor:
    """Prior weights per motion as a float64 CPU tensor, scaled to a maximum of 1.

    Scaled before anything sums them: a plain sum of weights near 1e308 would overflow. Shape: (M,).
    """
    w = real_tensor(values, "motion_weights")
    if w.shape != (num_motions,):
        raise ValueError(f"motion_weights must have shape ({num_motions},), got {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
        raise ValueError(f"motion_weights must be finite, >= 0 and not all 0, got {w.tolist()[:8]}")
    return w / w.max()


def real_tensor(values: Any, name: str) -> torch.Tensor:
    """Real numbers (a sequence, numpy array or tensor) as a float64 CPU tensor; bool, complex and text raise."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of real numbers, got {type(values).__name__}")
    if isinstance(values, torch.Tensor):
        if values.device.type == "meta":
            raise ValueError(f"{name} must hold values (not a meta tensor)")
        t = values.detach()
    else:
        try:
            t = torch.as_tensor(values)  # its dtype says whether the values are real
            if t.dtype != torch.bool and not t.is_complex():
                t = torch.as_tensor(values, dtype=torch.float64)  # Python floats would become float32
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a sequence of real numbers, got {values!r:.80}: {err}") from None
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    return t.to("cpu", torch.float64)


def check_tensor(name: str, t: Any, device: torch.device) -> None:
    """A 1-D tensor on ``device``."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if t.device != device:
        raise ValueError(f"{name} must be on the sampler's device {device}, got {t.device}")


def check_index(name: str, t: Any, device: torch.device) -> int:
    """A 1-D integer tensor on ``device``; returns its length."""
    check_tensor(name, t, device)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {t.dtype}")
    return t.shape[0]


def check_record(
    layout: MotionLayout,
    device: torch.device,
    validate: bool,
    motion_ids: Any,
    start_frames: Any,
    end_frames: Any,
    failed: Any,
) -> int:
    """The arguments of :meth:`AdaptiveSampler.record`; returns the number of segments E.

    Types, shapes and devices always; values (ids and frames in range, ``end >= start``, ``failed`` in [0, 1]) with
    ``validate``, at the cost of one host sync.
    """
    num = check_index("motion_ids", motion_ids, device)
    for name, t in (("start_frames", start_frames), ("end_frames", end_frames)):
        if check_index(name, t, device) != num:
            raise ValueError(f"{name} must have the length of motion_ids ({num}), got {t.shape[0]}")
    check_tensor("failed", failed, device)
    if failed.dtype != torch.bool and not failed.is_floating_point():
        raise TypeError(f"failed must be a bool or floating tensor, got dtype {failed.dtype}")
    if failed.shape[0] != num:
        raise ValueError(f"failed must have the length of motion_ids ({num}), got {failed.shape[0]}")
    if validate and num > 0 and _any_bad_segment(layout, motion_ids, start_frames, end_frames, failed):
        # one host sync above; the checks below name what is wrong
        check_motion_ids(layout, motion_ids)
        _check_frames(layout, "start_frames", motion_ids, start_frames)
        _check_frames(layout, "end_frames", motion_ids, end_frames)
        if bool((end_frames < start_frames).any()):
            i = int((end_frames < start_frames).nonzero()[0, 0])
            raise ValueError(
                f"end_frames must be >= start_frames, got end_frames[{i}]={int(end_frames[i])} < "
                f"start_frames[{i}]={int(start_frames[i])}"
            )
        if failed.is_floating_point():
            bad = ~((failed >= 0) & (failed <= 1))  # also catches NaN
            if bool(bad.any()):
                i = int(bad.nonzero()[0, 0])
                raise ValueError(f"failed must be in [0, 1] (not NaN), got failed[{i}]={float(failed[i])}")
    return num


def check_motion_ids(layout: MotionLayout, motion_ids: torch.Tensor) -> None:
    """Every id in ``[0, M)`` (one host sync)."""
    bad = (motion_ids < 0) | (motion_ids >= layout.num_motions)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"motion_ids must be in [0, {layout.num_motions}), got motion_ids[{i}]={int(motion_ids[i])}")


def _any_bad_segment(
    layout: MotionLayout,
    motion_ids: torch.Tensor,
    start_frames: torch.Tensor,
    end_frames: torch.Tensor,
    failed: torch.Tensor,
) -> bool:
    """Whether any value of a record() call is out of range (one host sync).

    Whole-tensor reductions read back at once: min and max of the ids and of the end frames, min of the start frames,
    of ``end - start`` (which cannot overflow once both frames are >= 0) and of ``limit - end``, compared on the host
    with the bounds. (Separate reductions: several times faster on the CPU than one over the stacked rows.)
    """
    m_min, m_max = torch.aminmax(motion_ids)
    e_min, e_max = torch.aminmax(end_frames)
    stats = [m_min, m_max, start_frames.min(), e_min, torch.sub(end_frames, start_frames).min()]
    if layout.num_motions == 1:
        stats += [layout.num_frames[0], e_max]  # one limit: no gather
    else:
        limit = torch.index_select(layout.num_frames, 0, motion_ids.clamp(0, layout.num_motions - 1).long())
        stats += [torch.sub(limit, end_frames).min(), torch.zeros_like(m_min)]
    values = torch.stack(stats)
    if failed.is_floating_point():
        values = torch.cat((values.double(), torch.stack(torch.aminmax(failed)).double()))
    got = values.tolist()
    m_lo, m_hi, s_lo, e_lo, d_lo, margin, e_hi = got[:7]
    # every end frame below its motion's limit: limit - end >= 1 (one motion: its limit minus the largest end)
    bad = m_lo < 0 or m_hi >= layout.num_motions or s_lo < 0 or e_lo < 0 or d_lo < 0 or margin - e_hi < 1
    if failed.is_floating_point():
        f_lo, f_hi = got[7:]
        bad = bad or not (f_lo >= 0 and f_hi <= 1)  # also catches NaN
    return bad


def _check_frames(layout: MotionLayout, name: str, motion_ids: torch.Tensor, frames: torch.Tensor) -> None:
    limit = layout.num_frames[motion_ids.long()]
    bad = (frames < 0) | (frames >= limit)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{name} must be in [0, num_frames) of their motion, got {name}[{i}]={int(frames[i])} for motion "
            f"{int(motion_ids[i])} with {int(limit[i])} frames"
        )
