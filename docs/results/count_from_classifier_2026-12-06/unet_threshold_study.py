"""Offline: the U-Net's own picking threshold against one keeping the classifier's count.

For each cell of a --count estimated matrix run whose U-Net was counted by the classifier:
the threshold chosen at the end of training (the matrix's training micrographs all carry
labels, so: the best estimated F1 on them, with the classifier's count) against
threshold_from_count with the classifier's count on the training micrographs without labels,
else on all of them (as a count given is kept); F1 of each on the cell's saved test picks,
beside the best F1.
Usage: unet_threshold_study.py RUN_DIR OUT.json"""
import glob, json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
import torch
torch.set_num_threads(2)
from common import test_picks
from cryopick_plugin.engine.io import files
from cryopick_plugin.engine.io.coordinates import without_labels
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import spread_sample, threshold_from_count
from cryopick_plugin.engine.unet.picker import UNetPicker

root, out_path = sys.argv[1], sys.argv[2]
out = {}
for cell in sorted(glob.glob(os.path.join(root, "*", "labels_*", "seed_*"))):
    unet = os.path.join(cell, "unet")
    summary_path = os.path.join(unet, "model", files.UNET_SUMMARY)
    if not os.path.exists(summary_path):
        continue
    summary = json.load(open(summary_path))
    if summary.get("count_origin") != "classifier":
        continue
    key = "/".join(cell.split(os.sep)[-3:])
    train_dir = os.path.join(unet, "train")
    labels = json.load(open(os.path.join(unet, "labels.json")))
    names = sorted(os.path.splitext(f)[0] for f in os.listdir(train_dir))
    n_iter = len(summary["iterations"]) - 1
    tests, picks, truth, radius, ds = test_picks(
        unet, f"picks_{files.unet_iteration_model(n_iter)[:-3]}.json")
    picker = UNetPicker.load(os.path.join(unet, "model", files.UNET_FINAL))
    # the unlabelled training micrographs, else the training micrographs (all labelled)
    sample = spread_sample(without_labels(names, labels), 8) or names
    per = summary["expected_particles"]
    new = threshold_from_count(
        lambda n: picker.pick(read_micrograph(os.path.join(train_dir, n + ".mrc")),
                              threshold=0.05), sample, per, lambda *_: None)

    def f1_at(t):
        return evaluate({n: p[p[:, 2] >= t] for n, p in picks.items()}, truth,
                        radius)["overall"]["f1"]

    full = evaluate(picks, truth, radius)["overall"]
    old = summary["pick_threshold"]
    out[key] = dict(count=per, true=float(np.mean([len(ds.truth[n]) for n in names])),
                    own_threshold=old, classifier_threshold=new, f1_own=f1_at(old),
                    f1_classifier=f1_at(new) if new is not None else None,
                    best_f1=full["best_f1"], best_threshold=full["best_threshold"])
    print(key, {k: round(v, 3) if isinstance(v, float) else v for k, v in out[key].items()},
          flush=True)
json.dump(out, open(out_path, "w"), indent=1)
