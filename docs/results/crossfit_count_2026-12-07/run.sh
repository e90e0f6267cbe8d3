#!/bin/bash
# How this folder was made (eleventh session, 2026-12-07): plan.md committed first (737d300),
# then crossfit.py on the saved cells (see count_variants_2026-12-07/run.sh for where they
# are), two workers with one thread each, then table.py.
set -e
D=/work/bench_data U=/work/exp/s47
usual() {  # CELL DATA pairs, worker $1 of 2
  i=0
  for s in 0 1; do
    for r in "crowded crowded-512px-5mic-d9f5e157" "apoferritin apoferritin-1024px-16mic-51995282" \
             "large-carbon large-carbon-1024px-30mic-324d9ed0" "irregular irregular-1024px-12mic-66f7d2b0"; do
      set -- $r
      for b in 05 20 50; do
        c=$U/$([ $b = 05 ] && echo usual_05 || echo usual_20_50)/$1/labels_$b/seed_$s
        [ $1 = crowded ] && [ $b = 50 ] && c=/work/exp/s48/usual_crowded50/crowded/labels_50/seed_$s
        [ $((i % 2)) = $W ] && echo $c $D/$2
        i=$((i + 1))
      done
    done
  done
}
fresh() {
  i=0
  for r in crowded apoferritin large-carbon irregular; do
    d=$(ls -d $D/$r-* | grep -E 'fbf1a986|02e9ed64|774f6d06|f63f184e')
    for b in 20 50; do
      [ $((i % 2)) = $W ] && echo $U/fresh1_confirm/$r/labels_$b/seed_1 $d
      i=$((i + 1))
    done
  done
}
for W in 0 1; do
  (python crossfit.py usual_$W.jsonl $(usual) && python crossfit.py fresh_$W.jsonl $(fresh)) \
    > worker_$W.log 2>&1 &
done
wait
cat usual_0.jsonl usual_1.jsonl > usual.jsonl; cat fresh_0.jsonl fresh_1.jsonl > fresh.jsonl
python table.py usual.jsonl fresh.jsonl > table.md
