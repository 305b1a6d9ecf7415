#!/usr/bin/env bash
# The main job on its embedded default: set everything up (venv, project, the pinned CPU Isaac Lab 3.0 stack,
# the local G1), then train the G1 multi-motion tracker with PPO and the adaptive sampler on the shipped demo
# motions, on the CPU, printing PPO progress and the sampler's metrics, and writing checkpoints (with the sampler
# state) and the sampler heatmap under logs/rsl_rl/.
# Usage: bash scripts/main.sh [train.py args...]   (default: --max_iterations 20; e.g. --num_envs 32)
#        MAIN=demo bash scripts/main.sh             (the 2-second toy demo of the core alone, no Isaac Lab)
#        SIM=mjlab bash scripts/main.sh [integrations/mjlab/train.py args...]
#                                                   (the same training in mjlab, in .venv-mjlab; default:
#                                                   --env.scene.num-envs 16 --agent.max-iterations 20)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export OMP_NUM_THREADS=1
if [ "${SIM:-isaaclab}" = "mjlab" ]; then
  MJLAB_VENV=${MJLAB_VENV:-.venv-mjlab}
  bash scripts/setup_mjlab.sh "$MJLAB_VENV"
  if [ $# -eq 0 ]; then
    set -- --env.scene.num-envs 16 --agent.max-iterations 20
  fi
  exec "$MJLAB_VENV/bin/python" integrations/mjlab/train.py "$@"
fi
# The editable install reads the sources in place: it is current until pyproject.toml changes (or the venv is new),
# so a stamp of pyproject.toml, $EXTRAS and this checkout's path skips the 10 s `pip install -e` of scripts/setup.sh.
stamp="$VENV/.adaptive-sampling-install"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1) ${EXTRAS:-default extras} $PWD"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && "$VENV/bin/python" -c "
import importlib.util as u, pathlib, sys
# looked up, not imported (importing torch takes seconds)
core, torch = u.find_spec('adaptive_sampling'), u.find_spec('torch')
sys.exit(not (core and torch) or pathlib.Path(core.origin).parent != pathlib.Path('adaptive_sampling').resolve())
" 2>/dev/null; then
  echo "[main] adaptive-sampling is installed from this checkout and current; skipping scripts/setup.sh"
else
  bash scripts/setup.sh "$VENV"
  echo "$wanted" >"$stamp"
fi
if [ "${MAIN:-train}" = "demo" ]; then
  exec "$VENV/bin/python" -m adaptive_sampling.demo "$@"
fi
bash scripts/setup_isaaclab.sh "$VENV"
if [ $# -eq 0 ]; then
  set -- --max_iterations 20
fi
echo "[main] training: about a minute passes before the first PPO line (the simulation starts in ~45 s;" \
  "on a first run Warp also compiles its kernels, ~25 s, cached in ~/.cache/warp for later runs); the run ends" \
  "with [summary] lines: what it learned, where the sampler puts its mass and why, where its outputs are"
exec "$VENV/bin/python" integrations/isaaclab/train.py --headless "$@"
