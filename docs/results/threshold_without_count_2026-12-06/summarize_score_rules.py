# Summary of score_rules.jsonl (score_rules.py): best F1 minus F1 at each rule's threshold.
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
rows = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else
                                            os.path.join(HERE, "score_rules.jsonl"))]
RULES = ("own", "otsu", "gmm", "surplus_0.85", "surplus_0.9", "surplus_1", "surplus_1.05")
groups = collections.defaultdict(list)
for r in rows:
    groups[("fresh" if r["set"].startswith("fresh") else r["set"].split("_")[0],
            r["pct"])].append(r)
groups[("all", "")] = rows
print("best F1 minus F1 at the threshold: mean, max, cells within 0.03; picks per true "
      "particle (median)\n")
print("| cells | n | " + " | ".join(RULES) + " |")
print("|---|---:|" + "---|" * len(RULES))
for key in sorted(groups, key=lambda k: (k[0] == "all", k)):
    sel = groups[key]
    out = []
    for rule in RULES:
        gap = [r["res"]["best_f1"] - r["res"][rule]["f1"] for r in sel]
        ratio = sorted(r["res"][rule]["picks_per_particle"] for r in sel)
        out.append(f"{sum(gap) / len(gap):.3f}, {max(gap):.3f}, "
                   f"{sum(g <= 0.03 for g in gap)}/{len(gap)}; x{ratio[len(ratio) // 2]:.2f}")
    print(f"| {key[0]} {key[1]}{'%' if key[1] else ''} | {len(sel)} | " + " | ".join(out) + " |")
