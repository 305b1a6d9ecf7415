#!/usr/bin/env bash
# The GPU check. 1) The CUDA tests of the core (tests/core/test_core_cuda.py: CPU parity, exact draws, no host sync
# under torch.cuda.set_sync_debug_mode("error"), CUDA-graph replay == eager calls, device-portable states) and the
# README's CUDA example; 2) the speed benchmark on CUDA (speed_cuda.json, with the CUDA-graph column); 3) the rest of
# the core tests on that machine's torch. TESTS_TIMEOUT, SPEED_TIMEOUT, CORE_TIMEOUT: seconds, 0 skips the part;
# SPEED_ARGS: passed to speed.py. Run from the repository root on a machine with a GPU and PyTorch (nothing else to
# install: the core imports only torch). Usage: bash scripts/gpu_check.sh [OUT_DIR]
set -uo pipefail
out="${1:-gpu_check_out}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py="${PYTHON:-python3}"
nvidia-smi -L 2>&1 | tee "$out/machine.txt"
"$py" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', \
    torch.version.cuda, torch.cuda.get_device_name(0))" 2>&1 | tee -a "$out/machine.txt"
timeout "${TESTS_TIMEOUT:-240}" "$py" -m pytest -p no:cacheprovider -q -rfE tests/core/test_core_cuda.py \
    tests/core/test_core_readme.py --junitxml="$out/cuda_tests.xml" 2>&1 | tee "$out/cuda_tests.log"
echo "cuda tests rc ${PIPESTATUS[0]}"
if [ "${SPEED_TIMEOUT:-330}" -gt 0 ]; then
    # shellcheck disable=SC2086 # SPEED_ARGS is a list of arguments
    timeout "${SPEED_TIMEOUT:-330}" "$py" benchmarks/speed.py --device cuda ${SPEED_ARGS:-} --out "$out/speed_cuda.json" \
        2>&1 | tee "$out/speed_cuda.log"
    echo "speed rc ${PIPESTATUS[0]}"
fi
if [ "${CORE_TIMEOUT:-90}" -gt 0 ]; then
    timeout "${CORE_TIMEOUT:-90}" "$py" -m pytest -p no:cacheprovider -q -x -n 8 tests/core \
        --ignore=tests/core/test_core_cuda.py 2>&1 | tail -5 | tee "$out/core_tests.log"
    echo "core tests rc ${PIPESTATUS[0]}"
fi
