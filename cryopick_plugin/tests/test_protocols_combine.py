"""Scipion chains of the two models trained on the same labels: combine them and pick; or
let the classifier count the particles for the U-Net or teach its self-training.

Very short trainings: the tests check that the protocols chain and that what a step wrote
is what the form asked for (both members, the threshold from the count; the teacher), not
accuracy.
"""
import json
import os

from pyworkflow.tests import BaseTest, setupTestProject

from cryopick_plugin.engine.io import files
from cryopick_plugin.engine.io.files import read_torch_file
from cryopick_plugin.engine.picking.fusion import classifier_weight_for
from cryopick_plugin.protocols import (CryopickProtCombine, CryopickProtPick,
                                       CryopickProtTrainFixMatch, CryopickProtTrainUNet)
from cryopick_plugin.tests.tiny_data import import_tiny_project


class TestCombineChain(BaseTest):
    UNET = dict(initialEpochs=4, selfTrainingIterations=1, retrainEpochs=1, baseFeatures=4,
                batchSize=8, cropsPerImage=4)

    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        import_tiny_project(cls)
        cls.inputs = dict(inputMicrographs=cls.imp.outputMicrographs,
                          inputCoordinates=cls.imp.outputCoordinates, useGpu=False)
        cls.unet = cls.newProtocol(CryopickProtTrainUNet, **cls.UNET, **cls.inputs)
        cls.launchProtocol(cls.unet)
        cls.classifier = cls.newProtocol(CryopickProtTrainFixMatch, batchSize=16, epochs=2,
                                         stepsPerEpoch=3, rampupEpochs=1, **cls.inputs)
        cls.launchProtocol(cls.classifier)

    def test_train_both_combine_and_pick(self):
        unet, classifier = self.unet, self.classifier

        wrong = self.newProtocol(CryopickProtCombine, inputUNet=classifier.outputModel,
                                 inputClassifier=unet.outputModel,
                                 inputCoordinates=self.imp.outputCoordinates)
        errors = wrong.validate()
        self.assertTrue(any("needs a unet model" in e for e in errors), errors)
        self.assertTrue(any("needs a fixmatch model" in e for e in errors), errors)

        combine = self.newProtocol(CryopickProtCombine, inputUNet=unet.outputModel,
                                   inputClassifier=classifier.outputModel,
                                   inputCoordinates=self.imp.outputCoordinates,
                                   expectedParticles=20.0)
        self.assertEqual(combine.validate(), [])
        self.launchProtocol(combine)
        model = combine.outputModel
        self.assertEqual(model.getMethod(), "ensemble")
        self.assertAlmostEqual(model.getParticleDiameter(),
                               unet.outputModel.getParticleDiameter())
        state = read_torch_file(model.getPath())
        self.assertEqual(state["unet"]["kind"], "cryopick-unet")
        self.assertEqual(state["classifier"]["backbone"], "compact")
        # weighed by the number of hand-picked particles (the form's default)
        n_labels = self.imp.outputCoordinates.getSize()
        self.assertAlmostEqual(state["classifier_weight"], classifier_weight_for(n_labels))
        self.assertEqual(state["extra"]["n_labels"], n_labels)
        # by default calibrated on the coordinates' micrographs that have no labels
        self.assertEqual(state["extra"]["threshold_origin"], "count on unseen micrographs")
        self.assertIn("from the particle count, on micrographs without hand-picked particles",
                      "\n".join(combine.summary()))
        with open(combine.getLogPaths()[0]) as fh:
            log = fh.read()
        labelled = {c.getMicName() for c in self.imp.outputCoordinates.iterItems()}
        unlabelled = self.imp.outputMicrographs.getSize() - len(labelled)
        self.assertGreater(unlabelled, 0)
        self.assertIn(f"Calibrating on {unlabelled} micrographs without hand-picked particles",
                      log)

        pick = self.newProtocol(CryopickProtPick, inputMicrographs=self.imp.outputMicrographs,
                                inputModel=model, useGpu=False)
        self.launchProtocol(pick)
        self.assertGreater(pick.outputCoordinates.getSize(), 0)
        self.assertIn("averaged maps", "\n".join(pick.methods()))

    def test_classifier_counts_the_particles_for_the_unet(self):
        wrong_kind = self.newProtocol(CryopickProtTrainUNet,
                                      countClassifier=self.unet.outputModel, **self.inputs)
        self.assertIn("Classifier to count the particles: needs a fixmatch model, not a unet "
                      "one.", wrong_kind.validate())
        diameter = self.classifier.outputModel.getParticleDiameter()
        other_size = self.newProtocol(CryopickProtTrainUNet, particleDiameter=2 * diameter,
                                      countClassifier=self.classifier.outputModel,
                                      **self.inputs)
        self.assertTrue(any(e.startswith("Classifier to count the particles: trained for a "
                                         f"{diameter:g} A") for e in other_size.validate()))

        counted = self.newProtocol(CryopickProtTrainUNet, **self.UNET, **self.inputs,
                                   countClassifier=self.classifier.outputModel)
        self.assertEqual(counted.validate(), [])
        self.launchProtocol(counted)
        with open(counted._getExtraPath("model", files.UNET_SUMMARY)) as fh:
            summary = json.load(fh)
        self.assertEqual(os.path.abspath(summary["config"]["count_classifier"]),
                         os.path.abspath(self.classifier.outputModel.getPath()))
        log = "".join(open(path).read() for path in counted.getLogPaths()
                      if os.path.exists(path))
        # the engine asked the classifier (its count may be implausible for so short a
        # training; then the U-Net's own estimate follows, and the summary says which)
        self.assertIn("(counted by the classifier ", log)
        line = next(l for l in counted.summary() if l.startswith("Particles per micrograph"))
        if summary.get("count_origin") == "classifier":
            self.assertIn("counted by the classifier from the labels", line)
            self.assertNotIn("Lee & Liu criterion on", log)
        else:
            self.assertNotIn("counted by the classifier", line)

    def test_classifier_teaches_the_unet(self):
        wrong_kind = self.newProtocol(CryopickProtTrainUNet, teacherModel=self.unet.outputModel,
                                      **self.UNET, **self.inputs)
        self.assertIn("Teacher classifier: needs a fixmatch model, not a unet one.",
                      wrong_kind.validate())
        diameter = self.classifier.outputModel.getParticleDiameter()
        other_size = self.newProtocol(CryopickProtTrainUNet, particleDiameter=2 * diameter,
                                      teacherModel=self.classifier.outputModel, **self.UNET,
                                      **self.inputs)
        self.assertTrue(any(e.startswith(f"Teacher classifier: trained for a {diameter:g} A")
                            for e in other_size.validate()), other_size.validate())

        taught = self.newProtocol(CryopickProtTrainUNet, teacherModel=self.classifier.outputModel,
                                  teacherShare=0.5, expectedParticles=20.0, **self.UNET,
                                  **self.inputs)
        self.assertEqual(taught.validate(), [])
        # the share shows on the form only once a teacher is chosen
        self.assertTrue(taught.evalParamCondition("teacherShare"))
        self.assertFalse(self.newProtocol(CryopickProtTrainUNet, **self.inputs)
                         .evalParamCondition("teacherShare"))
        self.launchProtocol(taught)
        # the form's teacher and share went through the command line into the run
        with open(taught._getExtraPath("model", files.UNET_SUMMARY)) as fh:
            config = json.load(fh)["config"]
        self.assertEqual(os.path.abspath(config["teacher"]),
                         os.path.abspath(self.classifier.outputModel.getPath()))
        self.assertEqual(config["teacher_share"], 0.5)
        self.assertIn("best-scored 0.5 of the particles expected but not hand-picked",
                      "\n".join(taught.methods()))
        self.assertTrue(taught.outputModel.exists())
        log = "".join(open(path).read() for path in taught.getLogPaths() if os.path.exists(path))
        self.assertIn("Teacher: ", log)  # the engine took it, not only the config
