#!/bin/bash
# How this folder was made (ninth session, 2026-12-07). The matrix ran from `git archive` of
# c2e8baa (the product and benchmarks as at HEAD then) on a 2-core AMD EPYC, no count given
# (the forms' default), cryopick only: Topaz's rows are threshold_without_count's, on the same
# micrographs and label seeds. Each cell keeps its models, so counts.py can count on them.
set -e
R=docs/results
M="python -m benchmarks.matrix --methods unet fixmatch ensemble --count estimated --jobs 2 \
   --data-root /work/bench_data --simulator /work/shared/bench"
# 5%: crowded and large-carbon from the eighth session's run (same code), then the rest
$M --seeds 0 1 --fractions 0.05 --out $X/usual_05            # stopped after 2 regimes
$M --regimes apoferritin irregular --seeds 0 1 --fractions 0.05 --resume --out $X/usual_05
# 20 / 50%: crowded 20% from the eighth session's run, the rest here; crowded 50% apart
$M --regimes apoferritin large-carbon irregular --seeds 0 1 --fractions 0.2 0.5 --resume \
   --out $X/usual_20_50
$M --regimes crowded --seeds 0 1 --fractions 0.5 --out $X/usual_crowded50
# the records of every cell, in one file (status.py reads it like a results.json)
python $R/geometric_count_2026-12-07/records.py matrix_usual_current.json \
   $X/usual_05 $X/usual_20_50 $X/usual_crowded50
# counts of each cell (the eighth session's 14 cells are in ensemble_count_2026-12-06)
python $R/ensemble_count_2026-12-06/counts.py counts.jsonl CELL DATA ...   # every new cell
python $R/ensemble_count_2026-12-06/summarize.py $R/ensemble_count_2026-12-06/counts.jsonl \
   counts.jsonl > summary.md
python $R/geometric_count_2026-12-07/status.py $R/threshold_without_count_2026-12-06/matrix_usual.json \
   $R/ensemble_count_2026-12-06/counts.jsonl,counts.jsonl matrix_usual_current.json > status.md
# the fresh micrographs' two label seeds (the seventh and eighth sessions' runs), no counts
python $R/geometric_count_2026-12-07/status.py \
   $R/fresh_data_2026-12-06/topaz_fresh_seed0.json,$R/plain_training_count_2026-12-06/topaz_fresh_seed1.json - \
   $R/pseudo_particles_found_twice_2026-12-06/matrix_fresh_seed0_confirmed.json \
   $R/pseudo_particles_found_twice_2026-12-06/matrix_fresh_seed1_confirmed.json > fresh_status.md
