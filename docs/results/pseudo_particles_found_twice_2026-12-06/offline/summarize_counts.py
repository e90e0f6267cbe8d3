"""counts.jsonl (counts.py) in short: per set-budget, the count / true count (median) and the
ensemble's best F1 minus F1 at the threshold each count gives (mean; cells within 0.03), for
the classifier's count (as now), the same picks through the U-Net's label rules
("filtered"), the ensemble's own picks ("ensemble") and the true count; then the counted
picks' true precision and the labels' recall against the particles' (medians).
Usage: summarize_counts.py counts.jsonl"""
import json
import sys
from collections import defaultdict

import numpy as np

NAMES = ("current", "filtered", "ensemble", "true")
groups = defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line)
    key = d["key"]
    pct = key.split("_")[-2]
    groups[("fresh" if key.startswith("fresh") else "usual", pct)].append(d["res"])
    groups[("all", "")].append(d["res"])
print("| cells | n | " + " | ".join(f"{n}: count ratio / gap (within 0.03)" for n in NAMES) + " |")
print("|---|---:|" + "---|" * len(NAMES))
for (s, pct), rs in sorted(groups.items()):
    cols = []
    for n in NAMES:
        ratio = np.median([r["ratio"][n] for r in rs if r["ratio"].get(n)])
        gaps = [r["best_f1"] - r["f1"][n] for r in rs if n in r["f1"]]
        cols.append(f"{ratio:.2f} / {np.mean(gaps):.3f} ({sum(g <= 0.03 for g in gaps)})")
    print(f"| {s} {pct}% | {len(rs)} | " + " | ".join(cols) + " |")
print()
for n in ("current", "filtered", "ensemble"):
    rs = groups[("all", "")]
    p = [r["prec"][n] for r in rs]
    print(f"{n}: counted picks' precision median {np.median([x[0] for x in p]):.2f}, "
          f"labels' recall {np.median([x[1] for x in p]):.2f} against the particles' "
          f"{np.median([x[2] for x in p]):.2f} (medians over {len(p)} cells)")
