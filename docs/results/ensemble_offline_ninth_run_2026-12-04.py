# How docs/results/ensemble_offline_ninth_run_2026-12-04.txt was made (offline; kept as the record, not a tool)
"""Offline: candidate generation variants for the ensemble on saved matrix cells.

python cand.py OUT_DIR [regime ...]   (cells: OUT/<regime>/labels_<pct>/seed_<s>/ensemble)
"""
import glob
import json
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
from benchmarks.datasets import Dataset
from benchmarks.regimes import REGIMES
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.fusion import fuse_maps, pick_scores
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.peaks import find_peaks
from cryopick_plugin.engine.picking.scale import to_original
from scipy.spatial import cKDTree

DATA = "/work/bench_data"
CACHE = os.environ.get("CACHE", "/work/exp/s32/maps")


def folder_for(regime):
    return REGIMES[regime].folder(DATA)


def maps_for(cell, ens, ds, test):
    os.makedirs(cell, exist_ok=True)
    out = {}
    for n in test:
        path = os.path.join(cell, n + ".npz")
        if not os.path.exists(path):
            img = read_micrograph(ds.micrographs[n])
            work, factor = ens.prepare_to_pick(img, ds.pixel_size)
            u, c = ens.member_maps(work)
            np.savez(path, u=u, c=c, work=work, factor=factor)
        z = np.load(path)
        out[n] = (z["u"], z["c"], z["work"], float(z["factor"]))
    return out


def nms(peaks, min_distance):
    order = np.argsort(-peaks[:, 2], kind="stable")
    peaks = peaks[order]
    tree = cKDTree(peaks[:, :2])
    keep = np.ones(len(peaks), bool)
    suppressed = np.zeros(len(peaks), bool)
    for i in range(len(peaks)):
        if suppressed[i]:
            keep[i] = False
            continue
        suppressed[tree.query_ball_point(peaks[i, :2], r=min_distance - 1e-9)] = True
    return peaks[keep]


def picks(ens, u, c, work, factor, variant):
    w, wd, r = ens.classifier_weight, ens.working_diameter, ens.unet.disc_radius
    fused = fuse_maps(u, c, w)
    p = ens.unet.peaks_working(fused, 0.0)
    if variant.get("union"):
        q = find_peaks(np.clip(c, 0, 1), threshold=variant.get("cthr", 0.0),
                       min_distance=variant.get("cmd", 0.5) * wd)
        p = np.concatenate([p, q])
    if variant.get("logit"):
        p[:, 2] = logit_scores(p[:, :2], u, c, w, r, wd, variant["logit"])
    else:
        p[:, 2] = pick_scores(p[:, :2], u, c, w, r, wd)
    if variant.get("union"):
        p = nms(p, variant.get("md", 0.5) * wd)
    p = ens.unet.like_labels(work, p[np.argsort(-p[:, 2], kind="stable")], rescore=True)
    return to_original(p, factor)


def logit_scores(xy, u, c, w, r, wd, eps):
    """pick_scores, but each member's part as a logit: a saturated member keeps its ranking."""
    ones = np.ones_like(u)
    # the members' parts: pick_scores with the other member's map set to 0, weight 1 / 0
    up = pick_scores(xy, u, 0 * ones, 0.0, r, wd)
    cp = (pick_scores(xy, 0 * ones, c, 1.0, r, wd) * 2.0)
    lg = lambda p: np.log(np.clip(p, eps, 1 - eps) / (1 - np.clip(p, eps, 1 - eps)))
    return 1 / (1 + np.exp(-(lg(up) + w * lg(cp)) / (1 + w)))


VARIANTS = {
    "current": {},
    "logit3": dict(logit=1e-3),
    "logit2": dict(logit=1e-2),
}


def main():
    out_dir = sys.argv[1]
    regimes = sys.argv[2:] or list(REGIMES)
    rows = []
    for regime in regimes:
        ds = Dataset.from_folder(folder_for(regime))
        train, test = ds.split(REGIMES[regime].n_train)
        for cell in sorted(glob.glob(os.path.join(out_dir, regime, "labels_*", "seed_*"))):
            model = os.path.join(cell, "ensemble", "ensemble_model.pt")
            if not os.path.exists(model):
                continue
            ens = EnsemblePicker.load(model)
            key = "_".join([regime] + cell.split(os.sep)[-2:])
            maps = maps_for(os.path.join(CACHE, key), ens, ds, test)
            res = {}
            for name, v in VARIANTS.items():
                pk = {n: picks(ens, *maps[n], v) for n in test}
                ev = evaluate(pk, {n: ds.truth[n] for n in test}, ds.diameter_px / 2)["overall"]
                res[name] = (ev["ap"], ev["best_f1"])
            rows.append((key, res))
            print(key, " ".join(f"{k} {a:.3f}/{f:.3f}" for k, (a, f) in res.items()), flush=True)
    with open(os.path.join("/work/exp/s32", "cand_%s.json" % os.path.basename(out_dir)), "w") as fh:
        json.dump(rows, fh)


if __name__ == "__main__":
    main()
