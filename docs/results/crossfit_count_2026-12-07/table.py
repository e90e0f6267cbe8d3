"""crossfit.py's lines as tables (markdown) and plan.md's rule checked: per regime-budget,
the F1 gap with the cross-fitted count, the default's and the true count (two-label-seed
means on the usual micrographs; label seed 1 alone on the fresh ones), and per cell the
counts over the true count.

Usage: table.py USUAL.jsonl [FRESH.jsonl]"""
import json
import sys
from collections import defaultdict

import numpy as np

ORDER = ["crowded", "apoferritin", "large-carbon", "irregular"]
ARMS = ["crossfit", "default", "true"]


def read(path):
    return [json.loads(line) for line in open(path)]


def regime_budget(cell):
    regime, labels = cell.rstrip("/").split("/")[-3:-1]
    return int(labels.split("_")[1]), regime


def section(title, rows):
    groups = defaultdict(list)
    for r in rows:
        groups[regime_budget(r["cell"])].append(r["res"])
    print(f"\n**{title}**: best F1 minus F1 at the threshold\n")
    print("| labels | regime | cells | cross-fitted count | default count | true count |")
    print("|---|---|---:|---:|---:|---:|")
    within, means = defaultdict(int), defaultdict(list)
    for key in sorted(groups, key=lambda k: (k[0], ORDER.index(k[1]))):
        res = groups[key]
        m = {a: float(np.mean([r["gap"][a] for r in res])) for a in ARMS}
        for a in ARMS:
            within[a] += m[a] <= 0.03
            means[a] += [r["gap"][a] for r in res]
        print(f"| {key[0]}% | {key[1]} | {len(res)} | " + " | ".join(f"{m[a]:.3f}" for a in ARMS)
              + " |")
    print(f"| within 0.03 | | | " + " | ".join(f"{within[a]} of {len(groups)}" for a in ARMS)
          + " |")
    print(f"| mean over cells | | {len(rows)} | " +
          " | ".join(f"{np.mean(means[a]):.4f}" for a in ARMS) + " |")
    return within, {a: float(np.mean(means[a])) for a in ARMS}, len(groups)


usual = read(sys.argv[1])
fresh = read(sys.argv[2]) if len(sys.argv) > 2 else []
u_within, u_mean, n_u = section("Usual micrographs", usual)
checks = [f"1. within 0.03 in >= 10 of 12 usual regime-budgets: {u_within['crossfit']} of {n_u} "
          f"-> {'holds' if u_within['crossfit'] >= 10 and n_u == 12 else 'fails'}",
          f"2. mean gap over the usual cells no larger than the default's: "
          f"{u_mean['crossfit']:.4f} against {u_mean['default']:.4f} -> "
          f"{'holds' if u_mean['crossfit'] <= u_mean['default'] else 'fails'}"]
if fresh:
    f_within, _, n_f = section("Fresh micrographs (label seed 1)", fresh)
    checks.append(f"3. fresh within 0.03 at least as often as the default: "
                  f"{f_within['crossfit']} against {f_within['default']} of {n_f} -> "
                  f"{'holds' if f_within['crossfit'] >= f_within['default'] else 'fails'}")
counted = [r["res"] for r in usual if not r["res"]["fallback"]]
print(f"\nUsual cells where the halves count: {len(counted)}; cross-fitted count above the "
      f"default's in {sum(r['ratio']['crossfit'] > r['ratio']['default'] for r in counted)}; "
      f"median over the true count {np.median([r['ratio']['crossfit'] for r in counted]):.2f} "
      f"against {np.median([r['ratio']['default'] for r in counted]):.2f} "
      f"(largest {max(r['ratio']['crossfit'] for r in counted):.2f})")
print("\n**plan.md's rule**\n")
for c in checks:
    print(f"- {c}")
print("\n**Counts over the true count** (each half's, the cross-fitted mean, the default's)\n")
print("| cell | labels | half A | half B | cross-fitted | default |")
print("|---|---:|---:|---:|---:|---:|")
for r in usual + fresh:
    res = r["res"]
    h = [f"{x:.2f}" if x else "-" for x in res["halves"]]
    name = "/".join(r["cell"].rstrip("/").split("/")[-4:])
    print(f"| {name} | {res['labels']} | {h[0]} | {h[1]} | {res['ratio']['crossfit']:.2f}"
          f"{' (default: no half counts)' if res['fallback'] else ''} | "
          f"{res['ratio']['default']:.2f} |")
