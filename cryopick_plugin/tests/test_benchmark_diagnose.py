"""benchmarks/diagnose.py: what each pick and each true particle is, on a hand-made
simulator-like folder where the answer is known."""
import json
import os

import numpy as np

from benchmarks import diagnose
from cryopick_plugin.engine.io.coordinates import write_coordinates
from cryopick_plugin.engine.io.images import write_mrc

TRUTH = np.array([[20.0, 20.0], [50.0, 50.0], [62.0, 50.0], [85.0, 85.0]])  # d = 10 px
PICKS = np.array([[21.0, 20.0, 0.9],    # on a particle
                  [56.0, 50.0, 0.8],    # between the touching pair: matches neither
                  [80.0, 15.0, 0.7],    # on carbon
                  [40.0, 85.0, 0.3],    # empty ice
                  [86.0, 84.0, 0.2]])   # on a particle, low score


def _folder(root):
    for sub in ("micrographs", "truth", "masks"):
        os.makedirs(os.path.join(root, sub))
    write_mrc(os.path.join(root, "micrographs", "m1.mrc"), np.zeros((100, 100)), 1.0)
    write_coordinates(os.path.join(root, "truth", "coordinates.json"), {"m1": TRUTH}, fmt="json")
    with open(os.path.join(root, "truth", "m1.json"), "w") as fh:
        json.dump({"particle_diameter_px": 10.0}, fh)
    labels = np.zeros((100, 100), dtype=np.int8)
    labels[:30, 70:] = 1  # carbon in the top-right corner
    write_mrc(os.path.join(root, "masks", "m1_labels.mrc"), labels, 1.0)
    return root


def test_kinds_of_picks_and_misses(tmp_path):
    root = _folder(str(tmp_path / "sim"))
    picks = str(tmp_path / "picks.json")
    write_coordinates(picks, {"m1": PICKS}, fmt="json")
    result = diagnose.main(["--data", root, "--picks", picks, "--threshold", "0.5"])
    assert result["counts"] == {"particle": [1, 1], "next to a particle": [1, 0],
                                "carbon": [1, 0], "empty ice": [0, 1]}
    assert result["best"] == ["particle", "next to a particle", "carbon", "empty ice",
                              "particle"]
    assert result["fates"] == {"found": 2, "missed (touching)": 2}
    # without a label map, the carbon pick is only "empty ice"
    kinds, _ = diagnose.classify(PICKS, TRUTH, 10.0)
    assert kinds[2] == "empty ice"
