#!/usr/bin/env bash
# Train candidate generators on one rented GPU for a fixed time, then measure the app's GPU path;
# everything worth keeping lands in $OUT (one tar per candidate: model/, eval/, losses, samples).
# The data comes prepared (see docs/training.md):
#
#   DATA/cuhk_student/   CUHK student pairs (train/ and test/; the test split is scored at the end)
#   DATA/pack/           python -m train.pack pairs/lfw pairs/cuhk_doodles -o DATA/pack --extra-repeats 5
#   (or both inside DATA/data.zip, unpacked first)
#
#   DATA=.data OUT=out MINUTES=7.5 WORKERS=14 CANDIDATES=R bash scripts/train_on_gpu.sh
#
# Each candidate is a plain `python -m train` run (stopped after MINUTES of training, its model
# saved: --max-minutes); CANDIDATES="A B" runs both side by side, sharing the GPU and the CPU cores
# that draw the doodles (WORKERS each). The first lease ran both and found the CPU the limit: one
# candidate trained longer is the default now. CANDIDATES="T S" MINUTES=3.75 trains a teacher T
# (R's losses, ngf 32: 10 M parameters) and then distils it into the live generator S (--teacher),
# one after the other; T's tar comes back in 15 MiB parts (cat T.tar.gz.* > T.tar.gz).
set -uo pipefail
DATA=${DATA:-.data}
OUT=${OUT:-out}
MINUTES=${MINUTES:-7.5}
WORKERS=${WORKERS:-14}
CANDIDATES=${CANDIDATES:-R}
RUNS=${RUNS:-runs}
# Doodles drawn per photo and reused over the epochs: on the last lease the CPU drawing them held
# each run to 6.7-11 steps/s (train/data.py, --doodle-variants).
VARIANTS=${VARIANTS:-3}
mkdir -p "$OUT" "$RUNS"
if [ -f "$DATA/data.zip" ]; then  # the data travelled as one file (thousands of small ones cost more)
  python3 -m zipfile -e "$DATA/data.zip" /tmp/sketch2photo-data && DATA=/tmp/sketch2photo-data
fi
export PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc
  python3 -c "import torch, PIL, numpy; from PIL import features; print('torch', torch.__version__, 'pillow', PIL.__version__, 'webp', features.check('webp'), 'numpy', numpy.__version__)"; } > "$OUT/machine.txt" 2>&1

# The bundled model's data: CUHK artist pairs x20, LFW doodle pairs (traits drawn, rare ones
# repeated), CUHK photos' doodles x5; colour hints; the live generator (ngf 16, resize-convolutions,
# 3 inverted residual blocks at 64x64); batch 32, bf16, an average of the weights saved.
COMMON=(--data "$DATA/cuhk_student" "$DATA/pack/lfw" "$DATA/pack/cuhk_doodles" --repeat 20 1 5
  --hints --amp --batch-size 32 --workers "$WORKERS" --norm instance --ngf 16 --upsample resize
  --trunk-blocks 3 --ema 0.999 --epochs 4 --epochs-decay 4 --max-minutes "$MINUTES"
  --doodle-variants "$VARIANTS"
  --save-every 1000 --sample-every 500 --log-every 100)
candidate() {  # NAME: that candidate's own settings
  case $1 in
    # A: losses for realism: hinge, a two-scale discriminator with feature matching, L1 x 10,
    # DiffAugment
    A) echo --gan-mode hinge --d-scales 2 --lambda-fm 10 --lambda-l1 10 --diffaugment ;;
    # B: the paper's loss (vanilla GAN, L1 x 100, one 70x70 PatchGAN) with feature matching
    B) echo --lambda-fm 10 ;;
    # R: A with the face-region discriminator x 2 (regions, glasses and beards named per pixel)
    # and glasses painted on half the photos without them (on the CPU the only recipe that moved
    # drawn glasses: 2 -> 9-13 levels); never trained past 3,500 CPU steps (docs/realism.md)
    R) echo "$(candidate A) --lambda-regions 2 --painted-glasses 0.5" ;;
    # T: a teacher, R's losses with four times the live generator's weights (ngf 32)
    T) echo "$(candidate R) --ngf 32" ;;
    # S: the live generator taught by T's photos (L1 x 100 on them: one photo per sketch, no blur)
    S) echo "$(candidate R) --teacher $RUNS/T/model --lambda-l1 100" ;;
    *) echo "unknown candidate $1 (A, B, R, T or S)" >&2; return 1 ;;
  esac
}
train_candidate() {  # NAME
  settings=$(candidate "$1") || return 2
  # shellcheck disable=SC2086  # the settings are words
  python3 -m train "${COMMON[@]}" --out "$RUNS/$1" $settings > "$OUT/$1.log" 2>&1
}
for run in $CANDIDATES; do  # side by side, except S: it needs T's model
  [ "$run" = S ] || train_candidate "$run" &
done
wait
case " $CANDIDATES " in *" S "*) train_candidate S ;; esac

for run in $CANDIDATES; do
  tar -czf "$OUT/$run.tar.gz" -C "$RUNS/$run" model eval summary.json losses.csv loss_curve.png \
    $(cd "$RUNS/$run" && ls samples/*.png | tail -n 3) 2>>"$OUT/$run.log"
  if [ "$(stat -c %s "$OUT/$run.tar.gz")" -gt 15000000 ]; then  # 16 MiB a file comes back
    split -b 15000000 -d "$OUT/$run.tar.gz" "$OUT/$run.tar.gz." && rm "$OUT/$run.tar.gz"
  fi
done
python3 benchmarks/gpu_speed.py --model checkpoints/faces \
  $(for run in $CANDIDATES; do echo --model "$RUNS/$run/model"; done) \
  > "$OUT/gpu_speed.md" 2>&1
ls -la "$OUT"
