"""Micrograph names as acquisition software writes them (dots, dates, spaces) through a
Scipion project: STAR import, evaluation, and labels passed to the training CLI as JSON.

The engine's round trip through every format is in test_engine_coordinates; here the names
cross the Scipion boundary (micName, SetOfCoordinates, the protocols' JSON files)."""
import json
import os

import numpy as np
from pyworkflow.tests import BaseTest, setupTestProject

from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.engine.io.coordinates import read_coordinates, write_coordinates
from cryopick_plugin.protocols import (CryopickProtEvaluate, CryopickProtImportCoordinates,
                                       CryopickProtImportMicrographs, CryopickProtTrainUNet)

# EPU-like name with dots and a date, a name with a space, a plain one
NAMES = ("FoilHole_1.5_Data_2024.01.02", "mic b", "mic_c")


def counts(coord_set):
    """{micrograph name: number of coordinates}, names as Scipion stores them."""
    out = {}
    for coord in coord_set.iterItems():
        name = coord.getMicName()[:-len(".mrc")]
        out[name] = out.get(name, 0) + 1
    return out


def sizes(tables):
    return {k: len(v) for k, v in tables.items() if len(v)}


class TestOddMicrographNames(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        data = os.path.join(cls.outputPath, "data")
        make_demo_dataset(data, n_micrographs=3, size=(192, 256), pixel_size=2.0,
                          particle_diameter_a=60.0, particles_per_micrograph=8,
                          label_fraction=0.5, n_labelled_micrographs=2, snr=1.0, seed=3)
        # rename mic_000.. to the odd names, files and coordinates alike
        rename = {f"mic_{i:03d}": n for i, n in enumerate(NAMES)}
        mics = os.path.join(data, "micrographs")
        for old, new in rename.items():
            os.rename(os.path.join(mics, old + ".mrc"), os.path.join(mics, new + ".mrc"))

        def renamed(path):
            return {rename[k]: v for k, v in read_coordinates(path).items()}

        cls.labels = renamed(os.path.join(data, "labels", "coordinates.json"))
        cls.truth = renamed(os.path.join(data, "truth", "coordinates.json"))
        # labels as RELION STAR (quoted "mic b"), truth as JSON keyed by bare names: the form
        # the protocols write for the CLI, where "FoilHole_1.5_Data" became "FoilHole_1"
        labels_star = os.path.join(data, "labels.star")
        write_coordinates(labels_star, cls.labels, fmt="star")
        truth_json = os.path.join(data, "truth.json")
        write_coordinates(truth_json, cls.truth, fmt="json")
        cls.imp = cls.newProtocol(CryopickProtImportMicrographs, filesPath=mics,
                                  samplingRate=2.0, coordinatesPath=labels_star,
                                  particleDiameter=60.0)
        cls.launchProtocol(cls.imp)
        cls.truthImport = cls.newProtocol(CryopickProtImportCoordinates,
                                          inputMicrographs=cls.imp.outputMicrographs,
                                          coordinatesPath=truth_json, particleDiameter=60.0)
        cls.launchProtocol(cls.truthImport)

    def test_import_keeps_every_name_and_coordinate(self):
        self.assertEqual(sorted(m.getMicName() for m in self.imp.outputMicrographs),
                         sorted(n + ".mrc" for n in NAMES))
        self.assertEqual(len(self.labels), 2)  # one micrograph without labels
        self.assertEqual(counts(self.imp.outputCoordinates), sizes(self.labels))
        self.assertEqual(counts(self.truthImport.outputCoordinates), sizes(self.truth))
        self.assertNotIn("matching no micrograph", "\n".join(self.truthImport.summary()))

    def test_evaluation_matches_per_micrograph(self):
        prot = self.newProtocol(CryopickProtEvaluate,
                                inputCoordinates=self.imp.outputCoordinates,
                                referenceCoordinates=self.truthImport.outputCoordinates,
                                particleDiameter=60.0)
        self.launchProtocol(prot)
        result = prot.getResult()
        per_mic = result["per_micrograph"]
        self.assertEqual(sorted(per_mic), sorted(NAMES))
        for name in NAMES:
            self.assertEqual(per_mic[name]["n_truth"], len(self.truth[name]), name)
            self.assertEqual(per_mic[name]["n_matched"], len(self.labels.get(name, [])), name)
        self.assertEqual(result["overall"]["precision"], 1.0)

    def test_training_reads_every_label_and_validation_micrograph(self):
        """Set -> labels.json -> train-unet: a name cut at a dot is an 'unknown micrograph'
        and the run fails; a lost label changes n_labels. Validation coordinates (the truth)
        give the threshold, per iteration metrics."""
        train = self.newProtocol(CryopickProtTrainUNet,
                                 inputMicrographs=self.imp.outputMicrographs,
                                 inputCoordinates=self.imp.outputCoordinates,
                                 validationCoordinates=self.truthImport.outputCoordinates,
                                 initialEpochs=1, selfTrainingIterations=0, baseFeatures=4,
                                 batchSize=4, cropsPerImage=2, useGpu=False)
        self.launchProtocol(train)
        with open(train._getExtraPath("labels.json")) as fh:
            written = json.load(fh)
        self.assertEqual({k: len(v) for k, v in written.items() if v}, sizes(self.labels))
        with open(train._getExtraPath("validation.json")) as fh:
            self.assertEqual({k: len(v) for k, v in json.load(fh).items() if v},
                             sizes(self.truth))
        with open(train._getExtraPath("model", "training_summary.json")) as fh:
            summary = json.load(fh)
        self.assertEqual(summary["n_labels"], sum(len(v) for v in self.labels.values()))
        self.assertEqual((summary["n_labelled_micrographs"], summary["n_micrographs"]), (2, 3))
        validation = summary["iterations"][-1]["validation"]
        self.assertEqual(validation["n_truth"], sum(len(v) for v in self.truth.values()))
        # the threshold is the validation's best-F1 one, not the labels' estimate
        self.assertAlmostEqual(summary["pick_threshold"], validation["best_threshold"])
        self.assertTrue(np.isfinite(summary["pick_threshold"]))
