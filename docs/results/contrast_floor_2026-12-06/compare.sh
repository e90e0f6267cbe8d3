#!/bin/bash
# How compare.md was made (run from this folder). "before": the kept runs (usual matrix, stop 43;
# fresh seed 0, stop 43; fresh seed 1, stop 44); "now": the same runs' ensembles made again
# (benchmarks.matrix --resume --rerun-ensemble) after add_contrast_floor.py gave their U-Nets
# the labels' contrast floor. Topaz: the same micrographs and label seeds.
set -e
cd "$(dirname "$0")"
T=../threshold_without_count_2026-12-06
P=../plain_training_count_2026-12-06
F=../fresh_data_2026-12-06
python $T/compare_matrix.py \
  usual $T/matrix_usual.json matrix_usual.json $T/matrix_usual.json \
  fresh_s0 $T/matrix_fresh_20_50pct_seed0.json matrix_fresh_seed0.json $F/topaz_fresh_seed0.json \
  fresh_s1 $P/matrix_fresh_seed1_se_training.json matrix_fresh_seed1.json $P/topaz_fresh_seed1.json \
  > compare.md
echo >> compare.md
echo "Two label seeds on the fresh micrographs against Topaz (fresh_margins.py):" >> compare.md
echo >> compare.md
python $P/fresh_margins.py matrix_fresh_seed0.json matrix_fresh_seed1.json $F/topaz_fresh_seed0.json \
  $P/topaz_fresh_seed1.json >> compare.md
echo >> compare.md
echo "The default's own threshold on the usual matrix (own_gap.py):" >> compare.md
echo >> compare.md
python $P/own_gap.py matrix_usual.json >> compare.md
echo >> compare.md
echo "Per cell (paired_cells.py):" >> compare.md
echo >> compare.md
python paired_cells.py >> compare.md
# the U-Net retrained (commit c2a88d1: no pseudo-particle below the contrast floor), against
# the floor at picking only (the rows above): NAME BEFORE NOW TOPAZ
R=docs/results/contrast_floor_2026-12-06
while read -r name before now topaz; do
  echo >> compare.md
  echo "The U-Net retrained (no pseudo-particle below the contrast floor), $name at 20 / 50%;" >> compare.md
  echo "before: the floor at picking only:" >> compare.md
  echo >> compare.md
  python $T/compare_matrix.py $name $before $now $topaz >> compare.md
  echo >> compare.md
  (cd ../../.. && python -m benchmarks.compare $R/$before $R/$now --rows ensemble "unet/iteration 2") \
    | sed "s#$R/##g" >> compare.md
done <<LIST
usual matrix_usual.json matrix_usual_retrained_20_50pct.json $T/matrix_usual.json
fresh_s0 matrix_fresh_seed0.json matrix_fresh_seed0_retrained.json $F/topaz_fresh_seed0.json
LIST
