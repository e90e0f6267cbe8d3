"""What aggfeat.py, aggblob.py and aggmem.py share: a cell's saved ensemble (with the
contrast floor, s45/rerun), its test micrographs' cached member maps, and its best picks."""
import os
import sys

import numpy as np

sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset  # noqa: E402
from benchmarks.diagnose import classify, _label_map  # noqa: E402
from counts import model_cell  # noqa: E402
from cryopick_plugin.engine.ensemble import EnsemblePicker  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.picking.scale import to_working  # noqa: E402


def best_picks(cell, data, features):
    """(ensemble, dataset, rows): the ensemble's picks on the cell's test micrographs, as many
    as test particles, best first, each row (score, kind, features...) with
    ``features(ens, work, unet map, classifier map, working xy)`` giving one row per pick."""
    mc = model_cell(cell)
    ens = EnsemblePicker.load(os.path.join(mc, "ensemble/ensemble_model.pt"))
    ds = Dataset.from_folder(data)
    zm = np.load(os.path.join(cell, "ensemble/maps_s45.npz"))
    picks = read_coordinates(os.path.join(mc, "ensemble/picks.json"))
    rows = []
    for n, p in picks.items():
        p = np.asarray(p, float).reshape(-1, 3)
        kinds, _ = classify(p, ds.truth[n], ds.diameter_px, _label_map(ds.label_masks[n]))
        xy = to_working(p[:, :2], float(zm[n + "/f"]))
        f = features(ens, zm[n + "/work"], zm[n + "/u"], zm[n + "/c"], xy)
        rows += [(s, k, *r) for s, k, r in zip(p[:, 2], kinds, zip(*f))]
    rows.sort(key=lambda r: -r[0])
    return ens, ds, rows[:sum(len(ds.truth[n]) for n in picks)]
