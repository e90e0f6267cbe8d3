"""Offline: the ensemble a matrix cell would make with its U-Net's baseline (phase 1 only, no
self-training round) instead of its final model, with the cell's classifier, combined and
picked as the matrix does (benchmarks.run.run_ensemble): what self-training brings to the
default pipeline, beside what it brings to the U-Net alone.
Usage: baseline_ensemble.py OUT_DIR CELL DATA [CELL DATA ...]; one JSON line per cell."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliable_negatives_2026-12-06"))
from rest import Dataset, cell_inputs, ensemble_scores, files  # noqa: E402


def run(out_root, cell, data):
    unet_dir, names, test, labels, key = cell_inputs(cell)
    print(json.dumps(dict(cell=key, **ensemble_scores(
        Dataset.from_folder(data), cell, names, test, labels,
        os.path.join(unet_dir, "model", files.UNET_BASELINE), os.path.join(out_root, key)))),
        flush=True)


if __name__ == "__main__":
    out_root, pairs = sys.argv[1], sys.argv[2:]
    for cell, data in zip(pairs[::2], pairs[1::2]):
        run(out_root, cell, data)
