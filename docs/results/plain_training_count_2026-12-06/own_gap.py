"""The default's (the ensemble's) best F1 minus F1 at its own threshold on the usual matrix
without a count, per regime-budget (mean over the label seeds): mean, largest, and how many
within 0.03. The figures the help texts and README quote (0.034, up to 0.078).
Usage: own_gap.py RESULTS.json"""
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)

gaps = defaultdict(list)
for r in load_records(sys.argv[1]):
    if r["row"] == "ensemble":
        gaps[(r["regime"], r["fraction"])].append(r["best_f1"] - r["f1"])
means = {k: float(np.mean(v)) for k, v in gaps.items()}
for (regime, frac), g in sorted(means.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"{regime} {frac:.0%}: {g:.3f}")
print(f"mean {np.mean(list(means.values())):.3f}, largest {max(means.values()):.3f}, "
      f"within 0.03 in {sum(g <= 0.03 for g in means.values())} of {len(means)}")
