"""Scipion chain: train a U-Net and a classifier on the same labels, combine, pick.

Very short trainings: the test checks that the protocols chain and that the combined model
is what the combine step wrote (both members, its threshold from the count), not accuracy.
"""
from pyworkflow.tests import BaseTest, setupTestProject

from cryopick_plugin.engine.io.files import read_torch_file
from cryopick_plugin.engine.picking.fusion import classifier_weight_for
from cryopick_plugin.protocols import (CryopickProtCombine, CryopickProtPick,
                                       CryopickProtTrainFixMatch, CryopickProtTrainUNet)
from cryopick_plugin.tests.tiny_data import import_tiny_project


class TestCombineChain(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        import_tiny_project(cls)

    def test_train_both_combine_and_pick(self):
        inputs = dict(inputMicrographs=self.imp.outputMicrographs,
                      inputCoordinates=self.imp.outputCoordinates, useGpu=False)
        unet = self.newProtocol(CryopickProtTrainUNet, initialEpochs=4,
                                selfTrainingIterations=1, retrainEpochs=1, baseFeatures=4,
                                batchSize=8, cropsPerImage=4, **inputs)
        self.launchProtocol(unet)
        classifier = self.newProtocol(CryopickProtTrainFixMatch, batchSize=16, epochs=2,
                                      stepsPerEpoch=3, rampupEpochs=1, **inputs)
        self.launchProtocol(classifier)

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
        self.assertEqual(state["extra"]["threshold_origin"], "count")
        self.assertIn("from the particle count", "\n".join(combine.summary()))

        pick = self.newProtocol(CryopickProtPick, inputMicrographs=self.imp.outputMicrographs,
                                inputModel=model, useGpu=False)
        self.launchProtocol(pick)
        self.assertGreater(pick.outputCoordinates.getSize(), 0)
        self.assertIn("averaged maps", "\n".join(pick.methods()))
