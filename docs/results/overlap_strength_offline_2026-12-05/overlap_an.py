"""How strongly should the ensemble lower overlapping picks? The matrix's 24 cells
(docs/results/matrix_pseudo_min_2026-12-05, run folders /work/exp/s35/full) re-scored offline
from their pre-rule peaks (raw_peaks.py writes them): the rule as it ships (a lowered pick
keeps 0.8 of its score), off, 0.6 / 0.5 / 0.4, and two factors set per cell from how often
the rule would lower a hand-picked particle on the training micrographs (k of n labels;
share (k + 1) / (n + 2)): "adaptive" keeps clip(0.8 x share / 0.25, 0.4, 0.8),
"adaptive2" clip(2 x share, 0.3, 0.8). Prints per cell, then the mean change against 0.8 and
per regime-budget (best F1 / AP). Run from the repository with PYTHONPATH=.; results.txt."""
import json, sys, collections
import numpy as np
from scipy.spatial import cKDTree
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.scale import to_original
from cryopick_plugin.engine.picking import peaks as pk

DATA = {"crowded": "crowded-512px-5mic-d9f5e157", "apoferritin": "apoferritin-1024px-16mic-51995282",
        "large-carbon": "large-carbon-1024px-30mic-324d9ed0", "irregular": "irregular-1024px-12mic-66f7d2b0"}
raw = json.load(open("/work/exp/s36/raw_peaks.json"))
ds_cache = {}

def lowered_mask(peaks, wd, overlap=0.9, share=0.8):
    """peaks sorted best first; which the rule lowers."""
    low = np.zeros(len(peaks), bool)
    if len(peaks) < 2: return low
    pairs = cKDTree(peaks[:, :2]).query_pairs(overlap * wd, output_type="ndarray")
    if len(pairs):
        b, w = pairs.min(1), pairs.max(1)
        low[w] = True
        low[b[peaks[w, 2] >= share * peaks[b, 2]]] = True
    return low

def label_overlap(cell, wd, labels):
    """share of labels whose matched candidate is lowered (train micrographs)."""
    n = k = 0
    for name, r in cell["train"].items():
        lab = np.asarray(labels.get(name, []), float).reshape(-1, 2)
        p = np.asarray(r["peaks"]).reshape(-1, 3)
        if not len(lab) or not len(p): continue
        p = p[np.argsort(-p[:, 2], kind="stable")]
        low = lowered_mask(p, wd)
        orig = to_original(p, r["factor"])
        d, j = cKDTree(orig[:, :2]).query(lab)
        ok = d <= 0.5 * wd * r["factor"]
        n += ok.sum(); k += low[j[ok]].sum()
    return k, n

def score(cell, ds, kept_fn):
    picks = {}
    for name, r in cell["test"].items():
        p = np.asarray(r["peaks"]).reshape(-1, 3)
        p = p[np.argsort(-p[:, 2], kind="stable")]
        if len(p):
            low = lowered_mask(p, cell["wd"])
            p = p.copy(); p[low, 2] *= kept_fn
        p = to_original(p, r["factor"])
        picks[name] = p[p[:, 2] >= 0.02]
    truth = {n: ds.truth[n] for n in picks}
    o = evaluate(picks, truth, ds.diameter_px / 2)["overall"]
    return o["best_f1"], o["ap"]

rules = {"0.8 (now)": lambda k, n: 0.8, "1.0 (off)": lambda k, n: 1.0, "0.6": lambda k, n: 0.6,
         "0.5": lambda k, n: 0.5, "0.4": lambda k, n: 0.4,
         "adaptive": lambda k, n: float(np.clip(0.8 * ((k + 1) / (n + 2)) / 0.25, 0.4, 0.8)),
         "adaptive2": lambda k, n: float(np.clip(2 * (k + 1) / (n + 2), 0.3, 0.8))}
res = collections.defaultdict(dict)
for key in sorted(raw):
    regime, lab, seed = key.split("/")
    if regime not in ds_cache: ds_cache[regime] = Dataset.from_folder("/work/bench_data/" + DATA[regime])
    ds = ds_cache[regime]
    labels = json.load(open(f"/work/exp/s35/full/{key}/ensemble/labels.json"))
    k, n = label_overlap(raw[key], raw[key]["wd"], labels)
    line = []
    for name, rule in rules.items():
        res[(regime, lab)].setdefault(name, []).append(score(raw[key], ds, rule(k, n)))
    print(key, f"labels lowered {k}/{n}", {nm: tuple(round(x, 3) for x in v[-1]) for nm, v in res[(regime, lab)].items()}, flush=True)
print()
for name in rules:
    diffs = []
    for rb, d in res.items():
        m = np.mean(d[name], 0) - np.mean(d["0.8 (now)"], 0)
        diffs.append(m)
    diffs = np.array(diffs)
    print(f"{name:12s} mean dF1 {diffs[:,0].mean():+.4f} dAP {diffs[:,1].mean():+.4f}  worst {diffs[:,0].min():+.4f} {diffs[:,1].min():+.4f}")
for rb, d in sorted(res.items()):
    print(rb, " ".join(f"{nm}:{np.mean(v,0)[0]:.3f}/{np.mean(v,0)[1]:.3f}" for nm, v in d.items()))
