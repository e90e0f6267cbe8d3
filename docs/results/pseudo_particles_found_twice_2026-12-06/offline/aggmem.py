"""Offline: which member scores aggregate members lower than particles? AUC (particle above
aggregate) of each member's part and of the final score, among the ensemble's best picks.
Usage: aggmem.py CELLS.txt"""
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggfeat import auc  # noqa: E402
from best_picks import best_picks  # noqa: E402
from cryopick_plugin.engine.picking.fusion import member_parts  # noqa: E402


def parts(ens, work, u, c, xy):
    return member_parts(xy, u, c, ens.unet.disc_radius, ens.working_diameter)


tot = collections.defaultdict(list)
for line in open(sys.argv[1]):
    cell, data = line.split()
    _, _, top = best_picks(cell, data, parts)
    out = []
    for i, nm in ((0, "score"), (2, "unet"), (3, "clf")):
        a = np.array([r[i] for r in top if r[1] == "aggregate"])
        q = np.array([r[i] for r in top if r[1] == "particle"])
        out.append(f"{nm} {auc(q, a):.2f}")
        tot[nm].append(auc(q, a))
    print(cell.split("/exp/")[1], " ".join(out), flush=True)
print({k: round(float(np.nanmean(v)), 3) for k, v in tot.items()})
