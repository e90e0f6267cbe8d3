"""benchmarks/inference_check.py: a matrix run's saved models picked again under each value of
an inference setting, on a hand-made matrix folder."""
import json
import os

import numpy as np
import pytest

from benchmarks import inference_check
from benchmarks.datasets import Dataset
from cryopick_plugin.engine import device
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.tests.tiny_data import tiny_labelled_set, untrained_members


@pytest.fixture
def matrix(tmp_path):
    """One finished cryopick cell: its settings (the data folder), its ensemble model and
    its test micrographs, laid out as benchmarks.matrix leaves them."""
    data = tiny_labelled_set(tmp_path / "data", n_micrographs=2)
    ds = Dataset.from_folder(str(data["out"]))
    cell = tmp_path / "matrix" / "tiny" / "labels_20" / "seed_0"
    os.makedirs(cell / "ensemble" / "test")
    for name in sorted(ds.micrographs)[1:]:
        os.symlink(ds.micrographs[name], cell / "ensemble" / "test" / f"{name}.mrc")
    EnsemblePicker(*untrained_members(ds.diameter_px)).save(str(cell / "ensemble" / "ensemble_model.pt"))
    with open(cell / "cryopick.json", "w") as fh:
        json.dump(dict(signature=dict(data=str(data["out"])), records=[dict(n_labels=25)]), fh)
    # an unfinished cell (no ensemble model yet) is left out
    os.makedirs(tmp_path / "matrix" / "tiny" / "labels_50" / "seed_0")
    with open(tmp_path / "matrix" / "tiny" / "labels_50" / "seed_0" / "cryopick.json", "w") as fh:
        json.dump(dict(signature=dict(data=str(data["out"]))), fh)
    return tmp_path / "matrix"


def test_each_value_is_applied_and_the_changes_are_against_the_first(matrix, tmp_path):
    out = str(tmp_path / "check.json")
    before = device._precision
    try:
        inference_check.main(["--matrix", str(matrix), "--setting", "border=96,0",
                              "--threads", "1", "--out", out])
    finally:
        device.set_precision(before)
    with open(out) as fh:
        result = json.load(fh)
    assert list(result["cells"]) == [os.path.join("tiny", "labels_20", "seed_0")]
    cell = result["cells"][os.path.join("tiny", "labels_20", "seed_0")]
    assert set(cell) == {f"{k}/{v}" for k in inference_check.PICKERS for v in ("96", "0")}
    # the border is the U-Net's: the classifier's picks cannot change with it
    assert cell["classifier/96"] == {**cell["classifier/0"],
                                     "s_per_micrograph": cell["classifier/96"]["s_per_micrograph"]}
    change = result["changes"]["unet ap 0 - 96"]
    assert change["mean"] == pytest.approx(cell["unet/0"]["ap"] - cell["unet/96"]["ap"])


def test_the_setting_reaches_the_picker(matrix):
    ensemble = EnsemblePicker.load(
        str(matrix / "tiny" / "labels_20" / "seed_0" / "ensemble" / "ensemble_model.pt"))
    image = np.random.default_rng(0).normal(size=(160, 160)).astype(np.float32)
    maps = {}
    for border in ("96", "0"):
        inference_check.apply_setting("border", border, ensemble)
        assert ensemble.unet.border == int(border)
        maps[border] = ensemble.unet.probability_map(image)[0]
    assert np.abs(maps["96"] - maps["0"]).max() > 1e-4  # the edges see other context
    before = device._precision
    try:
        inference_check.apply_setting("precision", "float32", ensemble)
        assert device.inference_dtype("cpu") is None
    finally:
        device.set_precision(before)
    with pytest.raises(SystemExit, match="unknown setting"):
        inference_check.apply_setting("tile", "512", ensemble)
    # the classifier's weight: a number, or per label
    inference_check.apply_setting("weight", "3", ensemble, n_labels=25)
    assert ensemble.classifier_weight == 3.0
    inference_check.apply_setting("weight", "100/n", ensemble, n_labels=25)
    assert ensemble.classifier_weight == 4.0
    with pytest.raises(SystemExit, match="number of labels"):
        inference_check.apply_setting("weight", "100/n", ensemble, n_labels=None)


def test_a_weight_per_label_reads_the_cells_label_count(matrix, tmp_path, monkeypatch):
    # the ensemble's own last step (overlapping picks lowered) off, so that weight 0 picks
    # exactly as the U-Net alone does
    monkeypatch.setattr("cryopick_plugin.engine.ensemble.lower_overlapping",
                        lambda peaks, diameter: peaks)
    out = str(tmp_path / "weights.json")
    inference_check.main(["--matrix", str(matrix), "--setting", "weight=0,100/n",
                          "--threads", "1", "--out", out])
    with open(out) as fh:
        cell = json.load(fh)["cells"][os.path.join("tiny", "labels_20", "seed_0")]
    # weight 0 is the U-Net's map alone, picked as the ensemble picks; the other differs
    assert cell["ensemble/0"]["ap"] == pytest.approx(cell["unet/0"]["ap"])
    assert cell["unet/0"]["ap"] == cell["unet/100/n"]["ap"]  # the members do not change
