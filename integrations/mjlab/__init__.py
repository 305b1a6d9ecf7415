"""mjlab adapter: multi-motion tracking with adaptive start sampling (mjlab 1.6, MuJoCo-Warp).

Layers (a module's imports tell its room):

- no simulator: :mod:`.motion_store` (the shared :mod:`adaptive_sampling_motions.store`, and the demo clips);
- mjlab: :mod:`.command` (the command term), :mod:`.mdp` (motion-id / progress observations), :mod:`.runner`
  (the rsl-rl runner with the sampler in every checkpoint), :mod:`.tasks` (the registered G1 task; importing it
  registers it), :mod:`.benchmark`;
- scripts: ``train.py`` and ``play.py``.

Importing this package imports neither mjlab nor the simulator.
"""

from adaptive_sampling_motions._core_check import check_core

check_core()  # before anything imports the core: 'adaptive_sampling' may be the unrelated namesake
