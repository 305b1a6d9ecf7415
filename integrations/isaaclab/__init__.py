"""Isaac Lab adapter: multi-motion tracking with adaptive start sampling.

Layers (a module's imports tell its room):

- no simulator: :mod:`.motion_library` (clips from :mod:`adaptive_sampling_motions.clips` -> one store on the
  device), :mod:`.compat` (Isaac Lab 2.x vs 3.x), :mod:`.rotations` (wxyz quaternions), :mod:`.assets` (local
  asset paths), :mod:`.tasks` (gym ids);
- isaaclab: :mod:`.command` (the command term), :mod:`.mdp` (observation/reward/termination terms),
  :mod:`.robots` (the G1), :mod:`.tracking_env_cfg` (the task and its PPO config);
- scripts: ``train.py`` and ``play.py``.

Importing this package imports neither isaaclab nor gymnasium.
"""

try:  # importing it checks that 'adaptive_sampling' is our core, not the unrelated package of the same name
    import adaptive_sampling._distribution  # noqa: F401
except ModuleNotFoundError as err:  # that package hides ours entirely (it has no _distribution module)
    if err.name != "adaptive_sampling._distribution":
        raise
    raise ImportError(
        f"{err}: the 'adaptive_sampling' found first is not adaptive-sampling-rl's package but an unrelated one of "
        "the same name; pip uninstall adaptive-sampling adaptive-sampling-rl, then pip install adaptive-sampling-rl"
    ) from None

from .compat import IsaacLabApi
from .motion_library import MotionLibrary

__all__ = ["IsaacLabApi", "MotionLibrary"]
