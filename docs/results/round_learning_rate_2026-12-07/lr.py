"""Offline: self-training's rounds again from a finished matrix cell's baseline with a smaller
learning rate for the rounds (fine-tuning: the baseline's weights move less, so what phase 1
learnt about the hard background, ignored in the rounds, is less forgotten), then the
ensemble with the cell's classifier, as the matrix makes it. Same start as
../reliable_negatives_2026-12-06/rest.py (the baseline's weights, the last checkpoint's random
state), whose "ignored" arm is the same rounds at the default rate (1e-3).
Usage: lr.py OUT_DIR RATE CELL DATA [CELL DATA ...]; prints one JSON line per cell."""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliable_negatives_2026-12-06"))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
from rest import start_from_baseline, test_scores  # noqa: E402
from benchmarks import run as bench  # noqa: E402
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier  # noqa: E402
from cryopick_plugin.engine.io import files  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.unet.training import train_unet  # noqa: E402

torch.set_num_threads(1)


def run(out_root, rate, cell, data):
    ds = Dataset.from_folder(data)
    radius = ds.diameter_px / 2.0
    unet_dir = os.path.join(cell, "unet")
    train_dir = os.path.join(unet_dir, "train")
    names = sorted(n[:-4] for n in os.listdir(train_dir) if n.endswith(".mrc"))
    test = sorted(n[:-4] for n in os.listdir(os.path.join(unet_dir, "test")) if n.endswith(".mrc"))
    labels = {n: np.asarray(p, float)[:, :2] for n, p in
              read_coordinates(os.path.join(unet_dir, "labels.json")).items()}
    images = {n: read_micrograph(os.path.join(train_dir, n + ".mrc")) for n in names}
    key = "_".join(cell.rstrip("/").split("/")[-3:])
    work = os.path.join(out_root, key, f"lr_{rate:g}")
    model_dir = os.path.join(work, "model")
    final = os.path.join(model_dir, files.UNET_FINAL)
    if not os.path.exists(final):
        cfg = start_from_baseline(os.path.join(unet_dir, "model"), model_dir, "ignored")
        ck_path = os.path.join(model_dir, files.LAST_CHECKPOINT)
        ck = files.read_torch_file(ck_path, "cpu", "checkpoint")
        ck["summary"]["config"]["learning_rate"] = rate  # only the rounds are left to train
        files.save_torch_atomic(ck, ck_path)
        cfg.learning_rate = rate
        with open(os.path.join(work, "train.log"), "w") as log:
            train_unet(images, {n: v for n, v in labels.items() if len(v)}, model_dir, cfg,
                       resume=True, log=lambda line: print(line, file=log, flush=True),
                       counter=PatchClassifier.load(cfg.count_classifier)
                       if cfg.count_classifier else None)
    with open(os.path.join(model_dir, files.UNET_SUMMARY)) as fh:
        summary = json.load(fh)
    rounds = summary["iterations"][1:]
    unet = test_scores(final, os.path.join(unet_dir, "test"), ds.truth, radius)
    row = bench.run_ensemble(ds, names, test, labels, os.path.join(work, "ensemble"), final,
                             os.path.join(cell, "fixmatch", "model", files.FIXMATCH_BEST_EMA),
                             "cpu", 1, expected=0)
    picks = row["picks"]
    ov = evaluate(picks, {n: ds.truth[n] for n in test}, radius)["overall"]
    kept = {n: p[p[:, 2] >= row["threshold"]] for n, p in picks.items()}
    f1 = evaluate(kept, {n: ds.truth[n] for n in test}, radius)["overall"]["f1"]
    print(json.dumps(dict(cell=key, rate=rate, unet_best_f1=unet[0], unet_ap=unet[1],
                          ensemble_best_f1=round(ov["best_f1"], 4),
                          ensemble_ap=round(ov["ap"], 4), ensemble_f1=round(f1, 4),
                          pseudo=[r.get("pseudo_particles") for r in rounds],
                          retrain_rest=[r.get("retrain_rest") for r in rounds])),
          flush=True)


if __name__ == "__main__":
    out_root, rate, pairs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    for cell, data in zip(pairs[::2], pairs[1::2]):
        run(out_root, rate, cell, data)
