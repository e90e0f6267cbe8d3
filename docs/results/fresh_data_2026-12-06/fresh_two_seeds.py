"""cryopick's default (the ensemble, no count given) on the fresh micrographs (matrix
--data-seed 1) on both label seeds, beside the usual micrographs' two seeds and Topaz on the
fresh ones (label seed 0 everywhere, seed 1 on crowded 20% only: its full seed-1 run would
take about 2.5 h more).
Usage: fresh_two_seeds.py USUAL.json FRESH_S0.json FRESH_S1.json TOPAZ_S0.json TOPAZ_S1.json
(USUAL: results.json of the usual matrix without the count, both label seeds)"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)


def rows(path):
    return {(r["regime"], r["fraction"], r["seed"], r["row"]): r for r in load_records(path)}


usual, fresh = rows(sys.argv[1]), {**rows(sys.argv[2]), **rows(sys.argv[3])}
topaz = {**rows(sys.argv[4]), **rows(sys.argv[5])}
keys = sorted({k[:2] for k in fresh if k[3] == "ensemble"}, key=lambda k: (k[1], k[0]))


def pair(run, key, seed, row="ensemble"):
    r = run.get(key + (seed, row))
    return None if r is None else (r["best_f1"], r["ap"])


def fmt(v):
    return "-" if v is None else f"{v[0]:.3f} / {v[1]:.3f}"


print("best F1 / AP of each:\n")
print("| regime | labels | fresh, seed 0 | fresh, seed 1 | fresh, mean | "
      "usual, mean | Topaz fresh, seed 0 | Topaz fresh, seed 1 |")
print("|---|---:|---|---|---|---|---|---|")
drop, margin_same_seed = [], {0: [], 1: []}
for key in keys:
    f0, f1 = pair(fresh, key, 0), pair(fresh, key, 1)
    fm = tuple(np.mean([f0, f1], axis=0))
    um = tuple(np.mean([pair(usual, key, 0), pair(usual, key, 1)], axis=0))
    t0, t1 = pair(topaz, key, 0, "topaz"), pair(topaz, key, 1, "topaz")
    drop.append(np.subtract(fm, um))
    for seed, mine, theirs in ((0, f0, t0), (1, f1, t1)):
        if theirs is not None:
            margin_same_seed[seed].append((key, np.subtract(mine, theirs)))
    print(f"| {key[0]} | {key[1]:.0%} | {fmt(f0)} | {fmt(f1)} | {fmt(fm)} | {fmt(um)} | "
          f"{fmt(t0)} | {fmt(t1)} |")
print()
for frac in sorted({k[1] for k in keys}):
    sel = [i for i, k in enumerate(keys) if k[1] == frac]
    s0 = [pair(fresh, keys[i], 0) for i in sel]
    s1 = [pair(fresh, keys[i], 1) for i in sel]
    print(f"{frac:.0%}: fresh mean over regimes, seed 0 {fmt(tuple(np.mean(s0, axis=0)))}, "
          f"seed 1 {fmt(tuple(np.mean(s1, axis=0)))}")
d = np.mean(drop, axis=0)
print(f"\ntwo-seed means, fresh minus usual, over {len(keys)} regime-budgets: best F1 {d[0]:+.3f}, "
      f"AP {d[1]:+.3f}")
for seed, m in margin_same_seed.items():
    behind = [f"{k[0]} {k[1]:.0%} ({v[0]:+.3f} / {v[1]:+.3f})" for k, v in m
              if k[1] >= 0.2 and min(v) <= 0]
    print(f"label seed {seed}: default minus Topaz on {len(m)} regime-budgets; at 20-50% not "
          f"ahead in both: {', '.join(behind) or 'none'}")
