# Helpers shared by the set-up scripts; sourced, not run. The sourcing script sets PY (the venv's python) and defines
# log() first.

# have SPEC...: whether every distribution is installed in $PY's environment (SPEC: name or name==version; a local
# version suffix such as +cpu is ignored).
have() { "$PY" - "$@" <<'PY' 2>/dev/null
import sys
from importlib import metadata
for spec in sys.argv[1:]:
    name, _, version = spec.partition("==")
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if version and found.split("+")[0] != version:
        sys.exit(1)
PY
}

# pip_quiet ARGS...: $PY's pip, quiet, with its exit status kept; dropped from its stderr: this machine's local-index
# noise and the lines matching the grep -e patterns in the caller's PIP_NOISE array.
pip_quiet() {
    "$PY" -m pip --disable-pip-version-check -q "$@" 2> >(grep -v -e '^WARNING: Location' "${PIP_NOISE[@]}" >&2)
}

# ensure_torch VERSION: install torch==VERSION (the CPU wheel here) unless it is present.
ensure_torch() {
    if have "torch==$1"; then
        log "torch $1 present"
    else
        log "installing torch==$1 (CPU)"
        pip_quiet install "torch==$1"
    fi
}
