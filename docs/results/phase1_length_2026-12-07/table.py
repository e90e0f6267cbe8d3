"""plan.md's table: per cell, the U-Net's AP after phase 1 alone for longer (length.py)
beside the matrix's baseline (80 epochs) and last round (80 + 2 rounds of 20), and the
default ensemble's AP with each; then the means by label budget and plan.md's reading.
Usage: table.py LENGTH.jsonl [...]"""
import json
import sys
from collections import defaultdict

import numpy as np

rows = [json.loads(line) for path in sys.argv[1:] for line in open(path)]
rows.sort(key=lambda r: (r["cell"].split("_labels_")[1], r["cell"]))
print("| cell | U-Net AP: baseline (80) / phase 1 alone ({0}) / last round (80 + 2 x 20) | "
      "ensemble AP with the last round / with phase 1 alone |".format(rows[0]["epochs"]))
print("|---|---|---|")
by_budget = defaultdict(list)
for r in rows:
    regime, rest = r["cell"].split("_labels_")
    pct, seed = rest.split("_seed_")
    print(f"| {regime} {int(pct)}% seed {seed} | {r['matrix_baseline_ap']:.3f} / "
          f"{r['unet_ap']:.3f} / {r['matrix_last_round_ap']:.3f} | "
          f"{r['matrix_ensemble_ap']:.3f} / {r['ensemble_ap']:.3f} |")
    by_budget[int(pct)].append([r["unet_ap"] - r["matrix_baseline_ap"],
                                r["matrix_last_round_ap"] - r["unet_ap"],
                                r["ensemble_ap"] - r["matrix_ensemble_ap"]])
print()
for pct, d in sorted(by_budget.items()):
    d = np.array(d)
    gap = d[:, 1].mean()
    print(f"{pct}% ({len(d)} cells): phase 1's 40 more epochs {d[:, 0].mean():+.3f} AP over the "
          f"baseline; the rounds {gap:+.3f} over those (ahead in {(d[:, 1] > 0).sum()}); the "
          f"ensemble with phase 1 alone {d[:, 2].mean():+.3f} against the default's. Reading: "
          + ("the gain is training length" if abs(gap) <= 0.01 else
             "the rounds' retraining carries the gain" if gap > 0.01 else
             "longer phase 1 does better than the rounds"))
