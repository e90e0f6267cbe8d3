"""The README's demo as a scripted Scipion project, on a smaller dataset."""
import json
import os

import pytest

from cryopick_plugin import demo_project


def test_demo_runs_end_to_end(tmp_path):
    cwd = os.getcwd()
    try:
        result = demo_project.run(str(tmp_path / "demo"), n_micrographs=2, seed=1, training=dict(
            baseFeatures=4, initialEpochs=1, selfTrainingIterations=1, retrainEpochs=1,
            cropsPerImage=2))
    finally:
        os.chdir(cwd)
    manifest = json.loads((tmp_path / "demo" / "data" / "dataset.json").read_text())
    overall = result["labels"]["overall"]
    # the labels are a subset of the truth: all correct, recall = labelled fraction
    assert overall["n_truth"] == manifest["n_true"]
    assert overall["n_picks"] == manifest["n_labelled"] > 0
    assert overall["precision"] == 1.0
    assert overall["recall"] == pytest.approx(manifest["n_labelled"] / manifest["n_true"])
    # the picks of the (barely trained) picker were evaluated on every micrograph
    assert result["picks"]["overall"]["n_truth"] == manifest["n_true"]
    assert result["picks"]["overall"]["n_micrographs"] == 2
