"""A record of a training run: the resolved sampler configuration and the motion library, with file hashes.

Written as JSON into the run folder when training starts (:func:`write_run_record`), so a result can be traced to
the exact library it was trained on; :func:`compare_motion_files` says what changed since (``play.py`` warns).
Standard library only.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .onnx_policy import sha256_file

__all__ = ["RECORD_FILENAME", "compare_motion_files", "motion_entries", "read_run_record", "write_run_record"]

RECORD_FILENAME = "adaptive_sampling_run.json"
"""Name of the record inside the run folder."""

RECORD_VERSION = 1


def motion_entries(
    layout: Mapping[str, Any] | None, motion_files: Sequence[str | os.PathLike] | None
) -> list[dict[str, Any]]:
    """One entry per motion in library order.

    Entries hold ``name``, ``num_frames`` and ``fps`` (from the layout) and ``file`` (absolute), ``size`` and
    ``sha256`` (from the files).

    Args:
        layout: The sampler state's ``layout`` (``motion_names``, ``num_frames``, ``fps``), or ``None``.
        motion_files: The files in library order, or ``None``.

    Raises:
        ValueError: If both are given and their lengths differ.
    """
    names = list(layout["motion_names"]) if layout else []
    files = [pathlib.Path(f).resolve() for f in motion_files] if motion_files is not None else []
    if layout and motion_files is not None and len(files) != len(names):
        raise ValueError(f"motion_files has {len(files)} files for {len(names)} motions in the sampler's layout")
    entries: list[dict[str, Any]] = []
    for i in range(max(len(names), len(files))):
        entry: dict[str, Any] = {}
        if layout:
            entry.update(name=str(names[i]), num_frames=int(layout["num_frames"][i]), fps=float(layout["fps"][i]))
        if files:
            entry.update(file=str(files[i]), size=files[i].stat().st_size, sha256=sha256_file(files[i]))
        entries.append(entry)
    return entries


def write_run_record(
    directory: str | os.PathLike,
    *,
    sampler_state: Mapping[str, Any] | None,
    motion_files: Sequence[str | os.PathLike] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> pathlib.Path:
    """Write :data:`RECORD_FILENAME` into ``directory`` (created), atomically; return its path.

    Args:
        directory: The run folder.
        sampler_state: The sampler's ``state_dict()`` (its ``config`` and ``layout`` are recorded), or ``None``.
        motion_files: The motion files in library order (hashed), or ``None``.
        extra: More JSON-serialisable entries (e.g. the task name).
    """
    layout = sampler_state.get("layout") if sampler_state else None
    record: dict[str, Any] = {
        "format": "adaptive-sampling-run",
        "version": RECORD_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "command": [sys.executable, *sys.argv],
        "sampler_config": dict(sampler_state["config"]) if sampler_state and "config" in sampler_state else None,
        "sampler_layout": (
            {k: layout[k] for k in ("bin_duration_s", "bin_layout", "bins_per_motion") if k in layout}
            if layout
            else None
        ),
        "motions": motion_entries(layout, motion_files),
    }
    if extra:
        record.update(extra)
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / RECORD_FILENAME
    tmp = directory / f".tmp_record.{os.getpid()}.json"
    tmp.write_text(json.dumps(record, indent=1, default=_jsonable) + "\n")
    os.replace(tmp, path)
    return path


def read_run_record(path: str | os.PathLike) -> dict[str, Any]:
    """Read a record (a file, or a run folder holding :data:`RECORD_FILENAME`).

    Raises:
        FileNotFoundError: If there is none.
        ValueError: If it is not a run record.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / RECORD_FILENAME
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or record.get("format") != "adaptive-sampling-run":
        raise ValueError(f"{path} is not an adaptive-sampling run record")
    return record


def compare_motion_files(record: Mapping[str, Any], motion_files: Sequence[str | os.PathLike]) -> list[str]:
    """What differs between the recorded library and ``motion_files`` (in library order); ``[]`` if nothing.

    Checks the number of files and, position by position, each file's content hash (a file that moved but holds the
    same clip is fine; a reordered library is not, the one-hot ids would change).
    """
    recorded = [m for m in record.get("motions", []) if "sha256" in m]
    current = [pathlib.Path(f).resolve() for f in motion_files]
    problems: list[str] = []
    if len(recorded) != len(current):
        problems.append(f"the run was trained on {len(recorded)} motion files, now {len(current)} are loaded")
    for i, (entry, path) in enumerate(zip(recorded, current, strict=False)):
        label = entry.get("name", f"motion {i}")
        if not path.is_file():
            problems.append(f"{label}: {path} does not exist")
            continue
        found = sha256_file(path)
        if found != entry["sha256"]:
            problems.append(
                f"{label}: {path} is not the file trained on ({entry['file']}): sha256 {found[:12]}..., recorded "
                f"{entry['sha256'][:12]}..."
            )
    return problems


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
