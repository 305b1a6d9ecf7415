#!/usr/bin/env bash
# Install the CPU Isaac Lab 3.0 stack (kit-less: Newton + MuJoCo-Warp, no Isaac Sim) into a venv, pinned, and
# prepare the local assets the G1 task needs: the Unitree G1 as USD (converted from the MJCF that the mjlab wheel
# ships) and a ground-plane .usda, so nothing is fetched from NVIDIA's asset servers.
#
# Usage: scripts/setup_isaaclab.sh [VENV]     (VENV defaults to .venv; created if missing)
#
# Idempotent: every step checks whether its result is already there and skips it. Asset files are written into a
# temporary directory and renamed into place, so an interrupted run leaves either the complete result or nothing.
# Cache: ${ADAPTIVE_SAMPLING_CACHE:-~/.cache/adaptive_sampling}/isaaclab/
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-.venv}"
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
CACHE="${ADAPTIVE_SAMPLING_CACHE:-$HOME/.cache/adaptive_sampling}"
ASSETS="$CACHE/isaaclab"

TORCH_VERSION="2.13.0"
ISAACLAB_VERSION="3.0.0"
WARP_VERSION="1.17.0"
NEWTON_VERSION="1.6.1"
USD_EXCHANGE_VERSION="3.0.1"
MUJOCO_USD_CONVERTER_VERSION="0.6.1"   # the only release that matches newton 1.6.1's mujoco
RSL_RL_VERSION="5.5.1"

