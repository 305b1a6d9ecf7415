"""The integrations' check that ``adaptive_sampling`` is this project's core, without importing it (stdlib only).

The unrelated PyPI package ``adaptive-sampling`` installs an ``adaptive_sampling`` too. Every integration package
calls :func:`check_core` when it is imported. The core's ``__init__.py`` is read for its ``__distribution__`` marker
rather than imported: importing the core imports torch, and neither the rsl-rl robot-side reader
(``adaptive_sampling_rsl_rl.onnx_policy``) nor the motion clips layer (:mod:`.clips`) may need it. The command line
checks through ``adaptive_sampling._distribution`` instead, which gives the same message.
"""

from __future__ import annotations

import importlib.util
import pathlib

_MARKER = '__distribution__ = "adaptive-sampling-rl"'


def check_core() -> None:
    """Raise ``ImportError`` unless the ``adaptive_sampling`` that Python would import is this project's core."""
    spec = importlib.util.find_spec("adaptive_sampling")
    if spec is None:
        return  # no core at all (e.g. a robot with the policy reader only): what needs it fails on its own import
    origin = spec.origin
    if origin is None or not origin.endswith(".py"):
        import adaptive_sampling._distribution  # noqa: F401  (an unusual install: import it and let it check)

        return
    if _MARKER not in pathlib.Path(origin).read_text(encoding="utf-8"):
        raise ImportError(
            f"the 'adaptive_sampling' imported from {origin} is not adaptive-sampling-rl's package but another "
            "distribution's of the same import name (probably 'adaptive-sampling', molecular-dynamics sampling); the "
            "two cannot share an environment. Fix: pip uninstall adaptive-sampling adaptive-sampling-rl, then pip "
            "install adaptive-sampling-rl"
        )
