# How this folder's share.txt was made (offline; kept as the record, not a tool).
"""Would fewer pseudo-particles per round be more often right? Each round's pseudo-particles
(unet/model/pseudo_positives_iteration_N.json) are saved best first per micrograph; this
reads the share of them that are true particles (within half a diameter of one) when only
the best half, three quarters or all are kept, and how often a micrograph's take was stopped
by the room the count leaves (count - its labels). Cells at 20% and 50% labels of the runs
with the classifier weight 50 / n (no count given: the classifier's count)."""
import glob
import json
import os
import sys

import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset  # noqa: E402

RUNS = {"usual": "/work/exp/s42/est_w50", "fresh": "/work/exp/s42/fresh_w50",
        "fresh_s1": "/work/exp/s42/fresh_s1_w50", "many": "/work/exp/s42/many_w50",
        "many_s1": "/work/exp/s42/many_s1_w50"}
SHARES = (0.5, 0.75, 1.0)

rows = []
for run, root in RUNS.items():
    for cell in sorted(glob.glob(f"{root}/*/labels_[25]0/seed_*")):
        model = os.path.join(cell, "unet", "model")
        summary = json.load(open(os.path.join(model, "training_summary.json")))
        labels = json.load(open(os.path.join(cell, "unet", "labels.json")))
        train = os.path.join(cell, "unet", "train")
        first = os.path.realpath(os.path.join(train, sorted(os.listdir(train))[0]))
        ds = Dataset.from_folder(os.path.dirname(os.path.dirname(first)))
        radius = ds.diameter_px / 2
        expected = summary.get("expected_particles") or 0
        for it in (1, 2):
            path = os.path.join(model, f"pseudo_positives_iteration_{it}.json")
            if not os.path.exists(path):
                continue
            pseudo = json.load(open(path))
            right, taken, capped = np.zeros(len(SHARES)), np.zeros(len(SHARES)), 0
            for name, centres in pseudo.items():
                c = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
                room = max(0, int(round(expected)) - len(labels.get(name, [])))
                capped += bool(len(c)) and len(c) >= room
                tree = cKDTree(np.asarray(ds.truth[name])[:, :2])
                hit = tree.query(c)[0] <= radius if len(c) else np.zeros(0, bool)
                for i, s in enumerate(SHARES):
                    k = int(np.ceil(s * len(c)))
                    right[i] += hit[:k].sum()
                    taken[i] += k
            parts = cell.split(os.sep)[-3:]
            rows.append((run, parts[0], parts[1][-2:], parts[2][-1], it, taken, right, capped,
                         len(pseudo), round(expected, 1)))

print("| run | regime | labels | seed | round | count | micrographs at the room | "
      + " | ".join(f"best {int(100 * s)}%: taken, right" for s in SHARES) + " |")
print("|---|---|---:|---:|---:|---:|---:|" + "---|" * len(SHARES))
for run, regime, pct, seed, it, taken, right, capped, n_mic, expected in rows:
    cells = " | ".join(f"{int(t)}, {r / t:.2f}" if t else "0, -" for t, r in zip(taken, right))
    print(f"| {run} | {regime} | {pct}% | {seed} | {it} | {expected} | {capped}/{n_mic} | {cells} |")
tot = np.sum([r[5] for r in rows], axis=0)
good = np.sum([r[6] for r in rows], axis=0)
print("\nall rounds: " + ", ".join(f"best {int(100 * s)}%: {int(t)} taken, {g / t:.3f} right"
                                     for s, t, g in zip(SHARES, tot, good)))
for share_i, s in enumerate(SHARES):
    below = [r for r in rows if r[5][share_i] and r[6][share_i] / r[5][share_i] < 0.9]
    print(f"rounds under 0.9 right keeping the best {int(100 * s)}%: {len(below)} of "
          f"{sum(1 for r in rows if r[5][share_i])}")
