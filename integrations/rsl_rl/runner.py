"""An rsl-rl ``OnPolicyRunner`` that checkpoints, logs and synchronises an adaptive start sampler.

Imports ``rsl_rl`` and ``torch`` only (no simulator, not even the core: the sampler is reached through a protocol).

Protocol: the runner looks for the sampler at ``env.adaptive_sampler``, then at ``env.unwrapped.adaptive_sampler``
(Isaac Lab's rsl-rl wrapper), unless one is passed explicitly. Any object with ``state_dict()``,
``load_state_dict(state, remap=...)``, ``metrics()`` and ``sync()`` works (:class:`SamplerLike`). Without a sampler
the runner behaves exactly like ``OnPolicyRunner``.

What it adds, per learning iteration and per checkpoint:

* after the rollout and before the policy update: ``sampler.sync()`` (a ``torch.distributed`` all-reduce of the
  statistics recorded since the last sync when a process group is initialised, a no-op otherwise), so every rank
  holds and samples from the same statistics;
* ``sampler.metrics()`` logged as ``Sampler/<name>`` through rsl-rl's own logger (TensorBoard, W&B, Neptune), next
  to the other curves;
* every checkpoint (also those ``learn()`` writes) carries ``sampler.state_dict()`` under :data:`SAMPLER_KEY`,
  written atomically (temporary file + ``os.replace``, orphans of killed saves cleaned up);
  :meth:`AdaptiveSamplingRunner.load` restores it, all or nothing.

rsl-rl has no callback API, so the per-iteration hook wraps the algorithm's ``update`` method (called once per
iteration on every rank, in rsl-rl-lib 3.x, 4.x and 5.x).
"""

from __future__ import annotations

import copy
import functools
import os
import re
import secrets
import socket
import time
import warnings
from typing import Any, Protocol, runtime_checkable

import torch

from rsl_rl.runners import OnPolicyRunner

SAMPLER_KEY = "adaptive_sampler_state_dict"
"""Key of the sampler's ``state_dict()`` inside an rsl-rl checkpoint."""

METRIC_PREFIX = "Sampler/"
"""Prefix of the sampler's metrics in the logger (a ``/`` makes rsl-rl log the key as-is)."""


@runtime_checkable
class SamplerLike(Protocol):
    """What the runner needs from a sampler (``adaptive_sampling.AdaptiveSampler`` satisfies it)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly."""
        ...

    def load_state_dict(self, state: dict[str, Any], *, remap: bool = False) -> Any:
        """Restore a state; ``remap`` maps a changed library by motion name."""
        ...

    def metrics(self) -> dict[str, float]:
        """Scalars to log, once per iteration."""
        ...

    def sync(self) -> None:
        """Make the statistics equal across ``torch.distributed`` ranks (no-op without a process group)."""
        ...


def find_sampler(env: Any) -> SamplerLike | None:
    """The sampler an env exposes as ``adaptive_sampler`` (on the env or on ``env.unwrapped``), or ``None``.

    Raises:
        TypeError: If the attribute exists but does not provide :class:`SamplerLike`'s methods.
    """
    for holder in (env, getattr(env, "unwrapped", None)):
        if holder is None:
            continue
        sampler = getattr(holder, "adaptive_sampler", None)
        if sampler is not None:
            _check_sampler(sampler, f"{type(holder).__name__}.adaptive_sampler")
            return sampler
    return None


def _check_sampler(sampler: Any, name: str) -> None:
    if not isinstance(sampler, SamplerLike):
        missing = [m for m in ("state_dict", "load_state_dict", "metrics", "sync") if not hasattr(sampler, m)]
        raise TypeError(f"{name} must provide state_dict, load_state_dict, metrics and sync; missing {missing}")


