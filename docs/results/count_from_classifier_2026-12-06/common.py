"""What the offline scripts of this folder read from a matrix cell's method folder."""
import os
import sys
import numpy as np
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.io.coordinates import read_coordinates


def test_picks(method_dir, picks_file):
    """(test micrograph names, {name: (N, 3) picks}, {name: truth}, match radius, dataset)
    of a method folder (test/ links, ``picks_file`` saved at the ranking threshold)."""
    test_dir = os.path.join(method_dir, "test")
    tests = sorted(os.path.splitext(f)[0] for f in os.listdir(test_dir))
    ds = Dataset.from_folder(os.path.dirname(os.path.dirname(os.path.realpath(
        os.path.join(test_dir, os.listdir(test_dir)[0])))))
    raw = read_coordinates(os.path.join(method_dir, picks_file))
    picks = {n: np.asarray(raw.get(n, np.zeros((0, 3)))).reshape(-1, 3) for n in tests}
    return tests, picks, {n: ds.truth[n] for n in tests}, ds.diameter_px / 2, ds
