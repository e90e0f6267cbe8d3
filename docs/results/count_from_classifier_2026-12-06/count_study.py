"""Offline: particle-count estimators on the saved models of a --count estimated matrix run.
For each cell: picks of the classifier (EMA), the U-Net (final) and the ensemble on the
labelled training micrographs; estimators vs the true mean count of those micrographs."""
import glob, json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
import torch
torch.set_num_threads(1)
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
from cryopick_plugin.engine.unet.picker import UNetPicker
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.picking.thresholds import label_scores, lee_liu_estimate

root, pattern = sys.argv[1], sys.argv[2]
out = {}
for cell in sorted(glob.glob(os.path.join(root, pattern))):
    key = "/".join(cell.split(os.sep)[-3:])
    labels = json.load(open(os.path.join(cell, "fixmatch", "labels.json")))
    train_dir = os.path.join(cell, "fixmatch", "train")
    files = sorted(os.listdir(train_dir))
    data = os.path.dirname(os.path.dirname(os.path.realpath(os.path.join(train_dir, files[0]))))
    ds = Dataset.from_folder(data)
    names = [os.path.splitext(f)[0] for f in files]
    lab = {n: np.asarray(labels[n])[:, :2] for n in names if n in labels and len(labels[n])}
    labelled = sorted(lab, key=lambda n: -len(lab[n]))[:8]
    true = np.mean([len(ds.truth[n]) for n in labelled])
    ens = EnsemblePicker.load(os.path.join(cell, "ensemble", "ensemble_model.pt"))
    radius = ens.particle_diameter_px / 2
    picks = {"classifier": {}, "unet": {}, "ensemble": {}}
    for n in labelled:
        img = read_micrograph(os.path.join(train_dir, n + ".mrc"))
        work, factor = ens.prepare_to_pick(img)
        um, cm = ens.member_maps(work)
        picks["ensemble"][n] = ens.picks_from_maps(work, factor, um, cm, threshold=0.0)
        picks["unet"][n] = ens.unet.picks_from_map(work, um, factor, 0.0)
        picks["classifier"][n] = ens.classifier.pick_working(work, factor, threshold=0.02)
    res = dict(true=float(true), n_labels=int(sum(len(lab[n]) for n in labelled)),
               micrographs=len(labelled), picks={})
    for model, p in picks.items():
        res["picks"][model] = {n: np.asarray(v).tolist() for n, v in p.items()}
    out[key] = res
    ll = {m: lee_liu_estimate(p, {n: lab[n] for n in labelled}, radius) for m, p in picks.items()}
    print(key, f"true {true:.1f}", " ".join(f"{m} {v['n_particles'] / len(labelled):.1f}" if v else f"{m} -" for m, v in ll.items()), flush=True)
json.dump(out, open(sys.argv[3], "w"))
