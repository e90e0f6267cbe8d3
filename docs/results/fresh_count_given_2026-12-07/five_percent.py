"""The 5% line of issue 11's "Done when" when Topaz has fewer label seeds than cryopick: the
default's (the ensemble's) best F1 / AP per regime, its two-label-seed mean and its label
seed 0 alone, against Topaz's seeds that exist; the mean margin over the regimes both ways.

Usage: five_percent.py TOPAZ.json[,MORE.json] RUN.json"""
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402

FRACTION = 0.05
topaz_paths, run = sys.argv[1].split(","), sys.argv[2]
topaz = defaultdict(dict)
for path in topaz_paths:
    for r in load_records(path):
        if r["row"] == "topaz" and round(r["fraction"], 2) == FRACTION:
            topaz[r["regime"]][r["seed"]] = (r["best_f1"], r["ap"])
ours = defaultdict(dict)
for r in load_records(run):
    if r["row"] == "ensemble" and round(r["fraction"], 2) == FRACTION:
        ours[r["regime"]][r["seed"]] = (r["best_f1"], r["ap"])

print("| regime | default, seeds | default mean best F1 / AP | Topaz, seeds | Topaz mean | "
      "margin of the means | default seed 0 minus Topaz seed 0 |")
print("|---|---|---|---|---|---|---|")
means, paired = [], []
for regime in ["crowded", "apoferritin", "large-carbon", "irregular"]:
    if not ours[regime] or not topaz[regime]:
        continue
    d, t = (np.mean(list(x[regime].values()), axis=0) for x in (ours, topaz))
    means.append(d - t)
    pair = "-"
    if 0 in ours[regime] and 0 in topaz[regime]:
        paired.append(np.subtract(ours[regime][0], topaz[regime][0]))
        pair = "{:+.3f} / {:+.3f}".format(*paired[-1])
    print(f"| {regime} | {sorted(ours[regime])} | {d[0]:.3f} / {d[1]:.3f} | "
          f"{sorted(topaz[regime])} | {t[0]:.3f} / {t[1]:.3f} | "
          f"{d[0] - t[0]:+.3f} / {d[1] - t[1]:+.3f} | {pair} |")
print()
if means:
    print("mean over {} regimes, margin of the means: {:+.3f} / {:+.3f}".format(
        len(means), *np.mean(means, axis=0)))
if paired:
    print("mean over {} regimes, label seed 0 paired: {:+.3f} / {:+.3f}".format(
        len(paired), *np.mean(paired, axis=0)))
