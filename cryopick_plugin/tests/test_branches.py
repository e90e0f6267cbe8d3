"""Branches no other test reaches: FixMatch early stopping, its validation images, the
held-out label switch, negatives="none" and class_balanced=False; picking at another pixel
size; evaluation between sets of different sampling; duplicate and ambiguous names."""
import os

import cv2
import numpy as np
import pytest
from pyworkflow.tests import BaseTest, setupTestProject

from cryopick_plugin.cli import main
from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.engine.fixmatch import training as fixmatch_training
from cryopick_plugin.engine.fixmatch.config import config_from_dict
from cryopick_plugin.engine.fixmatch.training import train_fixmatch
from cryopick_plugin.engine.io.coordinates import match_to_micrographs, read_coordinates
from cryopick_plugin.engine.io.images import read_micrograph, write_mrc
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.scale import to_original
from cryopick_plugin.engine.unet.config import UNetTrainConfig
from cryopick_plugin.engine.unet.training import train_unet
from cryopick_plugin.protocols import CryopickProtEvaluate, CryopickProtImportMicrographs
from cryopick_plugin.tests.tiny_data import tiny_labelled_set


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_labelled_set(tmp_path_factory.mktemp("branches"))


def _fixmatch_cfg(diameter, **sections):
    tiny = {"dataset": {"patch_size": 32, "batch_size": 16, "num_workers": 2},
            "training": {"epochs": 1, "steps_per_epoch": 2}, "loss": {"rampup_epochs": 1}}
    for key, values in sections.items():
        tiny[key] = dict(tiny.get(key, {}), **values)
    cfg = config_from_dict(tiny)
    cfg.dataset.particle_diameter = diameter
    return cfg


# ---------------------------------------------------------------- FixMatch
def test_fixmatch_stops_early_and_picks_its_threshold_on_validation_images(data, tmp_path,
                                                                          monkeypatch):
    """Validation AUC best at epoch 1 then far worse: with patience 2, epochs 2 and 3 run,
    epoch 4 does not, and best_model.pt stays epoch 1's. Validation micrographs give the
    validation patches and the best-F1 threshold of picking them."""
    calls = []

    def auc(scores, labels):  # two calls per epoch (student, teacher), then test metrics
        calls.append(1)
        return 0.9 if len(calls) <= 2 else 0.5

    monkeypatch.setattr(fixmatch_training, "roc_auc", auc)
    val = {"mic_002": data["images"]["mic_002"]}
    lines = []
    cfg = _fixmatch_cfg(data["diameter"], training={"epochs": 6, "steps_per_epoch": 1,
                                                    "early_stopping_patience": 2})
    r = train_fixmatch(data["images"], data["labels"], str(tmp_path), cfg, val_images=val,
                       val_labels={"mic_002": data["truth"]["mic_002"]}, log=lines.append)
    assert r["stopped_early"] and [e["epoch"] for e in r["history"]] == [1, 2, 3]
    assert (r["best_epoch"], r["best_epoch_ema"]) == (1, 1)
    assert any(ln.startswith("Early stopping: validation AUC has not improved for 2 epochs")
               for ln in lines)
    assert r["validation"] == "validation micrographs"
    assert r["n_train_positives"] == sum(len(v) for v in data["labels"].values())  # none held out
    picking = r["validation_picking"]
    assert picking["n_truth"] == len(data["truth"]["mic_002"])
    assert r["pick_threshold"] == pytest.approx(picking["best_threshold"])
    assert any(ln.startswith("Picking threshold from validation") for ln in lines)


def test_fixmatch_held_out_labels_plain_negatives_and_unbalanced_consistency(data, tmp_path,
                                                                            monkeypatch):
    """Half of 20 labels held out: 10 witnesses, enough to choose the threshold from them
    alone. negatives="none": no random negatives are drawn for the supervised loss;
    class_balanced=False reaches the consistency loss."""
    drawn, balanced = [], []
    sample, consistency = fixmatch_training._sample_positions, fixmatch_training._consistency

    def spy_sample(rng, work, n, avoid, min_distance):
        drawn.append(bool(avoid))  # negatives avoid the labels, unlabelled patches do not
        return sample(rng, work, n, avoid, min_distance)

    def spy_consistency(logits, teacher, tau, is_balanced, batch):
        balanced.append(is_balanced)
        return consistency(logits, teacher, tau, is_balanced, batch)

    monkeypatch.setattr(fixmatch_training, "_sample_positions", spy_sample)
    monkeypatch.setattr(fixmatch_training, "_consistency", spy_consistency)
    cfg = _fixmatch_cfg(data["diameter"], dataset={"val_fraction": 0.5},
                        loss={"negatives": "none", "class_balanced": False})
    lines = []
    r = train_fixmatch(data["images"], data["labels"], str(tmp_path), cfg, log=lines.append)
    assert r["validation"] == "held-out labelled positives vs random positions"
    assert r["n_train_positives"] == 10
    # the threshold's count estimated from the held-out labels alone, kept on the
    # micrograph without labels
    assert any("estimated from 10 held-out labels" in ln for ln in lines), lines
    assert r["threshold_origin"] == "labels' count on unseen micrographs"
    assert balanced == [False, False]  # two steps
    # positions avoiding the labels: once for the validation negatives, never for training
    # (with "random", once more per step: the supervised negatives)
    assert sum(drawn) == 1, drawn


