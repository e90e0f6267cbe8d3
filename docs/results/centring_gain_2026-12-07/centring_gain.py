"""Offline: centre_labels with a minimum gain (a click moves only where the labels' mean
particle matches at least that much better than at the click), on the third simulated
set's label sets, exact and moved 0.1 diameter. Per gain: the mean distance to the true
centre after centring (diameters) and the share of clicks moved.
Usage: centring_gain.py DATA_FOLDER N_TRAIN FRACTION SEED[,SEED] GAIN[,GAIN...]"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking.centring import centre_labels  # noqa: E402
from cryopick_plugin.engine.picking.scale import downsample, normalize, working_factor  # noqa: E402

folder, n_train, fraction = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
seeds = [int(s) for s in sys.argv[4].split(",")]
gains = [float(g) for g in sys.argv[5].split(",")]
ds = Dataset.from_folder(folder)
train, _ = ds.split(n_train)
factor = working_factor(ds.diameter_px)
diameter = ds.diameter_px / factor
works = {n: normalize(downsample(read_micrograph(ds.micrographs[n]), factor)) for n in train}


def working_xy(labels):
    return {n: v[:, :2] / factor for n, v in labels.items()}


for seed in seeds:
    truth = working_xy(ds.labels(train, fraction, seed))
    for jitter in (0.0, 0.1):
        clicks = working_xy(ds.labels(train, fraction, seed, jitter))
        names = sorted(clicks)
        at_click = np.concatenate([np.hypot(*(clicks[n] - truth[n]).T) for n in names])
        row = []
        for gain in gains:
            centred = centre_labels(works, clicks, diameter, min_gain=gain)
            after = np.concatenate([np.hypot(*(centred[n] - truth[n]).T) for n in names])
            # since c38746b a click that stays keeps its own position (before: its pixel)
            moved = np.concatenate([np.hypot(*(centred[n] - clicks[n]).T) > 0
                                    for n in names])
            row.append(f"gain {gain:g}: {after.mean() / diameter:.3f} ({moved.mean():.0%} moved)")
        print(f"{os.path.basename(folder)} {fraction:.0%} seed {seed} jitter {jitter:.1f}, "
              f"{len(at_click)} labels at {at_click.mean() / diameter:.3f}: " + "; ".join(row),
              flush=True)
