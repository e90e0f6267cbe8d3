"""The default (ensemble) against Topaz on the third set's cells where Topaz ran (plan.md's
addenda): best F1 and AP of each, paired by regime, budget and label seed; then the mean
margin over the regimes at 5% where label seed 0 ran in all four (the fifteenth session's
addendum; the two-seed means per regime-budget are status.py's).
Usage: topaz_pairs.py RUN.json TOPAZ.json [TOPAZ.json ...]"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402

run = {(r["regime"], round(r["fraction"], 2), r["seed"]): r for r in load_records(sys.argv[1])
       if r["row"] == "ensemble"}
print("| cell | default best F1 / AP | Topaz best F1 / AP | default minus Topaz |")
print("|---|---|---|---|")
margins_5 = {}
for path in sys.argv[2:]:
    for t in load_records(path):
        if t["row"] != "topaz":
            continue
        key = (t["regime"], round(t["fraction"], 2), t["seed"])
        e = run[key]
        print(f"| {key[0]} {key[1]:.0%} seed {key[2]} | {e['best_f1']:.3f} / {e['ap']:.3f} | "
              f"{t['best_f1']:.3f} / {t['ap']:.3f} | {e['best_f1'] - t['best_f1']:+.3f} / "
              f"{e['ap'] - t['ap']:+.3f} |")
        if key[1] == 0.05 and key[2] == 0:
            margins_5[key[0]] = (e["best_f1"] - t["best_f1"], e["ap"] - t["ap"])
if len(margins_5) == 4:
    f1, ap = (sum(m[i] for m in margins_5.values()) / 4 for i in (0, 1))
    print(f"\n5%, label seed 0, mean over the four regimes: default minus Topaz {f1:+.3f} / {ap:+.3f}")
