#!/bin/bash
# The measurements quoted in README.md ("Speed", "Scale and speed", "Evaluation") and in
# docs/evaluation.md, one after another, on a machine where nothing else runs. About an hour on
# two CPU cores. Everything goes to $OUT (default /tmp/rgan_measure); all.txt collects the tables.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/rgan_measure}; mkdir -p "$OUT"
export TF_CPP_MIN_LOG_LEVEL=2
bench() { name=$1; shift; echo "== $(date +%T) $name: python tools/benchmark.py $*" >> "$OUT/all.txt"
  /usr/bin/time -v python tools/benchmark.py "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err"
  grep -v '^{' "$OUT/$name.txt" | tail -n 25 >> "$OUT/all.txt"; }
timed() { name=$1; shift; echo "== $(date +%T) $name: $*" >> "$OUT/all.txt"
  /usr/bin/time -v "$@" > "$OUT/$name.txt" 2>&1
  grep -E "Elapsed|Maximum resident|User time|System time" "$OUT/$name.txt" >> "$OUT/all.txt"; }

# Evaluation (docs/evaluation.md): a classifier, the 32-pixel digits job, evaluations with empty
# caches.
timed classifier python tools/train_classifier.py --source=digits --image_size=32 --epochs=40 \
  --output="$OUT/digits32"
timed digits32_job python tools/train.py --gin_file=gin_configs/digits/dcgan_rgan.gin \
  --model_dir="$OUT/digits32_job"
for args in "eval5k --num_samples=5000" "eval5k_robust --num_samples=5000 --robustness --radii=0.5" \
            "eval10k --num_samples=10000" "eval50k --num_samples=50000" \
            "eval2k_full --num_samples=2000 --robustness --radii=0.01,0.5 --generalization"; do
  set -- $args; name=$1; shift
  timed "$name" python tools/evaluate.py --model_dir="$OUT/digits32_job" \
    --classifier="$OUT/digits32" --cache_dir="$OUT/cache_$name" "$@"
done
cp "$OUT/digits32_job/metrics.jsonl" "$OUT/digits32_job_metrics.jsonl"
# The default job (README "Small models"): its bare step, then the whole job.
bench digits16_dcgan --gin_file=gin_configs/digits/dcgan16_rgan.gin --variants=plain,baseline,robust --compile_modes=auto,on,off --steps=20
timed default_job python tools/train.py --model_dir="$OUT/default_job"

# Steps (README "Speed"): configs x compile modes, precisions, oneDNN, classifiers.
bench digits_dcgan --gin_file=gin_configs/digits/dcgan_rgan.gin --variants=plain,baseline,robust --compile_modes=auto,on,off --steps=20
bench digits_bf16 --gin_file=gin_configs/digits/dcgan_rgan.gin --variants=baseline,robust --compile_modes=auto --precisions=float32,mixed_bfloat16 --steps=20
TF_ENABLE_ONEDNN_OPTS=0 bench digits_onednn_off --gin_file=gin_configs/digits/dcgan_rgan.gin --variants=baseline,robust --compile_modes=auto --steps=20
bench c10_dcgan --gin_file=gin_configs/cifar10/dcgan_rgan.gin --variants=plain,baseline,robust --compile_modes=on,off --steps=3 --warmup=1
TF_ENABLE_ONEDNN_OPTS=0 bench c10_dcgan_onednn_off --gin_file=gin_configs/cifar10/dcgan_rgan.gin --variants=baseline --compile_modes=off --steps=3 --warmup=1
bench stl10_dcgan --gin_file=gin_configs/stl10/dcgan_rgan.gin --compile_modes=auto --steps=2 --warmup=1
bench c10_sngan --gin_file=gin_configs/cifar10/sngan_rgan.gin --compile_modes=on,off --steps=2 --warmup=1
bench classifiers --classifiers=digits,cifar10,inception --steps=3 --warmup=1
for config in wgan_gp_resnet sngan_resnet bwgan sngan_cond wgan_gp; do
  bench "c10_$config" --gin_file="gin_configs/cifar10/${config}_rgan.gin" --compile_modes=auto --steps=1 --warmup=1 --repeats=1
done
# bfloat16 quality (README "bfloat16"): 300 steps of the 32-pixel digits job per precision and
# seed, then the digits classifier's IS/FID/KID on 5,000 samples. Quality, not time: may run on a
# busy machine.
for seed in 0 1; do for precision in float32 mixed_bfloat16; do
  name="bf16q_${precision}_s$seed"
  timed "$name" python tools/train.py --gin_file=gin_configs/digits/dcgan_rgan.gin \
    --model_dir="$OUT/$name" --mixed_precision=$precision \
    --gin_bindings="train.steps=300" --gin_bindings="train.seed=$seed"
  python tools/evaluate.py --model_dir="$OUT/$name" --classifier="$OUT/digits32" \
    --num_samples=5000 --cache_dir="$OUT/cache_bf16q" > "$OUT/${name}_eval.txt" 2>&1
  echo "$name $(tail -n 1 "$OUT/$name/metrics.jsonl")" >> "$OUT/all.txt"
done; done
echo "== $(date +%T) done" >> "$OUT/all.txt"
