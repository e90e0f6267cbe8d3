"""Offline: how many particles does a self-training round take as reliable background?
For a finished matrix cell, each round's map (the model the round starts from: the baseline
for round 1, iteration K-1 for round K, mean of the training's pseudo-label views) on the
training micrographs, the round's reliable negatives (training.py's rule and cap), and the
unlabelled true particles: the share whose centre is a reliable negative, the share of their
discs' pixels that are, and the same for the labelled ones (a check: near 0).
Usage: probe.py CELL DATA [CELL DATA ...]"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking.scale import to_working  # noqa: E402
from cryopick_plugin.engine.unet.config import UNetTrainConfig  # noqa: E402
from cryopick_plugin.engine.unet.masks import disc_area  # noqa: E402
from cryopick_plugin.engine.unet.picker import UNetPicker  # noqa: E402
from cryopick_plugin.engine.unet.training import (_reliable_negatives,  # noqa: E402
                                                  negative_share_cap)

torch.set_num_threads(1)


def disc_share(mask, xy, r):
    """Mean share of the pixels within r of each point that ``mask`` holds, and the share of
    points whose own pixel it holds."""
    h, w = mask.shape
    yy, xx = np.mgrid[-int(r):int(r) + 1, -int(r):int(r) + 1]
    inside = xx ** 2 + yy ** 2 <= r * r
    shares, centres = [], []
    for x, y in xy:
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < w and 0 <= yi < h):
            continue
        ys, xs = yy[inside] + yi, xx[inside] + xi
        ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        shares.append(mask[ys[ok], xs[ok]].mean())
        centres.append(mask[yi, xi])
    return (float(np.mean(shares)) if shares else float("nan"),
            float(np.mean(centres)) if centres else float("nan"), len(shares))


def probe(cell, data):
    folder = os.path.join(cell, "unet")
    ds = Dataset.from_folder(data)
    with open(os.path.join(folder, "model", "training_summary.json")) as fh:
        summary = json.load(fh)
    cfg = UNetTrainConfig()
    expected = summary.get("expected_particles")
    with open(os.path.join(folder, "labels.json")) as fh:
        labels = {n: np.asarray(v, float).reshape(-1, 2 if not len(v) else np.shape(v)[-1])[:, :2]
                  for n, v in json.load(fh).items()}
    names = sorted(n[:-4] for n in os.listdir(os.path.join(folder, "train")) if n.endswith(".mrc"))
    out = []
    for it, model in enumerate(["baseline_model.pt", "model_iteration_1.pt"], start=1):
        picker = UNetPicker.load(os.path.join(folder, "model", model))
        radius_w = picker.working_diameter / 2.0
        disc = disc_area(radius_w)  # the label disc: the particle's radius (training.py)
        rows = []
        for n in names:
            prob, factor = picker.probability_map(read_micrograph(os.path.join(folder, "train", n + ".mrc")),
                                                  views=cfg.pseudo_label_views)
            neg = _reliable_negatives(prob, cfg, negative_share_cap(expected, disc, prob.size))
            truth = np.asarray(ds.truth[n], float)[:, :2]
            lab = labels.get(n, np.zeros((0, 2)))
            # unlabelled true particles: those no label is within half a diameter of
            near = np.array([np.min(np.hypot(*(lab - t).T)) < ds.diameter_px / 2 if len(lab) else False
                             for t in truth])
            unl = to_working(truth[~near], factor)
            labw = to_working(lab, factor)
            rows.append((neg.mean(), *disc_share(neg, unl, radius_w), *disc_share(neg, labw, radius_w)))
        r = np.array(rows, dtype=float)
        n_unl = r[:, 3].sum()
        out.append(dict(round=it, negatives=round(float(r[:, 0].mean()), 3),
                        unlabelled=int(n_unl),
                        unlabelled_disc_share=round(float(np.average(r[:, 1], weights=r[:, 3])), 3),
                        unlabelled_centre_share=round(float(np.average(r[:, 2], weights=r[:, 3])), 3),
                        labelled_disc_share=round(float(np.average(r[:, 4], weights=np.maximum(r[:, 6], 1e-9))), 3)))
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    for cell, data in zip(args[::2], args[1::2]):
        print(json.dumps(dict(cell=cell, rounds=probe(cell, data))), flush=True)
