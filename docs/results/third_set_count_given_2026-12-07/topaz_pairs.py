"""The default (ensemble) against Topaz on the third set's cells where Topaz ran (plan.md's
addenda): best F1 and AP of each, paired by regime, budget and label seed, with Topaz's wall
time; the default's members on the cells where it is behind; then the mean margin over the
regimes at 5% where label seed 0 ran in all four (the two-seed means per regime-budget are
status.py's).
Usage: topaz_pairs.py RUN.json TOPAZ.json [TOPAZ.json ...]"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402

MEMBERS = ("fixmatch", "unet/baseline", "unet/iteration 2")
run = {(r["regime"], round(r["fraction"], 2), r["seed"], r["row"]): r
       for r in load_records(sys.argv[1])}
print("| cell | default best F1 / AP | Topaz best F1 / AP | default minus Topaz | Topaz wall min |")
print("|---|---|---|---|---:|")
margins_5, behind = {}, []
for path in sys.argv[2:]:
    wall_min = json.load(open(path))["meta"]["wall_s"] / 60
    for t in load_records(path):
        if t["row"] != "topaz":
            continue
        key = (t["regime"], round(t["fraction"], 2), t["seed"])
        e = run[key + ("ensemble",)]
        margin = (e["best_f1"] - t["best_f1"], e["ap"] - t["ap"])
        print(f"| {key[0]} {key[1]:.0%} seed {key[2]} | {e['best_f1']:.3f} / {e['ap']:.3f} | "
              f"{t['best_f1']:.3f} / {t['ap']:.3f} | {margin[0]:+.3f} / {margin[1]:+.3f} | "
              f"{wall_min:.1f} |")
        if min(margin) < 0:
            behind.append(key)
        if key[1] == 0.05 and key[2] == 0:
            margins_5[key[0]] = margin
for key in behind:
    members = ", ".join(f"{m} {run[key + (m,)]['best_f1']:.3f} / {run[key + (m,)]['ap']:.3f}"
                        for m in MEMBERS)
    print(f"\nbehind: {key[0]} {key[1]:.0%} seed {key[2]}; its members' best F1 / AP: {members}")
if len(margins_5) == 4:
    f1, ap = (sum(m[i] for m in margins_5.values()) / 4 for i in (0, 1))
    print(f"\n5%, label seed 0, mean over the four regimes: default minus Topaz {f1:+.3f} / {ap:+.3f}")
