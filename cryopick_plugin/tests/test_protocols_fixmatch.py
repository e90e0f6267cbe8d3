"""Scipion chain import -> train FixMatch -> pick, and re-scoring junk-laden coordinates.

Easy synthetic data and a very short training: the test checks that the protocols chain and
that the classifier learned (it separates particles from injected junk, its picks beat
chance), not its accuracy; the benchmark measures that.
"""
import json
import os

import numpy as np
from pyworkflow.tests import BaseTest, setupTestProject

from cryopick_plugin.constants import SCORE_ATTR
from cryopick_plugin.convert import micrograph_key
from cryopick_plugin.engine.fixmatch.config import load_config
from cryopick_plugin.engine.io.coordinates import read_coordinates, write_coordinates
from cryopick_plugin.engine.io.files import read_torch_file
from cryopick_plugin.protocols import (CryopickProtEvaluate, CryopickProtImportCoordinates,
                                       CryopickProtPick, CryopickProtRescore,
                                       CryopickProtTrainFixMatch)
from cryopick_plugin.tests.tiny_data import import_tiny_project


class TestFixMatchChain(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        data = import_tiny_project(cls)
        cls.truth_tables = read_coordinates(os.path.join(data, "truth", "coordinates.json"))
        # true particles plus as many junk positions on empty ice (a diameter from any particle)
        rng = np.random.default_rng(1)
        mixed, cls.junk = {}, {}
        for name, t in cls.truth_tables.items():
            junk = []
            while len(junk) < len(t):
                p = rng.uniform([2, 2], [382, 254])  # inside after rounding
                if np.min(np.hypot(*(t[:, :2] - p).T)) > 32:
                    junk.append(p)
            cls.junk[name] = np.array(junk)
            mixed[name] = np.r_[t[:, :2], cls.junk[name]]
        path = os.path.join(data, "mixed.json")
        write_coordinates(path, mixed, fmt="json")
        cls.mixed = cls.newProtocol(CryopickProtImportCoordinates,
                                    inputMicrographs=cls.imp.outputMicrographs,
                                    coordinatesPath=path, particleDiameter=64.0)
        cls.launchProtocol(cls.mixed)

    def test_train_pick_and_rescore(self):
        # complete picks as the validation coordinates input: they choose the threshold
        train = self.newProtocol(CryopickProtTrainFixMatch,
                                 inputMicrographs=self.imp.outputMicrographs,
                                 inputCoordinates=self.imp.outputCoordinates,
                                 validationCoordinates=self.truth.outputCoordinates,
                                 patchSize=32, batchSize=16, epochs=6, stepsPerEpoch=6,
                                 rampupEpochs=2, positiveShift=0.05, useGpu=False)
        self.launchProtocol(train)
        model = train.outputModel
        config = load_config(train._getExtraPath("config.yaml"))
        self.assertEqual(config.dataset.positive_shift, 0.05)  # the form reached training
        with open(train._getExtraPath("fixmatch", "results.json")) as fh:
            results = json.load(fh)
        val = results["validation_picking"]  # the validation micrographs were picked...
        self.assertEqual(val["n_truth"], sum(len(t) for t in self.truth_tables.values()))
        # ...and their best-F1 threshold is the model's
        threshold = read_torch_file(model.getPath())["threshold"]
        self.assertAlmostEqual(threshold, val["best_threshold"], places=4)
        self.assertTrue(model.exists())
        self.assertEqual(model.getMethod(), "fixmatch")
        for name in ("best_model.pt", "best_model_ema.pt", "last_checkpoint.pt", "results.json"):
            self.assertTrue(os.path.exists(train._getExtraPath("fixmatch", name)), name)
        self.assertTrue(os.path.exists(train._getExtraPath("training_history.png")))
        self.assertTrue(os.path.exists(train._getExtraPath("config.yaml")))
        self.assertIn("Best validation AUC", "\n".join(train.summary()))

        # picking with the classifier, through the same picking protocol as the U-Net
        pick = self.newProtocol(CryopickProtPick, inputMicrographs=self.imp.outputMicrographs,
                                inputModel=model, useGpu=False, streamingBatchSize=3)
        self.launchProtocol(pick)
        coords = pick.outputCoordinates
        self.assertGreater(coords.getSize(), 0)
        evaluation = self.newProtocol(CryopickProtEvaluate, inputCoordinates=coords,
                                      referenceCoordinates=self.truth.outputCoordinates,
                                      particleDiameter=64.0)
        self.launchProtocol(evaluation)
        overall = evaluation.getResult()["overall"]
        # random picks score F1 < 0.2 here (match discs cover ~16% of the micrographs)
        self.assertGreater(overall["ap"], 0.4, overall)

        rescore = self.newProtocol(CryopickProtRescore,
                                   inputCoordinates=self.mixed.outputCoordinates,
                                   inputModel=model, useGpu=False)
        self.launchProtocol(rescore)
        out = rescore.outputCoordinates
        with open(rescore._getExtraPath("summary.json")) as fh:
            summary = json.load(fh)
        self.assertEqual(summary["n_in"], self.mixed.outputCoordinates.getSize())
        self.assertEqual(out.getSize(), summary["n_out"])
        mics = {m.getObjId(): micrograph_key(m) for m in out.getMicrographs()}
        kept_true = kept_junk = 0
        for c in out:
            self.assertGreaterEqual(getattr(c, SCORE_ATTR).get(), summary["threshold"])
            name, p = mics[c.getMicId()], np.array([c.getX(), c.getY()])
            t = self.truth_tables[name][:, :2]
            if np.min(np.hypot(*(t - p).T)) < 2:
                kept_true += 1
            else:
                kept_junk += 1
        n_true = sum(len(t) for t in self.truth_tables.values())
        n_junk = sum(len(j) for j in self.junk.values())
        # the classifier keeps most particles and drops most junk
        self.assertGreater(kept_true / n_true - kept_junk / n_junk, 0.5,
                           (kept_true, n_true, kept_junk, n_junk))
