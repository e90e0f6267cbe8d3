#!/bin/bash
# one Topaz cell: label seed, regime, fraction; not started at or after $CUTOFF (HHMM, 1940)
s=$1; r=$2; f=$3
if [ $(date +%H%M) -ge ${CUTOFF:-1940} ]; then echo "$(date +%T) skip $s $r $f"; exit 0; fi
pct=$(python3 -c "print(round($f*100))")
out=/work/exp/s55/topaz_${r}_${pct}_seed$s
echo "$(date +%T) start $s $r $f"
cd /work/exp/s55/code && /work/main/.venv/bin/python -m benchmarks.matrix --methods topaz --count true \
  --data-seed 2 --seeds $s --jobs 1 --regimes $r --fractions $f --data-root /work/bench_data \
  --simulator /work/shared/bench --out $out > $out.log 2>&1
echo "$(date +%T) done $s $r $f rc $?"
