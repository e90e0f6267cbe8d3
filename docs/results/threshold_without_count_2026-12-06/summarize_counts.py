# Summary of counts.jsonl (count_estimators.py): each count estimator's ratio to the true
# count, and best F1 minus the ensemble's F1 at the threshold it gives, per surplus.
import collections
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rows = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else
                                            os.path.join(HERE, "counts.jsonl"))]
groups = collections.defaultdict(list)
for r in rows:
    groups[("fresh" if r["set"].startswith("fresh") else r["set"].split("_")[0],
            r["pct"])].append(r)
groups[("all", "")] = rows
keys = list(rows[0]["res"]["f1"])
estimators = list(rows[0]["res"]["ratio"])

print("count / true count: median (min-max) per set-budget\n")
print("| cells | n | " + " | ".join(estimators) + " |")
print("|---|---:|" + "---|" * len(estimators))
for g in sorted(groups, key=lambda k: (k[0] == "all", k)):
    cells = []
    for e in estimators:
        v = [r["res"]["ratio"][e] for r in groups[g] if r["res"]["ratio"][e] is not None]
        cells.append(f"{np.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" if v else "-")
    print(f"| {g[0]} {g[1]}{'%' if g[1] else ''} | {len(groups[g])} | " + " | ".join(cells) + " |")

print("\nbest F1 minus F1 at the threshold: mean / cells within 0.03 (a count that could not "
      "be made counts as the current one's)\n")
print("| estimator @ surplus | " + " | ".join(
    f"{g[0]} {g[1]}{'%' if g[1] else ''}" for g in sorted(groups, key=lambda k: (k[0] == "all", k))) + " |")
print("|---|" + "---|" * len(groups))
for k in keys:
    out = []
    for g in sorted(groups, key=lambda k: (k[0] == "all", k)):
        gap = [r["res"]["best_f1"] - r["res"]["f1"].get(k, r["res"]["f1"]["current@" + k.split("@")[1]])
               for r in groups[g]]
        out.append(f"{np.mean(gap):.3f} / {sum(x <= 0.03 for x in gap)}")
    print(f"| {k} | " + " | ".join(out) + " |")

print("\nas a count of the particles: mean |log(count / true count)| per budget\n")
print("| labels | " + " | ".join(estimators) + " |")
print("|---|" + "---|" * len(estimators))
for pct in sorted({r["pct"] for r in rows}):
    sel = [r for r in rows if r["pct"] == pct]
    print(f"| {pct}% | " + " | ".join(
        f"{np.mean([abs(np.log(r['res']['ratio'][e])) for r in sel if r['res']['ratio'][e]]):.3f}"
        for e in estimators) + " |")
