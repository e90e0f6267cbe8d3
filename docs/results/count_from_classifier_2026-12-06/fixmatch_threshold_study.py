"""Offline: the classifier's own picking threshold against one keeping its own count.

For each cell of a --count estimated matrix run (every training micrograph labelled): the
threshold FixMatch chose (best estimated F1 on the labels, Lee & Liu) against
threshold_from_count with count_from_labels of its picks on the training micrographs (the
count it gives the U-Net), kept 1.15 x on the same micrographs; F1 of each on the cell's
saved test picks. The training micrographs' picks are count_study.py's (the ensemble's
classifier member, the same EMA model).
Usage: fixmatch_threshold_study.py RUN_DIR PICKS.json.gz"""
import gzip, json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
from common import test_picks
from cryopick_plugin.engine.io import files
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import count_from_labels, threshold_from_count

root = sys.argv[1]
counts = json.load(gzip.open(sys.argv[2], "rt"))
gaps = {"own": [], "count": []}
print("| cell | count / true | best F1 | own threshold: F1 | count kept: F1 |")
print("|---|---:|---:|---:|---:|")
for key, c in sorted(counts.items()):
    cell = os.path.join(root, key, "fixmatch")
    tests, picks, truth, radius, _ = test_picks(cell, "picks.json")
    train = {n: np.asarray(v).reshape(-1, 3) for n, v in c["picks"]["classifier"].items()}
    if sorted(train) != sorted(os.path.splitext(f)[0] for f in
                               os.listdir(os.path.join(cell, "train"))):
        continue  # training micrographs without labels: FixMatch kept the count there
    labels = json.load(open(os.path.join(cell, "labels.json")))
    per = count_from_labels(train.get, {n: np.asarray(labels[n])[:, :2] for n in train}, radius)
    new = threshold_from_count(train.get, sorted(train), per, lambda *_: None)
    own = files.read_torch_file(os.path.join(cell, "model", "best_model_ema.pt"))["threshold"]

    def f1_at(t):
        return evaluate({n: p[p[:, 2] >= t] for n, p in picks.items()}, truth,
                        radius)["overall"]["f1"]

    best = evaluate(picks, truth, radius)["overall"]["best_f1"]
    f_own, f_new = f1_at(own), f1_at(new)
    gaps["own"].append(best - f_own)
    gaps["count"].append(best - f_new)
    print(f"| {key} | {per / c['true']:.2f} | {best:.3f} | {f_own:.3f} | {f_new:.3f} |",
          flush=True)
print()
for k, g in gaps.items():
    g = np.array(g)
    print(f"{k}: best F1 minus F1 at the threshold: mean {g.mean():.3f}, max {g.max():.3f}, "
          f"within 0.03 in {(g <= 0.03).sum()} of {len(g)}")
