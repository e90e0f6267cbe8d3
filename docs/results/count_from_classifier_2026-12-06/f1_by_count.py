"""Offline: the ensemble's F1 at the threshold each particle count would give it.

combine keeps 1.15 x the count on the calibration micrographs (the matrix: up to 8 of the
test micrographs, spread_sample) from the same picks the cell saved (picks.json, threshold
0.02), so the threshold of any count is threshold_from_count on those picks; checked
against the threshold the run stored for its own count. Counts: the true mean of the
labelled training micrographs and each estimator of count_study.py's picks of them.
Usage: f1_by_count.py RUN_DIR COUNTS.json [COUNTS.json ...] > table.md"""
import json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
from common import test_picks
from cryopick_plugin.engine.io import files
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS, count_from_labels,
                                                     lee_liu_estimate, spread_sample,
                                                     threshold_from_count)

root = sys.argv[1]
counts = {}
for path in sys.argv[2:]:
    counts.update(json.load(open(path)))
ESTIMATORS = dict(c_min="classifier, smallest n/R (now)", e_ll="ensemble, Lee & Liu (before)",
                  e_min="ensemble, smallest n/R",
                  geo="geometric mean of the two smallest n/R", true="true count")
print("| cell | best F1 | " + " | ".join(f"{v}: x true, F1" for v in ESTIMATORS.values()) + " |")
print("|---|---:|" + "---|" * len(ESTIMATORS))
gaps = {k: [] for k in ESTIMATORS}
for key, c in sorted(counts.items()):
    cell = os.path.join(root, key, "ensemble")
    tests, picks, truth, radius, _ = test_picks(cell, "picks.json")
    sample = spread_sample(tests, CALIBRATION_MICROGRAPHS)
    stored = files.read_torch_file(os.path.join(cell, "ensemble_model.pt"))["threshold"]
    labels = json.load(open(os.path.join(root, key, "fixmatch", "labels.json")))
    p = {k: {n: np.asarray(v).reshape(-1, 3) for n, v in c["picks"][k].items()}
         for k in c["picks"]}
    mics = list(p["classifier"])
    lab = {n: np.asarray(labels[n])[:, :2] for n in mics}
    true = c["true"]
    est = dict(c_min=count_from_labels(p["classifier"].get, lab, radius),
               e_ll=lee_liu_estimate(p["ensemble"], lab, radius)["n_particles"] / len(mics),
               e_min=count_from_labels(p["ensemble"].get, lab, radius))
    est.update(geo=float(np.sqrt(est["c_min"] * est["e_min"])), true=true)
    # the run's threshold made again from its count (the classifier's; the log rounds it)
    check = threshold_from_count(picks.get, sample, est["c_min"], lambda *_: None)
    assert abs(check - stored) < 1e-4, (key, check, stored)  # scores saved to 5 digits
    full = evaluate(picks, truth, radius)["overall"]
    cols = []
    for k, per in est.items():
        t = threshold_from_count(picks.get, sample, per, lambda *_: None)
        f1 = evaluate({n: q[q[:, 2] >= t] for n, q in picks.items()}, truth,
                      radius)["overall"]["f1"]
        gaps[k].append(full["best_f1"] - f1)
        cols.append(f"{per / true:.2f}, {f1:.3f}")
    print(f"| {key} | {full['best_f1']:.3f} | " + " | ".join(cols) + " |", flush=True)
print()
print("| count | best F1 minus F1 at the threshold: mean | max | within 0.03 |")
print("|---|---:|---:|---:|")
for k, g in gaps.items():
    g = np.array(g)
    print(f"| {ESTIMATORS[k]} | {g.mean():.3f} | {g.max():.3f} | {(g <= 0.03).sum()} of {len(g)} |")
