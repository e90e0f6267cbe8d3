"""Offline: the ensemble's picking replayed on cached member maps (maps.py) with a rule added
after the labels' density rule (label features: lfeats.py). Prints and appends to OUT per cell
AP / best F1 per variant (test micrographs). "base" replays the stored picking.
Usage: evalv.py CELLS.txt OUT.jsonl first|second|robust  (features_<grid>.jsonl)"""
import sys, os, json
import numpy as np
from scipy.spatial import cKDTree
sys.path.insert(0, "/work/main")
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.picking.fusion import fuse_maps, pick_scores
from cryopick_plugin.engine.picking.peaks import find_peaks, lower_overlapping
from cryopick_plugin.engine.picking.scale import to_original
from cryopick_plugin.engine.picking.metrics import evaluate
from benchmarks.datasets import Dataset

def suppress(peaks, dist):
    """greedy NMS on scored peaks (best first)"""
    if len(peaks) < 2 or dist <= 0:
        return peaks
    tree = cKDTree(peaks[:, :2]); gone = np.zeros(len(peaks), bool); keep = []
    for i in range(len(peaks)):
        if gone[i]: continue
        keep.append(i); gone[tree.query_ball_point(peaks[i, :2], r=dist - 1e-9)] = True
    return peaks[keep]

from lfeats import feats as xfeats, NAMES as XNAMES
from cryopick_plugin.engine.picking.density import ATYPICAL_SCORE, MIN_LABELS
LF = None

def extra_rule(p, work, wd, feat, sigmas=4.0, side="both", mode="typical"):
    i = XNAMES.index(feat)
    lab = LF[:, i]
    if len(lab) < MIN_LABELS or not len(p):
        return p
    x = xfeats(work, p[:, :2], wd)[:, i]
    if mode == "typical":
        mu, sd = lab.mean(), lab.std(ddof=1)
        lo, hi = mu - sigmas * sd, mu + sigmas * sd
    elif mode == "robust":  # median and 1.4826 x the median absolute deviation
        mu = np.median(lab); sd = 1.4826 * np.median(np.abs(lab - mu))
        lo, hi = mu - sigmas * sd, mu + sigmas * sd
    else:
        span = np.ptp(lab); lo, hi = lab.min() - 0.5 * span, lab.max() + 0.5 * span
    out = (x > hi) if side == "hi" else (x < lo) if side == "lo" else ((x > hi) | (x < lo))
    p = p.copy()
    if mode in ("typical", "robust"):
        p[out, 2] *= ATYPICAL_SCORE
    else:
        p = p[~out]
    return p[np.argsort(-p[:, 2], kind="stable")]

def pick(ens, work, u, c, f, md=0.5, overlap=0.9, share=0.8, kept=0.8, final_nms=0.0, rules=()):
    fused = fuse_maps(u, c, ens.classifier_weight)
    xy = find_peaks(fused, 0.0, md * ens.working_diameter, disc_radius=ens.unet.disc_radius)[:, :2]
    s = pick_scores(xy, u, c, ens.classifier_weight, ens.unet.disc_radius, ens.working_diameter,
                    quantiles=ens.part_quantiles)
    p = np.column_stack([xy, s]) if len(xy) else np.zeros((0, 3))
    p = ens.unet.like_labels(work, p[np.argsort(-p[:, 2], kind="stable")], rescore=True)
    for r in rules:
        p = extra_rule(p, work, ens.working_diameter, **r)
    p = lower_overlapping(p, ens.working_diameter, overlap, share, kept)
    p = suppress(p, final_nms * ens.working_diameter)
    return to_original(p, f)

GRIDS = {
    "first": {
        "base": {},
        "sd4": dict(rules=[dict(feat="sd")]),
        "sd4hi": dict(rules=[dict(feat="sd", side="hi")]),
        "sd3hi": dict(rules=[dict(feat="sd", side="hi", sigmas=3.0)]),
        "sdR": dict(rules=[dict(feat="sd", mode="range")]),
        "hp4": dict(rules=[dict(feat="hp_d3")]),
        "mn4": dict(rules=[dict(feat="min_d3")]),
        "mn4lo": dict(rules=[dict(feat="min_d3", side="lo")]),
    },
    "second": {
        "base": {},
        "sd4hi": dict(rules=[dict(feat="sd", side="hi")]),
        "hp4lo": dict(rules=[dict(feat="hp_d3", side="lo")]),
        "hp4hi": dict(rules=[dict(feat="hp_d3", side="hi")]),
        "hp5": dict(rules=[dict(feat="hp_d3", sigmas=5.0)]),
        "hp3": dict(rules=[dict(feat="hp_d3", sigmas=3.0)]),
        "sd4hi+hp4lo": dict(rules=[dict(feat="sd", side="hi"), dict(feat="hp_d3", side="lo")]),
        "sd4hi+hp4": dict(rules=[dict(feat="sd", side="hi"), dict(feat="hp_d3")]),
    },
}
GRIDS["robust"] = {
    "base": {},
    "hp4lo": dict(rules=[dict(feat="hp_d3", side="lo")]),
    "hp4lo_robust": dict(rules=[dict(feat="hp_d3", side="lo", mode="robust")]),
    "hp5lo_robust": dict(rules=[dict(feat="hp_d3", side="lo", mode="robust", sigmas=5.0)]),
}
VARIANTS = GRIDS[sys.argv[3]]
out = open(sys.argv[2], "a")
for line in open(sys.argv[1]):
    cell, data = line.split()
    mp = os.path.join(cell, "ensemble", "maps_s45.npz")
    if not os.path.exists(mp):
        continue
    LF = np.load(os.path.join(cell, "ensemble", "label_feats_s45.npy"))
    ens = EnsemblePicker.load(os.path.join(cell, "ensemble/ensemble_model.pt"))
    ds = Dataset.from_folder(data)
    z = np.load(mp)
    names = sorted({k.split("/")[0] for k in z.files})
    truth = {n: ds.truth[n] for n in names}
    rec = dict(cell=cell)
    for v, kw in VARIANTS.items():
        picks = {n: pick(ens, z[n + "/work"], z[n + "/u"], z[n + "/c"], float(z[n + "/f"]), **kw) for n in names}
        o = evaluate(picks, truth, ds.diameter_px / 2)["overall"]
        rec[v] = (round(o["ap"], 4), round(o.get("best_f1", 0), 4))
    print(json.dumps(rec), file=out, flush=True)
    print(cell.split("/exp/")[1], " ".join(f"{v} {a:.3f}/{b:.3f}" for v, (a, b) in list(rec.items())[1:]), flush=True)
