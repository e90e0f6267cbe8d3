"""Offline: engine/picking/centring.py's centre_labels on 5% and 20% label sets of the third
simulated set, labels exact and moved 0.1 diameter, with its minimum number of labels
lowered to MIN (so that a few labels are centred too): mean distance to the true centre
before -> after, in diameters. Usage: centring_few_labels.py DATA_FOLDER N_TRAIN MIN"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking import centring  # noqa: E402
from cryopick_plugin.engine.picking.scale import downsample, normalize, working_factor  # noqa: E402

folder, n_train = sys.argv[1], int(sys.argv[2])
centring.MIN_LABELS = int(sys.argv[3])
ds = Dataset.from_folder(folder)
train, _ = ds.split(n_train)
f = working_factor(ds.diameter_px)
d = ds.diameter_px / f
works = {n: normalize(downsample(read_micrograph(ds.micrographs[n]), f)) for n in train}
for fraction in (0.05, 0.2):
    for seed in (0, 1):
        for jitter in (0.0, 0.1):
            clicks = ds.labels(train, fraction, seed, jitter)
            exact = ds.labels(train, fraction, seed, 0.0)
            centred = centring.centre_labels(works, {n: v[:, :2] / f for n, v in clicks.items()}, d)
            before = np.concatenate([np.hypot(*((clicks[n] - exact[n])[:, :2] / f).T) for n in centred]) / d
            after = np.concatenate([np.hypot(*(centred[n] - exact[n][:, :2] / f).T) for n in centred]) / d
            print(f"{os.path.basename(folder)} {fraction:.0%} seed {seed} jitter {jitter:.1f}: "
                  f"{len(after)} labels, {before.mean():.3f} -> {after.mean():.3f}")
