#!/bin/bash
# How this folder was made (ninth session, 2026-12-07), from the repository root, on the
# eighth session's matrix cells (fresh micrographs, data seed 1, label seed 1; kept with
# their models): the rounds again at 1e-4 (lr.py), the ensemble with each baseline U-Net
# (baseline_ensemble.py), and the table against rest.py's rounds at the default rate.
set -e
D=docs/results/round_learning_rate_2026-12-07
F=$X/fresh1_confirm; B=/work/bench_data   # the matrix --out and --data-root of that run
CELLS="$F/irregular/labels_50/seed_1 $B/irregular-1024px-12mic-f63f184e
       $F/apoferritin/labels_50/seed_1 $B/apoferritin-1024px-16mic-02e9ed64
       $F/large-carbon/labels_50/seed_1 $B/large-carbon-1024px-30mic-774f6d06
       $F/crowded/labels_50/seed_1 $B/crowded-512px-5mic-fbf1a986
       $F/irregular/labels_20/seed_1 $B/irregular-1024px-12mic-f63f184e"
python $D/lr.py $X/lr 1e-4 $CELLS > $D/lr.jsonl
python $D/baseline_ensemble.py $X/base $CELLS > $D/base.jsonl
python $D/table.py $F docs/results/reliable_negatives_2026-12-06/rest.jsonl $D/lr.jsonl \
    $D/base.jsonl > $D/table.md
# the usual matrix's apoferritin 50% (both label seeds; the ninth session's cells), both rates
U=$X/usual_20_50/apoferritin/labels_50; A=$B/apoferritin-1024px-16mic-51995282
python $D/lr.py $X/lr_usual 1e-4 $U/seed_0 $A $U/seed_1 $A > $D/lr_usual.jsonl
python $D/lr.py $X/lr_usual 1e-3 $U/seed_0 $A $U/seed_1 $A > $D/lr_usual_1e-3.jsonl
python $D/baseline_ensemble.py $X/base_usual $U/seed_0 $A $U/seed_1 $A > $D/base_usual.jsonl
python $D/table.py $X/usual_20_50 $D/lr_usual_1e-3.jsonl $D/lr_usual.jsonl $D/base_usual.jsonl \
    > $D/table_usual.md
