"""rest.jsonl as a table, beside the matrix run the cells came from (its U-Net baseline and
last round, and its ensemble: the same code as the 'ignored' arm, another random state).
Usage (from this folder): python rest_table.py"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
MATRIX = os.path.join(HERE, "..", "pseudo_particles_found_twice_2026-12-06",
                      "matrix_fresh_seed1_confirmed.json")

matrix = {}
for r in json.load(open(MATRIX))["results"]:
    matrix[(r["regime"], r["fraction"], r["row"])] = r
runs = {}
for line in open(os.path.join(HERE, "rest.jsonl")):
    r = json.loads(line)
    runs.setdefault(r["cell"], {})[r["rest"]] = r
print("| cell | U-Net baseline AP | last round AP: matrix / ignored / unlabelled | ensemble "
      "AP: matrix / ignored / unlabelled | ensemble F1 at its threshold: ignored / unlabelled |")
print("|---|---:|---|---|---|")
diff = {"unet_ap": [], "ensemble_ap": [], "ensemble_f1": []}
for cell, arms in runs.items():
    regime, _, pct, _, _ = cell.rsplit("_", 4)
    frac = int(pct) / 100
    base = matrix[(regime, frac, "unet/baseline")]["ap"]
    last = matrix[(regime, frac, "unet/iteration 2")]["ap"]
    ens = matrix[(regime, frac, "ensemble")]["ap"]
    a, b = arms["ignored"], arms["unlabelled"]
    same = a["retrain_rest"] == b["retrain_rest"]
    note = " (both arms already unlabelled: too little background)" if same else ""
    print(f"| {regime} {pct}% seed 1{note} | {base:.3f} | {last:.3f} / {a['unet_ap']:.3f} / "
          f"{b['unet_ap']:.3f} | {ens:.3f} / {a['ensemble_ap']:.3f} / {b['ensemble_ap']:.3f} | "
          f"{a['ensemble_f1']:.3f} / {b['ensemble_f1']:.3f} |")
    if not same:
        for k in diff:
            diff[k].append(b[k] - a[k])
n = len(diff["unet_ap"])
print(f"\nunlabelled minus ignored over the {n} cells where they differ: "
      + ", ".join(f"{k} {sum(v) / n:+.4f} (up in {sum(x > 0 for x in v)})"
                  for k, v in diff.items()))
