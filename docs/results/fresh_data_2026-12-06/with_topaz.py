"""cryopick's default (the ensemble) against Topaz on the usual micrographs (data seed 0) and on
fresh ones (matrix --data-seed 1), label seed 0 of each, no count given to cryopick (Topaz
always gets the true one). Per regime-budget: best F1 and AP of both, the margin, and issue
11's first "Done when" line on each set of micrographs (beat Topaz in best F1 and AP in every
regime at 20% and 50%, and by at least 0.03 on average at 5%).
Usage: with_topaz.py USUAL.json FRESH.json FRESH_TOPAZ.json  (results.json or cells.json of
matrix runs; USUAL holds both cryopick's and Topaz's rows)"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)

MARGIN_5 = 0.03


def records(path, seed=0):
    return {(r["regime"], r["fraction"], r["row"]): r for r in load_records(path)
            if r["seed"] == seed}


usual = records(sys.argv[1])
fresh = {**records(sys.argv[2]), **records(sys.argv[3])}
keys = sorted({k[:2] for k in fresh if k[2] == "topaz"}, key=lambda k: (k[1], k[0]))
print("| regime | labels | usual: default / Topaz, best F1 | AP | fresh: default / Topaz, "
      "best F1 | AP | Topaz fresh minus usual, AP |")
print("|---|---:|---|---|---|---|---:|")
margins = {"usual": {}, "fresh": {}}
for regime, frac in keys:
    cells = []
    for name, run in (("usual", usual), ("fresh", fresh)):
        e, t = run[(regime, frac, "ensemble")], run[(regime, frac, "topaz")]
        margins[name][(regime, frac)] = (e["best_f1"] - t["best_f1"], e["ap"] - t["ap"])
        cells += [f"{e['best_f1']:.3f} / {t['best_f1']:.3f}", f"{e['ap']:.3f} / {t['ap']:.3f}"]
    dt = fresh[(regime, frac, "topaz")]["ap"] - usual[(regime, frac, "topaz")]["ap"]
    print(f"| {regime} | {frac:.0%} | " + " | ".join(cells) + f" | {dt:+.3f} |")
print()
for name in ("usual", "fresh"):
    m = margins[name]
    for frac in sorted({k[1] for k in m}):
        f1 = [v[0] for k, v in m.items() if k[1] == frac]
        ap = [v[1] for k, v in m.items() if k[1] == frac]
        if frac < 0.1:
            ok = np.mean(f1) >= MARGIN_5 and np.mean(ap) >= MARGIN_5
            rule = f"mean margin >= {MARGIN_5}"
        else:
            ok = min(f1) > 0 and min(ap) > 0
            rule = "ahead in every regime"
        print(f"{name} {frac:.0%} ({len(f1)} regimes): default minus Topaz, best F1 mean "
              f"{np.mean(f1):+.3f} (from {min(f1):+.3f}), AP mean {np.mean(ap):+.3f} (from "
              f"{min(ap):+.3f}); {rule}: {'yes' if ok else 'NO'}")
t_d = [fresh[k + ("topaz",)]["ap"] - usual[k + ("topaz",)]["ap"] for k in keys]
e_d = [fresh[k + ("ensemble",)]["ap"] - usual[k + ("ensemble",)]["ap"] for k in keys]
print(f"\nAP fresh minus usual over these {len(keys)} regime-budgets: Topaz {np.mean(t_d):+.3f}, "
      f"default {np.mean(e_d):+.3f}")
