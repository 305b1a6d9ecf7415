"""pyproject.toml ships every module and data file of the four packages (the release check tests the built wheel;
this catches a forgotten subpackage or data file in the plain test run)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

import adaptive_sampling

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+")
ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
pytestmark = pytest.mark.skipif(
    not (ROOT / "adaptive_sampling").is_dir(), reason="needs the source tree (the release check runs a copy of tests/)"
)


def setuptools_cfg() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]


def source_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def test_every_subpackage_is_listed():
    """Each directory holding Python files under a mapped package is listed in [tool.setuptools] packages."""
    cfg = setuptools_cfg()
    listed, missing = set(cfg["packages"]), []
    for package, directory in cfg["package-dir"].items():
        for init in (ROOT / directory).rglob("*.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(ROOT / directory)
            name = ".".join((package, *rel.parts))
            if name not in listed:
                missing.append(f"{name} ({init.relative_to(ROOT)})")
    assert set(cfg["package-dir"]) == listed
    assert missing == []


def test_every_data_file_is_package_data():
    """Every non-Python file under a package is py.typed or matches its package-data globs (else the wheel drops it)."""
    cfg = setuptools_cfg()
    unshipped = []
    for package, directory in cfg["package-dir"].items():
        globs = cfg.get("package-data", {}).get(package, [])
        for path in source_files(ROOT / directory):
            rel = path.relative_to(ROOT / directory).as_posix()
            if path.suffix != ".py" and not any(fnmatch.fnmatch(rel, g) for g in globs):
                unshipped.append(f"{package}: {rel}")
    assert unshipped == []


def test_version_is_read_from_the_package():
    """The version has one home: pyproject reads adaptive_sampling.__version__ and states none of its own."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert setuptools_cfg()["dynamic"]["version"] == {"attr": "adaptive_sampling.__version__"}
    assert adaptive_sampling.__version__.count(".") == 2
