#!/bin/bash
# The CPU-scale study of docs/results.md: table3 (DCGAN family, digits 32x32, 3 seeds), the
# worst-case-noise comparison (fig3), a short eps sweep (fig4), t-SNE (fig5), sample grids (fig6)
# and IS vs iteration (fig2). Each step resumes; finished runs are skipped.
set -e
cd "$(dirname "$0")/../.."
OUT=docs/study
for step in "table3 0,1,2" "fig3 0,1,2" "fig4 0" "fig6 0" "fig5 0" "fig2 0"; do
  set -- $step
  echo "=== $(date +%T) $1 seeds $2"
  python tools/reproduce.py --experiment=$1 --scale=small --families=dcgan --seeds=$2 \
    --output_dir=$OUT
done
echo "=== $(date +%T) done"
