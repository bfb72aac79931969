#!/usr/bin/env bash
# The Quality recipe (configs/alphamatting.py) at GPU scale, on one accelerator host without TensorFlow, in
# one call of about 9 minutes: training composites made on the accelerator (data.pipeline=jax), a short
# probe run that times a step, a run sized to what is left of BUDGET_S (its cosine schedule, warm-up, GAN
# start and validations scaled with it), then bench/quality.py on the held-out photos with both trimaps,
# and with flip TTA if TTA=1 (the model only: closed-form is scored on the CPU; pymatting is not on these hosts).
#
#   SHARED=../shared/data OUT=/path/for/results bash bench/gpu_quality.sh
#
# OUT gets suite.log and results.tgz (the run's metrics.jsonl and config.json, the probe's metrics, both
# quality folders with every matte): the device tool brings back at most 8 files.
# Environment: OUT, SHARED (folder holding alphamatting/ and backgrounds/), BUDGET_S (default 540),
# PYTHON (default python3), GPU_ARGS (the recipe's GPU settings, below), PROBE_STEPS (default 60),
# RESERVE_S (seconds kept for scoring, default 90), TTA (1: also score with flip TTA). Wheels in .whl/
# are installed first (offline): the device machines lack ml-collections and tensorboardX.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/gpu-quality}
SHARED=${SHARED:-../shared/data}
BUDGET_S=${BUDGET_S:-540}
PY=${PYTHON:-python3}
PROBE_STEPS=${PROBE_STEPS:-60}
RESERVE_S=${RESERVE_S:-90}
# The recipe docstring's GPU settings: 4x the batch (learning rate by the square-root rule), 4x the crop
# area, a 2x wider network, bf16 compute.
GPU_ARGS=${GPU_ARGS:-"--config.train.batch_size=32 --config.train.lr=2e-3 --config.data.crop_size=256 \
--config.data.crop_choices=(256,) --config.model.width=32 --config.model.aspp_channels=128 \
--config.model.decoder_base=32 --config.model.dtype=bfloat16"}
export PYTHONUNBUFFERED=1
# Shared by the runs and bench/quality.py, so the held-out photos' shapes compile once.
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/jax-cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
start=$SECONDS
mkdir -p "$OUT"
LOG=$OUT/suite.log
WORK=$(mktemp -d)

if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
(nvidia-smi; "$PY" -c "import jax; print('jax', jax.__version__, jax.devices())") >>"$LOG" 2>&1
DATA_ARGS="--config.data.pipeline=jax --config.data.bg_path=$SHARED/backgrounds \
--config.data.val_path=$SHARED/alphamatting"
say() { echo "== $* ($((SECONDS - start)) s)" | tee -a "$LOG"; }

say "probe: $PROBE_STEPS steps"
probe_start=$SECONDS
# shellcheck disable=SC2086
"$PY" train.py --config configs/alphamatting.py --workdir "$WORK/probe" $DATA_ARGS $GPU_ARGS \
    --config.train.num_steps="$PROBE_STEPS" --config.train.val_every=0 --config.train.image_every=0 \
    --config.train.log_every=$((PROBE_STEPS / 3)) --config.train.ckpt_every=100000 >>"$LOG" 2>&1 \
    || { say "probe failed"; tar czf "$OUT/results.tgz" -C "$WORK" . ; exit 1; }
probe_s=$((SECONDS - probe_start))

# Steps that fit: the budget less the time spent, the main run's start-up (as long as the probe's, less its
# steps), its validations and the scoring reserve.
read -r STEPS STEP_S <<<"$("$PY" - "$WORK/probe/metrics.jsonl" "$probe_s" "$PROBE_STEPS" \
    "$((BUDGET_S - (SECONDS - start) - RESERVE_S))" <<'EOF'
import json, sys
rows = [json.loads(r) for r in open(sys.argv[1])]
step_s = rows[-1]["step_time"]  # the last window: compiled and warm
startup = float(sys.argv[2]) - int(sys.argv[3]) * step_s
left = float(sys.argv[4]) - startup - 60  # validations (the first compiles the photos' shapes)
print(max(int(left / (step_s * 1.03)) // 100 * 100, 100), step_s)
EOF
)"
say "probe took $probe_s s, $STEP_S s/step: main run of $STEPS steps"
# The CPU recipe's schedule in proportion: warm-up 200 and GAN start 800 of 7000 steps; 6 validations.
every=$((STEPS / 6))
# shellcheck disable=SC2086
timeout -s TERM $((BUDGET_S - (SECONDS - start) - RESERVE_S / 2)) \
    "$PY" train.py --config configs/alphamatting.py --workdir "$WORK/run" $DATA_ARGS $GPU_ARGS \
    --config.train.num_steps="$STEPS" --config.train.warmup_steps=$((STEPS * 2 / 70)) \
    --config.train.gan_start_step=$((STEPS * 8 / 70)) --config.train.val_every=$every \
    --config.train.ckpt_every=$every --config.train.image_every=0 >>"$LOG" 2>&1
say "main run exit status $? (124: stopped at its time limit, saved)"
for tta in "" ${TTA:+--tta}; do
    say "quality $tta"
    "$PY" bench/quality.py --no-cf --workdir "$WORK/run" --data "$SHARED/alphamatting" $tta \
        --out "$WORK/quality${tta:+-tta}" >>"$LOG" 2>&1 || say "quality $tta failed"
done
# The pictures are rebuilt on the CPU beside closed-form's mattes; the checkpoints are too large to return.
rm -rf "$WORK"/*/checkpoints "$WORK"/*/best "$WORK"/*/tensorboard "$WORK"/quality*/GT*.png
tar czf "$OUT/results.tgz" -C "$WORK" .
say "done"
