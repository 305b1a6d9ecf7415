"""Motion data tools for adaptive sampling: CSV -> named npz without Isaac Sim, validation, inspection, reordering.

Needs ``numpy`` and ``mujoco`` (the ``motions`` extra). The command line is ``adaptive-sampling motions ...`` or
``python -m adaptive_sampling_motions ...``; the modules (``convert``, ``validation``, ``reorder``, ``library``,
``kinematics``) are the library API. :mod:`.clips` (find, name, load, check and resample clips for training, the
reader every simulator integration uses) needs numpy only.
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
