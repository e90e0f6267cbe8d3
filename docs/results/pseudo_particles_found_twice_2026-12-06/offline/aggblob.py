"""Offline: the area of the map's blob (connected pixels above a level) holding each of the
ensemble's best picks, in particle-disc areas: aggregate members against particles (AUC, and
quantiles). Maps: U-Net, classifier, fused. Usage: aggblob.py CELLS.txt"""
import collections
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggfeat import auc  # noqa: E402
from best_picks import best_picks  # noqa: E402
from cryopick_plugin.engine.picking.fusion import fuse_maps  # noqa: E402

LEVELS = (0.3, 0.5, 0.7)
NAMES = [f"{m}{lv}" for m in ("u", "c", "f") for lv in LEVELS]


def blob_area(m, level, xy, disc):
    _, lab, stats, _ = cv2.connectedComponentsWithStats((m > level).astype(np.uint8),
                                                        connectivity=8)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, m.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, m.shape[0] - 1)
    ids = lab[iy, ix]
    out = stats[:, cv2.CC_STAT_AREA].astype(float)[ids] / disc
    out[ids == 0] = 0.0
    return out


def areas(ens, work, u, c, xy):
    disc = np.pi * (ens.working_diameter / 2) ** 2
    return [blob_area(m, lv, xy, disc)
            for m in (u, c, fuse_maps(u, c, ens.classifier_weight)) for lv in LEVELS]


tot = collections.defaultdict(lambda: ([], []))
for line in open(sys.argv[1]):
    cell, data = line.split()
    _, _, top = best_picks(cell, data, areas)
    a = np.array([r[2:] for r in top if r[1] == "aggregate"]).reshape(-1, len(NAMES))
    q = np.array([r[2:] for r in top if r[1] == "particle"]).reshape(-1, len(NAMES))
    print(cell.split("/exp/")[1], len(a),
          " ".join(f"{nm} {auc(a[:, i], q[:, i]):.2f}" for i, nm in enumerate(NAMES)), flush=True)
    for i, nm in enumerate(NAMES):
        tot[nm][0].append(a[:, i]); tot[nm][1].append(q[:, i])
for nm, (a, q) in tot.items():
    a, q = np.concatenate(a), np.concatenate(q)
    print(nm, f"auc {auc(a, q):.2f}", "agg q", np.round(np.quantile(a, [.25, .5, .75, .9]), 2),
          "par q", np.round(np.quantile(q, [.5, .9, .95, .99]), 2))
