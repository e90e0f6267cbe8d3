# How this folder's veto.txt was made (offline; kept as the record, not a tool).
"""Would the classifier's word on each pseudo-particle sort the wrong ones out? Each round's
pseudo-particles (as share.py reads them) scored by the run's classifier (the ensemble's,
score_coordinates on the training micrograph); the share right among those it scores at least
its own picking threshold, or 0.5, against all of them."""
import glob
import json
import os
import sys

import numpy as np
import torch
from scipy.spatial import cKDTree

torch.set_num_threads(1)
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.ensemble import EnsemblePicker  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402

RUNS = {"usual": "/work/exp/s42/est_w50", "fresh": "/work/exp/s42/fresh_w50",
        "fresh_s1": "/work/exp/s42/fresh_s1_w50", "many": "/work/exp/s42/many_w50",
        "many_s1": "/work/exp/s42/many_s1_w50"}

print("| run | regime | labels | seed | round | classifier threshold | all: taken, right | "
      ">= its threshold: kept, right, right ones lost | >= 0.5: kept, right |")
print("|---|---|---:|---:|---:|---:|---|---|---|")
totals = np.zeros(5)
for run, root in RUNS.items():
    for cell in sorted(glob.glob(f"{root}/*/labels_[25]0/seed_*")):
        model = os.path.join(cell, "unet", "model")
        train = os.path.join(cell, "unet", "train")
        first = os.path.realpath(os.path.join(train, sorted(os.listdir(train))[0]))
        ds = Dataset.from_folder(os.path.dirname(os.path.dirname(first)))
        clf = EnsemblePicker.load(os.path.join(cell, "ensemble", "ensemble_model.pt")).classifier
        for it in (1, 2):
            path = os.path.join(model, f"pseudo_positives_iteration_{it}.json")
            pseudo = json.load(open(path)) if os.path.exists(path) else {}
            hits, scores = [], []
            for name, centres in pseudo.items():
                c = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
                if not len(c):
                    continue
                tree = cKDTree(np.asarray(ds.truth[name])[:, :2])
                hits.append(tree.query(c)[0] <= ds.diameter_px / 2)
                scores.append(clf.score_coordinates(read_micrograph(ds.micrographs[name]), c))
            if not hits:
                continue
            hit, score = np.concatenate(hits), np.concatenate(scores)
            own = score >= clf.threshold
            half = score >= 0.5
            totals += [len(hit), hit.sum(), own.sum(), hit[own].sum(), hit[~own].sum()]
            parts = cell.split(os.sep)[-3:]
            print(f"| {run} | {parts[0]} | {parts[1][-2:]}% | {parts[2][-1]} | {it} | "
                  f"{clf.threshold:.3f} | {len(hit)}, {hit.mean():.2f} | {own.sum()}, "
                  f"{hit[own].mean() if own.any() else float('nan'):.2f}, {hit[~own].sum()} | "
                  f"{half.sum()}, {hit[half].mean() if half.any() else float('nan'):.2f} |",
                  flush=True)
n, right, kept, kept_right, lost = totals
print(f"\nall rounds: {int(n)} taken, {right / n:.3f} right; at or above the classifier's "
      f"threshold {int(kept)} kept, {kept_right / kept:.3f} right, {int(lost)} right ones lost")
