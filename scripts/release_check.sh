#!/usr/bin/env bash
# The release check (CI runs it after scripts/test.sh): what a user would `pip install` is built, inspected and
# tested as installed, never the source tree.
#   1. build the sdist and the wheel (python -m build, isolated) and check their metadata (twine check --strict);
#   2. the wheel holds the five packages and their data only: no tests, benchmarks, caches or local paths, the
#      version of adaptive_sampling/__init__.py, and it stays under WHEEL_MAX_KB (its size is printed);
#   3. core: a clean venv with torch==2.13.0, then the bare wheel (imports, CLI), then its `test` extra; the core tests
#      and tests/release run from a copy outside the repository against the installed package (asserted);
#   4. each other extra alone (rsl-rl, plot, motions, bench) in its own clean venv imports what it promises;
#   5. Isaac Lab: the same wheel plus scripts/setup_isaaclab.sh in its own venv; the adapter's simulator modules
#      import from the wheel (SKIP_ISAACLAB=1 skips this step).
# Every venv starts empty but for torch==2.13.0, installed once in a base venv and seen through a .pth file (any other
# torch spec pulls a multi-GB CUDA build; every pip call passes a constraints file pinning it).
# Usage: bash scripts/release_check.sh   (DIST_DIR=dir: copy the checked sdist and wheel there, e.g. for twine upload;
#        KEEP=1: keep the work directory and print its path; WHEEL_MAX_KB: the size bound, default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3}
WHEEL_MAX_KB=${WHEEL_MAX_KB:-1024}
DIST=adaptive-sampling-rl
export OMP_NUM_THREADS=1 PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONWARNINGS="ignore:Failed to initialize NumPy"   # torch without numpy (the bare core venv)
START=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/release_check.XXXXXX")
cleanup() {
    local pid   # checks still running after a failure: stop them (and what they started) before removing $WORK
    for pid in $(jobs -pr); do pkill -TERM -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = "1" ]; then echo "[release] kept $WORK"; else rm -rf "$WORK"; fi
    echo "[release] done in $((SECONDS - START)) s (work directory $([ "${KEEP:-0}" = "1" ] && echo kept || echo removed))"
}
trap cleanup EXIT
log() { printf '[release %4ss] %s\n' "$((SECONDS - START))" "$*"; }
CONSTRAINTS="$WORK/constraints.txt"
# torchvision: rsl-rl-lib 5.4.2 (mjlab) requires one, and the newest would pull a newer torch
printf "torch==2.13.0\ntorchvision==0.28.0\n" >"$CONSTRAINTS"
# pip's exit status is kept; only the noise about this machine's local package index is filtered out
pip_in() {
    local venv=$1; shift
    "$venv/bin/python" -m pip install -q --no-compile "$@" -c "$CONSTRAINTS" 2> >(grep -v '^WARNING: Location' >&2)
}

log "tools venv (build, twine)"
"$PY" -m venv "$WORK/tools"
pip_in "$WORK/tools" build twine

log "building the sdist and the wheel"
# a copy of the tracked and new files only: no .venv, logs or caches can leak into the sdist
mkdir "$WORK/src"
git ls-files -z --cached --others --exclude-standard \
    | xargs -0 sh -c 'for f; do [ ! -e "$f" ] || printf "%s\0" "$f"; done' _ | xargs -0 cp --parents -t "$WORK/src"
