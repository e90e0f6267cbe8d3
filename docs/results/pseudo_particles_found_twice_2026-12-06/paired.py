"""Per cell, before -> now, over the cells two matrix runs share: the ensemble's AP, best F1
and F1 at its threshold (mean change, cells up / down by more than 0.001, the worst), and the
U-Net's last round against its own baseline (AP; cells ahead). Usage: paired.py BEFORE.json
NOW.json [BEFORE NOW ...] (from this folder or anywhere)"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)


def by_cell(path):
    return {(r["regime"], r["fraction"], r["seed"], r["row"]): r for r in load_records(path)}


pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
change = {m: [] for m in ("ap", "best_f1", "f1")}
ahead = {"before": 0, "now": 0}
n_unet = 0
for before, now in pairs:
    b, n = by_cell(before), by_cell(now)
    for key in sorted(set(b) & set(n)):
        if key[3] == "ensemble":
            for m in change:
                change[m].append((n[key][m] - b[key][m], key[:3]))
        if key[3] == "unet/iteration 2":
            base = key[:3] + ("unet/baseline",)
            if base in b and base in n:
                n_unet += 1
                ahead["before"] += b[key]["ap"] > b[base]["ap"]
                ahead["now"] += n[key]["ap"] > n[base]["ap"]
for m, v in change.items():
    d = np.array([x for x, _ in v])
    worst = min(v)
    print(f"ensemble {m}: {d.mean():+.4f} over {len(d)} cells, up {(d > 0.001).sum()}, "
          f"down {(d < -0.001).sum()}, worst {worst[0]:+.4f} {worst[1]}")
print(f"U-Net last round ahead of its baseline (AP): {ahead['before']} -> {ahead['now']} "
      f"of {n_unet} cells")
