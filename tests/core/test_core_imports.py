"""The core imports no simulator, Isaac Lab or rsl_rl, neither at run time nor in its source."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import adaptive_sampling

BANNED = ("isaaclab", "isaacsim", "omni", "rsl_rl", "mujoco", "newton", "warp", "pxr", "carb")
PACKAGE_DIR = Path(adaptive_sampling.__file__).resolve().parent


def test_import_pulls_in_no_simulator():
    """``import adaptive_sampling`` in a fresh interpreter loads none of the simulator/RL-framework packages."""
    code = (
        "import json, sys; import adaptive_sampling; "
        f"banned = {BANNED!r}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in banned)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_no_banned_import_statement_in_core_source():
    """No file under adaptive_sampling/ has an import statement (top-level or nested) of a banned package."""
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(files) >= 5
    offenders = []
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            offenders += [f"{path.name}:{node.lineno} imports {r}" for r in roots if r in BANNED]
    assert offenders == []


def test_ast_scan_detects_a_banned_import():
    """The scan above can fail: it finds a nested ``from isaaclab.envs import X`` in sample source."""
    tree = ast.parse("def f():\n    from isaaclab.envs import X\n    import warp as wp\n")
    found = [
        (n.module if isinstance(n, ast.ImportFrom) else n.names[0].name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
    ]
    assert found == ["isaaclab", "warp"]


def test_public_imports_after_the_split():
    """The public names import from the package root; the state format and the checks live in their own modules
    and the sampler module re-exports the state names it used to define."""
    from adaptive_sampling import (
        STATE_VERSION,
        AdaptiveSampler,
        AdaptiveSamplerCfg,
        LoadReport,
        MotionLayout,
        checks,
        kernels,
        sampler,
        state,
    )

    assert STATE_VERSION == state.STATE_VERSION == 1
    assert LoadReport is state.LoadReport is sampler.LoadReport
    assert AdaptiveSampler.__module__ == "adaptive_sampling.sampler"
    assert AdaptiveSamplerCfg.__module__ == "adaptive_sampling.config"
    assert MotionLayout.__module__ == "adaptive_sampling.layout"
    assert callable(kernels.start_distribution) and callable(checks.check_record)
    assert callable(state.upgrade_state) and callable(state.validated_state)
