"""Summary of results.jsonl (offline.py): each variant's mean AP / best F1 change against the
current scoring, by micrograph set (usual: the micrographs every constant was chosen on; fresh:
new micrographs of the same regimes) and label budget; and the worst single cell."""
import json
import sys
from collections import defaultdict

import numpy as np

rows = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else "results.jsonl")]
# usual: the micrographs every constant was chosen on; fresh: the same regimes simulated
# with another seed; many: crowded-many-labels (hundreds of labels, simulator seed 2)
rows = [dict(r, group=r["set"].split("_")[0]) for r in rows]
GROUPS = (("usual", (5, 20, 50)), ("fresh", (5, 20, 50)), ("many", (20, 50)))
variants = list(rows[0]["res"])
print("cells:", ", ".join(f"{g} {sum(r['group'] == g for r in rows)}" for g, _ in GROUPS))
print("\nmean current AP / best F1:")
for g, budgets in GROUPS:
    for pct in budgets:
        sel = [r for r in rows if r["group"] == g and r["pct"] == pct]
        a = np.mean([r["res"]["current"][0] for r in sel])
        f = np.mean([r["res"]["current"][1] for r in sel])
        print(f"  {g:5s} {pct:2d}%: {a:.3f} / {f:.3f} ({len(sel)} cells)")
print("\nchange against current, AP / best F1 (mean over cells); cells whose AP rose / fell;"
      " the worst cell's AP change")
head = "| variant | " + " | ".join(f"{g} {p}%" for g, b in GROUPS for p in b) \
    + " | all | cells AP up / down | worst AP |"
print(head)
print("|---" * (head.count("|") - 1) + "|")
for v in variants[1:]:
    cells = []
    for g, budgets in GROUPS:
        for pct in budgets:
            sel = [r for r in rows if r["group"] == g and r["pct"] == pct]
            da = np.mean([r["res"][v][0] - r["res"]["current"][0] for r in sel])
            df = np.mean([r["res"][v][1] - r["res"]["current"][1] for r in sel])
            cells.append(f"{da:+.3f} / {df:+.3f}")
    da = np.mean([r["res"][v][0] - r["res"]["current"][0] for r in rows])
    df = np.mean([r["res"][v][1] - r["res"]["current"][1] for r in rows])
    worst = min(rows, key=lambda r: r["res"][v][0] - r["res"]["current"][0])
    w = worst["res"][v][0] - worst["res"]["current"][0]
    up = sum(r["res"][v][0] > r["res"]["current"][0] for r in rows)
    down = sum(r["res"][v][0] < r["res"]["current"][0] for r in rows)
    print(f"| {v} | " + " | ".join(cells) + f" | {da:+.3f} / {df:+.3f} | {up} / {down} | "
          f"{w:+.3f} ({worst['set']} {worst['regime']} {worst['pct']}% s{worst['seed']}) |")

print("\nAP change against current by set (mean over its cells):")
print("| variant | " + " | ".join(g for g, _ in GROUPS) + " | all | up / down |")
print("|---" * (len(GROUPS) + 3) + "|")
for v in variants[1:]:
    means = [np.mean([r["res"][v][0] - r["res"]["current"][0] for r in rows if r["group"] == g])
             for g, _ in GROUPS]
    allm = np.mean([r["res"][v][0] - r["res"]["current"][0] for r in rows])
    up = sum(r["res"][v][0] > r["res"]["current"][0] for r in rows)
    down = sum(r["res"][v][0] < r["res"]["current"][0] for r in rows)
    print(f"| {v} | " + " | ".join(f"{m:+.3f}" for m in means) + f" | {allm:+.3f} | {up} / {down} |")
