#!/usr/bin/env bash
# Build (or update) the mjlab venv: torch==2.13.0 (CPU wheel) first, then mjlab 1.6.0 pinned against it, then this
# project editable. mjlab pins mujoco ~=3.11, mujoco-warp and rsl-rl-lib 5.4.2; Isaac Lab 3.0's Newton pins other
# versions, so mjlab gets a venv of its own.
#
# Usage: bash scripts/setup_mjlab.sh [VENV]     (VENV defaults to .venv-mjlab; created if missing)
#
# Idempotent: every step checks whether its result is already there and skips it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV="${1:-.venv-mjlab}"
TORCH_VERSION="2.13.0"
TORCHVISION_VERSION="0.28.0"   # rsl-rl-lib requires torchvision; the newest one would pull a newer (CUDA) torch
MJLAB_VERSION="1.6.0"

# shellcheck source=scripts/_lib.sh
source "$REPO/scripts/_lib.sh"
log() { printf '[setup_mjlab] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
PY="$VENV/bin/python"

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
printf 'torch==%s\ntorchvision==%s\n' "$TORCH_VERSION" "$TORCHVISION_VERSION" > "$CONSTRAINTS"

PIP_NOISE=(-e 'already satisfied')

ensure_torch "$TORCH_VERSION"

if have "mjlab==$MJLAB_VERSION"; then
    log "mjlab $MJLAB_VERSION present"
else
    log "installing mjlab==$MJLAB_VERSION (torch and torchvision held by constraints)"
    pip_quiet install "mjlab==$MJLAB_VERSION" -c "$CONSTRAINTS"
fi

# The distribution was called adaptive-sampling until 0.1.0 (now adaptive-sampling-rl): drop that editable install of
# this same source tree first.
old=$("$PY" -m pip show adaptive-sampling 2>/dev/null || true)
if grep -qx "Editable project location: $REPO" <<<"$old"; then
    log "removing the editable install under the old name adaptive-sampling"
    "$PY" -m pip uninstall -q -y adaptive-sampling
fi
# An editable install made before a package existed maps it as a namespace package (no __file__): reinstall then.
if "$PY" -c "
import adaptive_sampling as a, adaptive_sampling_mjlab as b, adaptive_sampling_motions as c, adaptive_sampling_rsl_rl as d
assert all(m.__file__ for m in (a, b, c, d)) and d.AdaptiveSamplingRunner
from importlib.metadata import entry_points, version
version('adaptive-sampling-rl')
assert 'adaptive_sampling_mjlab.tasks' in [e.value for e in entry_points(group='mjlab.tasks')]
import pytest, hypothesis, onnx, onnxruntime, onnxscript
" 2>/dev/null; then
    log "adaptive-sampling-rl present"
else
    log "installing adaptive-sampling-rl[test,onnx] (editable) from $REPO"
    pip_quiet install -e ".[test,onnx]" -c "$CONSTRAINTS"
fi

have "torch==$TORCH_VERSION" || { log "ERROR: torch is no longer $TORCH_VERSION in $VENV"; exit 1; }
"$PY" -c "
import mjlab, mujoco, mujoco_warp, rsl_rl, torch, warp
from importlib import metadata
print('[setup_mjlab] mjlab', metadata.version('mjlab'), '| mujoco', mujoco.__version__, '| warp', warp.__version__,
      '| rsl-rl-lib', metadata.version('rsl-rl-lib'), '| torch', torch.__version__)
" 2> >(grep -v -i -e 'cuda' -e 'warp' >&2) || { log "ERROR: the mjlab stack does not import in $VENV"; exit 1; }
log "done: $VENV"
