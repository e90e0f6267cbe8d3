"""Features of each U-Net pseudo-particle of the jitter + overlap matrix, and of each label,
on the map of the model that chose it (8 views): the best other peak within 0.9 diameters,
the distance to the nearest label, the map's mean on a ring 0.6-0.9 diameters out and
within 0.3, the area of its blob above 0.5 (particle discs), and the local density of the
working image (picking/density.py). One JSON line each (dens.jsonl). Run from the
repository with PYTHONPATH=.:docs/results/pseudo_particle_guards_offline_2026-12-05."""
import json
import sys

import numpy as np
from scipy import ndimage

from benchmarks.datasets import Dataset
from benchmarks.diagnose import _label_map, classify
from common import cells
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.pickers import load_picker
from cryopick_plugin.engine.picking.density import local_density
from cryopick_plugin.engine.picking.scale import to_working


def map_features(prob, work, blobs, wd, p):
    yy, xx = np.mgrid[:prob.shape[0], :prob.shape[1]]
    r = np.hypot(xx - p[0], yy - p[1]) / wd
    iy = int(round(min(max(p[1], 0), prob.shape[0] - 1)))
    ix = int(round(min(max(p[0], 0), prob.shape[1] - 1)))
    blob = blobs[iy, ix]
    return dict(ring=float(prob[(r >= 0.6) & (r <= 0.9)].mean()),
                inner=float(prob[r <= 0.3].mean()),
                area=float((blobs == blob).sum() / (np.pi * (wd / 2) ** 2)) if blob else 0.0,
                dens=local_density(work, np.asarray(p)[None], wd)[0].tolist())


out = open(sys.argv[1], "w")
for regime, budget, seed, cell, data in cells():
    ds = Dataset.from_folder(data)
    labels = json.load(open(cell + "/unet/labels.json"))
    for it, model in ((1, "baseline_model.pt"), (2, "model_iteration_1.pt")):
        picker = load_picker(cell + "/unet/model/" + model)
        wd = picker.working_diameter
        pseudo = json.load(open(cell + f"/unet/model/pseudo_positives_iteration_{it}.json"))
        for name, pts in pseudo.items():
            pts = np.asarray(pts, float).reshape(-1, 2)
            if not len(pts) and name not in labels:
                continue
            img = read_micrograph(cell + f"/unet/train/{name}.mrc")
            prob, factor = picker.probability_map(img, device="cpu", views=8)[:2]
            work = picker.prepare(img)[0]
            blobs = ndimage.label(prob > 0.5)[0]
            peaks = picker.peaks_working(prob, 0.05)
            lab = to_working(np.asarray(labels.get(name, []), float).reshape(-1, 2), factor)
            row = dict(regime=regime, budget=budget, seed=seed, it=it, mic=name)
            for q in lab:
                out.write(json.dumps(dict(row, kind="LABEL",
                                          **map_features(prob, work, blobs, wd, q))) + "\n")
            kinds, _ = classify(np.c_[pts, np.ones(len(pts))], ds.truth[name], ds.diameter_px,
                                _label_map(ds.label_masks[name]))
            for i, p in enumerate(to_working(pts, factor)):
                d = np.hypot(*(peaks[:, :2] - p).T)
                others = (d >= 2) & (d < 0.9 * wd)  # itself: the peak within 2 px
                out.write(json.dumps(dict(
                    row, kind=kinds[i],
                    neighbour=float(peaks[others, 2].max()) if others.any() else 0.0,
                    label_d=float(np.hypot(*(lab - p).T).min() / wd) if len(lab) else 99.0,
                    **map_features(prob, work, blobs, wd, p))) + "\n")
        out.flush()
    print(regime, budget, seed, flush=True)
