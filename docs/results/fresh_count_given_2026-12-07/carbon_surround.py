# Exploratory (thirteenth session, after the 20 / 50% run): does the mean grey level around a
# pseudo-particle (annulus 0.75-2 diameters, micrograph z-scored) tell the wrong ones (9 of 11 on
# carbon) from the right ones, against the hand-picked particles' range widened by half?
# Usage: carbon_surround.py CELLS_ROOT ... (matrix --out folders; data under /work/bench_data)
import sys, os, glob, json
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
import numpy as np, mrcfile
from scipy.spatial import cKDTree
from benchmarks.datasets import Dataset
def feats(img, xy, d, r0, r1):
    h, w = img.shape; out = []
    yy, xx = np.mgrid[-int(r1 * d):int(r1 * d) + 1, -int(r1 * d):int(r1 * d) + 1]
    rr = np.hypot(xx, yy); ring = (rr >= r0 * d) & (rr <= r1 * d)
    for x, y in xy:
        ys, xs = (yy + int(round(y))), (xx + int(round(x)))
        ok = ring & (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        out.append(img[ys[ok], xs[ok]].mean())
    return np.array(out)
R0, R1, MARGIN = 0.75, 2.0, 0.5
tot = dict(right=0, right_out=0, wrong=0, wrong_out=0)
for root in sys.argv[1:]:
    used = open(root + "/results.json").read()
    for cell in sorted(glob.glob(root + "/*/labels_*/seed_*")):
        f = sorted(glob.glob(cell + "/unet/model/pseudo_positives_iteration_*.json"))
        if not f: continue
        regime = cell.split("/")[-3]
        ds = Dataset.from_folder([d for d in glob.glob("/work/bench_data/" + regime + "-*") if os.path.basename(d) in used][0])
        labels = json.load(open(cell + "/unet/labels.json"))
        pseudo = json.load(open(f[-1]))
        D = ds.diameter_px
        lf, pf = [], []
        for name in pseudo:
            mic = glob.glob(cell + "/unet/train/" + name + ".*")[0]
            img = np.asarray(mrcfile.open(mic, permissive=True).data, float)
            img = (img - img.mean()) / img.std()
            lab = np.asarray([p[:2] for p in labels.get(name, [])], float).reshape(-1, 2)
            lf += list(feats(img, lab, D, R0, R1))
            c = np.asarray(pseudo[name], float).reshape(-1, 2)
            if len(c):
                dist = cKDTree(ds.truth[name][:, :2]).query(c)[0] / D
                for v, dd in zip(feats(img, c, D, R0, R1), dist): pf.append((v, dd <= 0.5))
        if not pf: continue
        lo, hi = min(lf), max(lf); m = MARGIN * (hi - lo); lo, hi = lo - m, hi + m
        r = [v for v, ok in pf if ok]; w = [v for v, ok in pf if not ok]
        ro = sum(not (lo <= v <= hi) for v in r); wo = sum(not (lo <= v <= hi) for v in w)
        tot["right"] += len(r); tot["right_out"] += ro; tot["wrong"] += len(w); tot["wrong_out"] += wo
        print(f"{cell.split(root)[-1]:32s} labels {len(lf):4d} range [{lo:+.2f},{hi:+.2f}] right {len(r)} out {ro} | wrong {len(w)} out {wo} {np.round(w, 2)}")
print(root, tot)
