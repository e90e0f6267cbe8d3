#!/bin/bash
# How this folder was made (tenth session, 2026-12-07), from `git archive` of 18af0a3 (the
# product as at c2e8baa, with length.py and table.py copied in), 1 thread per run, one label
# seed per process, two at a time on
# this 2-core AMD EPYC (CI and `make demo` shared the cores for 20 minutes). $X/usual_05 and
# $X/usual_20_50: the ninth session's usual-matrix cells with their models (/work/exp/s47).
set -e
D=docs/results/phase1_length_2026-12-07
B=/work/bench_data; U=$X/usual_20_50; F=$X/usual_05
CR=$B/crowded-512px-5mic-d9f5e157; AP=$B/apoferritin-1024px-16mic-51995282
LC=$B/large-carbon-1024px-30mic-324d9ed0; IR=$B/irregular-1024px-12mic-66f7d2b0
for s in 0 1; do
  CELLS="$F/crowded/labels_05/seed_$s $CR $F/apoferritin/labels_05/seed_$s $AP $F/large-carbon/labels_05/seed_$s $LC $F/irregular/labels_05/seed_$s $IR"
  CELLS="$CELLS $U/crowded/labels_20/seed_$s $CR $U/apoferritin/labels_20/seed_$s $AP $U/large-carbon/labels_20/seed_$s $LC $U/irregular/labels_20/seed_$s $IR"
  python $D/length.py $X/len 120 $CELLS > $D/length_seed$s.jsonl &
done
wait
cat $D/length_seed0.jsonl $D/length_seed1.jsonl > $D/length.jsonl
python $D/table.py $D/length.jsonl > $D/table.md
