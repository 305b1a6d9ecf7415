"""The distribution: its name and version, and the loud failure when 'adaptive_sampling' is the unrelated namesake.

The PyPI distribution 'adaptive-sampling' (molecular dynamics) installs a top-level 'adaptive_sampling' too. Faked
here in a subprocess: hiding ours (earlier on sys.path), or mixed with ours (installed after it into one environment:
its __init__.py among our files).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

import adaptive_sampling

INTEGRATIONS = (
    "adaptive_sampling_motions", "adaptive_sampling_rsl_rl", "adaptive_sampling_isaaclab", "adaptive_sampling_mjlab"
)
NAMESAKE_INIT = '"""Stand-in for the molecular-dynamics package of the same import name."""\n__version__ = "3.0.1"\n'


def run(code: str, pythonpath: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with ``pythonpath`` first on sys.path (also the working directory, so that
    a source checkout in the current directory cannot come first)."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    cmd = [sys.executable, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=pythonpath)


@pytest.fixture
def hiding(tmp_path) -> Path:
    """A directory whose 'adaptive_sampling' is the namesake alone; first on sys.path it hides ours."""
    (tmp_path / "adaptive_sampling").mkdir()
    (tmp_path / "adaptive_sampling" / "__init__.py").write_text(NAMESAKE_INIT)
    return tmp_path


@pytest.fixture
def mixed(hiding) -> Path:
    """The namesake's __init__.py among our other files: what pip leaves when it is installed after ours."""
    ours = Path(adaptive_sampling.__file__).parent
    for name in ("_distribution.py", "cli.py", "sampler.py"):
        shutil.copy(ours / name, hiding / "adaptive_sampling" / name)
    return hiding


def test_version_in_one_place():
    """The installed distribution is adaptive-sampling-rl, and its version is adaptive_sampling.__version__."""
    assert metadata.version("adaptive-sampling-rl") == adaptive_sampling.__version__
    assert adaptive_sampling.__distribution__ == "adaptive-sampling-rl"


def test_core_import_does_not_run_the_check(tmp_path):
    """`import adaptive_sampling` costs what it did: the check module is loaded only by the CLI and integrations."""
    proc = run("import sys, adaptive_sampling; print('adaptive_sampling._distribution' in sys.modules)", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_check_core_accepts_ours_and_rejects_a_module_without_the_marker():
    """check_core passes for this package; a module without the marker raises ImportError saying what to do."""
    from adaptive_sampling._distribution import DISTRIBUTION, check_core

    check_core()
    check_core(adaptive_sampling)
    other = types.ModuleType("adaptive_sampling")
    other.__file__ = "/site-packages/adaptive_sampling/__init__.py"
    with pytest.raises(ImportError, match=r"/site-packages/adaptive_sampling/__init__.py is not adaptive-sampling-rl"):
        check_core(other)
    with pytest.raises(ImportError, match=f"pip uninstall adaptive-sampling {DISTRIBUTION}, then pip install"):
        check_core(other)


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_integrations_fail_when_the_namesake_hides_the_core(hiding, integration):
    """With the namesake first on sys.path, importing an integration fails before anything else, saying so (the
    integration's own message; or the core check's, where an editable install's finder still finds our check)."""
    assert run("import adaptive_sampling as a; print(a.__file__)", hiding).stdout.startswith(str(hiding))
    proc = run(f"import {integration}", hiding)
    assert proc.returncode == 1
    assert "is not adaptive-sampling-rl's package" in proc.stderr
    assert "pip uninstall adaptive-sampling adaptive-sampling-rl, then pip install adaptive-sampling-rl" in proc.stderr


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_integrations_fail_when_the_namesake_is_mixed_in(mixed, integration):
    """With the namesake's __init__.py among our files, the check itself fails and names where it came from."""
    proc = run(f"import {integration}", mixed)
    assert proc.returncode == 1
    assert f"imported from {mixed / 'adaptive_sampling' / '__init__.py'} is not adaptive-sampling-rl's" in proc.stderr


def test_cli_fails_when_the_namesake_is_mixed_in(mixed):
    """The command line (our cli.py under the namesake's __init__) exits 2 with the message, not a traceback."""
    proc = run("import sys; from adaptive_sampling.cli import main; sys.exit(main(['--help']))", mixed)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: the 'adaptive_sampling' imported from")
    assert "pip uninstall adaptive-sampling adaptive-sampling-rl" in proc.stderr and "Traceback" not in proc.stderr
