"""The ensemble's change per cell, before -> now, over the 40 cells of compare.sh (usual
matrix, fresh label seeds 0 and 1): mean AP change, cells up / down (by more than 0.001), the
worst cell; best F1 and F1 at the threshold likewise. Usage: paired_cells.py (from this folder)"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)

PAIRS = [("../threshold_without_count_2026-12-06/matrix_usual.json", "matrix_usual.json"),
         ("../threshold_without_count_2026-12-06/matrix_fresh_20_50pct_seed0.json",
          "matrix_fresh_seed0.json"),
         ("../plain_training_count_2026-12-06/matrix_fresh_seed1_se_training.json",
          "matrix_fresh_seed1.json")]


def ensemble(path):
    return {(r["regime"], r["fraction"], r["seed"]): r for r in load_records(path)
            if r["row"] == "ensemble"}


changes = {"ap": [], "best_f1": [], "f1": []}
for before, now in PAIRS:
    old, new = ensemble(before), ensemble(now)
    for key in new:
        for measure, values in changes.items():
            values.append((new[key][measure] - old[key][measure], key))
for measure, values in changes.items():
    d = np.array([v for v, _ in values])
    worst = min(values)
    print(f"{measure}: {len(d)} cells, mean {d.mean():+.4f}, up {(d > 0.001).sum()}, down "
          f"{(d < -0.001).sum()}, worst {worst[0]:+.3f} ({worst[1][0]} {worst[1][1]:.0%} "
          f"seed {worst[1][2]})")
