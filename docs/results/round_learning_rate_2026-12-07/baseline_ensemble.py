"""Offline: the ensemble a matrix cell would make with its U-Net's baseline (phase 1 only, no
self-training round) instead of its final model, with the cell's classifier, combined and
picked as the matrix does (benchmarks.run.run_ensemble): what self-training brings to the
default pipeline, beside what it brings to the U-Net alone.
Usage: baseline_ensemble.py OUT_DIR CELL DATA [CELL DATA ...]; one JSON line per cell."""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
from benchmarks import run as bench  # noqa: E402
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.io import files  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402

torch.set_num_threads(1)


def run(out_root, cell, data):
    ds = Dataset.from_folder(data)
    radius = ds.diameter_px / 2.0
    unet_dir = os.path.join(cell, "unet")
    names = sorted(n[:-4] for n in os.listdir(os.path.join(unet_dir, "train"))
                   if n.endswith(".mrc"))
    test = sorted(n[:-4] for n in os.listdir(os.path.join(unet_dir, "test")) if n.endswith(".mrc"))
    labels = {n: np.asarray(p, float)[:, :2] for n, p in
              read_coordinates(os.path.join(unet_dir, "labels.json")).items()}
    key = "_".join(cell.rstrip("/").split("/")[-3:])
    row = bench.run_ensemble(ds, names, test, labels, os.path.join(out_root, key, "ensemble"),
                             os.path.join(unet_dir, "model", files.UNET_BASELINE),
                             os.path.join(cell, "fixmatch", "model", files.FIXMATCH_BEST_EMA),
                             "cpu", 1, expected=0)
    truth = {n: ds.truth[n] for n in test}
    ov = evaluate(row["picks"], truth, radius)["overall"]
    kept = {n: p[p[:, 2] >= row["threshold"]] for n, p in row["picks"].items()}
    print(json.dumps(dict(cell=key, ensemble_best_f1=round(ov["best_f1"], 4),
                          ensemble_ap=round(ov["ap"], 4),
                          ensemble_f1=round(evaluate(kept, truth, radius)["overall"]["f1"], 4))),
          flush=True)


if __name__ == "__main__":
    out_root, pairs = sys.argv[1], sys.argv[2:]
    for cell, data in zip(pairs[::2], pairs[1::2]):
        run(out_root, cell, data)
