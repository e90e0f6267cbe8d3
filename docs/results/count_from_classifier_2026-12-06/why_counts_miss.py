"""Offline: why the classifier's count is off. At the threshold count_from_labels reads, est/N =
(R_true / R_labels) / precision. Labels' recall vs all particles', and precision."""
import glob, json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.picking.thresholds import recall_curve, COUNT_MIN_RECALL, label_scores
root = "/work/exp/s39/est"
counts = {}
for p in glob.glob("/work/exp/s39/counts_*.json"):
    counts.update(json.load(open(p)))
model = sys.argv[1] if len(sys.argv) > 1 else "classifier"
print("| cell | labels | est/N | t | R_labels | R_all | R_unlab | precision |")
for key in sorted(counts):
    c = counts[key]
    cell = os.path.join(root, key)
    labels = json.load(open(os.path.join(cell, "fixmatch", "labels.json")))
    train_dir = os.path.join(cell, "fixmatch", "train")
    f0 = sorted(os.listdir(train_dir))[0]
    ds = Dataset.from_folder(os.path.dirname(os.path.dirname(os.path.realpath(os.path.join(train_dir, f0)))))
    radius = ds.diameter_px / 2
    picks = {n: np.asarray(v).reshape(-1, 3) for n, v in c["picks"][model].items()}
    mics = list(picks)
    lab = {n: np.asarray(labels[n])[:, :2] for n in mics}
    truth = {n: np.asarray(ds.truth[n])[:, :2] for n in mics}
    t, R, n, enough = recall_curve(picks, lab, radius)
    enough &= R >= COUNT_MIN_RECALL
    i = np.argmin(np.where(enough, n / np.maximum(R, 1e-9), np.inf))
    thr = t[i]
    est = n[i] / R[i] / len(mics)
    # recall of all true particles and unlabelled ones at thr; precision of picks >= thr
    from scipy.spatial import cKDTree
    tp = 0; tot = 0; hit_all = 0; hit_unl = 0; n_unl = 0
    for m in mics:
        p = picks[m][picks[m][:, 2] >= thr]
        tr = truth[m]
        s_all = label_scores({m: picks[m]}, {m: tr}, radius)
        hit_all += (s_all >= thr).sum(); tot += len(tr)
        # unlabelled truth: truth not within radius of a label
        d, _ = cKDTree(lab[m]).query(tr) if len(lab[m]) else (np.full(len(tr), np.inf), None)
        unl = d > radius
        hit_unl += (s_all[unl] >= thr).sum(); n_unl += unl.sum()
        # precision: picks within radius of a truth (not one-to-one; fine as a diagnostic)
        if len(p):
            dd, _ = cKDTree(tr).query(p[:, :2]); tp += (dd <= radius).sum()
    npk = n[i]
    print(f"| {key} | {c['n_labels']} | {est / c['true']:.2f} | {thr:.3f} | {R[i]:.2f} | "
          f"{hit_all / tot:.2f} | {hit_unl / max(n_unl, 1):.2f} | {tp / max(npk, 1):.2f} |")
