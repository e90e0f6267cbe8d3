"""Guard 3: the map's shape around the pick (ring mean, blob area) within the labels' range."""
import json
import sys

import numpy as np

from common import candidates, labels, table


def at_most_labels(feature, quantile, slack=1.0):
    def rule(cell):
        lab = labels(cell, feature)
        limit = np.quantile(lab, quantile) * slack if len(lab) else np.inf
        return [r for r in candidates(cell) if r[feature] <= limit]
    return rule


rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "dens.jsonl")]
table(rows, {"none": at_most_labels("ring", 1.0, np.inf), "ring max": at_most_labels("ring", 1.0),
             "ring q90": at_most_labels("ring", 0.9), "area max": at_most_labels("area", 1.0),
             "area q90": at_most_labels("area", 0.9),
             "area 1.5max": at_most_labels("area", 1.0, 1.5)})
