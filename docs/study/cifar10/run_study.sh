#!/bin/bash
# The CIFAR-10 study at scale `cpu` (docs/study/cifar10/README.md), from the project's root, on
# the offline copy at ../shared/data/cifar10. Runs, checkpoints and the classifier go to $OUT
# (outside the repository); the tables, CSVs, records and pictures are copied here at the end.
# Interrupt it at any time: a second call skips finished runs and resumes the others.
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-../rgan_cifar10_study}
SOURCE=folder:../shared/data/cifar10
mkdir -p "$OUT"
# 1. The CIFAR-10 classifier (c10net), alone on the machine: its time is part of the record.
if [ ! -d "$OUT/c10net" ]; then
  /usr/bin/time -v python tools/train_classifier.py --architecture=residual --source=$SOURCE \
    --epochs=16 --width=0.25 --output="$OUT/c10net" 2>&1 | tee "$OUT/classifier.log"
fi
# 2. The 19 runs in two processes (two processes keep two cores busier than one).
# One TensorFlow thread pool per process: two single-threaded processes share the two cores
# better than two that each spread over both (closing note of 2026-11-30, second session).
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1
pids=()
for shard in 0/2 1/2; do
  python tools/reproduce.py --experiment=cifar10 --scale=cpu --output_dir="$OUT" \
    --shard=$shard > "$OUT/shard${shard%/*}.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done   # set -e: a failed shard stops the script
# 3. The tables and figures from every finished run (nothing left to train).
python tools/reproduce.py --experiment=cifar10 --scale=cpu --output_dir="$OUT"
cp "$OUT"/cifar10.md "$OUT"/cifar10*.csv "$OUT"/cifar10*.png "$OUT"/cifar10_records.json \
   "$OUT"/real_data.json "$OUT"/c10net/accuracy.json docs/study/cifar10/
