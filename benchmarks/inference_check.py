"""Does an inference setting change the picks? A matrix run's saved models, picked again under
each value of one setting.

    python -m benchmarks.inference_check --matrix benchmark_output/matrix \\
        --setting precision=float32,bfloat16
    python -m benchmarks.inference_check --matrix benchmark_output/matrix --setting border=96,0
    python -m benchmarks.inference_check --matrix benchmark_output/matrix --setting weight=2,100/n

Every finished cryopick cell of the matrix (``benchmarks.matrix``) keeps its ensemble model
file, which holds the U-Net and the classifier whole. Each cell's test micrographs are picked
by the U-Net, the classifier and the ensemble under each value, at the matrix's ranking
threshold, and scored as the matrix scores them (one-to-one within half a diameter: best F1
and AP), with the seconds per micrograph of picking in this process. Prints a table and the
mean change of each picker against the first value; ``--out`` writes the numbers as JSON.

Settings: ``precision`` (engine/device.py: float32, bfloat16, auto), ``border`` (the U-Net's
context at the image's edges, px; engine/unet/tiling.py) and ``weight`` (the classifier's
weight in the ensemble: a number, or K/n for K over the cell's number of labels, as
engine/picking/fusion.py weighs it).
"""
import argparse
import glob
import json
import os
import time

import numpy as np

from benchmarks.datasets import Dataset
from benchmarks.run import RANKING_THRESHOLD
from cryopick_plugin.engine import device
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.metrics import evaluate

PICKERS = ("unet", "classifier", "ensemble")


def apply_setting(name, value, ensemble, n_labels=None):
    """Make ``value`` of setting ``name`` the one the next picks use (``n_labels``: the
    cell's hand-picked particles, for a weight given per label)."""
    if name == "precision":
        device.set_precision(value)
    elif name == "border":
        ensemble.unet.border = int(value)
    elif name == "weight":
        ensemble.classifier_weight = classifier_weight(value, n_labels)
    else:
        raise SystemExit(f"unknown setting '{name}' (precision, border or weight)")


def classifier_weight(value, n_labels=None):
    """The ensemble's classifier weight a ``weight`` value means: a number ('2'), or K
    divided by the cell's number of labels ('100/n', the form of fusion.classifier_weight_for)."""
    if value.endswith("/n"):
        if not n_labels:
            raise SystemExit(f"weight {value}: the cell's number of labels is not known")
        return float(value[:-2]) / n_labels
    return float(value)


def finished_cells(matrix_dir):
    """(cell folder, its settings, its number of labels or None) of every cryopick cell
    with an ensemble model."""
    for path in sorted(glob.glob(os.path.join(matrix_dir, "*", "labels_*", "seed_*",
                                              "cryopick.json"))):
        folder = os.path.dirname(path)
        if os.path.exists(os.path.join(folder, "ensemble", "ensemble_model.pt")):
            with open(path) as fh:
                saved = json.load(fh)
            records = saved.get("records") or [{}]
            yield folder, saved["signature"], records[0].get("n_labels")


def check_cell(folder, signature, name, values, n_labels=None):
    ensemble = EnsemblePicker.load(os.path.join(folder, "ensemble", "ensemble_model.pt"))
    ds = Dataset.from_folder(signature["data"])
    test = sorted(os.path.basename(p)[:-4]
                  for p in glob.glob(os.path.join(folder, "ensemble", "test", "*.mrc")))
    images = {n: read_micrograph(ds.micrographs[n]) for n in test}
    truth = {n: ds.truth[n] for n in test}
    pickers = dict(unet=ensemble.unet, classifier=ensemble.classifier, ensemble=ensemble)
    out = {}
    for value in values:
        apply_setting(name, value, ensemble, n_labels)
        for label, picker in pickers.items():
            t0 = time.time()
            picks = {n: picker.pick(images[n], threshold=RANKING_THRESHOLD) for n in test}
            seconds = (time.time() - t0) / len(test)
            scores = evaluate(picks, truth, ds.diameter_px / 2)["overall"]
            out[f"{label}/{value}"] = dict(best_f1=scores["best_f1"], ap=scores["ap"],
                                           s_per_micrograph=seconds)
    return out


def mean_changes(results, values):
    """Per picker and later value: mean / min / max change of best F1 and AP against the
    first value, over the cells."""
    out = {}
    for label in PICKERS:
        for value in values[1:]:
            for key in ("best_f1", "ap"):
                d = [r[f"{label}/{value}"][key] - r[f"{label}/{values[0]}"][key]
                     for r in results.values()]
                out[f"{label} {key} {value} - {values[0]}"] = dict(
                    mean=float(np.mean(d)), min=float(np.min(d)), max=float(np.max(d)))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--matrix", required=True, help="a matrix run's --out folder")
    p.add_argument("--setting", required=True, metavar="NAME=V1,V2[,...]",
                   help="precision=float32,bfloat16, border=96,0 or weight=2,100/n")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="JSON file for the numbers")
    args = p.parse_args(argv)
    name, _, listed = args.setting.partition("=")
    values = [v for v in listed.split(",") if v]
    if len(values) < 2:
        raise SystemExit("--setting needs a name and at least two values, e.g. border=96,0")
    device.set_threads(args.threads)
    results = {}
    print(f"| cell | {' | '.join(f'{k} {v}' for k in PICKERS for v in values)} |")
    print("|---|" + "---:|" * (len(PICKERS) * len(values)))
    for folder, signature, n_labels in finished_cells(args.matrix):
        cell = os.path.relpath(folder, args.matrix)
        results[cell] = r = check_cell(folder, signature, name, values, n_labels)
        print(f"| {cell} | " + " | ".join(
            f"{r[f'{k}/{v}']['best_f1']:.3f} / {r[f'{k}/{v}']['ap']:.3f}"
            for k in PICKERS for v in values) + " |", flush=True)
    if not results:
        raise SystemExit(f"{args.matrix}: no finished cryopick cell with an ensemble model")
    changes = mean_changes(results, values)
    print(f"\nChange against {name}={values[0]} over {len(results)} cells (mean, min, max):")
    for k, c in changes.items():
        print(f"- {k}: {c['mean']:+.4f} ({c['min']:+.3f} to {c['max']:+.3f})")
    seconds = {f"{k}/{v}": float(np.mean([r[f"{k}/{v}"]["s_per_micrograph"]
                                          for r in results.values()]))
               for k in PICKERS for v in values}
    print("Seconds per test micrograph: " + ", ".join(f"{k} {s:.3f}"
                                                     for k, s in seconds.items()))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(dict(setting=name, values=values, cells=results, changes=changes,
                           seconds=seconds), fh, indent=1)


if __name__ == "__main__":
    main()
