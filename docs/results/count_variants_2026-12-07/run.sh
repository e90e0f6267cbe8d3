#!/bin/bash
# How this folder was made (eleventh session, 2026-12-07), offline on the saved cells of the
# ninth session's usual matrix (/work/exp/s47/usual_05, usual_20_50; crowded 50% in
# /work/exp/s48/usual_crowded50) and the eighth session's fresh label-seed-1 cells
# (/work/exp/s47/fresh1_confirm), each with count_study_picks.npz as counts.py cached it.
# Product code as at 18af0a3 (unchanged since c2e8baa).
set -e
D=/work/bench_data U=/work/exp/s47
cells() {  # CELL DATA pairs
  for s in 0 1; do
    for r in "crowded crowded-512px-5mic-d9f5e157" "apoferritin apoferritin-1024px-16mic-51995282" \
             "large-carbon large-carbon-1024px-30mic-324d9ed0" "irregular irregular-1024px-12mic-66f7d2b0"; do
      set -- $r
      echo $U/usual_05/$1/labels_05/seed_$s $D/$2 $U/usual_20_50/$1/labels_20/seed_$s $D/$2
      if [ $1 = crowded ]; then echo /work/exp/s48/usual_crowded50/crowded/labels_50/seed_$s $D/$2
      else echo $U/usual_20_50/$1/labels_50/seed_$s $D/$2; fi
    done
  done
  for r in crowded apoferritin large-carbon irregular; do  # the fresh micrographs (data seed 1)
    d=$(ls -d $D/$r-* | grep -E 'fbf1a986|02e9ed64|774f6d06|f63f184e')
    echo $U/fresh1_confirm/$r/labels_20/seed_1 $d $U/fresh1_confirm/$r/labels_50/seed_1 $d
  done
}
python variants.py variants.jsonl $(cells)   # about 30 s
python table.py variants.jsonl > table.md
