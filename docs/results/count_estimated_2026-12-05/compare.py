"""Paired: a matrix run (--count estimated) against the true-count matrix, per regime-budget."""
import json, sys
a = {(r["regime"], r["fraction"], r["row"]): r for r in json.load(open(sys.argv[1]))["aggregate"]}
b = {(r["regime"], r["fraction"], r["row"]): r for r in json.load(open(sys.argv[2]))["aggregate"]}
rows = sys.argv[3].split(",") if len(sys.argv) > 3 else ["ensemble", "unet/iteration 2", "fixmatch"]
print("| regime | labels | row | best F1 true -> estimated | AP true -> estimated | own-threshold F1 true -> estimated | Topaz best F1 / AP |")
print("|---|---:|---|---|---|---|---|")
for key in b:
    regime, frac, row = key
    if row not in rows or key not in a:
        continue
    x, y = a[key], b[key]
    t = a.get((regime, frac, "topaz"))
    f = lambda r, m: r[m]["mean"] if r.get(m) else float("nan")
    print(f"| {regime} | {frac:.0%} | {y['label']} | {f(x,'best_f1'):.3f} -> {f(y,'best_f1'):.3f} ({f(y,'best_f1')-f(x,'best_f1'):+.3f}) | "
          f"{f(x,'ap'):.3f} -> {f(y,'ap'):.3f} ({f(y,'ap')-f(x,'ap'):+.3f}) | {f(x,'f1'):.3f} -> {f(y,'f1'):.3f} | "
          + (f"{f(t,'best_f1'):.3f} / {f(t,'ap'):.3f}" if t else "-") + " |")
