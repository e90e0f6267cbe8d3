"""Mean distance (in particle radii) of the true positives from their particle's centre, at the
best-F1 threshold: the ensemble against the classifier, crowded 20%, label seed 0, usual and
fresh micrographs (the offsets quoted for snap_probe)."""
import glob, json, os, sys
import numpy as np
from scipy.spatial import cKDTree
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from benchmarks.matrix import match_one_to_one
from cryopick_plugin.engine.picking.metrics import evaluate

for data, cell in (("usual", "/work/exp/s40/est/crowded/labels_20/seed_0"),
                   ("fresh", "/work/exp/s40/fresh/crowded/labels_20/seed_0")):
    first = os.path.realpath(glob.glob(cell + "/ensemble/test/*.mrc")[0])
    ds = Dataset.from_folder(os.path.dirname(os.path.dirname(first)))
    r = ds.diameter_px / 2
    for member in ("ensemble", "fixmatch"):
        picks = {k: np.asarray(v, float).reshape(-1, 3)
                 for k, v in json.load(open(f"{cell}/{member}/picks.json")).items()}
        t = evaluate(picks, {n: ds.truth[n] for n in picks}, r)["overall"]["best_threshold"]
        offsets = []
        for n, p in picks.items():
            p, truth = p[p[:, 2] >= t], np.asarray(ds.truth[n])[:, :2]
            pairs = match_one_to_one(p[:, :2], truth, r)
            d = cKDTree(truth).query(p[[i for i, _ in pairs], :2])[0]
            offsets += list(d / r)
        print(f"{data} {member}: {len(offsets)} true positives, mean offset {np.mean(offsets):.2f} r")