class AdaptiveSamplingRunner(OnPolicyRunner):
    """``OnPolicyRunner`` that saves, restores, logs and syncs the env's adaptive start sampler.

    Args:
        env: An rsl-rl ``VecEnv``; its sampler is found with :func:`find_sampler` unless ``sampler`` is given.
        train_cfg: rsl-rl runner configuration (unchanged).
        log_dir: Where rsl-rl writes logs and checkpoints.
        device: Torch device of the learner.
        sampler: The sampler to use instead of the env's (``None``: discover it).
        sampler_remap: Default for :meth:`load`: map a checkpoint saved for a different motion library by motion
            name (``True``) or raise (``False``).
    """

    def __init__(
        self,
        env: Any,
        train_cfg: dict,
        log_dir: str | None = None,
        device: str = "cpu",
        *,
        sampler: SamplerLike | None = None,
        sampler_remap: bool = False,
    ) -> None:
        if sampler is not None:
            _check_sampler(sampler, "sampler")
        self.sampler: SamplerLike | None = sampler if sampler is not None else find_sampler(env)
        self.sampler_remap = bool(sampler_remap)
        self.sampler_metrics: dict[str, float] = {}
        """The sampler metrics of the last iteration (what was logged)."""
        self.sampler_load_report: Any = None
        """What the last :meth:`load` returned from ``sampler.load_state_dict`` (kept/added/dropped motions)."""
        super().__init__(env, train_cfg, log_dir=log_dir, device=device)
        if self.sampler is not None:
            update = self.alg.update

            @functools.wraps(update)
            def update_with_sampler(*args: Any, **kwargs: Any) -> Any:
                self._sampler_iteration_end()
                return update(*args, **kwargs)

            self.alg.update = update_with_sampler  # type: ignore[method-assign]

    # ------------------------------------------------------------------------------------------------ per iteration
    def _sampler_iteration_end(self) -> None:
        """Sync the statistics across ranks, then hand the metrics to rsl-rl's logger."""
        if self.sampler is None:
            return
        self.sampler.sync()
        # One host sync per iteration; kept on the runner even where nothing is written (other ranks, no log_dir).
        self.sampler_metrics = {k: float(v) for k, v in self.sampler.metrics().items()}
        logger = getattr(self, "logger", None)  # rsl-rl-lib >= 3.3: a Logger object
        if getattr(logger if logger is not None else self, "writer", None) is None:
            return
        if logger is not None:
            # Logger.log() averages each key over the dicts in ep_extras and writes keys with a "/" as they are.
            # rsl-rl-lib < 5.5 only reads the keys of the first dict: merge into a copy of it.
            metrics = {METRIC_PREFIX + k: v for k, v in self.sampler_metrics.items()}
            if logger.ep_extras:
                logger.ep_extras[0] = {**logger.ep_extras[0], **metrics}
            else:
                logger.ep_extras.append(metrics)

    def log(self, locs: dict, *args: Any, **kwargs: Any) -> None:  # called by rsl-rl-lib < 3.3 only
        """rsl-rl-lib 3.0-3.2 (logging in the runner): add the sampler metrics to the episode infos, then log."""
        ep_infos = locs.get("ep_infos")
        if self.sampler_metrics and isinstance(ep_infos, list):
            metrics = {METRIC_PREFIX + k: v for k, v in self.sampler_metrics.items()}
            # Only the keys of the first dict are logged: merge into a copy of it.
            if ep_infos:
                ep_infos[0] = {**ep_infos[0], **metrics}
            else:
                ep_infos.append(metrics)
        super().log(locs, *args, **kwargs)  # type: ignore[misc]

    # ------------------------------------------------------------------------------------------------ checkpoints
    def save(self, path: str, infos: dict | None = None) -> None:
        """Save models, training state and the sampler's state (atomically), then upload as rsl-rl does."""
        sampler_state = self.sampler.state_dict() if self.sampler is not None else None
        alg_save = getattr(self.alg, "save", None)
        logger = getattr(self, "logger", None)
        if callable(alg_save) and logger is not None:  # rsl-rl-lib >= 5
            saved = alg_save()
            saved["iter"] = self.current_learning_iteration
            saved["infos"] = infos
            if sampler_state is not None:
                saved[SAMPLER_KEY] = sampler_state
            _atomic_torch_save(saved, path)
            if hasattr(logger, "writer"):  # rsl-rl-lib 4.0 creates it only when learn() starts
                logger.save_model(path, self.current_learning_iteration)
            return
        # Older rsl-rl: let it write (and upload) its checkpoint, then add the sampler state atomically.
        super().save(path, infos)
        if sampler_state is not None:
            saved = torch.load(path, weights_only=False, map_location="cpu")
            saved[SAMPLER_KEY] = sampler_state
            _atomic_torch_save(saved, path)

    def load(self, path: str, *args: Any, remap_sampler: bool | None = None, **kwargs: Any) -> Any:
        """Load a checkpoint as ``OnPolicyRunner.load`` does, and the sampler state it holds; all or nothing.

        Everything is checked before anything is kept: the sampler state is first loaded into a copy of the sampler
        (an incompatible library raises here, before the models change), then rsl-rl loads the models and the
        optimiser (if that raises, e.g. for another network size, their previous state is put back and the sampler
        was never touched), and only then is the sampler state committed.

        Args:
            path: The checkpoint.
            *args: Passed to ``OnPolicyRunner.load`` (``load_cfg``, ``strict``, ``map_location`` in rsl-rl 5).
            remap_sampler: Map a different motion library by motion name; ``None`` uses ``sampler_remap``.
            **kwargs: Passed to ``OnPolicyRunner.load``.

        Returns:
            What ``OnPolicyRunner.load`` returns (the saved ``infos``).

        Raises:
            ValueError: If the checkpoint's sampler state does not fit the sampler and remapping is off.
        """
        state = None
        remap = self.sampler_remap if remap_sampler is None else bool(remap_sampler)
        if self.sampler is not None:
            checkpoint = torch.load(path, weights_only=False, map_location="cpu")
            state = checkpoint.get(SAMPLER_KEY) if isinstance(checkpoint, dict) else None
            if state is None:
                warnings.warn(
                    f"checkpoint {path!r} holds no adaptive sampler state (key {SAMPLER_KEY!r}); the sampler keeps "
                    "its current statistics",
                    stacklevel=2,
                )
            else:
                self._check_sampler_state(state, path, remap)
        snapshot = _TrainingSnapshot(self)
        try:
            infos = super().load(path, *args, **kwargs)
            if state is not None:
                self.sampler_load_report = _load_sampler_state(self.sampler, state, path, remap)
        except BaseException:
            snapshot.restore()
            raise
        if remap and state is not None and self.sampler_load_report is not None:
            print(f"[adaptive-sampling] sampler state remapped from {path}: {self.sampler_load_report}")
        return infos

    def _check_sampler_state(self, state: dict, path: str, remap: bool) -> None:
        """Load ``state`` into a copy of the sampler (raises what the real load would raise, changes nothing)."""
        try:
            trial = copy.deepcopy(self.sampler)
        except Exception:  # a sampler that cannot be copied is checked by its own load (it checks before changing)
            return
        _load_sampler_state(trial, state, path, remap)


