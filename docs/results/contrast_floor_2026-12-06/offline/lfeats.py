"""Candidate density features (working image), and the labels' features of a cell."""
import sys, os
import numpy as np
sys.path.insert(0, "/work/main")
from cryopick_plugin.engine.picking.peaks import disc_mean
from cryopick_plugin.engine.picking.scale import to_working

NAMES = ["d3", "d", "sd", "hp_d3", "min_d3"]

def feats(work, xy, wd):
    from scipy.ndimage import gaussian_filter, minimum_filter
    xy = np.asarray(xy, float).reshape(-1, 2)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, work.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, work.shape[0] - 1)
    mu = disc_mean(work, wd / 2, clip=False)
    sq = disc_mean(work ** 2, wd / 2, clip=False)
    sd = np.sqrt(np.maximum(sq - mu ** 2, 0))
    hp = work - gaussian_filter(work, wd)
    sm = disc_mean(work, wd / 6, clip=False)
    mn = minimum_filter(sm, size=int(2 * wd / 3) | 1)
    return np.column_stack([disc_mean(work, wd / 3, clip=False)[iy, ix], disc_mean(work, wd, clip=False)[iy, ix],
                            sd[iy, ix], disc_mean(hp, wd / 3, clip=False)[iy, ix], mn[iy, ix]])

if __name__ == "__main__":
    from cryopick_plugin.engine.ensemble import EnsemblePicker
    from cryopick_plugin.engine.io.coordinates import read_coordinates
    from cryopick_plugin.engine.io.images import read_micrograph
    from benchmarks.datasets import Dataset
    for line in open(sys.argv[1]):
        cell, data = line.split()
        out = os.path.join(cell, "ensemble", "label_feats_s45.npy")
        if os.path.exists(out):
            continue
        ens = EnsemblePicker.load(os.path.join(cell, "ensemble/ensemble_model.pt"))
        ds = Dataset.from_folder(data)
        labels = read_coordinates(os.path.join(cell, "unet/labels.json"))
        F = []
        for n, l in labels.items():
            l = np.asarray(l, float).reshape(-1, np.shape(l)[-1] if np.size(l) else 2)
            if not len(l):
                continue
            work, f = ens.prepare(read_micrograph(ds.micrographs[n]))
            F.append(feats(work, to_working(l[:, :2], f), ens.working_diameter))
        np.save(out, np.concatenate(F))
        print(cell, len(np.concatenate(F)), flush=True)
