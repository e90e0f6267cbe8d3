#!/bin/bash
# How this folder was made (seventeenth session, 2026-12-07; plan.md and its addendum
# written before the runs they name). crowded-many-labels, simulator seed 2, 50% labels,
# label seed 0, count given, from `git archive` of 63e013f; models under $X (/work/exp/s57).
set -e
D=docs/results/many_labels_moved_2026-12-07
M="python -m benchmarks.matrix --count true --data-seed 2 --methods unet fixmatch ensemble \
   --seeds 0 --fractions 0.5 --regimes crowded-many-labels --jobs 1 \
   --data-root /work/bench_data --simulator /work/shared/bench"
S="--fixmatch-args=--set dataset.positive_shift=0.1"
# the pair, side by side (13-14 min each)
$M --out $X/many_exact
$M --label-jitter 0.1 --out $X/many_moved
# the addendum: centring (as it was before MIN_GAIN), shifted positives beside each U-Net
$M --label-jitter 0.1 --unet-args=--centre-labels --out $X/many_moved_centred
$M "$S" --unet-from $X/many_exact --out $X/many_exact_shift
$M --label-jitter 0.1 "$S" --unet-from $X/many_moved --out $X/many_moved_shift
for n in many_exact many_moved many_moved_centred many_exact_shift many_moved_shift; do
   cp $X/$n/results.json $D/$n.json
done
python $D/many_pairs.py exact=$D/many_exact.json moved=$D/many_moved.json \
   "moved, centred"=$D/many_moved_centred.json "exact, shifted positives"=$D/many_exact_shift.json \
   "moved, shifted positives"=$D/many_moved_shift.json > $D/many_pairs.md
