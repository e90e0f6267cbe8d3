"""Guard 4: the density rule (picking/density.py) from fewer labels than the product's 15."""
import json
import sys

import numpy as np

from common import candidates, labels, table


def within_density(margin, min_labels):
    def rule(cell):
        lab = labels(cell, "dens")
        if len(lab) < min_labels:
            return candidates(cell)
        low, high = lab.min(0), lab.max(0)
        low, high = low - margin * (high - low), high + margin * (high - low)
        return [r for r in candidates(cell)
                if np.all((np.asarray(r["dens"]) >= low) & (np.asarray(r["dens"]) <= high))]
    return rule


rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "dens.jsonl")]
table(rows, {"none": within_density(0, 10**9), "m.5 n15 (ships)": within_density(0.5, 15),
             "m.5 n2": within_density(0.5, 2), "m.25 n2": within_density(0.25, 2),
             "m1 n2": within_density(1.0, 2), "m.5 n3": within_density(0.5, 3)})