# shellcheck source=scripts/_lib.sh
source "$REPO/scripts/_lib.sh"
log() { printf '[setup_isaaclab] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
# pip's resolver report on Isaac Lab's own pins (torch==2.11.0, Python 3.12, its full dependency set) is hidden: this
# script overrides them on purpose.
PIP_NOISE=(-e "^ERROR: pip's dependency resolver" -e '^isaaclab [0-9.]* requires ')
pins_said=""
say_pins() {
    [ -n "$pins_said" ] && return 0
    log "note: Isaac Lab $ISAACLAB_VERSION's own pins (torch==2.11.0, Python 3.12, its full dependency set) are" \
        "overridden on purpose; pip's resolver report about them is hidden"
    pins_said=1
}

CONSTRAINTS="$(mktemp)"
WORK="$(mktemp -d)"
trap 'rm -rf "$CONSTRAINTS" "$WORK"' EXIT
# Isaac Lab 3.0.0 pins torch==2.11.0 (and Python 3.12); it runs with torch 2.13.0 on 3.11 all the same. Never let
# pip resolve torch on its own: anything else pulls a multi-GB CUDA build.
echo "torch==$TORCH_VERSION" > "$CONSTRAINTS"

ensure_torch "$TORCH_VERSION"

# An editable install made before a package had its __init__.py maps it as a namespace package (no __file__):
# treat that as not installed.
if "$PY" -c "
import adaptive_sampling as a, adaptive_sampling_isaaclab as b, adaptive_sampling_motions as c, adaptive_sampling_rsl_rl as d
assert all(m.__file__ for m in (a, b, c, d)) and a.AdaptiveSampler and d.AdaptiveSamplingRunner
" 2>/dev/null; then
    log "adaptive-sampling-rl present"
else
    log "installing adaptive-sampling-rl (editable) from $REPO"
    pip_quiet install -e "$REPO[test,rsl-rl,plot]" -c "$CONSTRAINTS"
fi

if have "isaaclab==$ISAACLAB_VERSION"; then
    log "isaaclab $ISAACLAB_VERSION present"
else
    log "installing isaaclab $ISAACLAB_VERSION (wheel only; its python/torch pins are ignored on purpose)"
    say_pins
    pip_quiet download --no-deps --python-version 3.12 --only-binary=:all: "isaaclab==$ISAACLAB_VERSION" -d "$WORK/wheel"
    pip_quiet install --no-deps --ignore-requires-python "$WORK"/wheel/isaaclab-"$ISAACLAB_VERSION"-*.whl
fi

DEPS=(
    "lazy_loader>=0.4" numpy prettytable "warp-lang==$WARP_VERSION" "gymnasium>=1.2.0" rich pyyaml
    "rsl-rl-lib==$RSL_RL_VERSION" "newton[sim]==$NEWTON_VERSION" "usd-exchange==$USD_EXCHANGE_VERSION" hydra-core
    newton-usd-schemas "mujoco-usd-converter==$MUJOCO_USD_CONVERTER_VERSION" matplotlib tensorboard
)
if have "warp-lang==$WARP_VERSION" "newton==$NEWTON_VERSION" "usd-exchange==$USD_EXCHANGE_VERSION" \
        "mujoco-usd-converter==$MUJOCO_USD_CONVERTER_VERSION" "rsl-rl-lib==$RSL_RL_VERSION" gymnasium hydra-core \
        newton-usd-schemas lazy_loader prettytable rich pyyaml matplotlib tensorboard; then
    log "Isaac Lab dependencies present"
else
    log "installing Isaac Lab dependencies (pinned)"
    say_pins
    # Two steps, as in the recipe that was seen to resolve: the light deps first, then Newton and USD.
    pip_quiet install "${DEPS[@]:0:7}" -c "$CONSTRAINTS"
    pip_quiet install "${DEPS[@]:7}" -c "$CONSTRAINTS"
fi

log "checking the stack imports"
"$PY" -c "import isaaclab, isaaclab_newton, isaaclab_rl, newton, warp, pxr, mujoco_usd_converter, rsl_rl" \
    || { log "ERROR: the Isaac Lab stack does not import in $VENV"; exit 1; }

mkdir -p "$ASSETS"

# The G1 as USD. The MJCF comes from the mjlab wheel (downloaded on first use by adaptive_sampling_motions).
G1_DIR="$ASSETS/g1"
if [ -f "$G1_DIR/.complete" ]; then
    log "G1 USD present: $G1_DIR"
else
    MJCF="$("$PY" -m adaptive_sampling_motions.assets)"
    log "converting $MJCF to USD"
    STAGE="$(mktemp -d "$ASSETS/g1.tmp.XXXXXX")"
    "$VENV/bin/mujoco_usd_converter" "$MJCF" "$STAGE" > "$STAGE.log" 2>&1 \
        || { cat "$STAGE.log"; rm -rf "$STAGE" "$STAGE.log"; log "ERROR: mujoco_usd_converter failed"; exit 1; }
    rm -f "$STAGE.log"
    ls "$STAGE"/*.usd* > /dev/null 2>&1 || { rm -rf "$STAGE"; log "ERROR: the converter wrote no .usd file"; exit 1; }
    chmod 755 "$STAGE"
    touch "$STAGE/.complete"
    rm -rf "$G1_DIR"   # an incomplete earlier attempt (no .complete marker)
    # -T: never move into a folder that a concurrent run completed meanwhile; keep theirs then
    mv -T "$STAGE" "$G1_DIR" 2>/dev/null || rm -rf "$STAGE"
    [ -f "$G1_DIR/.complete" ] || { log "ERROR: could not place the G1 USD in $G1_DIR"; exit 1; }
    log "G1 USD written: $G1_DIR"
fi

# A ground plane without NVIDIA's cloud asset: an Xform holding a large collision plane.
GROUND="$ASSETS/ground_plane.usda"
if [ -f "$GROUND" ]; then
    log "ground plane present: $GROUND"
else
    TMP_GROUND="$(mktemp "$ASSETS/ground_plane.XXXXXX.usda")"
    cat > "$TMP_GROUND" <<'USDA'
#usda 1.0
(
    defaultPrim = "GroundPlane"
    metersPerUnit = 1
    upAxis = "Z"
)

def Xform "GroundPlane"
{
    def Plane "CollisionPlane" (
        prepend apiSchemas = ["PhysicsCollisionAPI"]
    )
    {
        uniform token axis = "Z"
        double length = 200
        double width = 200
        uniform token purpose = "default"
    }
}
USDA
    mv "$TMP_GROUND" "$GROUND"
    log "ground plane written: $GROUND"
fi

"$PY" - "$ASSETS" <<'PY'
import pathlib
import sys

from pxr import Usd

assets = pathlib.Path(sys.argv[1])
for path in [*sorted((assets / "g1").glob("*.usd*"))[:1], assets / "ground_plane.usda"]:
    if Usd.Stage.Open(str(path)) is None:
        raise SystemExit(f"[setup_isaaclab] ERROR: {path} does not open as a USD stage")
PY
log "done: venv $VENV, assets in $ASSETS"
