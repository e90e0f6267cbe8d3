#!/bin/bash
# How this folder was made (seventeenth session, 2026-12-07/08; plan.md written before the
# matrix runs). Models under $X (/work/exp/s57 here, outside the repository).
set -e
R=docs/results
G=$R/centring_gain_2026-12-07
# offline: centre_labels at several minimum gains, third set (20%) and crowded-many-labels (50%)
for a in "crowded-512px-5mic-905f73d7 2 0.2" "apoferritin-1024px-16mic-3c62b5c2 4 0.2" \
         "large-carbon-1024px-30mic-5583fd80 6 0.2" "irregular-1024px-12mic-30349c4e 4 0.2" \
         "crowded-many-labels-512px-12mic-55be12cb 8 0.5"; do
   set -- $a; python $G/centring_gain.py /work/bench_data/$1 $2 $3 0,1 0,0.02,0.05,0.1
done > $G/centring_gain.txt
# (centring_gain.txt was made with the code of 4aa7acd and the script of a7738ad, when
# centre_labels returned every click rounded to its working pixel and "moved" meant "off its
# pixel"; the same loop with the fix of c38746b, "moved" meaning "off the click":)
for a in "crowded-512px-5mic-905f73d7 2 0.2" "apoferritin-1024px-16mic-3c62b5c2 4 0.2" \
         "large-carbon-1024px-30mic-5583fd80 6 0.2" "irregular-1024px-12mic-30349c4e 4 0.2" \
         "crowded-many-labels-512px-12mic-55be12cb 8 0.5"; do
   set -- $a; python $G/centring_gain.py /work/bench_data/$1 $2 $3 0,1 0,0.02,0.05,0.1
done > $G/centring_gain_fixed.txt
# the matrix with the guarded centring (from `git archive` of 4aa7acd), exact labels first
C="python -m benchmarks.matrix --count true --data-seed 2 --fractions 0.2 --seeds 0 1 --jobs 2 \
   --methods unet fixmatch ensemble --unet-args=--centre-labels \
   --regimes large-carbon irregular crowded apoferritin \
   --data-root /work/bench_data --simulator /work/shared/bench"
$C --label-jitter 0 --out $X/gain_exact
$C --label-jitter 0.1 --out $X/gain_moved
cp $X/gain_exact/results.json $G/gain_exact.json
cp $X/gain_moved/results.json $G/gain_moved.json
# against no centring (exact and moved), with the sixteenth session's script and rule
L=$R/label_jitter_2026-12-07
python $L/centring_pairs.py $R/third_set_count_given_2026-12-07/matrix_third_given.json \
   $L/matrix_moved.json $G/gain_moved.json $G/gain_exact.json > $G/gain_pairs.md
# the third addendum: exact labels with the fix (from `git archive` of c38746b)
$C --label-jitter 0 --regimes large-carbon irregular --out $X/fixed_exact
cp $X/fixed_exact/results.json $G/fixed_exact.json
python $L/centring_pairs.py $R/third_set_count_given_2026-12-07/matrix_third_given.json \
   $L/matrix_moved.json /nonexistent $G/fixed_exact.json > $G/fixed_pairs.md
# per label seed, the default's AP against the same cells without centring
T=$R/third_set_count_given_2026-12-07
python $R/positive_shift_2026-12-07/shift_pairs.py $T/matrix_third_given.json $G/gain_exact.json \
   --per-seed > $G/gain_exact_per_seed.md
python $R/positive_shift_2026-12-07/shift_pairs.py $T/matrix_third_given.json $G/fixed_exact.json \
   --per-seed > $G/fixed_exact_per_seed.md
# the third addendum's run 5: crowded-many-labels with the fixed guard (code of c38746b)
M="python -m benchmarks.matrix --count true --data-seed 2 --methods unet fixmatch ensemble \
   --seeds 0 --fractions 0.5 --regimes crowded-many-labels --jobs 1 --unet-args=--centre-labels \
   --data-root /work/bench_data --simulator /work/shared/bench"
$M --label-jitter 0.1 --out $X/many_moved_fixed
$M --out $X/many_exact_fixed
cp $X/many_moved_fixed/results.json $G/many_moved_fixed.json
cp $X/many_exact_fixed/results.json $G/many_exact_fixed.json
D=$R/many_labels_moved_2026-12-07
python $D/many_pairs.py exact=$D/many_exact.json "exact, guarded centring"=$G/many_exact_fixed.json \
   moved=$D/many_moved.json "moved, centred (no guard)"=$D/many_moved_centred.json \
   "moved, guarded centring"=$G/many_moved_fixed.json > $G/many_pairs.md
# the fourth addendum (code of c38746b): moved labels, then apoferritin and crowded exact
$C --label-jitter 0.1 --regimes large-carbon irregular crowded apoferritin --out $X/fixed_moved
$C --label-jitter 0 --regimes apoferritin crowded --out $X/fixed_exact2
cp $X/fixed_moved/results.json $G/fixed_moved.json
cp $X/fixed_exact2/results.json $G/fixed_exact2.json
python $L/centring_pairs.py $R/third_set_count_given_2026-12-07/matrix_third_given.json \
   $L/matrix_moved.json $G/fixed_moved.json $G/fixed_exact.json,$G/fixed_exact2.json \
   > $G/fixed_pairs.md
python $R/positive_shift_2026-12-07/shift_pairs.py $L/matrix_moved.json $G/fixed_moved.json \
   --per-seed > $G/fixed_moved_per_seed.md
# how far each run's clicks moved, from the U-Net training logs
(cd $X && for d in gain_exact gain_moved fixed_exact fixed_moved fixed_exact2 many_exact_fixed \
   many_moved_fixed; do for f in $d/*/labels_*/seed_*/unet/train.log; do
   echo "$f: $(grep -h 'Labels centred\|Labels not centred' $f)"; done; done) > $G/centring_logs.txt
