"""train-unet --centre-labels against the same cells without it (plan.md's second
addendum): per regime at 20% labels, best F1 / AP of the default and its members, with the
labels exact and moved (0.1 diameter), with and without centring; then the addendum's rule.
Usage: centring_pairs.py EXACT.json MOVED.json CENTRED_MOVED.json[,...] CENTRED_EXACT.json[,...]
(comma-separated lists: each batch's results.json; a missing file is skipped)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402

ROWS = (("ensemble", "default"), ("unet/baseline", "U-Net baseline"),
        ("unet/iteration 2", "U-Net last round"), ("fixmatch", "classifier"))
REGIMES = ("crowded", "apoferritin", "large-carbon", "irregular")
FRACTION, SEEDS = 0.2, (0, 1)


def load(paths):
    out = {}
    for p in paths.split(","):
        if os.path.exists(p):
            out.update({(r["regime"], round(r["fraction"], 2), r["seed"], r["row"]): r
                        for r in load_records(p)})
    return out


exact, moved, centred_moved, centred_exact = (load(p) for p in sys.argv[1:5])


def mean(d, regime, row):
    keys = [(regime, FRACTION, s, row) for s in SEEDS]
    if any(k not in d for k in keys):
        return None
    return np.mean([[d[k]["best_f1"], d[k]["ap"]] for k in keys], axis=0)


def fmt(v):
    return "-" if v is None else f"{v[0]:.3f} / {v[1]:.3f}"


print(f"## Best F1 / AP at {FRACTION:.0%} labels, means over label seeds "
      f"{', '.join(map(str, SEEDS))}\n")
print("| regime | row | exact | exact, centred | moved | moved, centred |")
print("|---|---|---|---|---|---|")
gain_moved, cost_exact = {}, {}
for regime in REGIMES:
    for row, name in ROWS:
        e, ec, m, mc = (mean(d, regime, row) for d in (exact, centred_exact, moved,
                                                       centred_moved))
        print(f"| {regime} | {name} | {fmt(e)} | {fmt(ec)} | {fmt(m)} | {fmt(mc)} |")
        if row == "ensemble":
            if m is not None and mc is not None:
                gain_moved[regime] = mc[1] - m[1]
            if e is not None and ec is not None:
                cost_exact[regime] = ec[1] - e[1]

print("\nThe default's AP, centred minus not:")
for regime in REGIMES:
    print(f"- {regime}: moved labels "
          f"{'-' if regime not in gain_moved else f'{gain_moved[regime]:+.3f}'}, exact labels "
          f"{'-' if regime not in cost_exact else f'{cost_exact[regime]:+.3f}'}")
complete = len(gain_moved) == len(cost_exact) == len(REGIMES)
a = complete and np.mean(list(gain_moved.values())) > 0 and min(gain_moved.values()) >= -0.01
b = complete and min(cost_exact.values()) >= -0.01
if complete:
    print(f"\nmoved labels, mean over the regimes: {np.mean(list(gain_moved.values())):+.3f}")
print("\nthe addendum's rule: " + (
    "not every cell ran: centring stays an option" if not complete else
    "met: centring becomes the default" if a and b else
    f"not met ((a) {'holds' if a else 'fails'}, (b) {'holds' if b else 'fails'}): centring "
    "stays an option"))
