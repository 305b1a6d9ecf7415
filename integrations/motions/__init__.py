"""Motion data tools for adaptive sampling: CSV -> named npz without Isaac Sim, validation, inspection, reordering.

Needs ``numpy`` and ``mujoco`` (the ``motions`` extra). The command line is ``adaptive-sampling motions ...`` or
``python -m adaptive_sampling_motions ...``; the modules (``convert``, ``validation``, ``reorder``, ``library``,
``kinematics``) are the library API. :mod:`.clips` (find, name, load, check and resample clips for training, the
reader every simulator integration uses) needs numpy only; :mod:`.store` (the clips on the device) and
:mod:`.tracking` (the simulator-agnostic half of the tracking command term) need torch. Importing the package checks
that ``adaptive_sampling`` is this project's core (:mod:`._core_check`, which every integration calls).
"""

from ._core_check import check_core

check_core()
