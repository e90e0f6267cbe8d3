"""The ensemble's peaks before the overlap rule (peaks.lower_overlapping), on the test and
training micrographs of every cell of the matrix run in /work/exp/s35/full, as picking makes
them (4 views, the density rule). Writes /work/exp/s36/raw_peaks.json (1.2 MB, not kept)."""
import glob, json, os, sys
import numpy as np
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.pickers import load_picker
from cryopick_plugin.engine.picking.scale import to_original
from cryopick_plugin.engine.picking.fusion import pick_scores
import torch
torch.set_num_threads(1)
ROOT = "/work/exp/s35/full"
out = {}
for cell in sorted(glob.glob(f"{ROOT}/*/labels_*/seed_*")):
    key = os.path.relpath(cell, ROOT)
    ens = load_picker(cell + "/ensemble/ensemble_model.pt")
    res = {"threshold": ens.threshold, "wd": ens.working_diameter}
    for part in ("test", "train"):
        res[part] = {}
        for f in sorted(glob.glob(f"{cell}/ensemble/{part}/*.mrc")):
            name = os.path.basename(f)[:-4]
            work, factor = ens.prepare_to_pick(read_micrograph(f), None)
            u, c = ens.member_maps(work)
            xy = ens.candidates(u, c)
            s = pick_scores(xy, u, c, ens.classifier_weight, ens.unet.disc_radius,
                            ens.working_diameter, quantiles=ens.part_quantiles)
            peaks = np.column_stack([xy, s]) if len(xy) else np.zeros((0, 3))
            peaks = ens.unet.like_labels(work, peaks[np.argsort(-peaks[:, 2], kind="stable")], rescore=True)
            res[part][name] = dict(peaks=peaks.tolist(), factor=factor if np.isscalar(factor) else list(np.ravel(factor)))
    out[key] = res
    print(key, flush=True)
    json.dump(out, open("/work/exp/s36/raw_peaks.json", "w"))
