"""Offline: does a neighbour overlapping a pick give aggregate members away? The largest value
of the U-Net's (u) and the fused (f) disc-mean map over a ring 0.5-1.0 diameters around each
pick, over the pick's own, as z-scores against the labels' (training micrographs), by kind of
pick among the ensemble's best (as many as test particles). Usage: annmap.py five_cells.txt
(annmap.txt). It did not: aggregate members score like particles on all six."""
import sys, os
import numpy as np
from scipy.ndimage import maximum_filter
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.scale import to_working
from cryopick_plugin.engine.picking.peaks import disc_mean
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.picking.fusion import fuse_maps
ANN = [(0.5, 0.8), (0.55, 0.9), (0.6, 1.0)]
def feats(u, c, w, xy, wd, dr):
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, u.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, u.shape[0] - 1)
    cols = []
    for m in (disc_mean(u, dr), disc_mean(fuse_maps(u, c, w), dr)):
        for a, b in ANN:
            r = int(np.ceil(b * wd)); yy, xx = np.mgrid[-r:r + 1, -r:r + 1]; rr = np.hypot(xx, yy)
            cols.append(maximum_filter(m, footprint=(rr >= a * wd) & (rr <= b * wd), mode="nearest")[iy, ix] / np.maximum(m[iy, ix], 1e-3))
    return np.column_stack(cols)
NAMES = [f"{k}{a}-{b}" for k in ("u", "f") for a, b in ANN]
for line in open(sys.argv[1]):
    cell, data = line.split()
    ens = EnsemblePicker.load(cell + "/ensemble/ensemble_model.pt"); wd = ens.working_diameter; dr = ens.unet.disc_radius
    ds = Dataset.from_folder(data)
    labels = read_coordinates(cell + "/unet/labels.json")
    L = []
    for n, l in labels.items():
        if not len(l): continue
        work, f = ens.prepare(read_micrograph(ds.micrographs[n]))
        u, c = ens.member_maps(work)
        L.append(feats(u, c, ens.classifier_weight, to_working(np.asarray(l, float)[:, :2], f), wd, dr))
    L = np.concatenate(L); mu, sd = L.mean(0), L.std(0, ddof=1)
    z = np.load(cell + "/ensemble/maps_s45.npz")
    picks = read_coordinates(cell + "/ensemble/picks.json")
    rows = []
    for n, p in picks.items():
        p = np.asarray(p, float).reshape(-1, 3)
        kinds, _ = classify(p, ds.truth[n], ds.diameter_px, _label_map(ds.label_masks[n]))
        F = (feats(z[n + "/u"], z[n + "/c"], ens.classifier_weight, to_working(p[:, :2], float(z[n + "/f"])), wd, dr) - mu) / sd
        rows += list(zip(p[:, 2], kinds, F))
    rows.sort(key=lambda r: -r[0]); rows = rows[:sum(len(ds.truth[n]) for n in picks)]
    print("==", cell.split("/exp/")[1], "labels", len(L), "label mean", np.round(mu, 2))
    for kind in ("particle", "aggregate", "empty ice", "next to a particle", "carbon"):
        Z = np.array([r[2] for r in rows if r[1] == kind])
        if len(Z) > 2:
            print(f"  {kind:18s} {len(Z):4d}", " ".join(f"{NAMES[i]}:{np.median(Z[:, i]):+.1f} >2:{(Z[:, i] > 2).mean():.2f}" for i in range(len(NAMES))))
