"""Tables of counts.py's output: per set-budget and overall, for each count, the ensemble's
F1 at the threshold it gives below the best F1 (mean, cells within 0.03, worst) and the
count's error (mean |log(count / true)|); then the same error for the classifier's and the
ensemble's counts and their geometric mean over the 40 earlier cells whose ratios the
seventh session kept (../pseudo_particles_found_twice_2026-12-06/offline/counts.jsonl; their
models are gone, so no F1 there).
Usage: summarize.py COUNTS.jsonl [MORE.jsonl ...]"""
import json
import os
import sys
from collections import defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EARLIER = os.path.join(HERE, "..", "pseudo_particles_found_twice_2026-12-06", "offline",
                       "counts.jsonl")
COUNTS = ("classifier", "ensemble", "geometric", "agree_train", "agree_unseen",
          "classifier_unseen", "ensemble_unseen", "unet", "true")


def set_budget(cell):
    parts = cell.rstrip("/").split("/")
    kind = "fresh s1" if "fresh1" in cell else "usual"
    return f"{kind} {int(parts[-2].replace('labels_', ''))}%"


def table(rows, title):
    print(f"\n{title} ({len(rows)} cells): gap = best F1 minus F1 at the count's threshold\n")
    print("| count | gap (mean) | within 0.03 | worst | mean abs log(count / true) |")
    print("|---|---:|---:|---:|---:|")
    for k in COUNTS:
        have = [r for r in rows if k in r["f1"]]
        if not have:
            continue
        gap = np.array([r["best_f1"] - r["f1"][k] for r in have])
        err = np.mean([abs(np.log(r["ratio"][k])) for r in have])
        print(f"| {k} | {gap.mean():.3f} | {(gap <= 0.03).sum()}/{len(gap)} | {gap.max():.3f} "
              f"| {err:.3f} |")


rows = [json.loads(line) for path in sys.argv[1:] for line in open(path)]
groups = defaultdict(list)
for r in rows:
    groups[set_budget(r["cell"])].append(r["res"])
for name in sorted(groups):
    table(groups[name], name)
table([r["res"] for r in rows], "all")

print("\nThe 40 earlier cells (count / true only): mean abs log, by set-budget\n")
print("| cells | n | classifier | ensemble | geometric mean |")
print("|---|---:|---:|---:|---:|")
earlier = defaultdict(list)
for line in open(EARLIER):
    r = json.loads(line)
    kind = "fresh" if r["key"].startswith("fresh") else "usual"
    earlier[f"{kind} {r['key'].split('_')[-2]}%"].append(r["res"]["ratio"])
earlier["all"] = sum(earlier.values(), [])
for name, ratios in sorted(earlier.items()):
    c = np.log([x["current"] for x in ratios])
    e = np.log([x["ensemble"] for x in ratios])
    print(f"| {name} | {len(ratios)} | {np.abs(c).mean():.3f} | {np.abs(e).mean():.3f} | "
          f"{np.abs((c + e) / 2).mean():.3f} |")