def _load_sampler_state(sampler: Any, state: dict, path: str, remap: bool) -> Any:
    try:
        return sampler.load_state_dict(state, remap=remap)
    except ValueError as err:
        raise ValueError(
            f"cannot restore the adaptive sampler from {path!r}: {err}. Pass remap_sampler=True (or "
            "sampler_remap=True to the runner) to map the motions by name."
        ) from err


class _TrainingSnapshot:
    """The runner state ``OnPolicyRunner.load`` may change: every model's and optimiser's state and the iteration.

    Found by walking the runner's and its algorithm's attributes (one level into lists and dicts), so it covers
    rsl-rl 3.x (``ActorCritic`` and normalisers on the runner), 4.x and 5.x (actor, critic, RND, optimisers) alike.
    """

    def __init__(self, runner: OnPolicyRunner) -> None:
        self.runner = runner
        self.iteration = getattr(runner, "current_learning_iteration", None)
        self.states: list[tuple[Any, Any]] = []
        seen: set[int] = set()
        holders = [runner, getattr(runner, "alg", None)]
        for holder in holders:
            if holder is None:
                continue
            for value in vars(holder).values():
                if isinstance(value, dict):
                    items = list(value.values())
                elif isinstance(value, (list, tuple)):
                    items = list(value)
                else:
                    items = [value]
                for item in items:
                    if id(item) in seen:
                        continue
                    if isinstance(item, torch.nn.Module):
                        seen.add(id(item))
                        self.states.append((item, {k: v.detach().clone() for k, v in item.state_dict().items()}))
                    elif isinstance(item, torch.optim.Optimizer):
                        seen.add(id(item))
                        self.states.append((item, copy.deepcopy(item.state_dict())))

    def restore(self) -> None:
        """Put every captured state back."""
        for obj, state in self.states:
            obj.load_state_dict(state)
        if self.iteration is not None:
            self.runner.current_learning_iteration = self.iteration


TEMP_PREFIX = ".tmp_adaptive_sampling."
"""Prefix of the runner's temporary checkpoint files (``<prefix><host>.<pid>.<random>.pt``)."""

STALE_TEMP_AGE_S = 300.0
"""A temporary file whose writer cannot be checked (another host, an older naming) is an orphan after this long."""

_LEGACY_TEMP = re.compile(r"\.tmp_[A-Za-z0-9_]{8}\.pt")  # mkstemp names of earlier versions
_HOST = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname()) or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process holds the pid: alive
        return True
    return True


def _is_stale_temp(name: str, age_s: float) -> bool:
    """Whether ``name`` is a temporary checkpoint this runner wrote whose writer is gone.

    Files of a live writer on this host are kept however old (a slow disk); files of a dead writer on this host go
    at once; files whose writer cannot be checked (another host on a shared file system, the old mkstemp naming) go
    after :data:`STALE_TEMP_AGE_S`, by which time a live writer would have touched or renamed them.
    """
    if _LEGACY_TEMP.fullmatch(name):
        return age_s > STALE_TEMP_AGE_S
    if not (name.startswith(TEMP_PREFIX) and name.endswith(".pt")):
        return False
    parts = name[len(TEMP_PREFIX) : -len(".pt")].rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid = parts[0], int(parts[1])
    if host != _HOST:
        return age_s > STALE_TEMP_AGE_S
    return not _pid_alive(pid)


def remove_stale_temp_files(directory: str) -> list[str]:
    """Delete orphaned temporary checkpoints (left by a writer killed mid-save) in ``directory``.

    Only names this module creates are considered (see :func:`_is_stale_temp`); files another run is still writing
    into the same folder are left alone. Returns the removed paths.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".tmp_"):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stale = _is_stale_temp(entry.name, now - entry.stat(follow_symlinks=False).st_mtime)
            if stale:
                os.unlink(entry.path)
                removed.append(entry.path)
        except FileNotFoundError:  # another run cleaned it up or renamed it first
            continue
    return removed


def _atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to a temporary file in the target directory, then ``os.replace`` it into place.

    The file gets the mode ``torch.save`` would give it (``0o666`` minus the umask). Orphans of earlier saves that
    were killed mid-write are removed from the directory first.
    """
    directory = os.path.dirname(os.path.abspath(path))
    remove_stale_temp_files(directory)
    while True:
        tmp = os.path.join(directory, f"{TEMP_PREFIX}{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.pt")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
