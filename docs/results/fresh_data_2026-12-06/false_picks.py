"""Where the ensemble's false picks land, usual (data seed 0) against fresh (seed 1) micrographs,
label seed 0, at its best-F1 threshold: on carbon / ice contamination / aggregate / fragment
(simulator label map at the pick), close to a true particle (within one diameter: a pick
between touching particles or a double pick), or on plain ice away from particles."""
import glob, json, os, sys
import numpy as np
import mrcfile
from scipy.spatial import cKDTree
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from benchmarks.matrix import match_one_to_one
from cryopick_plugin.engine.picking.metrics import evaluate

RUNS = {0: "/work/exp/s40/est", 1: "/work/exp/s40/fresh"}
KINDS = ["carbon", "contamination", "aggregate", "fragment", "near particle", "plain ice"]
print("| regime | labels | data | best-F1 threshold picks | false | " + " | ".join(KINDS) +
      " | missed |")
print("|---|---|---|---|---|" + "---|" * len(KINDS) + "---|")
for regime in ("apoferritin", "crowded", "irregular", "large-carbon"):
    for frac in ("05", "20", "50"):
        for data, root in RUNS.items():
            cell = os.path.join(root, regime, f"labels_{frac}", "seed_0", "ensemble")
            picks = {k: np.asarray(v, float).reshape(-1, 3)
                     for k, v in json.load(open(os.path.join(cell, "picks.json"))).items()}
            first = os.path.realpath(glob.glob(os.path.join(cell, "test", "*.mrc"))[0])
            ds = Dataset.from_folder(os.path.dirname(os.path.dirname(first)))
            r = ds.diameter_px / 2
            res = evaluate(picks, {n: ds.truth[n] for n in picks}, r)["overall"]
            t = res["best_threshold"]
            counts = dict.fromkeys(KINDS, 0)
            n_pick = n_false = n_missed = 0
            for n, p in picks.items():
                p = p[p[:, 2] >= t]
                tr = np.asarray(ds.truth[n])[:, :2]
                pairs = match_one_to_one(p[:, :2], tr, r)
                false = np.ones(len(p), bool); false[[i for i, _ in pairs]] = False
                n_pick += len(p); n_false += false.sum(); n_missed += len(tr) - len(pairs)
                lab = mrcfile.open(ds.label_masks[n], permissive=True).data
                d = cKDTree(tr).query(p[false, :2])[0] if len(tr) else np.full(false.sum(), 1e9)
                for (x, y), dist in zip(p[false, :2], d):
                    code = int(lab[min(int(round(y)), lab.shape[0] - 1),
                                   min(int(round(x)), lab.shape[1] - 1)])
                    kind = (KINDS[code - 1] if code else
                            "near particle" if dist < 2 * r else "plain ice")
                    counts[kind] += 1
            print(f"| {regime} | {int(frac)}% | {'fresh' if data else 'usual'} | {n_pick} | "
                  f"{n_false} | " + " | ".join(str(counts[k]) for k in KINDS) +
                  f" | {n_missed} |", flush=True)
