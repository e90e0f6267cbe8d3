"""The crowded-many-labels cell (50%, label seed 0) run several ways: best F1 / AP of the
default and its members per run, and the U-Net rounds' pseudo-particles (taken, right).
Usage: many_pairs.py NAME=results.json [NAME=results.json ...] (a missing file: "-")."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402

ROWS = (("ensemble", "default"), ("unet/baseline", "U-Net baseline"),
        ("unet/iteration 2", "U-Net last round"), ("fixmatch", "classifier"))
runs = [a.split("=", 1) for a in sys.argv[1:]]
records = {name: ({r["row"]: r for r in load_records(path)} if os.path.exists(path) else {})
           for name, path in runs}
print("| row | " + " | ".join(name for name, _ in runs) + " |")
print("|---|" + "---|" * len(runs))
for row, label in ROWS:
    cells = [records[name].get(row) for name, _ in runs]
    print(f"| {label} | " + " | ".join(
        "-" if r is None else f"{r['best_f1']:.3f} / {r['ap']:.3f}" for r in cells) + " |")
cells = []
for name, _ in runs:
    rounds = [records[name].get(f"unet/iteration {k}") for k in (1, 2)]
    cells.append("-" if None in rounds else ", ".join(
        f"{r['pseudo_n'] or 0} ({'-' if r['pseudo_precision'] is None else format(r['pseudo_precision'], '.2f')})"
        for r in rounds))
print("| pseudo-particles per round (share right) | " + " | ".join(cells) + " |")
