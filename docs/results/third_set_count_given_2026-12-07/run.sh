#!/bin/bash
# How this folder was made (fourteenth session, 2026-12-07; plan.md written before the run).
# The matrix ran on a third set of micrographs (--data-seed 2) from `git archive` of 8bdee1e
# (product code as at c2e8baa) on a 2-core AMD EPYC, the count given (--count true), cryopick
# only (no Topaz on this set), models kept under $X (/work/exp/s53 here, outside the
# repository).
set -e
R=docs/results
T=$R/third_set_count_given_2026-12-07
M="python -m benchmarks.matrix --methods unet fixmatch ensemble --count true --data-seed 2 \
   --jobs 2 --data-root /work/bench_data --simulator /work/shared/bench"
$M --seeds 0 1 --fractions 0.2 0.5 --out $X/third_20_50 --resume
$M --seeds 0 1 --fractions 0.05 --out $X/third_05 --resume
# the records of every cell, in one file
python $R/geometric_count_2026-12-07/records.py $T/matrix_third_given.json $X/third_05 $X/third_20_50
# each line of the Done-when that needs no Topaz, per regime-budget (Topaz: none, so "-")
echo '{"results": []}' > /tmp/no_topaz.json
python $R/geometric_count_2026-12-07/status.py /tmp/no_topaz.json - $T/matrix_third_given.json > $T/status.md
# per cell: the rounds against their baseline, pseudo-particles, where the wrong ones lie
python $R/count_given_2026-12-07/per_cell.py $T/matrix_third_given.json $X/third_05 $X/third_20_50 \
   > $T/per_cell.md
# plan.md's rule: the ensemble's F1 at 1.0 and 1.15 x the given count
python $R/fresh_count_given_2026-12-07/surplus.py third=$X/third_05,$X/third_20_50 > $T/surplus.md
cp $X/third_05/results.md $T/matrix_05.md
cp $X/third_20_50/results.md $T/matrix_20_50.md
# exploratory, after the run: what the default's picks above its threshold land on, and a floor
# on the grey level of their surroundings (context.py); the wrong pseudo-particles against
# the labels' surroundings, and the on-carbon particles under them (pseudo_surround.py); the
# simulator's particles on carbon against those in ice, by grey level and texture around
# them, on the raw micrographs of the usual (324d9ed0) and third sets (texture.py)
python $T/context.py $X/third_05 $X/third_20_50 > $T/context.txt
python $T/pseudo_surround.py $X/third_20_50 > $T/pseudo_surround.txt
python $T/texture.py /work/bench_data/large-carbon-1024px-30mic-324d9ed0 \
   /work/bench_data/large-carbon-1024px-30mic-5583fd80 /work/bench_data/irregular-1024px-12mic-30349c4e \
   /work/bench_data/apoferritin-1024px-16mic-3c62b5c2 > $T/texture.txt
# Topaz on two cells (plan.md's addendum), one regime-budget per call, side by side
M="python -m benchmarks.matrix --methods topaz --count true --data-seed 2 --seeds 0 --jobs 1 \
   --data-root /work/bench_data --simulator /work/shared/bench"
$M --regimes irregular --fractions 0.5 --out $X/topaz_irregular_50 &
$M --regimes crowded --fractions 0.2 --out $X/topaz_crowded_20 &
wait
# then two more (plan.md's second addendum), the same way
$M --regimes apoferritin --fractions 0.5 --out $X/topaz_apoferritin_50 &
$M --regimes irregular --fractions 0.2 --out $X/topaz_irregular_20 &
wait
# and two more (plan.md's third addendum)
$M --regimes large-carbon --fractions 0.2 --out $X/topaz_large-carbon_20 &
$M --regimes apoferritin --fractions 0.2 --out $X/topaz_apoferritin_20 &
wait
for c in crowded_20 irregular_20 apoferritin_50 irregular_50 large-carbon_20 apoferritin_20; do
   cp $X/topaz_$c/results.json $T/topaz_${c}_seed0.json
done
python $T/topaz_pairs.py $T/matrix_third_given.json $T/topaz_crowded_20_seed0.json \
   $T/topaz_irregular_20_seed0.json $T/topaz_apoferritin_50_seed0.json \
   $T/topaz_irregular_50_seed0.json $T/topaz_large-carbon_20_seed0.json \
   $T/topaz_apoferritin_20_seed0.json > $T/topaz_pairs.md
# the surplus readings of the three sets by test particles / given count (benchmarks.md's tally)
python $T/surplus_by_ratio.py $R/fresh_count_given_2026-12-07/surplus.md $T/surplus.md \
   > $T/surplus_by_ratio.txt
# Fifteenth session (plan.md's last addendum): Topaz on the remaining cells, label seed 0 then
# seed 1, two at a time, none started after 19:40 ($X = /work/exp/s55 here); the list of
# "seed regime fraction" in plan.md's order (topaz_cells.txt), topaz_one.sh runs one of them
#   xargs -P 2 -L 1 ./topaz_one.sh < topaz_cells.txt
# it skipped the last four (label seed 1 at 5%) at 19:41; they ran after (plan.md's last
# addendum), the cut-off moved to 20:10
#   tail -n 4 topaz_cells.txt | CUTOFF=2010 xargs -P 2 -L 1 ./topaz_one.sh
for f in $X/topaz_*_seed[01]/results.json; do
   c=$(basename $(dirname $f)); cp $f $T/$c.json
done
python $T/topaz_pairs.py $T/matrix_third_given.json $T/topaz_*_seed0.json $T/topaz_*_seed1.json \
   > $T/topaz_pairs.md
# the "Done when" lines with Topaz where both label seeds ran (two-seed means)
python $R/geometric_count_2026-12-07/status.py $(ls $T/topaz_*_seed[01].json | paste -sd,) - \
   $T/matrix_third_given.json > $T/status_with_topaz.md