"$WORK/tools/bin/python" -m build --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log"; log "ERROR: the build failed"; exit 1; }
"$WORK/tools/bin/python" -m twine check --strict "$WORK"/dist/*
WHEEL=$(ls "$WORK"/dist/*.whl)
SDIST=$(ls "$WORK"/dist/*.tar.gz)

log "inspecting $(basename "$WHEEL") and $(basename "$SDIST")"
"$PY" - "$WHEEL" "$SDIST" "$REPO" "$WHEEL_MAX_KB" <<'PY'
import ast, email, os, pathlib, sys, tarfile, zipfile

wheel, sdist, repo, max_kb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
init = pathlib.Path(repo, "adaptive_sampling", "__init__.py").read_text()
version = next(n.value.value for n in ast.parse(init).body
               if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__version__")
packages = ("adaptive_sampling/", "adaptive_sampling_rsl_rl/", "adaptive_sampling_isaaclab/", "adaptive_sampling_motions/",
            "adaptive_sampling_mjlab/")
dist_info = f"adaptive_sampling_rl-{version}.dist-info/"
banned = ("__pycache__", ".pyc", "tests/", "test_", "benchmarks/", ".egg-info", ".pytest_cache", ".hypothesis",
          ".venv", "logs/", ".ipynb", ".DS_Store")
local = [p.encode() for p in {repo, os.path.realpath(repo), os.path.expanduser("~")} if len(p) > 1]
problems = []
with zipfile.ZipFile(wheel) as zf:
    names = zf.namelist()
    for name in names:
        if not name.startswith((*packages, dist_info)):
            problems.append(f"unexpected file {name}")
        problems += [f"{name} matches {b!r}" for b in banned if b in name]
        data = zf.read(name)
        problems += [f"{name} holds the local path {p.decode()}" for p in local if p in data]
    meta = email.message_from_bytes(zf.read(dist_info + "METADATA"))
    entry_points = zf.read(dist_info + "entry_points.txt").decode()
for must in ("adaptive_sampling/__init__.py", "adaptive_sampling/py.typed", "adaptive_sampling/_distribution.py",
             "adaptive_sampling_isaaclab/data/motions/arm_wave.npz", dist_info + "licenses/LICENSE"):
    if must not in names:
        problems.append(f"missing {must}")
expect = {"Name": "adaptive-sampling-rl", "Version": version, "License-Expression": "BSD-3-Clause",
          "Description-Content-Type": "text/markdown"}
problems += [f"METADATA {k} is {meta[k]!r}, expected {v!r}" for k, v in expect.items() if meta[k] != v]
extras = set(meta.get_all("Provides-Extra"))
if not {"test", "rsl-rl", "plot", "motions", "onnx", "mjlab", "bench", "dev"} <= extras:
    problems.append(f"METADATA extras are {sorted(extras)}")
if "adaptive-sampling = adaptive_sampling.cli:main" not in entry_points:
    problems.append("the adaptive-sampling console script is missing")
with tarfile.open(sdist) as tf:
    snames = tf.getnames()
if not any(n.endswith("/LICENSE") for n in snames):
    problems.append("the sdist lacks LICENSE")
problems += [f"sdist holds {n}" for n in snames for b in ("__pycache__", ".venv", "/logs/", ".git/", ".pyc") if b in n]
kb = os.path.getsize(wheel) / 1024
print(f"[release] wheel {os.path.basename(wheel)}: {kb:.0f} KB, {len(names)} files (bound {max_kb} KB); "
      f"sdist {os.path.getsize(sdist) / 1024:.0f} KB, {len(snames)} files")
if kb > max_kb:
    problems.append(f"the wheel is {kb:.0f} KB, over the bound of {max_kb} KB")
if problems:
    sys.exit("[release] ERROR:\n  " + "\n  ".join(problems))
PY

log "base venv: torch==2.13.0 only"
"$PY" -m venv "$WORK/base"
pip_in "$WORK/base" torch==2.13.0
site_of() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
BASE_SITE=$(site_of "$WORK/base")
# A clean venv that sees the base's torch through a .pth file (after its own site-packages; pip counts torch as
# installed and puts everything else into the new venv): one torch install, no copies to write or delete.
new_venv() {
    "$PY" -m venv "$WORK/$1"
    echo "$BASE_SITE" >"$(site_of "$WORK/$1")/base_torch.pth"
}
# Run Python in venv $1 from an empty directory, so that nothing of the source tree can be imported.
in_venv() { local venv=$WORK/$1; shift; (cd "$WORK/empty" && "$venv/bin/python" "$@"); }
mkdir "$WORK/empty"
FROM_WHEEL='
import importlib, os, sys, sysconfig
site = os.path.realpath(sysconfig.get_paths()["purelib"])
for name in sys.argv[1:]:
    mod = importlib.import_module(name)
    path = os.path.realpath(getattr(mod, "__file__", None) or "?")
    assert path.startswith(site + os.sep), f"{name} imported from {path}, not from the installed wheel in {site}"
print("[release]   imports from the wheel:", ", ".join(sys.argv[1:]))
'

log "core: the bare wheel, then its test extra; core tests against the installed package"
new_venv core
pip_in "$WORK/core" "$WHEEL"
in_venv core -c "$FROM_WHEEL" adaptive_sampling adaptive_sampling._distribution adaptive_sampling.cli
in_venv core -c "
import adaptive_sampling, importlib.metadata as md
assert adaptive_sampling.__version__ == md.version('$DIST'), (adaptive_sampling.__version__, md.version('$DIST'))
print('[release]   $DIST', adaptive_sampling.__version__)"
"$WORK/core/bin/adaptive-sampling" --help >/dev/null
pip_in "$WORK/core" "$WHEEL[test]"
in_venv core -c "$FROM_WHEEL" pytest hypothesis numpy
mkdir -p "$WORK/run/tests"
cp "$REPO/pyproject.toml" "$WORK/run/"   # the pytest settings; no package lies beside it
cp -r "$REPO"/tests/{conftest.py,_gloo.py,core,release,data} "$WORK/run/tests/"
cat >"$WORK/run/release_guard.py" <<'PY'
"""pytest plugin: the tests must exercise the installed wheel, not a source tree."""
import os
import sysconfig


def _check():
    import adaptive_sampling

    site = os.path.realpath(sysconfig.get_paths()["purelib"])
    path = os.path.realpath(adaptive_sampling.__file__)
    if not path.startswith(site + os.sep):
        raise SystemExit(f"[release] ERROR: adaptive_sampling imported from {path}, not from the wheel in {site}")
    return path


def pytest_report_header(config):
    return f"adaptive_sampling from {_check()}"


def pytest_sessionfinish(session, exitstatus):
    _check()
PY
# hypothesis's dev profile even in CI: the derandomised ci profile already ran on the same code in scripts/test.sh
(cd "$WORK/run" && env -u CI PYTHONPATH="$WORK/run" "$WORK/core/bin/python" -m pytest -q -p release_guard \
    -p no:cacheprovider tests/core tests/release)

log "extras, each alone in its own venv, and Isaac Lab (in parallel; each writes its own log)"
check_extra() {   # extra, then the modules it promises
    local extra=$1; shift
    new_venv "x-$extra"
    pip_in "$WORK/x-$extra" "$WHEEL[$extra]"
    in_venv "x-$extra" -c "$FROM_WHEEL" "$@"
}
check_rsl_rl() { check_extra rsl-rl rsl_rl tensorboard numpy adaptive_sampling_rsl_rl adaptive_sampling_rsl_rl.runner; }
check_plot() {
    check_extra plot matplotlib numpy adaptive_sampling.plot
    in_venv x-plot -c "
import torch
from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
torch.save(AdaptiveSampler(AdaptiveSamplerCfg(), [100, 60], [50.0, 30.0]).state_dict(), 'state.pt')"
    (cd "$WORK/empty" && "$WORK/x-plot/bin/adaptive-sampling" plot state.pt -o heat.png && test -s heat.png)
}
check_motions() {
    check_extra motions mujoco numpy tqdm adaptive_sampling_motions adaptive_sampling_motions.convert \
        adaptive_sampling_motions.kinematics adaptive_sampling_motions.validation adaptive_sampling_motions.cli
    "$WORK/x-motions/bin/adaptive-sampling" motions --help >/dev/null
}
check_onnx() {
    check_extra onnx onnx onnxruntime onnxscript numpy adaptive_sampling_rsl_rl.onnx_policy adaptive_sampling_rsl_rl.export
}
check_mjlab() {   # mjlab pins mujoco/warp/rsl-rl versions of its own: the integration from the wheel in its own venv
    check_extra mjlab mjlab mujoco_warp rsl_rl adaptive_sampling_mjlab adaptive_sampling_mjlab.command \
        adaptive_sampling_mjlab.tasks adaptive_sampling_mjlab.runner
}
check_bench() { check_extra bench numpy scipy matplotlib rsl_rl tensorboard adaptive_sampling_rsl_rl; }
check_isaaclab() {
    new_venv isaaclab
    # rsl-rl and motions first, so that setup_isaaclab.sh finds the project installed and never installs the source
    pip_in "$WORK/isaaclab" "$WHEEL[rsl-rl,motions]"
    bash "$REPO/scripts/setup_isaaclab.sh" "$WORK/isaaclab"
    in_venv isaaclab -c "$FROM_WHEEL" adaptive_sampling adaptive_sampling_rsl_rl adaptive_sampling_isaaclab \
        adaptive_sampling_isaaclab.command adaptive_sampling_isaaclab.tracking_env_cfg adaptive_sampling_isaaclab.mdp
    in_venv isaaclab -c "
from adaptive_sampling_motions.clips import resolve_motion_files
from adaptive_sampling_isaaclab.assets import demo_motions_dir
files = resolve_motion_files(str(demo_motions_dir()))
assert len(files) == 4, files
print('[release]   demo motions shipped in the wheel:', len(files))"
}
checks=(rsl_rl plot motions onnx bench mjlab isaaclab)
[ "${SKIP_ISAACLAB:-0}" = "1" ] && { checks=("${checks[@]:0:6}"); log "Isaac Lab: skipped (SKIP_ISAACLAB=1)"; }
declare -A pids
for c in "${checks[@]}"; do (set -e; "check_$c") >"$WORK/check_$c.log" 2>&1 & pids[$c]=$!; done
failed=()
for c in "${checks[@]}"; do
    if wait "${pids[$c]}"; then
        log "$c: OK"; grep '^\[release\]' "$WORK/check_$c.log" || true
    else
        failed+=("$c"); log "$c: FAILED"; tail -40 "$WORK/check_$c.log"
    fi
done
[ ${#failed[@]} -eq 0 ] || { log "ERROR: failed: ${failed[*]}"; exit 1; }

if [ -n "${DIST_DIR:-}" ]; then
    mkdir -p "$DIST_DIR" && cp "$WHEEL" "$SDIST" "$DIST_DIR/" && log "checked files copied to $DIST_DIR/"
fi
log "OK: $DIST $(basename "$WHEEL") passed the release check in $((SECONDS - START)) s"
