#!/usr/bin/env bash
# The main job on its embedded default: set up, then run the demo.
# Usage: bash scripts/main.sh [demo args...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-test,rsl-rl,plot,motions} bash scripts/setup.sh "$VENV"
export OMP_NUM_THREADS=1
exec "$VENV/bin/python" -m adaptive_sampling.demo "$@"
