"""This project's distribution name, and the check that ``adaptive_sampling`` is really this project's package.

The unrelated distribution ``adaptive-sampling`` on PyPI (molecular-dynamics enhanced sampling) also installs a
top-level ``adaptive_sampling``. Installed after ours into the same environment, its ``__init__.py`` replaces ours
among our files; on an earlier ``sys.path`` entry it hides ours entirely. Our ``__init__`` carries a marker the other
lacks (``__distribution__``). Importing this module runs :func:`check_core`: the command line and the integrations
import it first; the core itself does not, so ``import adaptive_sampling`` costs nothing more. This module imports
nothing but the standard library.
"""

from __future__ import annotations

import sys
from types import ModuleType

DISTRIBUTION = "adaptive-sampling-rl"
"""What to ``pip install``; the import name stays ``adaptive_sampling``."""

NAMESAKE = "adaptive-sampling"
"""The unrelated distribution that installs a package of the same import name."""


def namesake_message(location: object) -> str:
    """The error text for an ``adaptive_sampling`` (imported from ``location``) that is not this project's."""
    return (
        f"the 'adaptive_sampling' imported from {location} is not {DISTRIBUTION}'s package but another "
        f"distribution's of the same import name (probably '{NAMESAKE}', molecular-dynamics sampling); the two "
        f"cannot share an environment. Fix: pip uninstall {NAMESAKE} {DISTRIBUTION}, then pip install {DISTRIBUTION}"
    )


def check_core(core: ModuleType | None = None) -> None:
    """Raise ``ImportError`` if ``core`` (default: the imported ``adaptive_sampling``) is not this project's package.

    Args:
        core: The module to check; ``None`` imports ``adaptive_sampling``.
    """
    if core is None:
        import adaptive_sampling as core
    if getattr(core, "__distribution__", None) != DISTRIBUTION:
        raise ImportError(namesake_message(getattr(core, "__file__", None)))


# Importing this module is the check (the integrations do it first): it fails when this file lies among the other
# package's files, whose __init__.py replaced ours.
check_core(sys.modules.get(__package__ or "adaptive_sampling"))
