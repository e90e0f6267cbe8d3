"""The default (the ensemble, no count given: the code as kept, commit 65cbafd's engine) against
Topaz on the fresh micrographs (matrix --data-seed 1), both label seeds, 20% and 50% labels:
two-seed means and the margin per regime-budget, and issue 11's first "Done when" line there
(ahead in best F1 and AP in every regime at 20% and 50%).
Usage: fresh_margins.py CRYOPICK_S0.json CRYOPICK_S1.json TOPAZ_S0.json TOPAZ_S1.json"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)


def rows(paths, row):
    return {(r["regime"], r["fraction"], r["seed"]): r for p in paths for r in load_records(p)
            if r["row"] == row}


ours, topaz = rows(sys.argv[1:3], "ensemble"), rows(sys.argv[3:5], "topaz")
cells = sorted({k[:2] for k in ours if k[1] in (0.2, 0.5)}, key=lambda k: (k[1], k[0]))
print("| regime | labels | default, best F1 / AP (2 seeds) | Topaz | default minus Topaz |")
print("|---|---:|---|---|---|")
behind, margins = [], {0.2: [], 0.5: []}
for regime, frac in cells:
    keys = [(regime, frac, s) for s in (0, 1)]
    a = np.mean([[ours[k]["best_f1"], ours[k]["ap"]] for k in keys], axis=0)
    b = np.mean([[topaz[k]["best_f1"], topaz[k]["ap"]] for k in keys], axis=0)
    margins[frac].append(a - b)
    if min(a - b) <= 0:
        behind.append(f"{regime} {frac:.0%} ({a[0] - b[0]:+.3f} / {a[1] - b[1]:+.3f})")
    print(f"| {regime} | {frac:.0%} | {a[0]:.3f} / {a[1]:.3f} | {b[0]:.3f} / {b[1]:.3f} | "
          f"{a[0] - b[0]:+.3f} / {a[1] - b[1]:+.3f} |")
for frac, m in margins.items():
    m = np.array(m)
    print(f"\n{frac:.0%}: mean margin over regimes {m[:, 0].mean():+.3f} / {m[:, 1].mean():+.3f}")
print("\nnot ahead in both (two-seed means): " + (", ".join(behind) or "none"))
