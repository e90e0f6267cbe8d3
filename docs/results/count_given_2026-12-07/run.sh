#!/bin/bash
# How this folder was made (twelfth session, 2026-12-07; plan.md written before the run).
# The matrix ran from `git archive` of a9b4b7e (product code as at c2e8baa) on a 2-core AMD
# EPYC, the count given (--count true, as Topaz gets it), cryopick only: Topaz's rows are
# threshold_without_count's, on the same micrographs and label seeds.
set -e
R=docs/results
M="python -m benchmarks.matrix --methods unet fixmatch ensemble --count true --jobs 2 \
   --data-root /work/bench_data --simulator /work/shared/bench"
$M --seeds 0 1 --fractions 0.2 0.5 --out $X/given_20_50 --resume
$M --seeds 0 1 --fractions 0.05 --out $X/given_05 --resume
# the records of every cell, in one file
python $R/geometric_count_2026-12-07/records.py $R/count_given_2026-12-07/matrix_usual_given.json \
   $X/given_05 $X/given_20_50
# each line of the Done-when, per regime-budget (no offline counts: "-")
python $R/geometric_count_2026-12-07/status.py $R/threshold_without_count_2026-12-06/matrix_usual.json - \
   $R/count_given_2026-12-07/matrix_usual_given.json > $R/count_given_2026-12-07/status.md
# per cell: the rounds against their baseline, pseudo-particles, the own-threshold gap's mean
# and largest, where the wrong pseudo-particles lie (matrix_05.md, matrix_20_50.md: the two
# runs' own results.md, wall times in their first lines)
python $R/count_given_2026-12-07/per_cell.py $R/count_given_2026-12-07/matrix_usual_given.json \
   $X/given_05 $X/given_20_50 > $R/count_given_2026-12-07/per_cell.md
cp $X/given_05/results.md $R/count_given_2026-12-07/matrix_05.md
cp $X/given_20_50/results.md $R/count_given_2026-12-07/matrix_20_50.md
