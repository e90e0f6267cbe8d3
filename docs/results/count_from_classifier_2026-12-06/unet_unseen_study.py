"""Offline: the U-Net's threshold kept on micrographs without labels, with the classifier's
count against its own (count_from_labels on its final picks of the labelled micrographs).

The matrix's U-Net has no training micrograph without labels, so the test micrographs
stand in for them (up to 8, spread_sample, as combine calibrates): the threshold each count
gives on the cell's saved test picks of the last round, and F1 there.
Usage: unet_unseen_study.py RUN_DIR PICKS.json.gz (count_study.py's picks)"""
import gzip, json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
from common import test_picks
from cryopick_plugin.engine.io import files
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS, count_from_labels,
                                                     spread_sample, threshold_from_count)

root = sys.argv[1]
counts = json.load(gzip.open(sys.argv[2], "rt"))
gaps = {"classifier": [], "own": [], "true": []}
print("| cell | best F1 | classifier's count: x true, F1 | own count: x true, F1 | true count: F1 |")
print("|---|---:|---|---|---:|")
for key, c in sorted(counts.items()):
    unet = os.path.join(root, key, "unet")
    summary = json.load(open(os.path.join(unet, "model", files.UNET_SUMMARY)))
    n_iter = len(summary["iterations"]) - 1
    tests, picks, truth, radius, _ = test_picks(
        unet, f"picks_{files.unet_iteration_model(n_iter)[:-3]}.json")
    sample = spread_sample(tests, CALIBRATION_MICROGRAPHS)
    labels = json.load(open(os.path.join(unet, "labels.json")))
    own_picks = {n: np.asarray(v).reshape(-1, 3) for n, v in c["picks"]["unet"].items()}
    lab = {n: np.asarray(labels[n])[:, :2] for n in own_picks}
    per = dict(classifier=summary["expected_particles"],
               own=count_from_labels(own_picks.get, lab, radius), true=c["true"])
    best = evaluate(picks, truth, radius)["overall"]["best_f1"]
    f1 = {}
    for k, v in per.items():
        t = threshold_from_count(picks.get, sample, v, lambda *_: None) if v else None
        f1[k] = evaluate({n: p[p[:, 2] >= t] for n, p in picks.items()}, truth,
                         radius)["overall"]["f1"] if t is not None else 0.0
        gaps[k].append(best - f1[k])
    own = per["own"] / c["true"] if per["own"] else float("nan")
    print(f"| {key} | {best:.3f} | {per['classifier'] / c['true']:.2f}, {f1['classifier']:.3f} | "
          f"{own:.2f}, {f1['own']:.3f} | {f1['true']:.3f} |", flush=True)
print()
for k, g in gaps.items():
    g = np.array(g)
    print(f"{k} count: best F1 minus F1 at the threshold: mean {g.mean():.3f}, max {g.max():.3f}, "
          f"within 0.03 in {(g <= 0.03).sum()} of {len(g)}")
