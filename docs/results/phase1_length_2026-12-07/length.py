"""Offline: phase 1 alone for longer (no rounds) on a finished matrix cell, with the cell's
own settings, labels and count classifier; the U-Net's best F1 / AP on the cell's test
micrographs and the default ensemble's with it (as rest.py scores them), beside the cell's
baseline and last round from its cryopick.json.
Usage: length.py OUT_DIR EPOCHS CELL DATA [CELL DATA ...]; prints one JSON line per cell."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliable_negatives_2026-12-06"))
from rest import cell_inputs, ensemble_scores, test_scores  # noqa: E402  (its path set-up first)
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier  # noqa: E402
from cryopick_plugin.engine.io import files  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.unet.config import UNetTrainConfig  # noqa: E402
from cryopick_plugin.engine.unet.training import train_unet  # noqa: E402


def run(out_root, epochs, cell, data):
    ds = Dataset.from_folder(data)
    unet_dir, names, test, labels, key = cell_inputs(cell)
    with open(os.path.join(unet_dir, "model", files.UNET_SUMMARY)) as fh:
        config = json.load(fh)["config"]
    cfg = UNetTrainConfig(**dict(config, initial_epochs=epochs, self_training_iterations=0))
    work = os.path.join(out_root, key, f"phase1_{epochs}")
    model_dir = os.path.join(work, "model")
    final = os.path.join(model_dir, files.UNET_FINAL)
    if not os.path.exists(final):
        images = {n: read_micrograph(os.path.join(unet_dir, "train", n + ".mrc")) for n in names}
        os.makedirs(work, exist_ok=True)
        with open(os.path.join(work, "train.log"), "w") as log:
            train_unet(images, {n: v for n, v in labels.items() if len(v)}, model_dir, cfg,
                       log=lambda line: print(line, file=log, flush=True),
                       counter=PatchClassifier.load(cfg.count_classifier)
                       if cfg.count_classifier else None)
    rows = {r["row"]: r for r in json.load(open(os.path.join(cell, "cryopick.json")))["records"]}
    unet = test_scores(final, os.path.join(unet_dir, "test"), ds.truth, ds.diameter_px / 2.0)
    print(json.dumps(dict(
        cell=key, epochs=epochs, unet_best_f1=unet[0], unet_ap=unet[1],
        matrix_baseline_ap=round(rows["unet/baseline"]["ap"], 4),
        matrix_last_round_ap=round(rows["unet/iteration 2"]["ap"], 4),
        matrix_ensemble_ap=round(rows["ensemble"]["ap"], 4),
        **ensemble_scores(ds, cell, names, test, labels, final, work))), flush=True)


if __name__ == "__main__":
    out_root, epochs, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    for cell, data in zip(pairs[::2], pairs[1::2]):
        run(out_root, epochs, cell, data)
