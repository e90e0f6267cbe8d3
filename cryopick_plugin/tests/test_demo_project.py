"""The README's demo as a scripted Scipion project, on a smaller dataset."""
import json
import os

import pytest

from cryopick_plugin import demo_project


# a short training that learns on the demo (measured with the engine: F1 0.64 at the
# model's own threshold, AP 0.31; the README's full demo trains longer)
QUICK = dict(baseFeatures=8, initialEpochs=12, selfTrainingIterations=0, batchSize=8,
             cropsPerImage=8, learningRate=0.003)
QUICK_CLASSIFIER = dict(batchSize=16, epochs=4, stepsPerEpoch=5, rampupEpochs=1)
MIN_F1 = 0.5  # random picks at this density: F1 below 0.2


def test_demo_runs_end_to_end(tmp_path):
    cwd = os.getcwd()
    try:
        result = demo_project.run(str(tmp_path / "demo"), n_micrographs=2, seed=1,
                                  training=QUICK, classifier_training=QUICK_CLASSIFIER)
    finally:
        os.chdir(cwd)
    manifest = json.loads((tmp_path / "demo" / "data" / "dataset.json").read_text())
    overall = result["labels"]["overall"]
    # the labels are a subset of the truth: all correct, recall = labelled fraction
    assert overall["n_truth"] == manifest["n_true"]
    assert overall["n_picks"] == manifest["n_labelled"] > 0
    assert overall["precision"] == 1.0
    assert overall["recall"] == pytest.approx(manifest["n_labelled"] / manifest["n_true"])
    # the picks of the trained picker, evaluated on every micrograph, find the particles
    picks = result["picks"]["overall"]
    assert picks["n_truth"] == manifest["n_true"] and picks["n_micrographs"] == 2
    assert picks["f1"] > MIN_F1, picks
    assert picks["recall"] > 2 * overall["recall"]  # far beyond the labels it learned from
