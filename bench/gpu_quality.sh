#!/usr/bin/env bash
# The Quality recipe at GPU scale (configs/alphamatting_gpu.py) on one accelerator host without TensorFlow,
# trained and scored in one call of about 9 minutes: train.py (composites made on the accelerator), then
# python -m bench.quality on the held-out photos with both trimaps, the model only (closed-form is scored on a
# CPU: pymatting is not on these hosts), with flip TTA too if TTA=1.
#
#   SHARED=../shared/data OUT=/path/for/results bash bench/gpu_quality.sh
#
# Needs data/am-train (README, Quality). The run is stopped, and saved, at BUDGET_S - RESERVE_S seconds if
# it has not finished; the checkpoint it reached is scored. OUT gets suite.log and results.tgz (the run's
# metrics.jsonl and config.json, the quality folders with every matte): the device tool brings back at most
# 8 files, and the checkpoints are too large to bring back.
# Environment: OUT, SHARED (folder holding alphamatting/ and backgrounds/), BUDGET_S (default 570),
# RESERVE_S (default 50; 110 with TTA=1), PYTHON (default python3), ARGS (more --config overrides). Wheels in
# .whl/ are installed first (offline): this project's GPU hosts lack ml-collections and tensorboardX.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/gpu-quality}
SHARED=${SHARED:-../shared/data}
BUDGET_S=${BUDGET_S:-570}
TTA=${TTA:-0}
RESERVE_S=${RESERVE_S:-$([ "$TTA" = 1 ] && echo 110 || echo 50)}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
# Shared by the run's validations and python -m bench.quality, so the held-out photos' shapes compile once.
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/jax-cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
start=$SECONDS
TRAIN_S=$((BUDGET_S - RESERVE_S))
((TRAIN_S > 0)) || { echo "BUDGET_S=$BUDGET_S leaves no training time after RESERVE_S=$RESERVE_S" >&2; exit 2; }
mkdir -p "$OUT" || exit 1
LOG=$OUT/suite.log
WORK=$(mktemp -d) || exit 1
trap 'rm -rf "$WORK"' EXIT
say() { echo "== $* ($((SECONDS - start)) s)" | tee -a "$LOG"; }

if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
(nvidia-smi; "$PY" -c "import jax; print('jax', jax.__version__, jax.devices())") >>"$LOG" 2>&1

say "train configs/alphamatting_gpu.py"
# tqdm's bar goes to its own file: tens of thousands of redraws would bury the log.
# SIGTERM makes the trainer save and exit; -k: killed 60 s later if that save hangs.
# shellcheck disable=SC2086
timeout -k 60 -s TERM "$TRAIN_S" "$PY" train.py --config configs/alphamatting_gpu.py \
    --workdir "$WORK/run" --config.data.bg_path="$SHARED/backgrounds" \
    --config.data.val_path="$SHARED/alphamatting" ${ARGS:-} >>"$LOG" 2>"$WORK/progress.log"
train_rc=$?
say "train exit status $train_rc (124: stopped at its time limit, saved)"
tr '\r' '\n' <"$WORK/progress.log" | grep -a -v '^train:\|^\s*$' >>"$LOG"
rc=0
((train_rc == 0 || train_rc == 124)) || rc=$train_rc
# The refined row (predict's default) needs pymatting, which GPU hosts may lack: then the network alone is
# scored here (carry the pymatting, numba and llvmlite wheels in .whl/ to score the refined matte there too).
refine=$("$PY" -c 'import pymatting' 2>/dev/null || echo --no-refine)
for tta in "" $([ "$TTA" = 1 ] && echo --tta); do
    say "quality $tta"
    "$PY" -m bench.quality --no-cf $refine --workdir "$WORK/run" --data "$SHARED/alphamatting" $tta \
        --out "$WORK/quality${tta:+-tta}" >>"$LOG" 2>&1 || { rc=1; say "quality $tta failed"; }
done
# The pictures are rebuilt on a CPU beside closed-form's mattes.
rm -rf "$WORK"/run/checkpoints "$WORK"/run/best "$WORK"/run/tensorboard "$WORK"/quality*/GT*.png "$WORK/progress.log"
tar czf "$OUT/results.tgz" -C "$WORK" . || rc=1
say "done, exit status $rc"
exit $rc
