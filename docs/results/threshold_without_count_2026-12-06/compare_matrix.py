"""The matrix with the new count (count_from_labels less one standard error, kept without
surplus) against the runs before it (classifier weight 50 / n, the raw smallest n / R kept
x 1.15), no count given in either, and both against Topaz on the same micrographs and label
seeds. Per set and budget: the default's best F1 / AP / F1 at its own threshold below its
best; regime-budgets (means over the label seeds) within 0.03 of the best; the U-Net's last
round against its baseline and its pseudo-particles' share right.
Usage: compare_matrix.py SET OLD.json NEW.json TOPAZ.json[,TOPAZ2.json] [SET OLD NEW TOPAZ ...]"""
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)


def rows(path):
    return {(r["regime"], r["fraction"], r["seed"], r["row"]): r for r in load_records(path)}


def pseudo(path):
    """{(regime, fraction, seed): last round's (taken, right)} from a results.json."""
    data = json.load(open(path))
    out = {}
    for p in data.get("pseudo_labels", []):
        key = (p["regime"], p["fraction"], p["seed"])
        if p["iteration"] >= out.get(key, (0,))[0]:
            out[key] = (p["iteration"], p["n_pseudo"], p["n_matched"])
    return {k: v[1:] for k, v in out.items()}


def gap(r):
    return r["best_f1"] - r["f1"]


args = sys.argv[1:]
print("| micrographs | labels | cells | before: best F1 / AP / own gap | now | Topaz (cells) | "
      "now minus Topaz (min) best F1 | AP | own gap <= 0.03, regime-budgets before / now |")
print("|---|---:|---:|---|---|---|---|---|---|")
behind, self_training = [], []
for i in range(0, len(args), 4):
    name, old, new = args[i], rows(args[i + 1]), rows(args[i + 2])
    topaz = {k: v for path in args[i + 3].split(",") for k, v in rows(path).items()}
    by_frac = defaultdict(list)
    for key in new:
        if key[3] == "ensemble" and key in old:
            by_frac[key[1]].append(key)
    for frac in sorted(by_frac):
        keys = sorted(by_frac[frac])
        o = np.mean([[old[k]["best_f1"], old[k]["ap"], gap(old[k])] for k in keys], axis=0)
        n = np.mean([[new[k]["best_f1"], new[k]["ap"], gap(new[k])] for k in keys], axis=0)
        paired = [(new[k], topaz[k[:3] + ("topaz",)]) for k in keys
                  if k[:3] + ("topaz",) in topaz]
        m = np.array([[a["best_f1"] - b["best_f1"], a["ap"] - b["ap"]] for a, b in paired])
        behind += [f"{name} {a['regime']} {frac:.0%} seed {a['seed']} "
                   f"({a['best_f1'] - b['best_f1']:+.3f} / {a['ap'] - b['ap']:+.3f})"
                   for a, b in paired if min(a["best_f1"] - b["best_f1"], a["ap"] - b["ap"]) <= 0]
        within = []
        for run in (old, new):
            regimes = sorted({k[0] for k in keys})
            means = [np.mean([gap(run[k]) for k in keys if k[0] == r]) for r in regimes]
            within.append(f"{sum(g <= 0.03 for g in means)}/{len(means)}")
        tcol = (f"{np.mean([p[1]['best_f1'] for p in paired]):.3f} / "
                f"{np.mean([p[1]['ap'] for p in paired]):.3f} ({len(paired)})") if paired else "-"
        mcol = (f"{m[:, 0].mean():+.3f} ({m[:, 0].min():+.3f}) | {m[:, 1].mean():+.3f} "
                f"({m[:, 1].min():+.3f})") if paired else "- | -"
        print(f"| {name} | {frac:.0%} | {len(keys)} | {o[0]:.3f} / {o[1]:.3f} / {o[2]:.3f} | "
              f"{n[0]:.3f} / {n[1]:.3f} / {n[2]:.3f} | {tcol} | {mcol} | "
              f"{within[0]} / {within[1]} |")
        for run, label, path in ((old, "before", args[i + 1]), (new, "now", args[i + 2])):
            taken = pseudo(path)
            for k in keys:
                last, base = k[:3] + ("unet/iteration 2",), k[:3] + ("unet/baseline",)
                if last in run and base in run:
                    self_training.append((name, frac, label, run[last]["ap"] - run[base]["ap"],
                                          run[last]["ap"], taken.get(k[:3])))
print("\nnow not ahead of Topaz in both (best F1 / AP margin): " + (", ".join(behind) or "none"))
print("\nthe U-Net's last round: mean AP, mean AP change over its baseline, cells ahead of "
      "it; its pseudo-particles (last round): taken, share right, cells at least 0.9 right")
print("\n| micrographs | labels | before | now |\n|---|---:|---|---|")
groups = defaultdict(lambda: defaultdict(list))
for name, frac, label, change, ap, taken in self_training:
    groups[(name, frac)][label].append((ap, change, taken))
for (name, frac), by in groups.items():
    cols = []
    for label in ("before", "now"):
        v = np.array([b[:2] for b in by[label]])
        took = [b[2] for b in by[label] if b[2] and b[2][0]]
        share = (f"{sum(t[0] for t in took)}, {sum(t[1] for t in took) / sum(t[0] for t in took):.2f}, "
                 f"{sum(t[1] >= 0.9 * t[0] for t in took)}/{len(took)}") if took else "none"
        cols.append(f"{v[:, 0].mean():.3f}, {v[:, 1].mean():+.3f}, {(v[:, 1] > 0).sum()}/{len(v)}; "
                    + share)
    print(f"| {name} | {frac:.0%} | {cols[0]} | {cols[1]} |")
