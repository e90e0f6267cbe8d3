"""What the picks surplus costs with the count given (plan.md, "Added during the run"): per
count-given cell, the ensemble's threshold at SURPLUSES x the given count, read from its saved
test picks as `cryopick combine --calibrate-dir` read them (the k-th best pick over up to 8
evenly spaced test micrographs), and F1 on all test micrographs there; then the two-seed
means per regime-budget (with the test micrographs' mean particles over the count given,
the training micrographs' mean), and per set the regime-budgets within 0.03 of the best F1 and the
mean gap. The 1.15 row must give the threshold the run wrote (checked, cell by cell).

Usage: surplus.py SET=CELLS_ROOT[,CELLS_ROOT] [SET=...]
  CELLS_ROOT: a matrix --out folder run with --count true; the simulated data under
  DATA_ROOT (default /work/bench_data)."""
import glob
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS,  # noqa: E402
                                                       spread_sample)

DATA_ROOT = os.environ.get("DATA_ROOT", "/work/bench_data")
SURPLUSES = (1.0, 1.15)


def names_in(folder):
    return sorted(os.path.splitext(f)[0] for f in os.listdir(folder))


def cell_result(root, cell, used):
    regime, labels, seed = cell.rstrip("/").split("/")[-3:]
    record = [r for r in json.load(open(os.path.join(cell, "cryopick.json")))["records"]
              if r["row"] == "ensemble"]
    if not record:
        return None
    data = [d for d in glob.glob(os.path.join(DATA_ROOT, regime + "-*"))
            if os.path.basename(d) in used]
    ds = Dataset.from_folder(data[0])
    ens = os.path.join(cell, "ensemble")
    train, test = names_in(os.path.join(ens, "train")), names_in(os.path.join(ens, "test"))
    per = float(np.mean([len(ds.truth[n]) for n in train]))  # benchmarks/run.py's count
    picks = {n: np.asarray(p, np.float64).reshape(-1, 3)
             for n, p in json.load(open(os.path.join(ens, "picks.json"))).items()}
    truth, radius = {n: ds.truth[n] for n in test}, ds.diameter_px / 2
    calibration = spread_sample(test, CALIBRATION_MICROGRAPHS)
    ranked = np.sort(np.concatenate([picks[n][:, 2] for n in calibration]))[::-1]
    res = dict(regime=regime, frac=int(labels.split("_")[1]) / 100, seed=int(seed.split("_")[1]),
               best_f1=evaluate(picks, truth, radius)["overall"]["best_f1"],
               ratio=np.mean([len(ds.truth[n]) for n in test]) / per,
               run_threshold=record[0]["threshold"], run_f1=record[0]["f1"], f1={}, t={})
    for s in SURPLUSES:
        k = int(round(s * per * len(calibration)))
        t = ranked[min(max(k, 1), len(ranked)) - 1]
        kept = {n: p[p[:, 2] >= t] for n, p in picks.items()}
        o = evaluate(kept, truth, radius)["overall"]
        res["f1"][s], res["t"][s] = o["f1"], float(t)
        res.setdefault("pr", {})[s] = (o["precision"], o["recall"])
    # the run's threshold and F1, reproduced up to picks.json's 5 decimals (picks that round
    # to the threshold's score count as kept here)
    assert abs(res["t"][1.15] - res["run_threshold"]) < 1e-4, (cell, res)
    assert abs(res["f1"][1.15] - res["run_f1"]) < 0.003, (cell, res)
    return res


order = ["crowded", "apoferritin", "large-carbon", "irregular"]
for arg in sys.argv[1:]:
    set_name, roots = arg.split("=")
    cells = []
    for root in roots.split(","):
        used = open(os.path.join(root, "results.json")).read() \
            if os.path.exists(os.path.join(root, "results.json")) else \
            open(os.path.join(root, "cells.json")).read()
        for cell in sorted(glob.glob(os.path.join(root, "*", "labels_*", "seed_*"))):
            if os.path.exists(os.path.join(cell, "cryopick.json")):
                r = cell_result(root, cell, used)
                if r:
                    cells.append(r)
    groups = defaultdict(list)
    for r in cells:
        groups[(r["frac"], r["regime"])].append(r)
    print(f"\n### {set_name}: {len(cells)} cells\n")
    print("| labels | regime | seeds | test particles / given count | best F1 | " + " | ".join(
        f"F1 at {s:g} x count (P / R) | gap" for s in SURPLUSES) + " |")
    print("|---|---|---|---:|---:|" + "---|---:|" * len(SURPLUSES))
    gaps = defaultdict(list)
    for frac, regime in sorted(groups, key=lambda k: (k[0], order.index(k[1]))):
        g = groups[(frac, regime)]
        best = np.mean([r["best_f1"] for r in g])
        line = f"| {frac:.0%} | {regime} | {','.join(str(r['seed']) for r in g)} | "
        line += f"{np.mean([r['ratio'] for r in g]):.2f} | {best:.3f} |"
        for s in SURPLUSES:
            f1 = np.mean([r["f1"][s] for r in g])
            p, rc = np.mean([r["pr"][s] for r in g], axis=0)
            gaps[s].append(best - f1)
            line += f" {f1:.3f} ({p:.2f} / {rc:.2f}) | {best - f1:.3f} |"
        print(line)
    print()
    for s in SURPLUSES:
        v = np.array(gaps[s])
        print(f"{set_name}, {s:g} x count: within 0.03 in {(v <= 0.03).sum()} of {len(v)} "
              f"regime-budgets, mean gap {v.mean():.3f}, largest {v.max():.3f}")
