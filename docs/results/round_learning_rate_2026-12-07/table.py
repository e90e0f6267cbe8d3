"""The table of docs/benchmarks.md "The rounds at a tenth of the learning rate": per cell, the
U-Net's baseline and last-round AP (the matrix run; the same rounds again from the baseline at
the default rate: rest.py's "ignored" arm, or lr.py at 1e-3; at 1e-4, lr.py), and the default ensemble's AP with
each U-Net and with the baseline itself (baseline_ensemble.py).
Usage: table.py MATRIX_OUT REST.jsonl LR.jsonl BASE.jsonl"""
import json
import os
import sys

import numpy as np

out, rest_path, lr_path, base_path = sys.argv[1:5]


def lines(path):
    return [json.loads(line) for line in open(path)]


rest = {d["cell"]: d for d in lines(rest_path) if d.get("rest", "ignored") == "ignored"}
lr = {d["cell"]: d for d in lines(lr_path)}
base = {d["cell"]: d for d in lines(base_path)}
print("| cell | U-Net baseline AP | last round AP: matrix / again at 1e-3 / at 1e-4 | "
      "ensemble AP with the baseline U-Net | with the last round: matrix / 1e-3 / 1e-4 |")
print("|---|---:|---|---:|---|")
diffs = []
for cell in lr:
    regime, _, pct, _, seed = cell.rsplit("_", 4)
    path = os.path.join(out, regime, f"labels_{pct}", f"seed_{seed}", "cryopick.json")
    rows = {r["row"]: r for r in json.load(open(path))["records"]}
    b, m, e = rows["unet/baseline"]["ap"], rows["unet/iteration 2"]["ap"], rows["ensemble"]["ap"]
    r, n = rest.get(cell), lr[cell]
    be = base.get(cell, {}).get("ensemble_ap")
    print(f"| {regime} {pct}% seed {seed} | {b:.3f} | {m:.3f} / {r['unet_ap']:.3f} / {n['unet_ap']:.3f} | "
          + ("-" if be is None else f"{be:.3f}")
          + f" | {e:.3f} / {r['ensemble_ap']:.3f} / {n['ensemble_ap']:.3f} |")
    diffs.append([n["unet_ap"] - r["unet_ap"], n["unet_ap"] - b,
                  n["ensemble_ap"] - r["ensemble_ap"],
                  (e - be) if be is not None else np.nan])
d = np.array(diffs)
print(f"\n1e-4 against 1e-3 (same start): U-Net {d[:, 0].mean():+.4f} AP (up in "
      f"{(d[:, 0] > 0).sum()} of {len(d)}), ensemble {d[:, 2].mean():+.4f} (up in "
      f"{(d[:, 2] > 0).sum()}); U-Net at 1e-4 minus its baseline {d[:, 1].mean():+.4f} (ahead in "
      f"{(d[:, 1] > 0).sum()}); the matrix's ensemble minus the ensemble with the baseline "
      f"U-Net {np.nanmean(d[:, 3]):+.4f} (ahead in {(d[:, 3] > 0).sum()} of "
      f"{np.isfinite(d[:, 3]).sum()})")