# ---------------------------------------------------------------- picking at another size
def test_pick_at_another_pixel_size(data, tmp_path):
    """A picker trained at 2 A/px picks micrographs at 1 A/px (twice the pixels) with
    --pixel-size 1: binned to its working size, picks back in the finer pixels."""
    small = {n: data["images"][n] for n in ("mic_000", "mic_001")}
    cfg = UNetTrainConfig(particle_diameter=data["diameter"], pixel_size=2.0, base_features=8,
                          initial_epochs=12, self_training_iterations=0, batch_size=8,
                          crops_per_image=8, crop_size=64, learning_rate=0.003)
    train_unet(small, data["labels"], str(tmp_path / "m"), cfg, log=lambda l: None)
    fine = tmp_path / "fine"
    fine.mkdir()
    truth = {}
    for name in ("mic_000", "mic_001"):
        img = data["images"][name]
        write_mrc(str(fine / f"{name}.mrc"),
                  cv2.resize(img, (2 * img.shape[1], 2 * img.shape[0]),
                             interpolation=cv2.INTER_LINEAR), 1.0)
        truth[name] = to_original(data["truth"][name], 2.0)  # pixel centres to pixel centres
    model = str(tmp_path / "m" / "final_model.pt")
    radius = data["diameter"]  # half the diameter, in the finer pixels
    results = {}
    for flag in (["--pixel-size", "1.0"], []):
        out = tmp_path / f"picks{len(flag)}.json"
        assert main(["pick", "--model", model, "--image-dir", str(fine), "--output", str(out),
                     *flag]) == 0
        results[bool(flag)] = evaluate(read_coordinates(str(out)), truth, radius)["overall"]
    assert results[True]["f1"] > 0.6, results[True]
    # without it the network sees particles twice the size it learned
    assert results[True]["f1"] > results[False]["f1"] + 0.2, results


# ---------------------------------------------------------------- names
def test_ambiguous_prefix_matches_nothing():
    # "mic_1" is a prefix of two micrographs: neither is chosen
    matched, unmatched = match_to_micrographs(["mic_1", "mic_2_autopick"],
                                              ["mic_1_a", "mic_1_b", "mic_2"])
    assert matched == {"mic_2_autopick": "mic_2"} and unmatched == ["mic_1"]
    # the longer micrograph name wins when a coordinate name extends both
    matched, _ = match_to_micrographs(["mic_1_a_autopick"], ["mic_1", "mic_1_a"])
    assert matched == {"mic_1_a_autopick": "mic_1_a"}


class TestSamplingAndDuplicates(BaseTest):
    """Scipion: evaluation between sets of different sampling; duplicate image names."""

    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        root = os.path.abspath(os.path.join(cls.outputPath, "input"))
        m = make_demo_dataset(os.path.join(root, "data"), n_micrographs=2, size=(192, 256),
                              pixel_size=2.0, particle_diameter_a=60.0,
                              particles_per_micrograph=8, snr=1.0, seed=4)
        full = os.path.join(root, "data", "micrographs")
        binned = os.path.join(root, "binned")
        os.makedirs(binned)
        for name in m["micrographs"]:  # the same micrographs binned 2x: 4 A/px
            img = read_micrograph(os.path.join(full, name))
            write_mrc(os.path.join(binned, name), cv2.resize(
                img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA), 4.0)
        truth = os.path.join(root, "data", "truth", "coordinates.json")
        cls.full = cls.newProtocol(CryopickProtImportMicrographs, filesPath=full,
                                   samplingRate=2.0, coordinatesPath=truth,
                                   particleDiameter=60.0)
        cls.launchProtocol(cls.full)
        # the truth picked on the binned micrographs: coordinates in their pixels
        cls.binned = cls.newProtocol(CryopickProtImportMicrographs, filesPath=binned,
                                     samplingRate=4.0, coordinatesPath=truth,
                                     coordinatesScale=0.5, particleDiameter=60.0)
        cls.launchProtocol(cls.binned)
        cls.root, cls.n_true = root, m["n_true"]

    def test_evaluation_between_samplings(self):
        self.assertEqual(self.binned.outputCoordinates.getSize(), self.n_true)
        for picks, reference in ((self.binned, self.full), (self.full, self.binned)):
            prot = self.newProtocol(CryopickProtEvaluate,
                                    inputCoordinates=picks.outputCoordinates,
                                    referenceCoordinates=reference.outputCoordinates,
                                    particleDiameter=60.0)
            self.launchProtocol(prot)
            overall = prot.getResult()["overall"]
            # radius in reference pixels (30 A / sampling); integer positions at 4 A/px
            # are at most 1 binned pixel off: everything matches only when rescaled
            self.assertAlmostEqual(overall["radius"],
                                   30.0 / reference.outputMicrographs.getSamplingRate())
            self.assertEqual((overall["n_picks"], overall["n_truth"], overall["n_matched"]),
                             (self.n_true, self.n_true, self.n_true), overall)

    def test_two_images_with_one_name_are_refused(self):
        folder = os.path.join(self.root, "dup")
        os.makedirs(folder)
        img = np.random.default_rng(0).normal(size=(64, 96)).astype(np.float32)
        write_mrc(os.path.join(folder, "mic_a.mrc"), img, 2.0)
        cv2.imwrite(os.path.join(folder, "mic_a.png"), (img * 40 + 128).clip(0, 255).astype(np.uint8))
        coords = os.path.join(self.root, "dup.json")
        with open(coords, "w") as fh:
            fh.write('{"mic_a": [[10, 10]]}')
        prot = self.newProtocol(CryopickProtImportMicrographs, filesPath=folder,
                                samplingRate=2.0, coordinatesPath=coords, particleDiameter=60.0)
        self.assertEqual(prot.validate(), [])  # found when the images are read
        with self.assertRaises(Exception):
            self.launchProtocol(prot)
        self.assertIn("mic_a.png: another image is also named 'mic_a'; names must be unique",
                      prot.getErrorMessage())
        self.assertFalse(hasattr(prot, "outputMicrographs"))
