"""The default ensemble with the classifier weight 50 / n (new) against 100 / n (old), from
`benchmarks.matrix --resume --rerun-ensemble` on copies of earlier runs (same members, the
ensemble made again with `cryopick combine`: its calibration and threshold too), and both
against Topaz on the same micrographs and label seeds where Topaz ran.
Usage: compare.py SET OLD.json NEW.json TOPAZ.json[,TOPAZ2.json...] [SET OLD NEW TOPAZ ...]"""
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)


def rows(path):
    return {(r["regime"], r["fraction"], r["seed"], r["row"]): r for r in load_records(path)}


def own_gap(r):
    return r["best_f1"] - r["f1"]


args = sys.argv[1:]
seed_means = []  # (set, regime, fraction): old, new, Topaz means over the label seeds
cells = []  # every cell with a Topaz run: (set, key, old row, new row, Topaz row)
print("| micrographs | labels | cells | old default: best F1 / AP / own-threshold gap | new "
      "default | Topaz (cells) | new minus Topaz, mean (min) best F1 | AP |")
print("|---|---:|---:|---|---|---|---|---|")
behind = []
for i in range(0, len(args), 4):
    name, old, new = args[i], rows(args[i + 1]), rows(args[i + 2])
    topaz = {k: v for path in args[i + 3].split(",") for k, v in rows(path).items()}
    by_frac = defaultdict(list)
    for key in new:
        if key[3] == "ensemble" and key in old:
            by_frac[key[1]].append(key)
    for frac in sorted(by_frac):
        keys = sorted(by_frac[frac])
        o = np.mean([[old[k]["best_f1"], old[k]["ap"], own_gap(old[k])] for k in keys], axis=0)
        n = np.mean([[new[k]["best_f1"], new[k]["ap"], own_gap(new[k])] for k in keys], axis=0)
        paired = [(new[k], topaz[k[:3] + ("topaz",)]) for k in keys
                  if k[:3] + ("topaz",) in topaz]
        cells += [(name, k, old[k], new[k], topaz[k[:3] + ("topaz",)]) for k in keys
                  if k[:3] + ("topaz",) in topaz]
        t = np.mean([[p[1]["best_f1"], p[1]["ap"]] for p in paired], axis=0) if paired else None
        m = np.array([[a["best_f1"] - b["best_f1"], a["ap"] - b["ap"]] for a, b in paired])
        behind += [f"{name} {a['regime']} {frac:.0%} seed {a['seed']} ({a['best_f1'] - b['best_f1']:+.3f}"
                   f" / {a['ap'] - b['ap']:+.3f})" for a, b in paired
                   if min(a["best_f1"] - b["best_f1"], a["ap"] - b["ap"]) <= 0]
        for regime in sorted({k[0] for k in keys}):
            ks = [k for k in keys if k[0] == regime and k[:3] + ("topaz",) in topaz]
            if ks and len(ks) == len([k for k in keys if k[0] == regime]):
                seed_means.append(((name, regime, frac), *(
                    np.mean([[run[k[:3] + (row,)]["best_f1"], run[k[:3] + (row,)]["ap"]]
                             for k in ks], axis=0)
                    for run, row in ((old, "ensemble"), (new, "ensemble"), (topaz, "topaz")))))
        tcol = "-" if t is None else f"{t[0]:.3f} / {t[1]:.3f} ({len(paired)})"
        mcol = "- | -" if t is None else (f"{m[:, 0].mean():+.3f} ({m[:, 0].min():+.3f}) | "
                                          f"{m[:, 1].mean():+.3f} ({m[:, 1].min():+.3f})")
        print(f"| {name} | {frac:.0%} | {len(keys)} | {o[0]:.3f} / {o[1]:.3f} / {o[2]:.3f} | "
              f"{n[0]:.3f} / {n[1]:.3f} / {n[2]:.3f} | {tcol} | {mcol} |")
print("\nnew default not ahead of Topaz in both (best F1 / AP margin): "
      + (", ".join(behind) or "none"))
print("\nmeans over label seeds, per regime-budget: default not ahead of Topaz in both "
      "(best F1 / AP margin):")
for label, i in (("old", 1), ("new", 2)):
    lag = [f"{n} {r} {f:.0%} ({v[i][0] - v[3][0]:+.3f} / {v[i][1] - v[3][1]:+.3f})"
           for v in seed_means for n, r, f in [v[0]] if min(v[i] - v[3]) <= 0]
    print(f"- {label}: " + (", ".join(lag) or "none") + f" (of {len(seed_means)})")
print("\nevery cell with a Topaz run, best F1 / AP:\n")
print("| micrographs | regime | labels | seed | 100 / n | 50 / n | Topaz | 50 / n minus Topaz |")
print("|---|---|---:|---:|---|---|---|---|")
for name, k, o, n, t in cells:
    print(f"| {name} | {k[0]} | {k[1]:.0%} | {k[2]} | {o['best_f1']:.3f} / {o['ap']:.3f} | "
          f"{n['best_f1']:.3f} / {n['ap']:.3f} | {t['best_f1']:.3f} / {t['ap']:.3f} | "
          f"{n['best_f1'] - t['best_f1']:+.3f} / {n['ap'] - t['ap']:+.3f} |")
