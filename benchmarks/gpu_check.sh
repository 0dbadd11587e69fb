#!/usr/bin/env bash
# The GPU check: everything tinynet claims about CuPy, run once on a machine with an
# NVIDIA GPU, every result in one folder, in under 8 minutes.
#
#   bash benchmarks/gpu_check.sh [--dry-run] [OUT_DIR]      # OUT_DIR default: gpu_check_out
#
# From the project root (it cds there itself). Needs CuPy with a working GPU; uses
# PyTorch (CUDA), pytest, hypothesis, matplotlib and tqdm when installed; installs
# nothing and downloads nothing; array-api-strict may be absent (its tests skip).
# The checkout's tinynet is used (PYTHONPATH=.), not an installed one. Steps:
#   1. env           versions, nvidia-smi, the GPU CuPy sees
#   2. pytest-cupy   the engine's tests on the cupy backend (pytest -k cupy: the
#                    tests parametrised over backends; conftest runs cupy where it imports)
#   3. train_step    benchmarks/train_step.py --backend cupy (tinynet vs PyTorch CUDA)
#   4. sweep         benchmarks/sweep.py --backend cupy, K = 1 ... 4096
#   5. reproduce     python -m tinynet reproduce --backend cupy --quick
# Each step has its own timeout (and all of them share an overall budget of
# BUDGET_S seconds), a failing or timed-out step does not stop the others, and a
# summary (also OUT_DIR/summary.txt) ends the run. Exit status: 0 when every step
# passed, 1 when one failed, 0 with a "no GPU" line when CuPy cannot see a GPU
# (nothing is run then), 2 for bad arguments.
# --dry-run: print the plan and the commands and exit 0 without running them.
# PYTHON=/path/to/python picks the interpreter (default: python, else python3).

set -u
cd "$(dirname "$0")/.." || exit 2

DRY_RUN=0
OUT=""
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "gpu_check.sh: unknown option $arg (expected --dry-run, --help)" >&2; exit 2 ;;
        *) if [ -n "$OUT" ]; then
               echo "gpu_check.sh: one output folder only, got '$OUT' and '$arg'" >&2; exit 2
           fi
           OUT="$arg" ;;
    esac
done
OUT="${OUT:-gpu_check_out}"
BUDGET_S="${BUDGET_S:-450}"   # all steps together; leaves room under 8 minutes
KILL_AFTER=10                 # seconds between TERM and KILL of a timed-out step

if [ -z "${PYTHON:-}" ]; then
    if command -v python >/dev/null 2>&1; then PYTHON=python; else PYTHON=python3; fi
fi
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg
export PYTHONDONTWRITEBYTECODE=1

# name | timeout in seconds | command (run with bash -c, from the project root)
STEPS=(
    "env|30|$PYTHON -c 'import sys, numpy, cupy; print(sys.version); print(\"numpy\", numpy.__version__); print(\"cupy\", cupy.__version__); import cupy.cuda.runtime as r; p = r.getDeviceProperties(0); print(\"gpu\", p[\"name\"], r.getDeviceCount(), \"device(s)\")'; $PYTHON -c 'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.cuda.is_available())' || true; nvidia-smi || true"
    "pytest-cupy|170|$PYTHON -m pytest -v -p no:cacheprovider -k cupy -rfEs --durations=10 tests/"
    "train_step|80|$PYTHON benchmarks/train_step.py --backend cupy --json $OUT/train_step-cupy.json"
    "sweep|130|$PYTHON benchmarks/sweep.py --backend cupy --ks 1,16,64,256,1024,4096 --json $OUT/sweep-cupy.json"
    "reproduce|60|if $PYTHON -m tinynet reproduce --help 2>&1 | grep -q -- --backend; then $PYTHON -m tinynet reproduce --backend cupy --quick --no-progress --out $OUT/reproduce; else echo 'tinynet reproduce has no --backend option in this checkout: skipped'; exit 3; fi"
)

if [ "$DRY_RUN" = 1 ]; then
    echo "gpu_check.sh --dry-run: would write to $OUT/ with $PYTHON (PYTHONPATH=$PYTHONPATH)"
    for step in "${STEPS[@]}"; do
        IFS='|' read -r name limit cmd <<<"$step"
        printf '  %-12s timeout %3ss: %s\n' "$name" "$limit" "$cmd"
    done
    echo "overall budget ${BUDGET_S}s; nothing was run."
    exit 0
fi

mkdir -p "$OUT" || exit 2
if ! gpu_note=$($PYTHON -c 'import cupy; n = cupy.cuda.runtime.getDeviceCount(); assert n > 0, "0 devices"; print(n)' 2>&1); then
    msg="gpu_check.sh: no GPU check here: CuPy cannot see a CUDA GPU ($(echo "$gpu_note" | tail -n 1)). Nothing was run; on a GPU machine: pip install \"tinynet[gpu]\" (or cupy-cuda12x) first."
    echo "$msg"
    echo "$msg" >"$OUT/summary.txt"
    exit 0
fi

START=$SECONDS
RESULTS=()
FAILED=0
for step in "${STEPS[@]}"; do
    IFS='|' read -r name limit cmd <<<"$step"
    left=$(( BUDGET_S - (SECONDS - START) ))
    log="$OUT/$name.log"
    if [ "$left" -lt 15 ]; then
        RESULTS+=("$(printf '%-12s %-22s %5s  %s' "$name" "SKIPPED (no time left)" "-" "$log")")
        FAILED=1
        continue
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "=== $name (timeout ${limit}s) ==="
    echo "\$ $cmd" >"$log"
    t0=$SECONDS
    timeout -k "$KILL_AFTER" "$limit" bash -c "$cmd" >>"$log" 2>&1
    rc=$?
    took=$(( SECONDS - t0 ))
    case $rc in
        0) status="ok" ;;
        124|137) status="TIMEOUT after ${limit}s"; FAILED=1 ;;
        3) status="SKIPPED (see log)"; FAILED=1 ;;
        *) status="FAILED (exit $rc)"; FAILED=1 ;;
    esac
    tail -n 5 "$log"
    RESULTS+=("$(printf '%-12s %-22s %4ss  %s' "$name" "$status" "$took" "$log")")
done

{
    echo "gpu_check summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(( SECONDS - START ))s in all):"
    for line in "${RESULTS[@]}"; do echo "  $line"; done
    pytest_tail=$(grep -E '(passed|failed|error)' "$OUT/pytest-cupy.log" 2>/dev/null | tail -n 1)
    [ -n "$pytest_tail" ] && echo "  pytest: $pytest_tail"
} | tee "$OUT/summary.txt"
exit $FAILED
