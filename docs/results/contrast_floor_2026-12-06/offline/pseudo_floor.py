"""Offline: the last round's pseudo-particles of each cell that the contrast floor would drop,
by kind (training micrographs; the floor from the cell's labels as train-unet makes it), and
the kinds of the wrong ones among all of them. Usage: pseudo_floor.py cells.txt"""
import sys, os, glob, json, collections
import numpy as np
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify, _label_map
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.density import centre_contrast, contrast_floor
from cryopick_plugin.engine.picking.scale import to_working
from cryopick_plugin.engine.unet.picker import UNetPicker
tot = collections.Counter(); wrong = collections.Counter()
for line in open(sys.argv[1]):
    cell, data = line.split()
    files = sorted(glob.glob(cell + "/unet/model/pseudo_positives_iteration_*.json"))
    if not files:
        continue
    ds = Dataset.from_folder(data)
    picker = UNetPicker.load(cell + "/unet/model/final_model.pt"); wd = picker.working_diameter
    labels = read_coordinates(cell + "/unet/labels.json")
    works = {}
    def work(n):
        if n not in works:
            works[n] = picker.prepare(read_micrograph(ds.micrographs[n]))
        return works[n]
    vals = [centre_contrast(work(n)[0], to_working(np.asarray(l, float)[:, :2], work(n)[1]), wd) for n, l in labels.items() if len(l)]
    floor = contrast_floor(np.concatenate(vals))
    pp = json.load(open(files[-1]))
    kept, dropped = collections.Counter(), collections.Counter()
    for n, xy in pp.items():
        xy = np.asarray(xy, float).reshape(-1, 2)
        if not len(xy): continue
        kinds, _ = classify(np.column_stack([xy, np.ones(len(xy))]), ds.truth[n], ds.diameter_px, _label_map(ds.label_masks[n]))
        c = centre_contrast(work(n)[0], to_working(xy, work(n)[1]), wd)
        for k, v in zip(kinds, c):
            (dropped if floor is not None and v < floor else kept)[k] += 1
    n0 = sum(kept.values()) + sum(dropped.values())
    p0 = (kept["particle"] + dropped["particle"]) / n0 if n0 else None
    p1 = kept["particle"] / sum(kept.values()) if sum(kept.values()) else None
    print(cell.split("/exp/")[1], "floor", None if floor is None else round(floor, 3), "dropped", dict(dropped), f"precision {p0} -> {p1}")
    tot.update(dropped)
    wrong.update({k: v for k, v in (kept + dropped).items() if k != "particle"})
print("dropped, all cells:", dict(tot))
print("not particles among all of them, all cells:", dict(wrong.most_common()))
