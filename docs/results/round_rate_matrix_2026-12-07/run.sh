#!/bin/bash
# How this folder was made (tenth session, 2026-12-07; $X: /work/exp/s47 for the cells, s48
# for lr_usual, s49 for lr), from `git archive` of 18af0a3 (the
# product as at c2e8baa), 1 thread per run, two runs at a time on this 2-core AMD EPYC.
# The cells are the ninth session's usual-matrix cells with their models ($X/usual_05,
# $X/usual_20_50, $X/usual_crowded50: geometric_count_2026-12-07/run.sh); the apoferritin 50%
# pairs are the ninth session's (round_learning_rate_2026-12-07/lr_usual*.jsonl, $X/lr_usual).
set -e
D=docs/results/round_rate_matrix_2026-12-07; L=docs/results/round_learning_rate_2026-12-07
B=/work/bench_data; U=$X/usual_20_50; F=$X/usual_05; C=$X/usual_crowded50
CR=$B/crowded-512px-5mic-d9f5e157; AP=$B/apoferritin-1024px-16mic-51995282
LC=$B/large-carbon-1024px-30mic-324d9ed0; IR=$B/irregular-1024px-12mic-66f7d2b0
CELLS=""
for s in 0 1; do CELLS="$CELLS $C/crowded/labels_50/seed_$s $CR $U/large-carbon/labels_50/seed_$s $LC $U/irregular/labels_50/seed_$s $IR"; done
for s in 0 1; do CELLS="$CELLS $U/crowded/labels_20/seed_$s $CR $U/apoferritin/labels_20/seed_$s $AP $U/large-carbon/labels_20/seed_$s $LC $U/irregular/labels_20/seed_$s $IR"; done
for s in 0 1; do CELLS="$CELLS $F/crowded/labels_05/seed_$s $CR $F/apoferritin/labels_05/seed_$s $AP $F/large-carbon/labels_05/seed_$s $LC $F/irregular/labels_05/seed_$s $IR"; done
# the rounds again at each rate (both at once; the apoferritin 50% cells were already done)
python $L/lr.py $X/lr 1e-4 $CELLS >> $D/lr_1e-4.jsonl &
python $L/lr.py $X/lr 1e-3 $CELLS >> $D/lr_1e-3.jsonl
wait
A50="$U/apoferritin/labels_50/seed_0 $AP $U/apoferritin/labels_50/seed_1 $AP"
python $D/compare.py --runs $L/lr_usual_1e-3.jsonl $L/lr_usual.jsonl $D/lr_1e-3.jsonl \
    $D/lr_1e-4.jsonl --roots $X/lr $X/lr_usual --cells $A50 $CELLS > $D/compare.md
