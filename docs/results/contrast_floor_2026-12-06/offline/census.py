"""Kinds of the best picks of each cell (diagnose.classify), as many as the cell's test
particles, and where the first ice-contamination picks rank. Usage: census.py CELLS.txt
[PICKS] (PICKS: the picks file under each cell, default ensemble/picks.json; Topaz's:
topaz/picks_topaz.json)."""
import sys, os, collections
import numpy as np
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.io.coordinates import read_coordinates
tot = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    cell, data = line.split()
    ds = Dataset.from_folder(data)
    picks = read_coordinates(os.path.join(cell, sys.argv[2] if len(sys.argv) > 2 else "ensemble/picks.json"))
    rows = []
    for n, p in picks.items():
        p = np.asarray(p, float).reshape(-1, 3)
        kinds, _ = classify(p, ds.truth[n], ds.diameter_px, _label_map(ds.label_masks[n]))
        rows += list(zip(p[:, 2], kinds))
    rows.sort(key=lambda r: -r[0])
    K = sum(len(ds.truth[n]) for n in picks)
    top = rows[:K]
    c = collections.Counter(k for _, k in top)
    first = [i for i, (_, k) in enumerate(top) if k == "ice contamination"][:3]
    tag = cell.split("/exp/")[1].replace("s45/rerun/", "sXX/").split("/")
    key = f"{tag[1][:5]} {tag[2]} {tag[3][-2:]}"
    tot[(tag[1][:5], tag[2])].update(c)
    print(key, K, dict(c.most_common()), "ice ranks", first, flush=True)
print()
for k, c in sorted(tot.items()):
    print(k, {kk: v for kk, v in c.most_common()})
