"""The members' own thresholds on the matrix, before and after they kept the classifier's
count (both runs without a count given; the members' training is the same, so best F1 and AP
must repeat exactly). Usage: own_thresholds.py BEFORE.json NOW.json"""
import json, sys
import numpy as np


def load(path):
    d = json.load(open(path))
    return ({(r["regime"], r["fraction"], r["row"]): r for r in d["aggregate"]},
            {(r["regime"], r["fraction"], r["seed"], r["row"]): r for r in d["results"]})


(a, ra), (b, rb) = load(sys.argv[1]), load(sys.argv[2])
print("| row | run | best F1 minus F1 at own threshold: mean | max | within 0.03 (regime-"
      "budgets, two-seed means) | within 0.03 (single runs) |")
print("|---|---|---:|---:|---:|---:|")
for row, label in (("fixmatch", "Selective FixMatch"), ("unet/iteration 2", "U-Net last round"),
                   ("unet/baseline", "U-Net baseline"), ("ensemble", "ensemble (default)")):
    keys = [k for k in b if k[2] == row]
    same = max(abs(a[k][m]["mean"] - b[k][m]["mean"]) for k in keys for m in ("best_f1", "ap"))
    assert same < 1e-9, (row, same)  # the same models: only the thresholds may differ
    runs = [k for k in rb if k[3] == row]
    for name, agg, res in (("before", a, ra), ("now", b, rb)):
        g = np.array([agg[k]["best_f1"]["mean"] - agg[k]["f1"]["mean"] for k in keys])
        s = np.array([res[k]["best_f1"] - res[k]["f1"] for k in runs])
        print(f"| {label} | {name} | {g.mean():.3f} | {g.max():.3f} | {(g <= 0.03).sum()} of "
              f"{len(g)} | {(s <= 0.03).sum()} of {len(s)} |")
