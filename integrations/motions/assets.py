"""Robot assets fetched on demand: the Unitree G1 MJCF from the ``mjlab`` wheel on PyPI.

We do not ship robot files. The G1 model (``g1.xml`` and its STL meshes) comes from the ``mjlab==1.6.0`` wheel,
which is downloaded once with pip (no install, no dependencies) and unpacked into a cache directory::

    ${ADAPTIVE_SAMPLING_CACHE:-~/.cache/adaptive_sampling}/mjlab-1.6.0/unitree_g1/xmls/g1.xml

Run ``python -m adaptive_sampling_motions.assets`` to fetch it and print the path.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

__all__ = ["MJLAB_VERSION", "cache_dir", "g1_mjcf"]

MJLAB_VERSION = "1.6.0"
"""The mjlab release whose wheel provides the G1 model."""

_WHEEL_ROBOT_DIR = "mjlab/asset_zoo/robots/unitree_g1/"
_ROBOT_DIR_NAME = "unitree_g1"
_XML_RELPATH = pathlib.Path("xmls") / "g1.xml"


def cache_dir() -> pathlib.Path:
    """The root of the asset cache: ``$ADAPTIVE_SAMPLING_CACHE`` or ``~/.cache/adaptive_sampling``."""
    root = os.environ.get("ADAPTIVE_SAMPLING_CACHE")
    return pathlib.Path(root).expanduser() if root else pathlib.Path.home() / ".cache" / "adaptive_sampling"


def _download_wheel(dest: pathlib.Path) -> pathlib.Path:
    """Download the mjlab wheel (no dependencies) into ``dest`` and return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           f"mjlab=={MJLAB_VERSION}", "-d", str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"could not download mjlab=={MJLAB_VERSION} from PyPI (needed for the Unitree G1 MJCF); "
            f"command {' '.join(cmd)!r} failed:\n{result.stderr.strip()}"
        )
    wheels = sorted(dest.glob(f"mjlab-{MJLAB_VERSION}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip reported success but no mjlab-{MJLAB_VERSION} wheel is in {dest}")
    return wheels[0]


def _extract_robot(wheel: pathlib.Path, dest: pathlib.Path) -> None:
    """Unpack only the ``unitree_g1`` folder of ``wheel`` into ``dest / 'unitree_g1'``."""
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.infolist() if m.filename.startswith(_WHEEL_ROBOT_DIR) and not m.is_dir()]
        if not members:
            raise RuntimeError(f"{wheel.name} has no {_WHEEL_ROBOT_DIR} folder")
        for member in members:
            relative = pathlib.PurePosixPath(member.filename[len(_WHEEL_ROBOT_DIR):])
            if relative.is_absolute() or ".." in relative.parts:
                raise RuntimeError(f"unsafe path {member.filename!r} in {wheel.name}")
            target = dest / _ROBOT_DIR_NAME / pathlib.Path(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def g1_mjcf() -> pathlib.Path:
    """Path to the Unitree G1 MJCF (29 joints, meshes alongside), fetching it into the cache on first use.

    Idempotent and safe against concurrent callers: the files are unpacked into a temporary directory that is then
    renamed into place, so the cache directory either holds the complete model or does not exist.

    Returns:
        The absolute path of ``g1.xml``.

    Raises:
        RuntimeError: the wheel could not be downloaded or does not hold the model.
    """
    version_dir = cache_dir() / f"mjlab-{MJLAB_VERSION}"
    xml = version_dir / _ROBOT_DIR_NAME / _XML_RELPATH
    if xml.is_file():
        return xml.resolve()
    version_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mjlab-", dir=version_dir.parent) as tmp:
        tmp_path = pathlib.Path(tmp)
        wheel = _download_wheel(tmp_path / "wheel")
        staging = tmp_path / "staging"
        _extract_robot(wheel, staging)
        if not (staging / _ROBOT_DIR_NAME / _XML_RELPATH).is_file():
            raise RuntimeError(f"{wheel.name} has no {_WHEEL_ROBOT_DIR}{_XML_RELPATH.as_posix()}")
        try:
            os.rename(staging, version_dir)
        except OSError:
            # Another process finished first (the target now exists and is non-empty): use its copy.
            if not xml.is_file():
                raise
    return xml.resolve()


def main() -> int:
    """Fetch the G1 model if needed and print the path of its MJCF."""
    print(g1_mjcf())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
