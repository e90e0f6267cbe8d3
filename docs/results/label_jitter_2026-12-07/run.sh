#!/bin/bash
# How this folder was made (sixteenth session, 2026-12-07; plan.md and its addenda written
# before the runs they name). Third set of micrographs (--data-seed 2), 20% labels, count
# given, on a 2-core AMD EPYC; models kept under $X (/work/exp/s56 here, outside the repository).
set -e
R=docs/results
T=$R/third_set_count_given_2026-12-07
J=$R/label_jitter_2026-12-07
M="python -m benchmarks.matrix --count true --data-seed 2 --fractions 0.2 \
   --data-root /work/bench_data --simulator /work/shared/bench"
# 1. labels moved 0.1 diameter (from `git archive` of ab52392): cryopick, both label seeds
$M --methods unet fixmatch ensemble --seeds 0 1 --label-jitter 0.1 --jobs 2 --out $X/jitter_20
# 2. Topaz with the same moved labels, label seed 0, one cell at a time (plan.md's first addendum)
for r in crowded apoferritin irregular large-carbon; do
   $M --methods topaz --seeds 0 --jobs 1 --regimes $r --label-jitter 0.1 --out $X/topaz_${r}_20_seed0
done
# 3. train-unet --centre-labels (from `git archive` of 3bdca74; plan.md's second addendum),
#    in the addendum's order, two cells at a time
C="$M --methods unet fixmatch ensemble --seeds 0 1 --jobs 2 --unet-args=--centre-labels"
$C --label-jitter 0.1 --regimes crowded apoferritin --out $X/centred_moved_1
$C --label-jitter 0 --regimes irregular --out $X/centred_exact_2
$C --label-jitter 0.1 --regimes large-carbon irregular --out $X/centred_moved_3
$C --label-jitter 0 --regimes crowded apoferritin large-carbon --out $X/centred_exact_4
# the records
cp $X/jitter_20/results.json $J/matrix_moved.json
for b in centred_moved_1 centred_exact_2 centred_moved_3 centred_exact_4; do
   cp $X/$b/results.json $J/$b.json
done
for r in crowded apoferritin irregular large-carbon; do
   cp $X/topaz_${r}_20_seed0/results.json $J/topaz_${r}_20_seed0_moved.json
done
# what the moved labels cost, against the third set's exact-label cells and Topaz's
python $J/jitter_pairs.py $T/matrix_third_given.json $J/matrix_moved.json $T \
   $J/topaz_*_20_seed0_moved.json > $J/jitter_pairs.md
# centring against no centring, exact and moved labels
python $J/centring_pairs.py $T/matrix_third_given.json $J/matrix_moved.json \
   $J/centred_moved_1.json,$J/centred_moved_3.json $J/centred_exact_2.json,$J/centred_exact_4.json \
   > $J/centring_pairs.md
# offline (exploratory, before the centring runs): the template centring on the raw
# micrographs, and centring on the U-Net's own phase-1 map (the moved-label run's models)
# (the template centring's first one-off script, recentre.py, was replaced by the engine's
# centre_labels in centring_few_labels.py below: its 20% rows are the same numbers)
for s in 0 1; do
   python $J/model_recentre.py /work/bench_data/crowded-512px-5mic-905f73d7 \
      $X/jitter_20/crowded/labels_20/seed_$s 2 baseline_model.pt
done > $J/model_recentre.txt
# offline, after the centring runs' 20% cells had started (all with 19 labels or more): the
# template centring with 5 labels as its minimum, at 5% and 20%; its minimum became 15
for a in "crowded-512px-5mic-905f73d7 2" "apoferritin-1024px-16mic-3c62b5c2 4" \
         "large-carbon-1024px-30mic-5583fd80 6" "irregular-1024px-12mic-30349c4e 4"; do
   set -- $a; python $J/centring_few_labels.py /work/bench_data/$1 $2 5
done > $J/centring_few_labels.txt
