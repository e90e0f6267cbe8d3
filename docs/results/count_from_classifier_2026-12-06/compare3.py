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

# the summary numbers docs/benchmarks.md quotes, per run (true / before / now)
print()
names = ("true count", "U-Net's own estimate", "classifier's count")
for row, what in (("ensemble", "ensemble"), ("unet/iteration 2", "U-Net last round")):
    keys = [k for k in runs[2] if k[2] == row]
    for run, name in zip(runs, names):
        gap = [f(run[k], "best_f1") - f(run[k], "f1") for k in keys]
        print(f"{what}, {name}: best F1 minus F1 at own threshold mean {sum(gap) / len(gap):.3f}, "
              f"max {max(gap):.3f}, within 0.03 in {sum(g <= 0.03 for g in gap)} of {len(gap)}")
    for run, name in zip(runs[1:], names[1:]):
        d = [f(run[k], "ap") - f(runs[0][k], "ap") for k in keys]
        print(f"{what}, {name}: AP minus the true count's from {min(d):+.3f} to {max(d):+.3f}, "
              f"at or above it in {sum(x >= 0 for x in d)} of {len(d)}")
