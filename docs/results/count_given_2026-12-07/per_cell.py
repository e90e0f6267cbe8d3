"""Per cell of the count-given run: the U-Net's last round minus its baseline (AP), its
pseudo-particles taken and right; the default's own-threshold gap (mean and largest over
the regime-budgets' two-seed means); and where each wrong pseudo-particle lies (distance
to the nearest true particle in diameters, the simulator's label-map code there).

Usage: per_cell.py RUN.json CELLS_ROOT [CELLS_ROOT ...]
  RUN: records.py's file; CELLS_ROOT: the matrix --out folders (the cells' model folders
  hold pseudo_positives_iteration_N.json); the simulated data under --data-root."""
import glob
import json
import os
import sys
from collections import defaultdict

import mrcfile
import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402
from benchmarks.datasets import Dataset  # noqa: E402

DATA_ROOT = os.environ.get("DATA_ROOT", "/work/bench_data")
run, roots = sys.argv[1], sys.argv[2:]
rows = {(r["regime"], round(r["fraction"], 2), r["seed"], r["row"]): r for r in load_records(run)}
gaps = defaultdict(list)
taken_all = right_all = 0
print("| cell | last round minus baseline AP | pseudo-particles taken | right |")
print("|---|---:|---:|---:|")
for (regime, frac, seed, row), r in sorted(rows.items()):
    if row == "ensemble":
        gaps[(regime, frac)].append(r["best_f1"] - r["f1"])
    if row != "unet/iteration 2":
        continue
    base = rows[(regime, frac, seed, "unet/baseline")]
    n = r.get("pseudo_n") or 0
    right = "-" if not n else f"{round(n * r['pseudo_precision'])}"
    taken_all += n
    right_all += round(n * r["pseudo_precision"]) if n else 0
    print(f"| {regime} {frac:.0%} seed {seed} | {r['ap'] - base['ap']:+.3f} | {n} | {right} |")
means = [np.mean(v) for v in gaps.values()]
print(f"\nown-threshold gap over {len(means)} regime-budgets: mean {np.mean(means):.3f}, "
      f"largest {max(means):.3f}")
print(f"pseudo-particles of the last rounds, all cells: {right_all} of {taken_all} right\n")

# where the wrong pseudo-particles of the last round lie
wrong_by_code = defaultdict(int)
for root in roots:
    used = open(os.path.join(root, "results.json")).read()  # names the data folders it ran on
    for cell in sorted(glob.glob(os.path.join(root, "*", "labels_*", "seed_*"))):
        files = sorted(glob.glob(os.path.join(cell, "unet", "model",
                                              "pseudo_positives_iteration_*.json")))
        if not files:
            continue
        regime = cell.rstrip("/").split("/")[-3]
        data = [d for d in glob.glob(os.path.join(DATA_ROOT, regime + "-*"))
                if os.path.basename(d) in used]
        ds = Dataset.from_folder(data[0])
        for name, centres in json.load(open(files[-1])).items():
            c = np.asarray(centres, float).reshape(-1, 2)
            if not len(c):
                continue
            dist = cKDTree(ds.truth[name][:, :2]).query(c)[0] / ds.diameter_px
            with mrcfile.open(ds.label_masks[name], permissive=True) as m:
                label = np.asarray(m.data)
            for (x, y), d in zip(c, dist):
                if d > 0.5:
                    wrong_by_code[int(label[int(round(y)), int(round(x))])] += 1
                    print(f"wrong pseudo-particle: {cell.split(root)[-1]} {name} at "
                          f"({x:.0f}, {y:.0f}): {d:.2f} diameters from a particle, label-map "
                          f"code {int(label[int(round(y)), int(round(x))])}")
CODES = {0: "ice", 1: "carbon", 2: "ice contamination", 3: "aggregate", 4: "fragment"}
if wrong_by_code:
    print("\nwrong pseudo-particles by the label map under them: " + ", ".join(
        f"{CODES.get(k, k)} {v}" for k, v in sorted(wrong_by_code.items())))
