"""How topaz_fresh_crowded50_seed1.json was made: Topaz's crowded 50% run on the fresh
micrographs (label seed 1) trained and picked, then its matrix process stopped before scoring
(it was started without the project's venv: no mrcfile). This scores the picks it saved
(picks_topaz.json) with the matrix's own code (run.score, _records), as the matrix would.
Usage: score_saved_topaz.py MATRIX_OUT OUT.json  (run from the repository root)"""
import json
import os
import sys
from dataclasses import replace

sys.path.insert(0, os.getcwd())
from benchmarks.matrix import ALL_REGIMES, _records, simulate  # noqa: E402
from benchmarks.datasets import Dataset  # noqa: E402
from benchmarks.topaz import DEFAULT_THRESHOLD  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402

out_dir, out = sys.argv[1], sys.argv[2]
regime, fraction, seed = "crowded", 0.5, 1
folder, _ = simulate(replace(ALL_REGIMES[regime], seed=1), "/work/shared/bench",
                     "/work/bench_data", log=print)
ds = Dataset.from_folder(folder)
train, test = ds.split(ALL_REGIMES[regime].n_train)
labels = ds.labels(train, fraction, seed)
work = os.path.join(out_dir, regime, "labels_50", f"seed_{seed}", "topaz")
picks = read_coordinates(os.path.join(work, "picks_topaz.json"))
row = dict(method="Topaz", model="saved picks", threshold=DEFAULT_THRESHOLD,
           picks={n: picks.get(n) for n in test if n in picks}, train_s=None,
           pick_s_per_mic=None, peak_mb=None)
key = dict(regime=regime, fraction=fraction, seed=seed,
           n_labels=int(sum(len(v) for v in labels.values())))
records = _records([row], ds, test, key, {})
with open(out, "w") as fh:
    json.dump(dict(results=records), fh, indent=1)
for r in records:
    print(r["regime"], r["fraction"], r["seed"], r["row"], f"best F1 {r['best_f1']:.3f}",
          f"AP {r['ap']:.3f}", f"F1 {r['f1']:.3f}")
