"""The rounds at 1e-4 against 1e-3 on matrix cells (lr.py's runs, both from the same start),
per cell and per regime-budget (two-label-seed means), and the four tests of plan.md.

Usage: compare.py --runs LR.jsonl [...] --roots LR_OUT [...] --cells CELL DATA [CELL DATA ...]
  LR.jsonl: lr.py's lines (a later line for the same cell and rate wins); LR_OUT: lr.py's
  OUT_DIR, where each run's model folder is (for its pseudo-particles' share right)."""
import argparse
import json
import os
import sys
from collections import defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
sys.path.insert(0, os.path.join(HERE, "..", "reliable_negatives_2026-12-06"))
from benchmarks.datasets import Dataset  # noqa: E402
from benchmarks.matrix import score_pseudo_labels  # noqa: E402
from rest import cell_inputs  # noqa: E402

RATES = (1e-3, 1e-4)
ORDER = ("crowded", "apoferritin", "large-carbon", "irregular")


def model_folder(roots, key, rate):
    for root in roots:
        path = os.path.join(root, key, f"lr_{rate:g}", "model")
        if os.path.isdir(path):
            return path
    raise SystemExit(f"no model folder for {key} at {rate:g} under {', '.join(roots)}")


def cell_row(cell, data, runs, roots):
    ds = Dataset.from_folder(data)
    _, names, _, labels, key = cell_inputs(cell)
    records = {r["row"]: r for r in json.load(open(os.path.join(cell, "cryopick.json")))["records"]}
    row = dict(key=key, regime=records["ensemble"]["regime"],
               fraction=records["ensemble"]["fraction"], seed=records["ensemble"]["seed"],
               baseline_ap=records["unet/baseline"]["ap"])
    for rate in RATES:
        run = runs.get((key, rate))
        if run is None:
            return None
        quality = score_pseudo_labels(model_folder(roots, key, rate), ds, names, labels)
        last = quality.get(max(quality)) if quality else {}
        row[rate] = dict(unet_ap=run["unet_ap"], ap=run["ensemble_ap"],
                         best_f1=run["ensemble_best_f1"], f1=run["ensemble_f1"],
                         taken=last.get("n_pseudo", 0), right=last.get("n_matched", 0))
    return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", nargs="+", required=True)
    p.add_argument("--roots", nargs="+", required=True)
    p.add_argument("--cells", nargs="+", required=True)
    a = p.parse_args()
    runs = {}
    for path in a.runs:
        for line in open(path):
            d = json.loads(line)
            runs[(d["cell"], d["rate"])] = d
    rows = [r for r in (cell_row(c, d, runs, a.roots) for c, d in zip(a.cells[::2], a.cells[1::2]))
            if r]
    print("| cell | U-Net baseline AP | last round AP 1e-3 / 1e-4 | ensemble AP 1e-3 / 1e-4 | "
          "best F1 1e-3 / 1e-4 | own gap 1e-3 / 1e-4 | pseudo-particles right 1e-3 / 1e-4 |")
    print("|---|---:|---|---|---|---|---|")
    groups = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["fraction"], ORDER.index(r["regime"]), r["seed"])):
        groups[(r["fraction"], r["regime"])].append(r)
        lo, hi = r[1e-3], r[1e-4]
        pp = " / ".join(f"{x['right']} of {x['taken']}" for x in (lo, hi))
        print(f"| {r['regime']} {r['fraction']:.0%} seed {r['seed']} | {r['baseline_ap']:.3f} | "
              f"{lo['unet_ap']:.3f} / {hi['unet_ap']:.3f} | {lo['ap']:.3f} / {hi['ap']:.3f} | "
              f"{lo['best_f1']:.3f} / {hi['best_f1']:.3f} | {lo['best_f1'] - lo['f1']:.3f} / "
              f"{hi['best_f1'] - hi['f1']:.3f} | {pp} |")
    print("\nPer regime-budget (two-label-seed means; pseudo-particles pooled over the seeds):\n")
    print("| labels | regime | cells | U-Net last round minus baseline AP 1e-3 / 1e-4 | "
          "ensemble AP change | best F1 change | own gap 1e-3 / 1e-4 | pseudo right 1e-3 / 1e-4 |")
    print("|---|---|---:|---|---:|---:|---|---|")
    tally = defaultdict(lambda: defaultdict(int))
    changes = defaultdict(list)
    for (frac, regime), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], ORDER.index(kv[0][1]))):
        st, gap, pp = {}, {}, {}
        for rate in RATES:
            st[rate] = np.mean([r[rate]["unet_ap"] - r["baseline_ap"] for r in rs])
            gap[rate] = np.mean([r[rate]["best_f1"] - r[rate]["f1"] for r in rs])
            taken = sum(r[rate]["taken"] for r in rs)
            pp[rate] = sum(r[rate]["right"] for r in rs) / taken if taken else None
            k = tally[(frac, rate)]
            k["n"] += 1
            k["st"] += st[rate] > 0
            k["gap"] += gap[rate] <= 0.03
            k["pp"] += pp[rate] is None or pp[rate] >= 0.9
        d_ap = np.mean([r[1e-4]["ap"] - r[1e-3]["ap"] for r in rs])
        d_f1 = np.mean([r[1e-4]["best_f1"] - r[1e-3]["best_f1"] for r in rs])
        changes[frac] += [(r[1e-4]["ap"] - r[1e-3]["ap"], r[1e-4]["best_f1"] - r[1e-3]["best_f1"])
                          for r in rs]

        def f(x):
            return "none taken" if x is None else f"{x:.2f}"
        print(f"| {frac:.0%} | {regime} | {len(rs)} | {st[1e-3]:+.3f} / {st[1e-4]:+.3f} | "
              f"{d_ap:+.4f} | {d_f1:+.4f} | {gap[1e-3]:.3f} / {gap[1e-4]:.3f} | "
              f"{f(pp[1e-3])} / {f(pp[1e-4])} |")
    print()
    holds = True
    for frac in sorted(changes):
        c = np.array(changes[frac])
        lo, hi = tally[(frac, 1e-3)], tally[(frac, 1e-4)]
        print(f"{frac:.0%} ({len(c)} cells): 1e-4 minus 1e-3, ensemble AP {c[:, 0].mean():+.4f} "
              f"(up in {(c[:, 0] > 0).sum()}), best F1 {c[:, 1].mean():+.4f} (up in "
              f"{(c[:, 1] > 0).sum()}); regime-budgets (1e-3 / 1e-4): U-Net ahead of its "
              f"baseline {lo['st']} / {hi['st']}, pseudo-particles >= 0.9 right {lo['pp']} / "
              f"{hi['pp']}, own gap <= 0.03 {lo['gap']} / {hi['gap']}, of {lo['n']}")
        holds &= min(c.mean(axis=0)) >= -0.002
    totals = {rate: {m: sum(tally[(f, rate)][m] for f in changes) for m in ("st", "pp", "gap")}
              for rate in RATES}
    holds &= all(totals[1e-4][m] >= totals[1e-3][m] for m in ("st", "pp", "gap"))
    print(f"\nAll regime-budgets (1e-3 / 1e-4): U-Net ahead {totals[1e-3]['st']} / "
          f"{totals[1e-4]['st']}, pseudo-particles >= 0.9 right {totals[1e-3]['pp']} / "
          f"{totals[1e-4]['pp']}, own gap <= 0.03 {totals[1e-3]['gap']} / {totals[1e-4]['gap']}")
    print(f"plan.md's four tests: {'all hold' if holds else 'not all hold'}"
          + ("" if len(rows) == 24 else f" (on {len(rows)} of 24 cells so far)"))


if __name__ == "__main__":
    main()
