"""Offline: do aggregate members among the ensemble's best picks have closer neighbours
(other candidates) than particles? AUC of nearest-neighbour distance (in diameters) and of
neighbours within 1.1 d, per neighbour score share. Usage: aggnn.py CELLS.txt"""
import sys, os, json, collections
import numpy as np
from scipy.spatial import cKDTree
sys.path.insert(0, "/work/main"); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from counts import model_cell
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.io.coordinates import read_coordinates
from aggfeat import auc
SHARES = (0.0, 0.3, 0.5, 0.8)
tot = collections.defaultdict(lambda: ([], []))
for line in open(sys.argv[1]):
    cell, data = line.split()
    mc = model_cell(cell)
    ds = Dataset.from_folder(data); d = ds.diameter_px
    picks = read_coordinates(os.path.join(mc, "ensemble/picks.json"))
    rows = []
    for n, p in picks.items():
        p = np.asarray(p, float).reshape(-1, 3)
        kinds, _ = classify(p, ds.truth[n], d, _label_map(ds.label_masks[n]))
        tree = cKDTree(p[:, :2])
        for i, (s, k) in enumerate(zip(p[:, 2], kinds)):
            idx = [j for j in tree.query_ball_point(p[i, :2], 2.0 * d) if j != i]
            f = []
            for sh in SHARES:
                nb = [j for j in idx if p[j, 2] >= sh * s]
                dist = np.hypot(*(p[nb, :2] - p[i, :2]).T) / d if nb else np.array([2.0])
                f += [dist.min(), (dist < 1.1).sum()]
            rows.append((s, k, f))
    rows.sort(key=lambda r: -r[0])
    K = sum(len(ds.truth[n]) for n in picks)
    top = rows[:K]
    agg = np.array([f for _, k, f in top if k == "aggregate"]).reshape(-1, 2 * len(SHARES))
    par = np.array([f for _, k, f in top if k == "particle"]).reshape(-1, 2 * len(SHARES))
    out = []
    for i, sh in enumerate(SHARES):
        out.append(f"s{sh}: nn {auc(-agg[:, 2*i], -par[:, 2*i]):.2f} n1.1 {auc(agg[:, 2*i+1], par[:, 2*i+1]):.2f}")
        tot[sh][0].append(agg[:, 2*i:2*i+2]); tot[sh][1].append(par[:, 2*i:2*i+2])
    print(mc.split("rerun/")[1], len(agg), len(par), " | ".join(out), flush=True)
for sh in SHARES:
    a = np.concatenate(tot[sh][0]); p = np.concatenate(tot[sh][1])
    print(sh, f"pooled nn auc {auc(-a[:, 0], -p[:, 0]):.2f} n1.1 {auc(a[:, 1], p[:, 1]):.2f}",
          "agg nn q", np.round(np.quantile(a[:, 0], [.1, .25, .5, .75]), 2), "par nn q", np.round(np.quantile(p[:, 0], [.01, .05, .1, .25, .5]), 2))
