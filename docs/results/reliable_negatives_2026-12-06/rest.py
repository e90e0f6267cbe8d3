"""Offline: self-training's rounds again from a finished matrix cell's baseline, with the
rest of the pixels (neither particle nor reliable background) ignored (the default) or
unlabelled under the PU objective (--retrain-rest unlabelled); then the ensemble of each new
U-Net with the cell's classifier, combined and picked as the matrix does
(benchmarks.run.run_ensemble). Both arms start from the same checkpoint (the baseline's
weights and the last checkpoint's random state), so they differ only in the rule.
Usage: rest.py OUT_DIR CELL DATA [CELL DATA ...]; prints one JSON line per cell and arm."""
import json
import os
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
from benchmarks import run as bench  # noqa: E402
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier  # noqa: E402
from cryopick_plugin.engine.io import files  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.unet.config import UNetTrainConfig  # noqa: E402
from cryopick_plugin.engine.unet.picker import UNetPicker  # noqa: E402
from cryopick_plugin.engine.unet.training import train_unet  # noqa: E402

torch.set_num_threads(1)


def start_from_baseline(cell_model, out, rest):
    """``out``: a model folder holding the cell's baseline and a checkpoint after it."""
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(cell_model, files.UNET_BASELINE), out)
    ck = files.read_torch_file(os.path.join(cell_model, files.LAST_CHECKPOINT), "cpu",
                               "checkpoint")
    base = UNetPicker.load(os.path.join(cell_model, files.UNET_BASELINE))
    ck["model"] = base.model.state_dict()
    ck["summary"]["iterations"] = ck["summary"]["iterations"][:1]
    ck["summary"]["config"]["retrain_rest"] = rest
    files.save_torch_atomic(ck, os.path.join(out, files.LAST_CHECKPOINT))
    cfg = UNetTrainConfig(**{k: v for k, v in ck["summary"]["config"].items()
                             if k in UNetTrainConfig.__dataclass_fields__})
    return cfg


def test_scores(model, test_dir, truth, radius):
    picker = UNetPicker.load(model)
    picks = {n[:-4]: picker.pick(read_micrograph(os.path.join(test_dir, n)), threshold=0.02)
             for n in sorted(os.listdir(test_dir)) if n.endswith(".mrc")}
    ov = evaluate(picks, {n: truth[n] for n in picks}, radius)["overall"]
    return round(ov["best_f1"], 4), round(ov["ap"], 4)


#: the two arms: (folder, rule for the rest, learning rate of the rounds: None = the cell's)
ARMS = (("ignored", "ignored", None), ("unlabelled", "unlabelled", None))


def cell_inputs(cell):
    """(the cell's U-Net folder, training and test micrograph names, labels, a short key)."""
    unet_dir = os.path.join(cell, "unet")
    names = sorted(n[:-4] for n in os.listdir(os.path.join(unet_dir, "train"))
                   if n.endswith(".mrc"))
    test = sorted(n[:-4] for n in os.listdir(os.path.join(unet_dir, "test")) if n.endswith(".mrc"))
    labels = {n: np.asarray(p, float)[:, :2] for n, p in
              read_coordinates(os.path.join(unet_dir, "labels.json")).items()}
    return unet_dir, names, test, labels, "_".join(cell.rstrip("/").split("/")[-3:])


def ensemble_scores(ds, cell, names, test, labels, unet_model, work):
    """The ensemble of ``unet_model`` and the cell's classifier, combined and picked as the
    matrix does: its best F1, AP and F1 at its own threshold on the test micrographs."""
    row = bench.run_ensemble(ds, names, test, labels, os.path.join(work, "ensemble"), unet_model,
                             os.path.join(cell, "fixmatch", "model", files.FIXMATCH_BEST_EMA),
                             "cpu", 1, expected=0)
    truth, radius = {n: ds.truth[n] for n in test}, ds.diameter_px / 2.0
    ov = evaluate(row["picks"], truth, radius)["overall"]
    kept = {n: p[p[:, 2] >= row["threshold"]] for n, p in row["picks"].items()}
    return dict(ensemble_best_f1=round(ov["best_f1"], 4), ensemble_ap=round(ov["ap"], 4),
                ensemble_f1=round(evaluate(kept, truth, radius)["overall"]["f1"], 4))


def run(out_root, cell, data, arms=ARMS):
    ds = Dataset.from_folder(data)
    radius = ds.diameter_px / 2.0
    unet_dir, names, test, labels, key = cell_inputs(cell)
    images = {n: read_micrograph(os.path.join(unet_dir, "train", n + ".mrc")) for n in names}
    for folder, rest, rate in arms:
        work = os.path.join(out_root, key, folder)
        model_dir = os.path.join(work, "model")
        final = os.path.join(model_dir, files.UNET_FINAL)
        if not os.path.exists(final):
            cfg = start_from_baseline(os.path.join(unet_dir, "model"), model_dir, rest)
            if rate is not None:  # only the rounds are left to train
                ck_path = os.path.join(model_dir, files.LAST_CHECKPOINT)
                ck = files.read_torch_file(ck_path, "cpu", "checkpoint")
                ck["summary"]["config"]["learning_rate"] = cfg.learning_rate = rate
                files.save_torch_atomic(ck, ck_path)
            with open(os.path.join(work, "train.log"), "w") as log:
                train_unet(images, {n: v for n, v in labels.items() if len(v)}, model_dir, cfg,
                           resume=True, log=lambda line: print(line, file=log, flush=True),
                           counter=PatchClassifier.load(cfg.count_classifier)
                           if cfg.count_classifier else None)
        with open(os.path.join(model_dir, files.UNET_SUMMARY)) as fh:
            summary = json.load(fh)
        rounds = summary["iterations"][1:]
        unet = test_scores(final, os.path.join(unet_dir, "test"), ds.truth, radius)
        print(json.dumps(dict(cell=key, **({"rest": rest} if rate is None else {"rate": rate}),
                              unet_best_f1=unet[0], unet_ap=unet[1],
                              **ensemble_scores(ds, cell, names, test, labels, final, work),
                              pseudo=[r.get("pseudo_particles") for r in rounds],
                              retrain_rest=[r.get("retrain_rest") for r in rounds])),
              flush=True)


if __name__ == "__main__":
    out_root, pairs = sys.argv[1], sys.argv[2:]
    for cell, data in zip(pairs[::2], pairs[1::2]):
        run(out_root, cell, data)
