#!/usr/bin/env bash
# Create (or update) the project's virtual environment: torch==2.13.0 first (a CPU wheel here; any other torch
# spec pulls a multi-GB CUDA build), then the project with the extras named in $EXTRAS.
# Usage: bash scripts/setup.sh [VENV]    (default .venv; EXTRAS default "test,rsl-rl,plot,motions,onnx")
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
EXTRAS=${EXTRAS:-test,rsl-rl,plot,motions,onnx}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
# pip's exit status is kept; only the noise about this machine's local package index is filtered out
pip_install() { "$VENV/bin/python" -m pip install -q "$@" 2> >(grep -v '^WARNING: Location' >&2); }
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==2.13.0" >"$constraints"
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "[setup] installing torch==2.13.0"
  pip_install torch==2.13.0
fi
# The distribution was called adaptive-sampling until 0.1.0 (now adaptive-sampling-rl): drop that editable install of
# this same source tree first (uninstalling it later would remove the shared console script)
old=$("$VENV/bin/python" -m pip show adaptive-sampling 2>/dev/null || true)
if grep -qx "Editable project location: $PWD" <<<"$old"; then
  echo "[setup] removing the editable install under the old name adaptive-sampling"
  "$VENV/bin/python" -m pip uninstall -q -y adaptive-sampling
fi
echo "[setup] installing adaptive-sampling-rl[$EXTRAS]"
pip_install -e ".[$EXTRAS]" -c "$constraints"
"$VENV/bin/python" -c "import torch, adaptive_sampling; print('[setup] torch', torch.__version__, '| adaptive_sampling', adaptive_sampling.__version__)"
