"""The classifier's score at each U-Net pseudo-particle of the jitter + overlap matrix, with
its kind against the simulator's truth: one JSON line each (veto.jsonl). Run from the
repository with PYTHONPATH=.:docs/results/pseudo_particle_guards_offline_2026-12-05."""
import json
import os
import sys

import numpy as np

from benchmarks.datasets import Dataset
from benchmarks.diagnose import _label_map, classify
from common import cells
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
from cryopick_plugin.engine.io.images import read_micrograph

out = open(sys.argv[1], "w")
for regime, budget, seed, cell, data in cells():
    ds = Dataset.from_folder(data)
    clf = PatchClassifier.load(cell + "/fixmatch/model/best_model_ema.pt")
    labels = json.load(open(cell + "/unet/labels.json"))
    images = {n: read_micrograph(cell + f"/unet/train/{n}.mrc") for n in ds.micrographs
              if os.path.exists(cell + f"/unet/train/{n}.mrc")}
    label_scores = np.concatenate([clf.score_coordinates(images[n], np.asarray(v, float))
                                   for n, v in labels.items()])
    quantiles = [float(np.quantile(label_scores, q)) for q in (0, 0.1, 0.25, 0.5)]
    for it in (1, 2):
        pseudo = json.load(open(cell + f"/unet/model/pseudo_positives_iteration_{it}.json"))
        for name, pts in pseudo.items():
            pts = np.asarray(pts, float).reshape(-1, 2)
            if not len(pts):
                continue
            lab = np.asarray(labels.get(name, []), float).reshape(-1, 2)
            kinds, _ = classify(np.c_[pts, np.ones(len(pts))], ds.truth[name], ds.diameter_px,
                                _label_map(ds.label_masks[name]))
            scores = clf.score_coordinates(images[name], pts)
            others = np.r_[pts, lab]
            for i, p in enumerate(pts):
                d = np.hypot(*(others - p).T)
                d[i] = np.inf
                out.write(json.dumps(dict(
                    regime=regime, budget=budget, seed=seed, it=it, mic=name, kind=kinds[i],
                    score=float(scores[i]), threshold=clf.threshold, lab_q=quantiles,
                    nn=float(d.min() / ds.diameter_px))) + "\n")
    out.flush()
    print(regime, budget, seed, "threshold", round(clf.threshold, 3), flush=True)
