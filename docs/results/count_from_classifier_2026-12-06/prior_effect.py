"""Paired per cell: the matrix with the true count (2026-12-05) against the one where the
classifier counted (2026-12-06). The only difference in the U-Net's training is its count,
and through it the PU objective's class prior; the baseline (phase 1) depends on nothing
else. Rows sorted by the classifier's count over the true one.
Usage: prior_effect.py TRUE.json COUNTED.json RUN_DIR (RUN_DIR: the counted run's --out,
for each U-Net's training_summary.json) > prior_effect.md"""
import json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset


def load(path):
    return {(r["regime"], r["fraction"], r["seed"], r["row"]): r
            for r in json.load(open(path))["results"]}


true, counted, root = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
rows = []
for (regime, frac, seed, row) in counted:
    if row != "unet/baseline":
        continue
    cell = os.path.join(root, regime, f"labels_{int(round(frac * 100)):02d}", f"seed_{seed}")
    summary = json.load(open(os.path.join(cell, "unet", "model", "training_summary.json")))
    labels = json.load(open(os.path.join(cell, "fixmatch", "labels.json")))
    train = os.path.join(cell, "fixmatch", "train")
    ds = Dataset.from_folder(os.path.dirname(os.path.dirname(os.path.realpath(
        os.path.join(train, os.listdir(train)[0])))))
    mics = [n for n in labels if len(labels[n])]
    n_true = np.mean([len(ds.truth[n]) for n in mics])
    ratio = summary["expected_particles"] / n_true
    d = [counted[(regime, frac, seed, r)]["ap"] - true[(regime, frac, seed, r)]["ap"]
         for r in ("unet/baseline", "unet/iteration 2", "ensemble")]
    rows.append((ratio, *d, f"{regime} {frac:.0%} seed {seed}"))
print("| cell | U-Net's count / true | AP difference (classifier's count minus true count): "
      "U-Net baseline | U-Net last round | ensemble |")
print("|---|---:|---:|---:|---:|")
for ratio, b, last, ens, name in sorted(rows):
    print(f"| {name} | {ratio:.2f} | {b:+.3f} | {last:+.3f} | {ens:+.3f} |")
print()
for lo, hi, what in ((0, 0.9, "below 0.9"), (0.9, 1.1, "0.9-1.1"), (1.1, 9, "above 1.1")):
    sel = [r for r in rows if lo <= r[0] < hi]
    b = np.array([r[1] for r in sel])
    e = np.array([r[3] for r in sel])
    print(f"- count {what} x true ({len(sel)} cells): U-Net baseline AP {b.min():+.3f} to "
          f"{b.max():+.3f} (higher in {(b > 0).sum()}), ensemble {e.min():+.3f} to {e.max():+.3f}")
