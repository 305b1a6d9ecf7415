#!/usr/bin/env bash
# The test command: set up everything (venv, project, Isaac Lab CPU stack) and run the whole test suite; then the
# mjlab-marked tests in their own venv (.venv-mjlab, scripts/setup_mjlab.sh).
# Usage: bash scripts/test.sh [pytest args...]   (SKIP_MJLAB=1: without the mjlab step in .venv-mjlab)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bash scripts/setup.sh "$VENV"
if [ -f scripts/setup_isaaclab.sh ] && [ "${SKIP_ISAACLAB:-0}" != "1" ]; then
  bash scripts/setup_isaaclab.sh "$VENV"
fi
export OMP_NUM_THREADS=1
status=0
"$VENV/bin/python" -m pytest -q "$@" || status=$?
# mjlab pins mujoco / warp / rsl-rl versions that clash with Isaac Lab's: its tests run in their own venv, after the rest
if [ -f scripts/setup_mjlab.sh ] && [ "${SKIP_MJLAB:-0}" != "1" ]; then
  MJLAB_VENV=${MJLAB_VENV:-.venv-mjlab}
  bash scripts/setup_mjlab.sh "$MJLAB_VENV"
  "$MJLAB_VENV/bin/python" -m pytest -q -m mjlab tests/mjlab || status=$?
fi
exit $status
