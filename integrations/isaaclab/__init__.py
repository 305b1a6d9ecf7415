"""Isaac Lab adapter: multi-motion tracking with adaptive start sampling.

Layers (a module's imports tell its room):

- no simulator: :mod:`.motion_library` (the shared :mod:`adaptive_sampling_motions.store` on the device),
  :mod:`.compat` (Isaac Lab 2.x vs 3.x), :mod:`.rotations` (wxyz quaternions), :mod:`.assets` (local asset paths),
  :mod:`.tasks` (gym ids);
- isaaclab: :mod:`.command` (the command term), :mod:`.mdp` (observation/reward/termination terms),
  :mod:`.robots` (the G1), :mod:`.tracking_env_cfg` (the task and its PPO config);
- scripts: ``train.py`` and ``play.py``.

Importing this package imports neither isaaclab nor gymnasium.
"""

from adaptive_sampling_motions._core_check import check_core

from .compat import IsaacLabApi
from .motion_library import MotionLibrary

check_core()  # 'adaptive_sampling' may be the unrelated namesake; nothing above imports it

__all__ = ["IsaacLabApi", "MotionLibrary"]
