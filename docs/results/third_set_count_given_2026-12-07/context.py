"""Exploratory (fourteenth session): the default's picks at its threshold on the third set,
by what they land on (benchmarks.diagnose), and the mean grey level of their surroundings
(micrograph z-scored, mean over a 2-diameter box, median over the annulus 0.75-1.5
diameters) against the labels' own surroundings: which picks would a floor at the labels'
minimum less MARGIN x their range drop, and what would F1 / AP be with them dropped (F1) or
kept at a quarter of their score (AP)?
Usage: context.py CELLS_ROOT ..."""
import glob, json, os, sys
import numpy as np, mrcfile
from scipy import ndimage as ndi
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.datasets import Dataset
from benchmarks.diagnose import classify
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from texture import auc  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate

def surround_map(path, d):
    img = np.asarray(mrcfile.open(path, permissive=True).data, float)
    img = (img - img.mean()) / img.std()
    return ndi.uniform_filter(img, int(2 * d))

def sample(m, xy, d):
    r1 = int(1.5 * d); yy, xx = np.mgrid[-r1:r1 + 1, -r1:r1 + 1]; rr = np.hypot(xx, yy)
    ring = (rr >= 0.75 * d) & (rr <= 1.5 * d); out = []
    for x, y in np.asarray(xy, float).reshape(-1, 2):
        ys, xs = yy + int(round(y)), xx + int(round(x))
        ok = ring & (ys >= 0) & (ys < m.shape[0]) & (xs >= 0) & (xs < m.shape[1])
        out.append(float(np.median(m[ys[ok], xs[ok]])))
    return np.array(out)

MARGINS = (0.0, 0.25, 0.5)


def main():
    for root in sys.argv[1:]:
        for cell in sorted(glob.glob(root + "/*/labels_*/seed_*")):
            if not os.path.exists(cell + "/cryopick.json"):
                continue
            rec = [r for r in json.load(open(cell + "/cryopick.json"))["records"] if r["row"] == "ensemble"][0]
            t = rec["threshold"]
            ens = cell + "/ensemble"
            folder = os.path.dirname(os.path.dirname(os.path.realpath(glob.glob(ens + "/test/*")[0])))
            ds = Dataset.from_folder(folder); d = ds.diameter_px
            labels = json.load(open(ens + "/labels.json"))
            lab_s = []
            for name, xy in labels.items():
                if len(xy):
                    lab_s += list(sample(surround_map(glob.glob(ens + "/train/" + name + ".*")[0], d),
                                         np.asarray(xy, float)[:, :2], d))
            lab_s = np.array(lab_s); lo, span = lab_s.min(), lab_s.max() - lab_s.min()
            picks = {n: np.asarray(p, float).reshape(-1, 3) for n, p in json.load(open(ens + "/picks.json")).items()}
            kinds_all, s_all, sc_all = [], [], []
            surround = {}
            for name, p in picks.items():
                lm = np.asarray(mrcfile.open(ds.label_masks[name], permissive=True).data)
                kinds, _ = classify(p, ds.truth[name], d, lm)
                s = sample(surround_map(glob.glob(ens + "/test/" + name + ".*")[0], d), p[:, :2], d)
                surround[name] = s
                kinds_all += kinds; s_all += list(s); sc_all += list(p[:, 2])
            kinds_all, s_all, sc_all = np.array(kinds_all), np.array(s_all), np.array(sc_all)
            above = sc_all >= t
            truth = {n: ds.truth[n] for n in picks}
            base = evaluate(picks, truth, d / 2)["overall"]
            base["f1"] = evaluate({n: p[p[:, 2] >= t] for n, p in picks.items()}, truth, d / 2)["overall"]["f1"]
            line = [f"{cell.split('/')[-3]:12s} {cell.split('/')[-2]:9s} {cell.split('/')[-1]}",
                    f"F1 {base['f1']:.3f} AP {base['ap']:.3f}",
                    "FP above t: " + ", ".join(f"{k} {int(((kinds_all == k) & above).sum())}"
                                               for k in sorted(set(kinds_all[above])) if k != "particle")]
            tp, cf = s_all[above & (kinds_all == "particle")], s_all[above & (kinds_all == "carbon")]
            if len(cf):
                line.append(f"AUC(particle brighter than carbon FP, above t) {auc(tp, cf):.2f}")
            for m in MARGINS:
                floor = lo - m * span
                low = s_all < floor
                dropped = {k: int(((kinds_all == k) & above & low).sum()) for k in set(kinds_all)}
                kept = {n: p[surround[n] >= floor] for n, p in picks.items()}
                f1 = evaluate({n: kept[n][kept[n][:, 2] >= t] for n in kept}, truth, d / 2)["overall"]["f1"]
                lowered = {n: np.column_stack([p[:, :2], np.where(surround[n] < floor, 0.25, 1.0) * p[:, 2]]) for n, p in picks.items()}
                ap = evaluate(lowered, truth, d / 2)["overall"]["ap"]
                line.append(f"m{m}: drop " + " ".join(f"{k[:6]} {v}" for k, v in sorted(dropped.items()) if v)
                            + f" -> F1 {f1:.3f} ({f1 - base['f1']:+.3f}) AP {ap:.3f} ({ap - base['ap']:+.3f})")
            print(" | ".join(line), flush=True)


if __name__ == "__main__":
    main()
