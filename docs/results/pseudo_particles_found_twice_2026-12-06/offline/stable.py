"""Offline: would asking a pseudo-particle of round k >= 2 to have scored well already in the
map of round k - 1's chooser's predecessor keep the wrong ones out? For each cell's last
round (iteration 2; chosen on model_iteration_1's map), the score (disc mean, as peaks are
scored) of each pseudo-particle in the baseline model's map (8 views) and in the chooser's
map. Usage: stable.py CELLS.txt OUT.jsonl   (CELLS: cell folder, data folder)"""
import sys, os, json
import numpy as np
sys.path.insert(0, "/work/main")
import torch
torch.set_num_threads(1)
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.peaks import disc_mean
from cryopick_plugin.engine.picking.scale import to_working
from cryopick_plugin.engine.unet.picker import UNetPicker
out = open(sys.argv[2], "a")
for line in open(sys.argv[1]):
    cell, data = line.split()
    m = os.path.join(cell, "unet/model")
    pp = json.load(open(os.path.join(m, "pseudo_positives_iteration_2.json")))
    if not sum(len(v) for v in pp.values()):
        continue
    ds = Dataset.from_folder(data)
    base = UNetPicker.load(os.path.join(m, "baseline_model.pt"))
    it1 = UNetPicker.load(os.path.join(m, "model_iteration_1.pt"))
    p1 = json.load(open(os.path.join(m, "pseudo_positives_iteration_1.json")))
    rows = []
    for n, c in pp.items():
        c = np.asarray(c, float).reshape(-1, 2)
        if not len(c):
            continue
        kinds, _ = classify(np.column_stack([c, np.ones(len(c))]), ds.truth[n], ds.diameter_px,
                            _label_map(ds.label_masks[n]))
        work, f = base.prepare(read_micrograph(ds.micrographs[n]))
        xy = to_working(c, f)
        ix = np.clip(np.round(xy[:, 0]).astype(int), 0, work.shape[1] - 1)
        iy = np.clip(np.round(xy[:, 1]).astype(int), 0, work.shape[0] - 1)
        s0 = disc_mean(base.view_map(work, views=8), base.disc_radius)[iy, ix]
        s1 = disc_mean(it1.view_map(work, views=8), base.disc_radius)[iy, ix]
        prev = np.asarray(p1.get(n, []), float).reshape(-1, 2)
        was = [bool(len(prev)) and float(np.min(np.hypot(*(prev - q).T))) < ds.diameter_px / 2 for q in c]
        rows += [dict(kind=k, s0=float(a), s1=float(b), in_it1=w) for k, a, b, w in zip(kinds, s0, s1, was)]
    right = [r for r in rows if r["kind"] == "particle"]
    print(json.dumps(dict(cell=cell, rows=rows)), file=out, flush=True)
    msg = [f"n {len(rows)} right {len(right)} P {len(right) / len(rows):.2f}"]
    for t in (0.3, 0.5, 0.7, 0.9):
        k = [r for r in rows if r["s0"] >= t]
        kr = [r for r in k if r["kind"] == "particle"]
        msg.append(f"base>={t}: {len(kr)}/{len(k)}")
    print(cell.split("/exp/")[1], " | ".join(msg), flush=True)
