"""variants.py's lines as tables (markdown): per regime-budget, the F1 gap of each count or
rule (two-label-seed means on the usual micrographs, label seed 1 alone on the fresh ones) and
how many are within 0.03; per cell, where the default count is read.

Usage: table.py variants.jsonl"""
import json
import sys
from collections import defaultdict

import numpy as np

ORDER = ["crowded", "apoferritin", "large-carbon", "irregular"]
rows = [json.loads(line) for line in open(sys.argv[1])]
groups = defaultdict(list)
for r in rows:
    regime, labels = r["cell"].rstrip("/").split("/")[-3:-1]
    group = "fresh" if "fresh" in r["cell"] else "usual"
    groups[(group, int(labels.split("_")[1]), regime)].append(r["res"])
keys = list(rows[0]["res"]["gap"])


def false(diagnosis, member):
    found = diagnosis.get("false_by_label", {}).get(member)
    return ", ".join(f"{k} {v}" for k, v in found.items()) if found else "-"


for group in ("usual", "fresh"):
    print(f"\n**{group} micrographs**: best F1 minus F1 at the threshold\n")
    print("| labels | regime | cells | " + " | ".join(keys) + " |")
    print("|---|---|---:|" + "---:|" * len(keys))
    within = defaultdict(int)
    gs = sorted((g for g in groups if g[0] == group), key=lambda g: (g[1], ORDER.index(g[2])))
    for g in gs:
        res = groups[g]
        means = {k: np.mean([r["gap"][k] for r in res]) for k in keys}
        for k in keys:
            within[k] += means[k] <= 0.03
        print(f"| {g[1]}% | {g[2]} | {len(res)} | " +
              " | ".join(f"{means[k]:.3f}" for k in keys) + " |")
    print(f"| within 0.03 | | | " + " | ".join(f"{within[k]} of {len(gs)}" for k in keys) + " |")

print("\n**Where the default count is read** (the classifier's picks on the labelled training "
      "micrographs, at the threshold of the smallest n / R_low)\n")
print("| cell | labels | count / true | labels' recall | true recall | precision | false among "
      "the classifier's / the ensemble's best picks, by label map |")
print("|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    d, res = r["res"]["diagnosis"], r["res"]
    name = "/".join(r["cell"].rstrip("/").split("/")[-4:])
    print(f"| {name} | {res['labels']} | {res['ratio']['default']:.2f} | "
          f"{d['labels_recall']:.2f} | {d['true_recall']:.2f} | {d['precision']:.2f} | "
          f"{false(d, 'classifier')} / {false(d, 'ensemble')} |")
