"""Offline: the classifier's score at each U-Net pseudo-positive of the jitter+overlap matrix
(fin2), with its kind against the simulator's truth. One JSON line per pseudo-positive."""
import json, sys, os, glob
import numpy as np
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
from cryopick_plugin.engine.io.images import read_micrograph as read_image

DATA = {"crowded": "crowded-512px-5mic-d9f5e157", "apoferritin": "apoferritin-1024px-16mic-51995282",
        "large-carbon": "large-carbon-1024px-30mic-324d9ed0", "irregular": "irregular-1024px-12mic-66f7d2b0"}
F = "/work/exp/s34/fin2/"
SRC = {("crowded", "20"): "c20", ("irregular", "05"): "i5", ("irregular", "50"): "i50"}
for r in ("apoferritin", "large-carbon", "irregular"): SRC[(r, "20")] = "r20"
for r in ("crowded", "apoferritin", "large-carbon"):
    SRC[(r, "05")] = SRC[(r, "50")] = "r5_50"
out = open(sys.argv[1], "w")
for (regime, budget), src in sorted(SRC.items()):
    ds = Dataset.from_folder("/work/bench_data/" + DATA[regime])
    for seed in (0, 1):
        cell = f"{F}{src}/{regime}/labels_{budget}/seed_{seed}"
        clf = PatchClassifier.load(cell + "/fixmatch/model/best_model_ema.pt")
        labels = json.load(open(cell + "/unet/labels.json"))
        imgs = {n: read_image(cell + f"/unet/train/{n}.mrc") for n in ds.micrographs if os.path.exists(cell + f"/unet/train/{n}.mrc")}
        lab_scores = np.concatenate([clf.score_coordinates(imgs[n], np.asarray(v, float)) for n, v in labels.items()])
        for it in (1, 2):
            pseudo = json.load(open(cell + f"/unet/model/pseudo_positives_iteration_{it}.json"))
            for name, pts in pseudo.items():
                pts = np.asarray(pts, float).reshape(-1, 2)
                if not len(pts): continue
                lab = np.asarray(labels.get(name, []), float).reshape(-1, 2)
                kinds, _ = classify(np.c_[pts, np.ones(len(pts))], ds.truth[name], ds.diameter_px, _label_map(ds.label_masks[name]))
                s = clf.score_coordinates(imgs[name], pts)
                allp = np.r_[pts, lab]
                for i, p in enumerate(pts):
                    d = np.hypot(*(allp - p).T); d[i] = np.inf
                    out.write(json.dumps(dict(regime=regime, budget=budget, seed=seed, it=it, mic=name,
                        kind=kinds[i], score=float(s[i]), threshold=clf.threshold,
                        lab_q=[float(np.quantile(lab_scores, q)) for q in (0, 0.1, 0.25, 0.5)],
                        nn=float(d.min() / ds.diameter_px))) + "\n")
        out.flush()
        print(regime, budget, seed, "threshold", round(clf.threshold, 3), "labels q", np.round(np.quantile(lab_scores, [0, .1, .5]), 3), flush=True)
