"""The default (ensemble) against Topaz on the third set's cells where Topaz ran (plan.md's
addendum): best F1 and AP of each, paired by regime, budget and label seed.
Usage: topaz_pairs.py RUN.json TOPAZ.json [TOPAZ.json ...]"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402

run = {(r["regime"], round(r["fraction"], 2), r["seed"]): r for r in load_records(sys.argv[1])
       if r["row"] == "ensemble"}
print("| cell | default best F1 / AP | Topaz best F1 / AP | default minus Topaz |")
print("|---|---|---|---|")
for path in sys.argv[2:]:
    for t in load_records(path):
        if t["row"] != "topaz":
            continue
        key = (t["regime"], round(t["fraction"], 2), t["seed"])
        e = run[key]
        print(f"| {key[0]} {key[1]:.0%} seed {key[2]} | {e['best_f1']:.3f} / {e['ap']:.3f} | "
              f"{t['best_f1']:.3f} / {t['ap']:.3f} | {e['best_f1'] - t['best_f1']:+.3f} / "
              f"{e['ap'] - t['ap']:+.3f} |")
