"""Paired, per regime-budget: the true-count matrix, the count-estimated matrix of
2026-12-05 (the U-Net's own estimate) and this run (the classifier counts), with Topaz.
Usage: compare3.py TRUE.json BEFORE.json NOW.json (results.json or agg.py output)."""
import json, sys
runs = [{(r["regime"], r["fraction"], r["row"]): r for r in json.load(open(p))["aggregate"]}
        for p in sys.argv[1:4]]
rows = ["ensemble", "unet/iteration 2", "unet/baseline"]
f = lambda r, m: r[m]["mean"] if r and r.get(m) else float("nan")
print("| regime | labels | row | best F1: true / before / now | AP: true / before / now | "
      "own-threshold F1: true / before / now | Topaz best F1 / AP |")
print("|---|---:|---|---|---|---|---|")
for key in runs[2]:
    regime, frac, row = key
    if row not in rows:
        continue
    t = runs[0].get((regime, frac, "topaz"))
    cols = [" / ".join(f"{f(run.get(key), m):.3f}" for run in runs) for m in ("best_f1", "ap", "f1")]
    print(f"| {regime} | {frac:.0%} | {runs[2][key]['label']} | " + " | ".join(cols) + " | "
          + (f"{f(t, 'best_f1'):.3f} / {f(t, 'ap'):.3f}" if t else "-") + " |")
