"""Scipion chain import -> train U-Net -> pick -> evaluate, launched as Scipion launches it.

Easy synthetic data (high SNR) and a small, short training: the test checks that the chain
works and that the picker learned (F1 far above what random picks give), not its accuracy;
the benchmark measures that.
"""
import os

from pyworkflow.tests import BaseTest, setupTestProject

from cryopick_plugin.constants import SCORE_ATTR
from cryopick_plugin.engine.unet.picker import UNetPicker
from cryopick_plugin.protocols import CryopickProtEvaluate, CryopickProtPick, CryopickProtTrainUNet
from cryopick_plugin.tests.tiny_data import import_tiny_project


class TestUNetChain(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        import_tiny_project(cls)

    def test_warnings_before_a_slow_or_weak_training(self):
        n = self.imp.outputCoordinates.getSize()
        self.assertGreaterEqual(n, 15)  # enough for pseudo-particles by default
        common = dict(inputMicrographs=self.imp.outputMicrographs,
                      inputCoordinates=self.imp.outputCoordinates)
        wide_cpu = self.newProtocol(CryopickProtTrainUNet, baseFeatures=64, useGpu=False,
                                    **common).warnings()
        self.assertEqual(len(wide_cpu), 1, wide_cpu)
        self.assertIn("base features 64 on the CPU", wide_cpu[0])
        narrow = self.newProtocol(CryopickProtTrainUNet, baseFeatures=16, useGpu=False,
                                  **common).warnings()
        self.assertEqual(narrow, [])
        wide_gpu = self.newProtocol(CryopickProtTrainUNet, baseFeatures=64, useGpu=True,
                                    **common).warnings()
        self.assertFalse(any("CPU" in w for w in wide_gpu), wide_gpu)
        # fewer labels than pseudo-particles need: said before the run, with what to do
        few = self.newProtocol(CryopickProtTrainUNet, baseFeatures=16, useGpu=False,
                               pseudoParticleMinLabels=n + 1, **common).warnings()
        self.assertEqual(len(few), 1, few)
        self.assertIn(f"Only {n} hand-picked particles, fewer than {n + 1}", few[0])
        self.assertIn("combine them", few[0])
        # the seed's pixel rule takes pseudo-positives whatever the count: no such warning
        pixels = self.newProtocol(CryopickProtTrainUNet, baseFeatures=16, useGpu=False,
                                  pseudoParticleMinLabels=n + 1, pseudoLabels=1,
                                  **common).warnings()
        self.assertEqual(pixels, [])

    def test_the_form_reaches_the_command_line(self):
        """A setting of the form becomes its train-unet flag (the engine's config in between);
        left at its default, no flag (the command line's default is the same)."""
        common = dict(inputMicrographs=self.imp.outputMicrographs,
                      inputCoordinates=self.imp.outputCoordinates, useGpu=False)
        seed = self.newProtocol(CryopickProtTrainUNet, confirmPseudoParticles=False, **common)
        self.assertIn("--no-confirm-pseudo-particles", seed._trainArgs().split())
        default = self.newProtocol(CryopickProtTrainUNet, **common)
        self.assertFalse(any("confirm-pseudo" in a for a in default._trainArgs().split()))
        centred = self.newProtocol(CryopickProtTrainUNet, centreLabels=True, **common)
        self.assertIn("--centre-labels", centred._trainArgs().split())
        self.assertFalse(any("centre-labels" in a for a in default._trainArgs().split()))

    def test_train_pick_evaluate(self):
        train = self.newProtocol(CryopickProtTrainUNet,
                                 inputMicrographs=self.imp.outputMicrographs,
                                 inputCoordinates=self.imp.outputCoordinates,
                                 initialEpochs=12, selfTrainingIterations=1, retrainEpochs=3,
                                 baseFeatures=8, batchSize=8, cropsPerImage=8,
                                 pseudoLabelViews=2, useGpu=False,
                                 pseudoParticleMinLabels=self.imp.outputCoordinates.getSize() + 1)
        self.launchProtocol(train)
        model = train.outputModel
        self.assertTrue(model.exists())
        self.assertAlmostEqual(model.getParticleDiameter(), 64.0, delta=2.0)  # box 48 px / 1.5 * 2 A/px
        for name in ("baseline_model.pt", "model_iteration_1.pt", "final_model.pt",
                     "training_summary.json"):
            self.assertTrue(os.path.exists(train._getExtraPath("model", name)), name)
        self.assertTrue(os.path.exists(train._getExtraPath("training_history.png")))
        summary = "\n".join(train.summary())
        self.assertIn("self-training iterations", summary)
        # the form's values went through the command line into the run (the default views
        # are 8, and the labels are enough for pseudo-particles by default)
        methods = "\n".join(train.methods())
        self.assertIn("mean probability map of 2 symmetric views", methods)
        n = self.imp.outputCoordinates.getSize()
        self.assertIn("Self-training round 1: 0 pseudo-particles", summary)
        self.assertIn(f"(no pseudo-particles: {n} hand-picked particles, fewer than {n + 1}",
                      summary)
        self.assertIn("pseudo-labels of background only", methods)

        pick = self.newProtocol(CryopickProtPick, inputMicrographs=self.imp.outputMicrographs,
                                inputModel=model, useGpu=False,
                                streamingBatchSize=2, views=2)
        self.launchProtocol(pick)
        # the form's views went into the command the run launched, and into its methods
        log = ""
        for path in pick.getLogPaths():
            if os.path.exists(path):
                with open(path) as fh:
                    log += fh.read()
        self.assertIn("--views 2", log)
        self.assertIn("scored in 2 symmetric views", "\n".join(pick.methods()))
        coords = pick.outputCoordinates
        self.assertGreater(coords.getSize(), 0)
        self.assertEqual(coords.getBoxSize(), 48)  # 1.5 * 64 A / 2 A/px
        scores = [getattr(c, SCORE_ATTR).get() for c in coords]
        threshold = UNetPicker.load(model.getPath()).threshold  # chosen from the labels
        self.assertTrue(0 < threshold < 1)
        self.assertTrue(all(threshold - 1e-4 <= s <= 1 for s in scores))
        self.assertEqual(len({c.getMicId() for c in coords}), 3)  # every micrograph picked

        evaluation = self.newProtocol(CryopickProtEvaluate, inputCoordinates=coords,
                                      referenceCoordinates=self.truth.outputCoordinates,
                                      particleDiameter=64.0)
        self.launchProtocol(evaluation)
        overall = evaluation.getResult()["overall"]
        # match discs cover ~16% of these micrographs, so random picks score F1 < 0.2;
        # a picker that learned does far better even after this very short training
        self.assertGreater(overall["f1"], 0.45, overall)
        # AP of the kept picks only (the threshold cuts the ranking, so AP <= recall) after a
        # very short training; random picks would give about 0.05
        self.assertGreater(overall["ap"], 0.2, overall)


def test_the_summary_says_when_a_round_kept_the_rest_unlabelled():
    from cryopick_plugin.protocols.protocol_train_unet import _round_line
    round_ = dict(iteration=2, pseudo_particles=40, reliable_negative_coverage=0.0,
                  pseudo_particles_held_back=None, retrain_rest="unlabelled")
    assert _round_line(round_) == ("Self-training round 2: 40 pseudo-particles, 0% of the "
                                   "pixels reliable background; the other pixels retrained as "
                                   "unlabelled (PU objective)")
    assert "unlabelled" not in _round_line(dict(round_, retrain_rest="ignored"))
    assert "unlabelled" not in _round_line(dict(round_, retrain_rest=None))  # older models


def test_the_summary_says_which_particle_count_the_training_used():
    from cryopick_plugin.protocols.protocol_train_unet import _count_line
    given = dict(config=dict(expected_particles=150.0), expected_particles=150.0)
    assert _count_line(given) == "Particles per micrograph: 150 (given)"
    estimated = dict(config=dict(expected_particles=0.0), expected_particles=296.4)
    assert _count_line(estimated).startswith(
        "Particles per micrograph: about 296, estimated by the U-Net from the labels (check it")
    counted = dict(estimated, count_origin="classifier")
    assert _count_line(counted).startswith(
        "Particles per micrograph: about 296, counted by the classifier from the labels")
    implausible = dict(config=dict(expected_particles=0.0), expected_particles=None)
    assert _count_line(implausible).startswith("Particles per micrograph: unknown")
