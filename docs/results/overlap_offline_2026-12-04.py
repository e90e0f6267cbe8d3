"""Offline: ensemble picks re-scored when another, better-scored pick lies closer than
OVERLAP diameters (a particle overlapping another: aggregates). AP / best F1 before/after."""
import glob, json, os, sys
import numpy as np
from scipy.spatial import cKDTree
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.io.coordinates import read_coordinates, stem
from cryopick_plugin.engine.picking.metrics import evaluate

DATA = {"crowded": "crowded-512px-5mic-d9f5e157", "apoferritin": "apoferritin-1024px-16mic-51995282",
        "large-carbon": "large-carbon-1024px-30mic-324d9ed0", "irregular": "irregular-1024px-12mic-66f7d2b0"}
_ds = {}

def dataset(regime):
    if regime not in _ds:
        _ds[regime] = Dataset.from_folder("/work/bench_data/" + DATA[regime])
    return _ds[regime]

def rescore(p, d, overlap, factor, top_only, ratio=0.0):
    p = p.copy()
    if len(p) < 2:
        return p
    order = np.argsort(-p[:, 2], kind="stable")
    p = p[order]
    tree = cKDTree(p[:, :2])
    pairs = tree.query_pairs(overlap * d, output_type="ndarray")
    hit = np.zeros(len(p), bool)
    for i, j in pairs:  # i < j in score order: j has a better-scored neighbour that close
        a, b = min(i, j), max(i, j)
        hit[b] = True
        if not top_only and p[b, 2] >= ratio * p[a, 2]:
            hit[a] = True
    p[hit, 2] *= factor
    return p

def evaluate_dir(folder, regime, variants):
    ds = dataset(regime)
    picks = {stem(k): np.asarray(v)[:, :3] for k, v in read_coordinates(folder + "/" + os.environ.get("PICKS", "picks.json")).items()}
    truth = {n: ds.truth[n] for n in picks}
    out = {}
    for name, fn in variants.items():
        q = {n: fn(p, ds.diameter_px) for n, p in picks.items()}
        r = evaluate(q, truth, ds.diameter_px / 2)["overall"]
        out[name] = (r["best_f1"], r["ap"])
    return out

if __name__ == "__main__":
    roots = sys.argv[1:]
    variants = {"as is": lambda p, d: p}
    for ov in [float(x) for x in os.environ.get("OV", "0.8 0.9").split()]:
        for fac in [float(x) for x in os.environ.get("FAC", "0.5 0.8").split()]:
            for ratio in [float(x) for x in os.environ.get("RATIO", "0.0 0.5 0.8").split()]:
                variants[f"both<{ov} x{fac} r{ratio}"] = (lambda ov, fac, ratio: lambda p, d: rescore(p, d, ov, fac, False, ratio))(ov, fac, ratio)
            variants[f"lower<{ov} x{fac}"] = (lambda ov, fac: lambda p, d: rescore(p, d, ov, fac, True))(ov, fac)
    rows = []
    for root in roots:
        for folder in sorted(glob.glob(root + "/*/labels_*/seed_*/" + os.environ.get("MEMBER", "ensemble"))):
            parts = folder.split("/")
            regime, budget, seed = parts[-4], parts[-3], parts[-2]
            if not os.path.exists(folder + "/" + os.environ.get("PICKS", "picks.json")):
                continue
            res = evaluate_dir(folder, regime, variants)
            rows.append((regime, budget, seed, res))
            base = res["as is"]
            print(regime, budget, seed, "as is %.3f/%.3f" % base,
                  " ".join(f"{k}:{v[0]-base[0]:+.3f}/{v[1]-base[1]:+.3f}" for k, v in res.items() if k != "as is" and k.startswith("both")), flush=True)
    print("\nmean change over cells")
    for k in variants:
        if k == "as is":
            continue
        d = np.array([[r[3][k][0] - r[3]["as is"][0], r[3][k][1] - r[3]["as is"][1]] for r in rows])
        worst = d.min(axis=0)
        print(f"{k:16s} best F1 {d[:,0].mean():+.4f} AP {d[:,1].mean():+.4f}  worst {worst[0]:+.3f}/{worst[1]:+.3f}")
