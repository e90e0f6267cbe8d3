# Summary of results.jsonl (rounds_offline.py): AP / best F1 change of each variant against
# "last" (the default), per set and budget, and over all cells.
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
rows = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else
                                            os.path.join(HERE, "results.jsonl"))]
variants = [k for k in rows[0]["res"] if not k.startswith("it2")]


def line(label, sel, base="last"):
    out = [f"| {label} | {len(sel)} |"]
    for v in variants:
        b = base + ("_alone" if v.endswith("_alone") else "")
        d_ap = [r["res"][v][0] - r["res"][b][0] for r in sel]
        d_f1 = [r["res"][v][1] - r["res"][b][1] for r in sel]
        up = sum(d > 0 for d in d_ap)
        out.append(f" {sum(d_ap) / len(sel):+.3f} / {sum(d_f1) / len(sel):+.3f} ({up}/{len(sel)}) |")
    return "".join(out)


print("AP / best F1 change against the last round (its own column for _alone), mean over "
      "cells (cells where AP rose / cells)\n")
print("| cells | n | " + " | ".join(variants) + " |")
print("|---|---:|" + "---|" * len(variants))
groups = collections.defaultdict(list)
for r in rows:
    groups[(r["set"].split("_")[0] if r["set"] != "fresh_s1" else "fresh", r["pct"])].append(r)
for key in sorted(groups):
    print(line(f"{key[0]} {key[1]}%", groups[key]))
print(line("all", rows))
print("\nmean absolute AP of 'last' and 'last_alone' (the ensemble and its U-Net):",
      f"{sum(r['res']['last'][0] for r in rows) / len(rows):.3f}",
      f"{sum(r['res']['last_alone'][0] for r in rows) / len(rows):.3f}")
print("\nthe worst cell of each variant (AP change):")
for v in variants:
    b = "last" + ("_alone" if v.endswith("_alone") else "")
    worst = min(rows, key=lambda r: r["res"][v][0] - r["res"][b][0])
    print(f"- {v}: {worst['set']} {worst['regime']} {worst['pct']}% seed {worst['seed']} "
          f"{worst['res'][v][0] - worst['res'][b][0]:+.3f}")
