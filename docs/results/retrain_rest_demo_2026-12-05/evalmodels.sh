#!/bin/bash
# usage: evalmodels.sh MODELDIR DATADIR OUT ; scores each phase's model on all demo micrographs
set -e
M=$1; D=$2; O=$3; mkdir -p $O
PY=/work/main/.venv/bin/python
for m in baseline_model model_iteration_1 model_iteration_2 final_model; do
  [ -f $M/$m.pt ] || continue
  $PY -m cryopick_plugin.cli pick --model $M/$m.pt --image-dir $D/micrographs --output $O/$m.json --threshold 0.02 --threads 2 >/dev/null 2>&1
  $PY -m cryopick_plugin.cli evaluate --picks $O/$m.json --truth $D/truth/coordinates.json --diameter 75 --out $O/$m.eval.json > $O/$m.eval.txt 2>&1
  echo "$m: $(python3 -c "import json,sys; o=json.load(open(sys.argv[1]))[\"overall\"]; print({k: round(v,3) for k,v in o.items() if isinstance(v,float)})" $O/$m.eval.json)"
done
$PY /work/exp/s37/pp_prec.py $M $D/truth/coordinates.json 38
