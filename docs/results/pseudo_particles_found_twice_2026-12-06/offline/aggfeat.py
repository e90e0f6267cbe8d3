"""Offline: features that might tell aggregate members from particles among the ensemble's
best picks (as many as test particles), as z-scores against the labels' own features.
Prints per cell, per feature: AUC(aggregate vs particle) and the share of each beyond 4 sd.
Usage: [KIND=carbon] aggfeat.py CELLS.txt  (default KIND: aggregate)"""
import sys, os, json, collections
import numpy as np
import cv2
sys.path.insert(0, "/work/main"); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from counts import model_cell, CACHE
from best_picks import best_picks
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.picking.peaks import disc_mean
from cryopick_plugin.engine.picking.scale import to_working

KIND = os.environ.get("KIND", "aggregate")
NAMES = ["d3", "d2", "d1", "d15", "sd15", "dark15", "hp2"]


def feats(work, xy, wd):
    xy = np.asarray(xy, float).reshape(-1, 2)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, work.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, work.shape[0] - 1)
    w = work.astype(np.float32)
    out = [disc_mean(w, wd * s, clip=False)[iy, ix] for s in (1 / 3, 0.5, 1.0, 1.5)]
    mu = disc_mean(w, 1.5 * wd, clip=False); sq = disc_mean(w * w, 1.5 * wd, clip=False)
    out.append(np.sqrt(np.maximum(sq - mu ** 2, 0))[iy, ix])
    sm = disc_mean(w, wd / 6, clip=False)
    lvl = np.percentile(sm, 10)
    out.append(disc_mean((sm < lvl).astype(np.float32), 1.5 * wd, clip=False)[iy, ix])
    hp = w - cv2.GaussianBlur(w, (0, 0), 3 * wd, borderType=cv2.BORDER_REFLECT)
    out.append(disc_mean(hp, 1.0 * wd, clip=False)[iy, ix])
    return np.column_stack(out)


def auc(a, b):
    if not len(a) or not len(b):
        return float("nan")
    r = np.argsort(np.argsort(np.concatenate([a, b])))
    return (r[:len(a)].sum() - len(a) * (len(a) - 1) / 2) / (len(a) * len(b))


if __name__ == "__main__":
    tot = collections.defaultdict(list)
    for line in open(sys.argv[1]):
        cell, data = line.split()
        mc = model_cell(cell)
        key = mc.replace("/work/exp/s45/rerun/", "").replace("/labels_", "_").replace(
            "/seed_", "_").replace("/", "_")
        ens = EnsemblePicker.load(os.path.join(mc, "ensemble/ensemble_model.pt"))
        labels = {n: np.asarray(v, float)[:, :2] for n, v in
                  json.load(open(os.path.join(mc, "ensemble/labels.json"))).items() if len(v)}
        zc = np.load(os.path.join(CACHE, key + ".npz"))
        LF = np.concatenate([feats(zc[n + "/work"], to_working(labels[n], float(zc[n + "/f"])),
                                   ens.working_diameter) for n in labels])
        if len(LF) < 15:
            continue
        mu, sd = LF.mean(0), LF.std(0, ddof=1)
        _, _, top = best_picks(cell, data, lambda e, work, u, c, xy:
                               ((feats(work, xy, e.working_diameter) - mu) / sd).T)
        agg = np.array([r[2:] for r in top if r[1] == KIND]).reshape(-1, len(NAMES))
        par = np.array([r[2:] for r in top if r[1] == "particle"]).reshape(-1, len(NAMES))
        msg = []
        for i, nm in enumerate(NAMES):
            msg.append(f"{nm} auc {auc(agg[:, i], par[:, i]):.2f} agg>4 "
                       f"{np.mean(np.abs(agg[:, i]) > 4) if len(agg) else 0:.2f} "
                       f"par>4 {np.mean(np.abs(par[:, i]) > 4):.2f}")
            tot[nm].append((agg[:, i], par[:, i]))
        print(key, "agg", len(agg), "par", len(par), " | ".join(msg), flush=True)
    print()
    for nm in NAMES:
        a = np.concatenate([x for x, _ in tot[nm]]); p = np.concatenate([y for _, y in tot[nm]])
        print(nm, f"pooled auc {auc(a, p):.2f}", "agg z quantiles",
              np.round(np.quantile(a, [.1, .5, .9]), 1), "par z quantiles",
              np.round(np.quantile(p, [.01, .1, .5, .9, .99]), 1))
