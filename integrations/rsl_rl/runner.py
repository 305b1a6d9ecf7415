"""An rsl-rl ``OnPolicyRunner`` that checkpoints, logs and synchronises an adaptive start sampler.

Imports ``rsl_rl`` and ``torch`` (no simulator; the sampler is reached through a protocol). The core's plotting,
matplotlib and ``onnx`` are imported only when images or ONNX files are written.

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
  :meth:`AdaptiveSamplingRunner.load` restores it, all or nothing;
* every ``image_interval`` iterations, the sampler as pictures in the same logger: the (motion x clip time)
  probability / prior and failure-rate heatmap (``Sampler/heatmap``) and the probability mass per motion
  (``Sampler/motion_mass``), for samplers that have ``tables()`` and ``layout`` (matplotlib needed; without it the
  run goes on and says once that images are off);
* with ``export_onnx``, the actor and its observation normaliser as ``policy.onnx`` next to every checkpoint, with
  deployment metadata (:mod:`adaptive_sampling_rsl_rl.export`);
* at construction, with a ``log_dir``: a record of the run (resolved sampler config, motion list, file hashes;
  :mod:`adaptive_sampling_rsl_rl.run_record`).

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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from rsl_rl.runners import OnPolicyRunner

IMAGES_PER_RUN = 30
"""Without a configured interval, each ``learn()`` logs the sampler images about this many times."""

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
        export_onnx: Write ``policy.onnx`` next to every checkpoint; ``None`` reads ``train_cfg["export_onnx"]``
            (default off).
        policy_metadata: Deployment metadata of the env for the ONNX file (joint names, gains, observation terms;
            see :mod:`adaptive_sampling_rsl_rl.export`), or a function returning it (called at each export).
        motion_files: The motion files in library order: hashed into the run record and the ONNX metadata.
        image_interval: Log the sampler images every this many iterations (0: never); ``None`` reads
            ``train_cfg["sampler_image_interval"]``, else picks about :data:`IMAGES_PER_RUN` per ``learn()``.
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
        export_onnx: bool | None = None,
        policy_metadata: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        motion_files: Sequence[str | os.PathLike] | None = None,
        image_interval: int | None = None,
    ) -> None:
        if sampler is not None:
            _check_sampler(sampler, "sampler")
        if export_onnx is None:
            export_onnx = train_cfg.get("export_onnx", False)
        if not isinstance(export_onnx, bool):
            raise TypeError(f"export_onnx must be a bool, got {type(export_onnx).__name__}: {export_onnx!r}")
        if image_interval is None:
            image_interval = train_cfg.get("sampler_image_interval")
        if image_interval is not None and (
            isinstance(image_interval, bool) or not isinstance(image_interval, int) or image_interval < 0
        ):
            raise ValueError(f"image_interval must be an int >= 0 or None, got {image_interval!r}")
        self.export_onnx = export_onnx
        self.policy_metadata = policy_metadata
        self.motion_files = [os.fspath(f) for f in motion_files] if motion_files is not None else None
        self.image_interval = image_interval
        self.onnx_path: str | None = None
        """The last ``policy.onnx`` written."""
        self.images_logged = 0
        """How many times the sampler images were logged."""
        self._images_off = False
        self._iteration = 0
        self._auto_interval = 1
        self._motion_sha256: list[str] | None = None
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
        self.run_record_path: str | None = None
        """The run record written into ``log_dir`` (``None`` without a log dir or on other ranks)."""
        if log_dir is not None and self._is_main_rank():
            self.run_record_path = str(self._write_run_record(log_dir))

    def learn(self, num_learning_iterations: int, *args: Any, **kwargs: Any) -> Any:
        """``OnPolicyRunner.learn``; also sets the image interval of this call when none was configured."""
        self._iteration = int(self.current_learning_iteration)
        self._auto_interval = default_image_interval(num_learning_iterations)
        return super().learn(num_learning_iterations, *args, **kwargs)

    def _configure_multi_gpu(self) -> None:
        """rsl-rl's multi-process set-up (``WORLD_SIZE`` > 1, e.g. under ``torchrun``), extended to CPU ranks.

        rsl-rl only knows CUDA with NCCL; here a CPU learner uses gloo, and a process group the caller already
        initialised (``train.py --distributed`` does, to agree on the run folder) is used as it is. Sets the same
        attributes rsl-rl-lib 3.x-5.x read (``gpu_*_rank``, ``gpu_world_size``, ``is_distributed`` and the
        ``multi_gpu`` config).
        """
        import torch.distributed as dist

        world = int(os.getenv("WORLD_SIZE", "1"))
        if world <= 1:
            super()._configure_multi_gpu()
            return
        local, rank = int(os.getenv("LOCAL_RANK", "0")), int(os.getenv("RANK", "0"))
        if not (0 <= local < world and 0 <= rank < world):
            raise ValueError(f"RANK={rank} and LOCAL_RANK={local} must be in [0, WORLD_SIZE={world})")
        cuda = str(self.device).startswith("cuda")
        if cuda and str(self.device) != f"cuda:{local}":
            raise ValueError(f"device {self.device!r} does not match LOCAL_RANK {local}: use 'cuda:{local}'")
        self.gpu_world_size, self.gpu_local_rank, self.gpu_global_rank = world, local, rank
        self.is_distributed = True
        multi_gpu = {"global_rank": rank, "local_rank": local, "world_size": world}
        self.multi_gpu_cfg = multi_gpu  # rsl-rl-lib 3.x
        self.cfg["multi_gpu"] = multi_gpu  # rsl-rl-lib >= 4
        if not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
        if cuda:
            torch.cuda.set_device(local)

    def _is_main_rank(self) -> bool:
        return int(getattr(self, "gpu_global_rank", 0)) == 0

    def _write_run_record(self, log_dir: str) -> Any:
        from .run_record import motion_entries, write_run_record

        state = self.sampler.state_dict() if self.sampler is not None else None
        path = write_run_record(
            log_dir,
            sampler_state=state,
            motion_files=self.motion_files,
            extra={"num_envs": int(getattr(self.env, "num_envs", 0))},
        )
        if self.motion_files is not None:
            layout = state.get("layout") if state else None
            self._motion_sha256 = [m["sha256"] for m in motion_entries(layout, self.motion_files)]
        return path

    # ------------------------------------------------------------------------------------------------ per iteration
    def _sampler_iteration_end(self) -> None:
        """Sync the statistics across ranks, then hand the metrics to rsl-rl's logger."""
        if self.sampler is None:
            return
        self.sampler.sync()
        # One host sync per iteration; kept on the runner even where nothing is written (other ranks, no log_dir).
        self.sampler_metrics = {k: float(v) for k, v in self.sampler.metrics().items()}
        iteration, self._iteration = self._iteration, self._iteration + 1
        logger = getattr(self, "logger", None)  # rsl-rl-lib >= 3.3: a Logger object
        writer = getattr(logger if logger is not None else self, "writer", None)
        if writer is None:
            return
        self._log_images(writer, iteration)
        if logger is not None:
            # Logger.log() averages each key over the dicts in ep_extras and writes keys with a "/" as they are.
            # rsl-rl-lib < 5.5 only reads the keys of the first dict: merge into a copy of it.
            metrics = {METRIC_PREFIX + k: v for k, v in self.sampler_metrics.items()}
            if logger.ep_extras:
                logger.ep_extras[0] = {**logger.ep_extras[0], **metrics}
            else:
                logger.ep_extras.append(metrics)

    def _log_images(self, writer: Any, iteration: int, *, force: bool = False) -> bool:
        """Log the sampler heatmap and per-motion mass every ``image_interval`` iterations; True if logged."""
        interval = self._auto_interval if self.image_interval is None else self.image_interval
        if self._images_off or interval == 0 or not (force or iteration % interval == 0):
            return False
        if not (hasattr(self.sampler, "tables") and hasattr(self.sampler, "layout")):
            return False
        try:
            import matplotlib  # noqa: F401  (the figures below select its Agg backend)
            import numpy  # noqa: F401
        except ImportError as err:
            self._images_off = True
            print(
                f"[adaptive-sampling] sampler images are off: matplotlib is not available ({err}); training goes on. "
                "pip install 'adaptive-sampling-rl[plot]' to log them."
            )
            return False
        import matplotlib.pyplot as plt

        from adaptive_sampling.plot import env_steps_title, motion_mass_figure, sampler_figure

        from .images import log_figure

        world = int(getattr(self, "gpu_world_size", 1))
        title = env_steps_title(self.sampler, int(self.env.num_envs), world) + f", iteration {iteration}"
        for tag, make in (("heatmap", sampler_figure), ("motion_mass", motion_mass_figure)):
            fig = make(self.sampler, title=title)
            try:
                log_figure(writer, METRIC_PREFIX + tag, fig, iteration)
            finally:
                plt.close(fig)
        self.images_logged += 1
        return True

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
        else:
            # Older rsl-rl: let it write (and upload) its checkpoint, then add the sampler state atomically.
            super().save(path, infos)
            if sampler_state is not None:
                saved = torch.load(path, weights_only=False, map_location="cpu")
                saved[SAMPLER_KEY] = sampler_state
                _atomic_torch_save(saved, path)
        if self.export_onnx and self._is_main_rank():
            self._export_next_to(path)

    def _export_next_to(self, checkpoint: str) -> None:
        """Write ``policy.onnx`` next to ``checkpoint``; a failure is reported and training goes on."""
        from .export import ONNX_FILENAME

        target = os.path.join(os.path.dirname(os.path.abspath(checkpoint)), ONNX_FILENAME)
        try:
            self.onnx_path = self.export_policy(target, run_path=os.path.dirname(os.path.abspath(checkpoint)))
        except ImportError as err:
            self.export_onnx = False
            print(f"[adaptive-sampling] ONNX export is off: {err}. pip install 'adaptive-sampling-rl[onnx]'")
        except Exception as err:  # never lose a training run to the exporter
            warnings.warn(f"ONNX export of {checkpoint!r} failed: {type(err).__name__}: {err}", stacklevel=2)

    def export_policy(self, path: str, *, run_path: str | None = None) -> str:
        """Export the actor with its observation normaliser to ``path`` (ONNX) with the deployment metadata.

        The metadata holds the env's ``policy_metadata``, the motion library as the sampler knows it (names in
        one-hot order, frames, fps) and, with ``motion_files``, each file's SHA-256.

        Returns:
            ``path``.
        """
        from .export import METADATA_FORMAT, export_onnx, sampler_metadata

        metadata: dict[str, Any] = {"format": METADATA_FORMAT, "run_path": run_path}
        metadata.update(sampler_metadata(self.sampler))
        if self.motion_files is not None:
            if self._motion_sha256 is None:
                from .run_record import motion_entries

                self._motion_sha256 = [m["sha256"] for m in motion_entries(None, self.motion_files)]
            metadata["motion_sha256"] = self._motion_sha256
        extra = self.policy_metadata() if callable(self.policy_metadata) else self.policy_metadata
        metadata.update(extra or {})
        return export_onnx(self, path, metadata)

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
        if state is not None:
            self._decorrelate_ranks()
        return infos

    def _decorrelate_ranks(self) -> None:
        """After a resume on several ranks, give ranks > 0 their own generator stream.

        Every rank loads the generator state rank 0 saved; left alone, all ranks would draw the same starts. Rank 0
        continues exactly as saved; rank r reseeds from the saved seed, r and the clock.
        """
        rank = int(getattr(self, "gpu_global_rank", 0))
        generator = getattr(self.sampler, "generator", None)
        if not getattr(self, "is_distributed", False) or rank == 0 or not isinstance(generator, torch.Generator):
            return
        clock = int(getattr(self.sampler, "clock", 0))
        generator.manual_seed((generator.initial_seed() + 1_000_003 * rank + clock) % 2**63)

    def _check_sampler_state(self, state: dict, path: str, remap: bool) -> None:
        """Load ``state`` into a copy of the sampler (raises what the real load would raise, changes nothing)."""
        try:
            trial = copy.deepcopy(self.sampler)
        except Exception:  # a sampler that cannot be copied is checked by its own load (it checks before changing)
            return
        with warnings.catch_warnings():  # the real load warns (e.g. a generator reseeded across devices), once
            warnings.simplefilter("ignore")
            _load_sampler_state(trial, state, path, remap)


def default_image_interval(num_learning_iterations: int) -> int:
    """Iterations between sampler images when none is configured: about :data:`IMAGES_PER_RUN` per run."""
    return max(1, round(num_learning_iterations / IMAGES_PER_RUN))


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
            try:
                obj.load_state_dict(state)
            except RuntimeError:
                # rsl-rl-lib < 5.5 updates normaliser buffers under inference_mode: they only take copies there
                with torch.inference_mode():
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
