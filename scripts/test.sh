#!/usr/bin/env bash
# The test command: set up everything (venv, project, Isaac Lab CPU stack) and run the whole test suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bash scripts/setup.sh "$VENV"
if [ -f scripts/setup_isaaclab.sh ] && [ "${SKIP_ISAACLAB:-0}" != "1" ]; then
  bash scripts/setup_isaaclab.sh "$VENV"
fi
export OMP_NUM_THREADS=1
exec "$VENV/bin/python" -m pytest -q "$@"
