#!/bin/bash
# How this folder was made (thirteenth session, 2026-12-07; plan.md written before the run).
# The matrix ran on the fresh micrographs (--data-seed 1) from `git archive` of 6a26322
# (product code as at c2e8baa) on a 2-core AMD EPYC, the count given (--count true, as Topaz
# gets it), cryopick only, models kept under $X: Topaz's rows are those made before on the
# same fresh micrographs and label seeds (seed 0: all budgets; seed 1: 20 / 50% only).
set -e
# X: this run's cells (/work/exp/s52 here); Y: the usual count-given cells of count_given_2026-12-07
# (/work/exp/s51): both outside the repository
R=docs/results
F=$R/fresh_count_given_2026-12-07
M="python -m benchmarks.matrix --methods unet fixmatch ensemble --count true --data-seed 1 \
   --jobs 2 --data-root /work/bench_data --simulator /work/shared/bench"
$M --seeds 0 1 --fractions 0.2 0.5 --out $X/fresh_20_50 --resume
$M --seeds 0 1 --fractions 0.05 --out $X/fresh_05 --resume
TOPAZ=$R/fresh_data_2026-12-06/topaz_fresh_seed0.json,$R/plain_training_count_2026-12-06/topaz_fresh_seed1.json
# the records of every cell, in one file
python $R/geometric_count_2026-12-07/records.py $F/matrix_fresh_given.json $X/fresh_05 $X/fresh_20_50
# each line of the Done-when, per regime-budget (no offline counts: "-"); at 5% Topaz has
# label seed 0 only, so status.md leaves 5% against Topaz empty and five_percent.md says it
python $R/geometric_count_2026-12-07/status.py $TOPAZ - $F/matrix_fresh_given.json > $F/status.md
python $F/five_percent.py $TOPAZ $F/matrix_fresh_given.json > $F/five_percent.md
# per cell: the rounds against their baseline, pseudo-particles, where the wrong ones lie
python $R/count_given_2026-12-07/per_cell.py $F/matrix_fresh_given.json $X/fresh_05 $X/fresh_20_50 \
   > $F/per_cell.md
# what the 15% picks surplus costs with the count given, on both sets (plan.md's rule)
python $F/surplus.py usual=$Y/given_05,$Y/given_20_50 fresh=$X/fresh_05,$X/fresh_20_50 > $F/surplus.md
cp $X/fresh_05/results.md $F/matrix_05.md
cp $X/fresh_20_50/results.md $F/matrix_20_50.md
# exploratory: the grey level around each pseudo-particle against the labels' range (the 5%
# cells took none)
python $F/carbon_surround.py $X/fresh_20_50 > $F/carbon_surround.txt
