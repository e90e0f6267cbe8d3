"""Issue 11's "Done when", per regime-budget of one set of micrographs (two-label-seed means):
the default (the ensemble) against Topaz on the same micrographs and label seeds, F1 at its
own threshold below its best (the run's, and offline with the counts of counts.py), the U-Net's
last round against its baseline and its pseudo-particles' share right.

Usage: status.py TOPAZ.json[,MORE.json] COUNTS.jsonl[,MORE.jsonl] RUN.json [RUN.json ...]
  RUN: a matrix run's results.json or cells.json (or records.py's file); COUNTS: counts.py's
  output on its cells, or - for none (cells are told apart by regime, budget and seed only)."""
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402


def cell_key(path):
    """(regime, fraction, seed) of a cell folder <out>/<regime>/labels_<pct>/seed_<s>."""
    seed, labels, regime = path.rstrip("/").split("/")[-1:-4:-1]
    return regime, int(labels.split("_")[1]) / 100.0, int(seed.split("_")[1])


topaz_path, counts_paths, runs = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
rows = {}
for path in runs:
    for r in load_records(path):
        rows[(r["regime"], round(r["fraction"], 2), r["seed"], r["row"])] = r
topaz = {(r["regime"], round(r["fraction"], 2), r["seed"]): r
         for path in topaz_path.split(",") for r in load_records(path) if r["row"] == "topaz"}
counts = {}
for path in counts_paths if counts_paths != ["-"] else []:  # "-": no counts
    for line in open(path):
        c = json.loads(line)
        counts[cell_key(c["cell"])] = c["res"]

groups = defaultdict(list)
for (regime, frac, seed, row) in rows:
    if row == "ensemble":
        groups[(frac, regime)].append(seed)
order = ["crowded", "apoferritin", "large-carbon", "irregular"]
print("| labels | regime | seeds | default best F1 / AP | Topaz | default minus Topaz | "
      "own gap: run | classifier's count (offline) | geometric mean | true count | U-Net last round minus "
      "baseline AP | pseudo-particles right |")
print("|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---|")
tally = defaultdict(lambda: defaultdict(int))
margins = defaultdict(list)
for frac, regime in sorted(groups, key=lambda k: (k[0], order.index(k[1]))):
    seeds = sorted(groups[(frac, regime)])
    ens = [rows[(regime, frac, s, "ensemble")] for s in seeds]
    top = [topaz.get((regime, frac, s)) for s in seeds]
    d = np.mean([[e["best_f1"], e["ap"], e["best_f1"] - e["f1"]] for e in ens], axis=0)
    t = np.mean([[x["best_f1"], x["ap"]] for x in top if x], axis=0) if all(top) else None
    cs = [counts.get((regime, frac, s)) for s in seeds]
    gaps = {k: (np.mean([c["best_f1"] - c["f1"][k] for c in cs]) if all(cs) else None)
            for k in ("classifier", "geometric", "true")}
    st, taken, right = [], 0, 0
    for s in seeds:
        last, base = rows.get((regime, frac, s, "unet/iteration 2")), \
            rows.get((regime, frac, s, "unet/baseline"))
        if last and base:
            st.append(last["ap"] - base["ap"])
            if last.get("pseudo_n"):
                taken += last["pseudo_n"]
                right += last["pseudo_n"] * last["pseudo_precision"]
    st_mean = np.mean(st) if st else None
    m = (d[0] - t[0], d[1] - t[1]) if t is not None else None
    if m:
        margins[frac].append(m)
    k = tally[frac]
    k["n"] += 1
    k["ahead"] += bool(m and min(m) > 0)
    k["run"] += d[2] <= 0.03
    k["geo"] += gaps["geometric"] is not None and gaps["geometric"] <= 0.03
    k["cls"] += gaps["classifier"] is not None and gaps["classifier"] <= 0.03
    k["true"] += gaps["true"] is not None and gaps["true"] <= 0.03
    k["st"] += st_mean is not None and st_mean > 0
    k["pp"] += taken == 0 or right / taken >= 0.9

    def f(x):
        return "-" if x is None else f"{x:.3f}"
    print(f"| {frac:.0%} | {regime} | {len(seeds)} | {d[0]:.3f} / {d[1]:.3f} | "
          + (f"{t[0]:.3f} / {t[1]:.3f} | {m[0]:+.3f} / {m[1]:+.3f}" if m else "- | -")
          + f" | {d[2]:.3f} | {f(gaps['classifier'])} | {f(gaps['geometric'])} | {f(gaps['true'])} | "
          + ("-" if st_mean is None else f"{st_mean:+.3f}") + " | "
          + (f"{right / taken:.2f} of {taken}" if taken else "none taken") + " |")
print()
for frac in sorted(tally):
    k = tally[frac]
    mm = np.mean(margins[frac], axis=0) if margins[frac] else (np.nan, np.nan)
    print(f"{frac:.0%}: mean margin over Topaz {mm[0]:+.3f} / {mm[1]:+.3f}; ahead in both in "
          f"{k['ahead']} of {k['n']}; own gap <= 0.03: run {k['run']}, classifier's count "
          f"offline {k['cls']}, geometric mean {k['geo']}, true count {k['true']}; U-Net last round ahead of its "
          f"baseline {k['st']}; pseudo-particles >= 0.9 right (or none taken) {k['pp']}")
