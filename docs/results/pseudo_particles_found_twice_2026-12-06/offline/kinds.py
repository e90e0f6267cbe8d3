"""Kinds of the classifier's picks counted by count_from_labels (at its chosen threshold) on
the labelled micrographs. Usage: kinds.py CELLS.txt"""
import sys, os, json, collections
import numpy as np
sys.path.insert(0, "/work/main"); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from counts import model_cell, CACHE
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.picking.thresholds import recall_curve, COUNT_MIN_RECALL
total = {"cls": collections.Counter(), "ens": collections.Counter()}
for line in open(sys.argv[1]):
    cell, data = line.split()
    mc = model_cell(cell)
    key = mc.replace("/work/exp/s45/rerun/", "").replace("/labels_", "_").replace("/seed_", "_").replace("/", "_")
    ds = Dataset.from_folder(data); radius = ds.diameter_px / 2
    labels = {n: np.asarray(v, float)[:, :2] for n, v in json.load(open(os.path.join(mc, "ensemble/labels.json"))).items() if len(v)}
    z = np.load(os.path.join(CACHE, key + ".npz"))
    names = sorted(labels, key=lambda n: -len(labels[n]))[:8]
    for which in ("cls", "ens"):
        picks = {n: z[n + "/" + which] for n in names}
        cand, recall, n_picks, enough = recall_curve(picks, {n: labels[n] for n in names}, radius)
        ok = enough & (recall >= COUNT_MIN_RECALL)
        m = sum(len(labels[n]) for n in names)
        low = recall - np.sqrt(recall * (1 - recall) / m)
        t = cand[np.flatnonzero(ok)[np.argmin(n_picks[ok] / low[ok])]]
        c = collections.Counter()
        for n in names:
            p = picks[n][picks[n][:, 2] >= t]
            kinds, _ = classify(p, ds.truth[n], ds.diameter_px, _label_map(ds.label_masks[n]))
            c.update(kinds)
        print(key, which, f"t={t:.3f}", dict(c.most_common()), flush=True)
        total[which].update(c)
for which, c in total.items():
    n = sum(c.values())
    print("all cells", which, {k: f"{v} ({v / n:.0%})" for k, v in c.most_common()})
