#!/bin/bash
# How compare.md was made (run from this folder). "before": the U-Net trained with the count
# less one standard error (commit 65cbafd; the fresh seed-1 run made for this comparison);
# "now": trained with the plain count (commit 8f74e57). Thresholds: the count less one standard
# error, kept without surplus, in both. Topaz: the same micrographs and label seeds.
set -e
cd "$(dirname "$0")"
T=../threshold_without_count_2026-12-06
F=../fresh_data_2026-12-06

python $T/compare_matrix.py \
  usual $T/matrix_usual.json matrix_usual.json matrix_usual.json \
  fresh_s0 $T/matrix_fresh_20_50pct_seed0.json matrix_fresh_seed0.json $F/topaz_fresh_seed0.json \
  fresh_s1 matrix_fresh_seed1_se_training.json matrix_fresh_seed1.json \
  topaz_fresh_seed1.json \
  > compare.md
echo >> compare.md
echo "Paired, per regime (benchmarks.compare; before -> now):" >> compare.md
for pair in "$T/matrix_usual.json matrix_usual.json" \
            "$T/matrix_fresh_20_50pct_seed0.json matrix_fresh_seed0.json" \
            "matrix_fresh_seed1_se_training.json matrix_fresh_seed1.json"; do
  echo >> compare.md
  (cd ../../.. && python -m benchmarks.compare $(for p in $pair; do echo docs/results/plain_training_count_2026-12-06/$p; done) \
     --rows ensemble "unet/iteration 2") | sed "s#docs/results/plain_training_count_2026-12-06/##g" >> compare.md
done
