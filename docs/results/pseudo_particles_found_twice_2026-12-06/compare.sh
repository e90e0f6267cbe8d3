#!/bin/bash
# How compare.md was made (run from this folder): the matrix with --confirm-pseudo-particles
# against the sixth session's retrained runs (the same code without it: contrast floor at
# picking and for pseudo-particles), usual 20 / 50% both label seeds and fresh 20 / 50% label
# seed 0 (fresh label seed 1 against stop 45's, see below; crowded 5% both seeds, where 5% takes pseudo-particles, against the same code
# without the flag); Topaz on the same micrographs and label seeds.
set -e
cd "$(dirname "$0")"
T=../threshold_without_count_2026-12-06
C=../contrast_floor_2026-12-06
F=../fresh_data_2026-12-06
P=../plain_training_count_2026-12-06
R=docs/results/pseudo_particles_found_twice_2026-12-06
{
python $T/compare_matrix.py \
  usual $C/matrix_usual_retrained_20_50pct.json matrix_usual_confirmed_20_50pct.json $T/matrix_usual.json \
  fresh_s0 $C/matrix_fresh_seed0_retrained.json matrix_fresh_seed0_confirmed.json $F/topaz_fresh_seed0.json \
  usual_crowded5 matrix_crowded5_plain.json matrix_crowded5_confirmed.json $T/matrix_usual.json \
  fresh_s1 $C/matrix_fresh_seed1.json matrix_fresh_seed1_confirmed.json $P/topaz_fresh_seed1.json
echo
echo "fresh_s1's 'before' is stop 45's floor at picking only (the U-Nets of stop 44, trained"
echo "before c2a88d1 kept peaks below the floor out of the pseudo-particles): two changes at once."
echo
echo "Two label seeds on the fresh micrographs against Topaz (fresh_margins.py):"
echo
python $P/fresh_margins.py matrix_fresh_seed0_confirmed.json matrix_fresh_seed1_confirmed.json \
  $F/topaz_fresh_seed0.json $P/topaz_fresh_seed1.json
echo
echo "Per cell (paired.py), all three pairs:"
echo
python paired.py $C/matrix_usual_retrained_20_50pct.json matrix_usual_confirmed_20_50pct.json \
  $C/matrix_fresh_seed0_retrained.json matrix_fresh_seed0_confirmed.json \
  matrix_crowded5_plain.json matrix_crowded5_confirmed.json
echo
echo "The usual 20 / 50% cells alone (16), and with fresh label seed 0 (24):"
echo
python paired.py $C/matrix_usual_retrained_20_50pct.json matrix_usual_confirmed_20_50pct.json
python paired.py $C/matrix_usual_retrained_20_50pct.json matrix_usual_confirmed_20_50pct.json \
  $C/matrix_fresh_seed0_retrained.json matrix_fresh_seed0_confirmed.json
for pair in "$C/matrix_usual_retrained_20_50pct.json matrix_usual_confirmed_20_50pct.json" \
            "$C/matrix_fresh_seed0_retrained.json matrix_fresh_seed0_confirmed.json" \
            "matrix_crowded5_plain.json matrix_crowded5_confirmed.json"; do
  echo
  set -- $pair
  (cd ../../.. && python -m benchmarks.compare $R/$1 $R/$2 --rows ensemble "unet/iteration 2") \
    | sed "s#$R/##g"
done
} > compare.md
