#!/bin/bash
# How this folder was made (seventeenth session, 2026-12-07; plan.md written before the
# runs). Third set (--data-seed 2), count given, from `git archive` of 63e013f, on a 2-core
# AMD EPYC; each cell's U-Net taken from the fourteenth session's runs of the same cells
# (--unet-from; their models under /work/exp/s53), new models under $X (/work/exp/s57).
set -e
R=docs/results
P=$R/positive_shift_2026-12-07
M="python -m benchmarks.matrix --count true --data-seed 2 --methods unet fixmatch ensemble \
   --data-root /work/bench_data --simulator /work/shared/bench"
# 1. the check: positive_shift 0 beside a stored U-Net gives the stored rows
$M --seeds 1 --regimes crowded --fractions 0.05 --jobs 1 --unet-from /work/exp/s53/third_05 \
   --out $X/check_f0
# 2. positive_shift 0.1, all 24 cells
S="--fixmatch-args=--set dataset.positive_shift=0.1"
$M --seeds 0 1 --fractions 0.05 --jobs 2 --unet-from /work/exp/s53/third_05 "$S" --out $X/shift_05
$M --seeds 0 1 --fractions 0.2 0.5 --jobs 2 --unet-from /work/exp/s53/third_20_50 "$S" \
   --out $X/shift_20_50
cp $X/check_f0/results.json $P/check_f0.json
cp $X/shift_05/results.json $P/shift_05.json
cp $X/shift_20_50/results.json $P/shift_20_50.json
cp $X/shift_05/results.md $P/shift_05.md
cp $X/shift_20_50/results.md $P/shift_20_50.md
# against the stored cells, plan.md's rule, per label seed, and against Topaz's runs
T=$R/third_set_count_given_2026-12-07
python $P/shift_pairs.py $T/matrix_third_given.json $P/shift_05.json,$P/shift_20_50.json \
   --topaz $(ls $T/topaz_*_seed*.json | paste -sd,) > $P/shift_pairs.md
