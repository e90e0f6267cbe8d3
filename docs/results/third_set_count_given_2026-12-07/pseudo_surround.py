"""Exploratory: the wrong pseudo-particles (per_cell.py) against the labels' surroundings
(context.py's feature), and whether an on_carbon distractor lies under each."""
import glob, json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from context import surround_map, sample  # noqa
from benchmarks.datasets import Dataset
from scipy.spatial import cKDTree
for root in sys.argv[1:]:
    for cell in sorted(glob.glob(root + "/*/labels_*/seed_*")):
        f = sorted(glob.glob(cell + "/unet/model/pseudo_positives_iteration_*.json"))
        if not f: continue
        folder = os.path.dirname(os.path.dirname(os.path.realpath(glob.glob(cell + "/unet/train/*")[0])))
        ds = Dataset.from_folder(folder); d = ds.diameter_px
        labels = json.load(open(cell + "/unet/labels.json")); pseudo = json.load(open(f[-1]))
        ls, ps = [], []
        for name in sorted(set(labels) | set(pseudo)):  # sorted: the same order every run
            m = surround_map(glob.glob(cell + "/unet/train/" + name + ".*")[0], d)
            lab = np.asarray([p[:2] for p in labels.get(name, [])], float).reshape(-1, 2)
            ls += list(sample(m, lab, d))
            c = np.asarray(pseudo.get(name, []), float).reshape(-1, 2)
            if len(c):
                tr = json.load(open(folder + "/truth/" + name + ".json"))
                oc = np.array([[p["x"], p["y"]] for p in tr["distractor_particles"] if p["kind"] == "on_carbon"]).reshape(-1, 2)
                dist = cKDTree(ds.truth[name][:, :2]).query(c)[0] / d
                doc = cKDTree(oc).query(c)[0] / d if len(oc) else np.full(len(c), np.inf)
                for v, dd, do in zip(sample(m, c, d), dist, doc): ps.append((v, dd <= 0.5, do))
        ls = np.array(ls); mu, sd = ls.mean(), ls.std(ddof=1)
        w = [(round(v, 2), round((v - mu) / sd, 1), round(do, 2)) for v, ok, do in ps if not ok]
        r = np.array([(v - mu) / sd for v, ok, do in ps if ok])
        print(f"{cell.split(root)[-1]:32s} labels {len(ls)} [{ls.min():+.2f},{ls.max():+.2f}] mean {mu:+.2f} sd {sd:.2f}; right {len(r)} z min {r.min() if len(r) else 0:+.1f}; wrong (value, z, diameters to an on-carbon particle) {w}")
