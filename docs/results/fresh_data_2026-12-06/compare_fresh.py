"""The same regimes on the usual micrographs (data seed 0, which every earlier run measured
and was tuned on) and on fresh ones (matrix --data-seed 1), label seed 0 of each, no count
given. Per regime-budget: best F1, AP, the gap to the best F1 at the default's own
threshold, the U-Net's last round against its baseline, its pseudo-particles.
Usage: compare_fresh.py USUAL.json FRESH.json [TOPAZ.json]  (results.json of matrix runs;
TOPAZ: Topaz's runs on the usual micrographs, for scale)"""
import json
import sys

import numpy as np


def rows(path, seed=0):
    d = json.load(open(path))
    res = {(r["regime"], r["fraction"], r["row"]): r for r in d["results"] if r["seed"] == seed}
    pseudo = {}
    for p in d["pseudo_labels"]:
        if p["seed"] == seed:
            pseudo.setdefault((p["regime"], p["fraction"]), []).append(p)
    return res, pseudo


(usual, usual_pl), (fresh, fresh_pl) = rows(sys.argv[1]), rows(sys.argv[2])
topaz = rows(sys.argv[3])[0] if len(sys.argv) > 3 else {}
keys = sorted({k[:2] for k in fresh}, key=lambda k: (k[0], k[1]))


def pseudo_text(pl):
    """The last round's pseudo-particles (each round takes its own) and the share right."""
    last = max(pl, key=lambda p: p["iteration"]) if pl else None
    if not last or not last["n_pseudo"]:
        return "none"
    return f"{last['n_pseudo']} ({last['n_matched'] / last['n_pseudo']:.2f})"


print("| regime | labels | ensemble best F1: usual / fresh | AP: usual / fresh | gap at own "
      "threshold: usual / fresh | U-Net last round minus baseline, AP: usual / fresh | "
      "last round's pseudo-particles (share right): usual / fresh | Topaz best F1 / AP (usual) |")
print("|---|---:|---|---|---|---|---|---|")
gaps = {"usual": [], "fresh": []}
ahead = {"usual": [], "fresh": []}
for regime, frac in keys:
    cols = []
    for name, run in (("usual", usual), ("fresh", fresh)):
        e = run.get((regime, frac, "ensemble"))
        gaps[name].append(e["best_f1"] - e["f1"] if e else np.nan)
        last, base = run.get((regime, frac, "unet/iteration 2")), run.get((regime, frac,
                                                                           "unet/baseline"))
        ahead[name].append(last["ap"] - base["ap"] if last and base else np.nan)
    e_u, e_f = usual.get((regime, frac, "ensemble")), fresh.get((regime, frac, "ensemble"))
    fmt = lambda r, m: f"{r[m]:.3f}" if r else "-"
    t = topaz.get((regime, frac, "topaz"))
    print(f"| {regime} | {frac:.0%} | {fmt(e_u, 'best_f1')} / {fmt(e_f, 'best_f1')} | "
          f"{fmt(e_u, 'ap')} / {fmt(e_f, 'ap')} | {gaps['usual'][-1]:.3f} / "
          f"{gaps['fresh'][-1]:.3f} | {ahead['usual'][-1]:+.3f} / {ahead['fresh'][-1]:+.3f} | "
          f"{pseudo_text(usual_pl.get((regime, frac), []))} / "
          f"{pseudo_text(fresh_pl.get((regime, frac), []))} | "
          + (f"{t['best_f1']:.3f} / {t['ap']:.3f}" if t else "-") + " |")
print()
for name in ("usual", "fresh"):
    g, a = np.array(gaps[name]), np.array(ahead[name])
    print(f"{name}: gap at the default's own threshold mean {np.nanmean(g):.3f}, max "
          f"{np.nanmax(g):.3f}, within 0.03 in {int((g <= 0.03).sum())} of {len(g)}; "
          f"self-training ahead of its baseline (AP) in {int((a > 0).sum())} of {len(a)}")
for m in ("best_f1", "ap"):
    d = [fresh[(r, f, "ensemble")][m] - usual[(r, f, "ensemble")][m] for r, f in keys
         if (r, f, "ensemble") in usual and (r, f, "ensemble") in fresh]
    print(f"ensemble {m}: fresh minus usual mean {np.mean(d):+.3f}, from {min(d):+.3f} to "
          f"{max(d):+.3f}")

# each member on its own, AP fresh minus usual
print("\nAP on fresh micrographs minus AP on the usual ones (label seed 0):\n")
members = ("unet/baseline", "unet/iteration 2", "fixmatch", "ensemble")
print("| regime | labels | U-Net baseline | U-Net last round | FixMatch | ensemble |")
print("|---|---:|---:|---:|---:|---:|")
diffs = {m: [] for m in members}
for regime, frac in keys:
    d = [fresh[(regime, frac, m)]["ap"] - usual[(regime, frac, m)]["ap"] for m in members]
    for m, x in zip(members, d):
        diffs[m].append(x)
    print(f"| {regime} | {frac:.0%} | " + " | ".join(f"{x:+.3f}" for x in d) + " |")
print("| mean | | " + " | ".join(f"{np.mean(diffs[m]):+.3f}" for m in members) + " |")
