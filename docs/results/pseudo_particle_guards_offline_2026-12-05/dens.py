"""Offline: does each U-Net pseudo-positive (fin2 matrix) have another peak of the same map
within 0.9 diameters (a clump)? One JSON line per pseudo-positive, with the neighbours' best score."""
import json, sys, os
import numpy as np
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.pickers import load_picker
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.scale import to_working
from cryopick_plugin.engine.picking.density import local_density

DATA = {"crowded": "crowded-512px-5mic-d9f5e157", "apoferritin": "apoferritin-1024px-16mic-51995282",
        "large-carbon": "large-carbon-1024px-30mic-324d9ed0", "irregular": "irregular-1024px-12mic-66f7d2b0"}
F = "/work/exp/s34/fin2/"
SRC = {("crowded", "20"): "c20", ("irregular", "05"): "i5", ("irregular", "50"): "i50"}
for r in ("apoferritin", "large-carbon", "irregular"): SRC[(r, "20")] = "r20"
for r in ("crowded", "apoferritin", "large-carbon"):
    SRC[(r, "05")] = SRC[(r, "50")] = "r5_50"
out = open(sys.argv[1], "w")
for (regime, budget), src in sorted(SRC.items()):
    ds = Dataset.from_folder("/work/bench_data/" + DATA[regime])
    for seed in (0, 1):
        cell = f"{F}{src}/{regime}/labels_{budget}/seed_{seed}"
        labels = json.load(open(cell + "/unet/labels.json"))
        for it, model in ((1, "baseline_model.pt"), (2, "model_iteration_1.pt")):
            picker = load_picker(cell + "/unet/model/" + model)
            pseudo = json.load(open(cell + f"/unet/model/pseudo_positives_iteration_{it}.json"))
            for name, pts in pseudo.items():
                pts = np.asarray(pts, float).reshape(-1, 2)
                if not len(pts) and name not in labels: continue
                img = read_micrograph(cell + f"/unet/train/{name}.mrc")
                prob, factor = picker.probability_map(img, device="cpu", views=8)[:2]
                work = picker.prepare(img)[0]
                peaks = picker.peaks_working(prob, 0.05)
                wd = picker.working_diameter
                lab = to_working(np.asarray(labels.get(name, []), float).reshape(-1, 2), factor)
                kinds, _ = classify(np.c_[pts, np.ones(len(pts))], ds.truth[name], ds.diameter_px, _label_map(ds.label_masks[name]))
                w = to_working(pts, factor)
                from scipy import ndimage
                yy, xx = np.mgrid[:prob.shape[0], :prob.shape[1]]
                blobs, _ = ndimage.label(prob > 0.5)
                def feats(p):
                    r = np.hypot(xx - p[0], yy - p[1]) / wd
                    ring = prob[(r >= 0.6) & (r <= 0.9)].mean()
                    inner = prob[r <= 0.3].mean()
                    b = blobs[int(round(min(max(p[1], 0), prob.shape[0]-1))), int(round(min(max(p[0], 0), prob.shape[1]-1)))]
                    area = float((blobs == b).sum() / (np.pi * (wd / 2) ** 2)) if b else 0.0
                    dens = local_density(work, np.asarray(p)[None], wd)[0]
                    return float(ring), float(inner), area, dens.tolist()
                for q in lab:
                    ring, inner, area, dens = feats(q)
                    out.write(json.dumps(dict(regime=regime, budget=budget, seed=seed, it=it, mic=name, kind="LABEL", ring=ring, inner=inner, area=area, dens=dens)) + "\n")
                for i, p in enumerate(w):
                    ring, inner, area, dens = feats(p)
                    d = np.hypot(*(peaks[:, :2] - p).T)
                    me = np.argmin(d)
                    own = float(peaks[me, 2]) if d[me] < 2 else None
                    others = (d >= 2) & (d < 0.9 * wd)
                    nb = float(peaks[others, 2].max()) if others.any() else 0.0
                    dl = float(np.hypot(*(lab - p).T).min() / wd) if len(lab) else 99.0
                    out.write(json.dumps(dict(regime=regime, budget=budget, seed=seed, it=it, mic=name,
                        kind=kinds[i], own=own, neighbour=nb, label_d=dl,
                        ring=ring, inner=inner, area=area, dens=dens)) + "\n")
            out.flush()
        print(regime, budget, seed, flush=True)
