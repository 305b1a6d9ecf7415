"""Motion data tools for adaptive sampling: CSV -> named npz without Isaac Sim, validation, inspection, reordering.

Needs ``numpy`` and ``mujoco`` (the ``motions`` extra). The command line is ``adaptive-sampling motions ...`` or
``python -m adaptive_sampling_motions ...``; the modules (``convert``, ``validation``, ``reorder``, ``library``,
``kinematics``) are the library API. :mod:`.clips` (find, name, load, check and resample clips for training, the
reader every simulator integration uses) needs numpy only.
"""


def _check_core() -> None:
    """Raise ``ImportError`` unless the ``adaptive_sampling`` that Python would import is this project's core.

    The unrelated PyPI package ``adaptive-sampling`` installs an ``adaptive_sampling`` too. The core's ``__init__.py``
    is read for its ``__distribution__`` marker rather than imported (as the other integrations do through
    ``adaptive_sampling._distribution``): importing the core imports torch, and :mod:`.clips` stays numpy-only.
    """
    import importlib.util
    import pathlib

    spec = importlib.util.find_spec("adaptive_sampling")
    if spec is None:
        return  # no core at all: the tools that need it (``library``) fail on their own import
    origin = spec.origin
    if origin is None or not origin.endswith(".py"):
        import adaptive_sampling._distribution  # noqa: F401  (an unusual install: import it and let it check)

        return
    if '__distribution__ = "adaptive-sampling-rl"' not in pathlib.Path(origin).read_text(encoding="utf-8"):
        raise ImportError(
            f"the 'adaptive_sampling' imported from {origin} is not adaptive-sampling-rl's package but another "
            "distribution's of the same import name (probably 'adaptive-sampling', molecular-dynamics sampling); the "
            "two cannot share an environment. Fix: pip uninstall adaptive-sampling adaptive-sampling-rl, then pip "
            "install adaptive-sampling-rl"
        )


_check_core()
