#!/usr/bin/env bash
# The GPU figures of the README's Performance table in one call of about 9 minutes, most important first.
# Every part rewrites its JSON after each row and gets only what is left of BUDGET_S, so a call cut short
# keeps everything that finished (a part's configurations it could not start are written as skipped; a part
# that could not start at all leaves a line in suite.log and no JSON).
#
#   OUT=/path/for/results bash bench/gpu_suite.sh          # then: python -m bench.report /path/for/results
#
# Environment: OUT (default bench/results/gpu), BUDGET_S (default 540), PYTHON (default python3),
# PEAK_TFLOPS / PEAK_TFLOPS_FP32 (default 989 / 495: H100 SXM and H200 dense bf16 / tf32), CONFIG (default:
# the ResNet-50 model), SIZE (default 320). CONFIG=test SIZE=64 runs the suite with the tiny model as a CPU
# smoke test. BENCH_COMMIT names the commit in the JSON where the copy of the tree has no .git folder.
# Needs jax (CUDA), flax, optax, orbax-checkpoint, ml-collections, numpy, opencv; torch for the peer rows;
# no TensorFlow. Wheels of missing pure-Python packages placed in .whl/ are installed first (offline): the
# device machines of this project's workplace have no ml-collections, so carry .whl/ holding its wheel there
# (`pip download --no-deps --only-binary=:all: -d .whl ml-collections`).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/gpu}
BUDGET_S=${BUDGET_S:-540}
PY=${PYTHON:-python3}
PEAK=${PEAK_TFLOPS:-989}
PEAK32=${PEAK_TFLOPS_FP32:-495}
CONFIG=${CONFIG:-default}
SIZE=${SIZE:-320}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
start=$SECONDS

if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
CONFIG=$CONFIG "$PY" - <<'EOF' || exit 1
import importlib.util, os, sys
missing = [m for m in ("jax", "flax", "optax", "orbax.checkpoint", "ml_collections", "numpy", "cv2")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"bench/gpu_suite.sh: missing Python packages: {', '.join(missing)} (put their wheels in .whl/)")
import jax
print("jax", jax.__version__, jax.devices())
# JAX falls back to the CPU with only a warning: minutes of ResNet-50 on a CPU would spend the whole lease.
if os.environ["CONFIG"] != "test" and jax.default_backend() != "gpu":
    sys.exit(f"bench/gpu_suite.sh: JAX runs on {jax.default_backend()}, not a GPU (CONFIG=test for a CPU smoke test)")
try:
    import torch
    print("torch", torch.__version__, "CUDA", torch.cuda.is_available())
    if not torch.cuda.is_available():
        print("WARNING: torch sees no GPU: its peer rows (device 'cpu') are no GPU comparison")
except ImportError:
    print("torch not installed: no PyTorch peer rows")
EOF
# One log for everything: the device tool brings back at most 8 files (this log and seven JSON files).
LOG=$OUT/suite.log
(nvidia-smi; nvidia-smi -q -d CLOCK) >>"$LOG" 2>&1 || true

left() { echo $((BUDGET_S - (SECONDS - start))); }

part() {  # part NAME SCRIPT ARGS...: run one bench with what is left of the budget
    local name=$1 left_s
    shift
    left_s=$(left)
    if ((left_s < 20)); then
        echo "== $name: skipped, budget spent" | tee -a "$LOG"
        return
    fi
    echo "== $name ($left_s s left): $*" | tee -a "$LOG"
    # The benches stop starting work at the budget; `timeout` also ends one that hangs well past it.
    timeout -k 10 $((left_s + 15)) "$PY" "$@" --config "$CONFIG" --budget-s "$left_s" --out "$OUT/$name.json" 2>&1 \
        | tee -a "$LOG" | grep --line-buffered -v '^\s*$'
    local rc=${PIPESTATUS[0]}
    ((rc == 0)) || echo "== $name: exit status $rc (124/137: killed at its time limit)" | tee -a "$LOG"
}

# 1. The headline target: bf16, 320 px, output stride 16, batch 32 (MFU), beside PyTorch eager.
part train_bf16_os16_b32 -m bench.train_step --peer --peer-variants eager --sizes $SIZE --batches 32 \
    --dtypes bfloat16 --strides 16 --peak-tflops "$PEAK"
# 2. 2048x2048 prediction in bf16 and fp32, and no recompile for other sizes of its 64-px bucket.
part inference_2048 -m bench.inference --sizes 2048x2048 --dtypes bfloat16,float32 \
    --mixed 2048x2048,2000x2040,1990x2048,2048x1985
# 3. The memory target: batch 32 at output stride 8 (JAX only).
part train_os8_b32 -m bench.train_step --sizes $SIZE --batches 32 --dtypes bfloat16,float32 --strides 8 \
    --peak-tflops "$PEAK" --peak-tflops-fp32 "$PEAK32"
# 4. torch.compile for the headline configuration (its compile takes minutes, so after the targets above;
#    python -m bench.report sets it beside part 1's JAX row).
part peer_compile_bf16_os16_b32 -m bench.peer_torch --variants compile --sizes $SIZE --batches 32 \
    --dtypes bfloat16 --strides 16 --warmup 5 --steps 30
# 5. The rest of the step table, beside PyTorch eager, and the other prediction sizes.
part train_bf16_small -m bench.train_step --peer --peer-variants eager --sizes $SIZE --batches 1,8 \
    --dtypes bfloat16 --strides 16 --peak-tflops "$PEAK"
part train_fp32_os16 -m bench.train_step --peer --peer-variants eager --sizes $SIZE --batches 1,8,32 \
    --dtypes float32 --strides 16 --peak-tflops "$PEAK32"
part inference_other -m bench.inference --sizes 800x800,1080x1920 --dtypes bfloat16,float32 --mixed ''
echo "== done in $((SECONDS - start)) s; results in $OUT" | tee -a "$LOG"
