"""Train the U-Net self-training picker from hand-picked coordinates."""
import json
import os

import pyworkflow.protocol.params as params
from pwem.protocols import ProtParticlePicking

from .. import Plugin
from ..engine.errors import CryopickInputError
from ..engine.io import files
from ..engine.io.plots import plot_training_history
from ..engine.unet.config import UNetTrainConfig, to_flags
from ..objects import CryopickModel
from .training_inputs import TrainingInputs

MODEL_DIR = "model"
FEW_LABELS = 50  # below this the U-Net was weak in the benchmark (8 and 30 labels)


class CryopickProtTrainUNet(TrainingInputs, ProtParticlePicking):
    """Train a U-Net particle picker from a few hand-picked particles (positive-unlabelled).

    The picked coordinates become disc masks; a U-Net learns particle against background on
    the labelled micrographs; then, for a number of self-training iterations, every input
    micrograph is predicted, confident pixels become pseudo-labels (above the positive
    threshold: particle, below the negative threshold: background, in between: ignored) and
    the network is retrained with a loss that skips ignored pixels. Micrographs are binned
    so that the particle spans about 24 pixels, which makes training fast and independent of
    the acquisition pixel size. Output: a cryopick model for the cryopick picking protocol,
    usable in this or any other project.
    """
    _label = "train U-Net picker"
    _possibleOutputs = {"outputModel": CryopickModel}

    def _defineParams(self, form):
        ProtParticlePicking._defineParams(self, form)
        self._defineTrainingInputs(
            form, "Complete picks on a few other micrographs. Gives precision, recall and F1 "
                  "after each iteration, and sets the picking threshold to the best F1.")
        form.addParam("particleRadius", params.FloatParam, default=0.0,
                      label="Particle radius (px)", expertLevel=params.LEVEL_ADVANCED,
                      help="Radius of the label discs in micrograph pixels. 0: half the "
                           "particle diameter.")
        form.addSection(label="Training")
        form.addParam("initialEpochs", params.IntParam, default=50, label="Initial epochs",
                      help="Epochs of supervised training before self-training.")
        form.addParam("selfTrainingIterations", params.IntParam, default=5,
                      label="Self-training iterations")
        form.addParam("retrainEpochs", params.IntParam, default=20,
                      label="Epochs per self-training iteration")
        form.addParam("learningRate", params.FloatParam, default=0.001, label="Learning rate")
        form.addParam("batchSize", params.IntParam, default=4, label="Batch size")
        form.addParam("positiveThreshold", params.FloatParam, default=0.95,
                      label="Positive threshold",
                      help="Pixels predicted above it become pseudo-particles. Higher: fewer, "
                           "cleaner pseudo-labels (0.90-0.98).")
        form.addParam("negativeThreshold", params.FloatParam, default=0.05,
                      label="Negative threshold",
                      help="Pixels predicted below it become reliable background (0.02-0.10).")
        form.addParam("negativeQuantile", params.FloatParam, default=0.5,
                      expertLevel=params.LEVEL_ADVANCED, label="Negative quantile",
                      help="Also use the least particle-like pixels of each micrograph, up to "
                           "this quantile, as reliable background. Keeps self-training from "
                           "retraining on particles only when the first model is not yet "
                           "confident. 0: only the negative threshold (the original method).")
        form.addParam("baseFeatures", params.IntParam, default=64,
                      expertLevel=params.LEVEL_ADVANCED, label="U-Net base features",
                      help="Width of the U-Net: 64 (the original method) gives ~31M "
                           "parameters. 16 trains ~11x and picks ~5x faster on a CPU. In our "
                           "benchmark 64 was clearly better with a few hundred labels and less "
                           "stable with a few dozen (docs/benchmarks.md).")
        form.addParam("cropsPerImage", params.IntParam, default=8,
                      expertLevel=params.LEVEL_ADVANCED, label="Crops per micrograph per epoch")
        form.addParam("randomSeed", params.IntParam, default=0,
                      expertLevel=params.LEVEL_ADVANCED, label="Random seed")
        form.addParallelSection(threads=2, mpi=0)

    # ------------------------------------------------------------------ steps
    def _insertAllSteps(self):
        self._insertFunctionStep(self.convertInputStep.__name__,
                                 self.inputMicrographs.getUniqueId(),
                                 self.inputCoordinates.getUniqueId(), needsGPU=False)
        self._insertFunctionStep(self.trainStep.__name__, self._trainArgs())
        self._insertFunctionStep(self.createOutputStep.__name__, needsGPU=False)

    def _config(self):
        """The engine's UNetTrainConfig from the form (the engine holds the defaults and rules)."""
        sampling = self.inputMicrographs.get().getSamplingRate()
        return UNetTrainConfig(
            particle_diameter=round(self._diameterA() / sampling, 3),
            particle_radius=self.particleRadius.get() or None, pixel_size=sampling,
            initial_epochs=self.initialEpochs.get(),
            self_training_iterations=self.selfTrainingIterations.get(),
            retrain_epochs=self.retrainEpochs.get(), learning_rate=self.learningRate.get(),
            batch_size=self.batchSize.get(), positive_threshold=self.positiveThreshold.get(),
            negative_threshold=self.negativeThreshold.get(),
            negative_quantile=self.negativeQuantile.get(),
            base_features=self.baseFeatures.get(), crops_per_image=self.cropsPerImage.get(),
            seed=self.randomSeed.get())

    def _trainArgs(self):
        mics, labels, val_mics, val_labels = self._trainingFiles()
        args = [f"--image-dir {mics}", f"--coords-file {labels}",
                f"--output-dir {self._getExtraPath(MODEL_DIR)}",
                *to_flags(self._config().validate()), f"--threads {self.numberOfThreads.get()}"]
        if self._hasValidation():
            args += [f"--val-image-dir {val_mics}", f"--val-coords-file {val_labels}"]
        return " ".join(args)

    def trainStep(self, args):
        # auto: the step's GPU when one is visible, else the CPU (said in the log)
        device = "auto:%(GPU)s" if self.useGpu.get() else "cpu"
        if os.path.exists(self._getExtraPath(MODEL_DIR, files.LAST_CHECKPOINT)):
            args += " --resume"  # Continue: pick up after the last finished phase
        python, cli = Plugin.getCliArgs("train-unet")
        self.runJob(python, f"{cli} {args} --device {device}", numberOfThreads=1)

    def createOutputStep(self):
        model_dir = self._getExtraPath(MODEL_DIR)
        with open(os.path.join(model_dir, files.UNET_SUMMARY)) as fh:
            summary = json.load(fh)
        plot_training_history(summary, self._getExtraPath("training_history.png"))
        model = CryopickModel(path=os.path.abspath(os.path.join(model_dir, files.UNET_FINAL)),
                              method="unet")
        model.setParticleDiameter(self._diameterA())
        model.setSamplingRate(self.inputMicrographs.get().getSamplingRate())
        self._defineOutputs(outputModel=model)
        self._defineSourceRelation(self.inputCoordinates, model)

    # ------------------------------------------------------------------ info
    def _validate(self):
        errors = self._validateTrainingInputs()
        if self.inputMicrographs.get() is not None and self.inputCoordinates.get() is not None:
            try:
                self._config().validate()
            except CryopickInputError as exc:  # names the setting
                errors.append(str(exc))
        return errors

    def _warnings(self):
        # measured in docs/benchmarks.md (2 CPU cores, 1024 px micrographs, 4 for training)
        warnings = []
        if not self.useGpu.get() and self.baseFeatures.get() >= 48:
            warnings.append(
                f"U-Net base features {self.baseFeatures.get()} on the CPU: in our benchmark "
                "base 64 trained 11-12x longer than base 16 (about 17 min against 1.5 min) and "
                "picked 5-6x slower. Consider base 16, or Use GPU.")
        n_labels = self.inputCoordinates.get().getSize() if self.inputCoordinates.get() else 0
        if 0 < n_labels < FEW_LABELS:
            warnings.append(
                f"Only {n_labels} hand-picked particles: in our benchmark the U-Net picked "
                "poorly from a few dozen labels (F1 0.29 from 8, 0.62 from 30) and the "
                "FixMatch classifier (train FixMatch classifier) much better (0.85, 0.82).")
        return warnings

    def _summarySource(self):
        path = self._getExtraPath(MODEL_DIR, files.UNET_SUMMARY)
        if not os.path.exists(path):
            return None
        with open(path) as fh:
            return json.load(fh)

    def _summary(self):
        s = self._summarySource()
        if s is None:
            return ["Training not finished yet."]
        lines = [f"{s['n_labels']} labelled particles on {s['n_labelled_micrographs']} of "
                 f"{s['n_micrographs']} micrographs; binning {s['working_factor']:.2f}x; "
                 f"{len(s['iterations']) - 1} self-training iterations in {s['seconds']:.0f} s",
                 f"Picking threshold: {s['pick_threshold']:.3f}"]
        for it in s["iterations"]:
            v = it.get("validation")
            if v:
                lines.append(f"Iteration {it['iteration']}: validation P {v['precision']:.3f} "
                             f"R {v['recall']:.3f} F1 {v['f1']:.3f} AP {v['ap']:.3f}")
        return lines

    def _methods(self):
        s = self._summarySource()
        if s is None:
            return []
        c = s["config"]
        return [f"A U-Net [Ronneberger2015] was trained to segment particles from "
                f"{s['n_labels']} hand-picked coordinates, followed by "
                f"{c['self_training_iterations']} rounds of self-training with pseudo-labels "
                f"above {c['positive_threshold']} and below {c['negative_threshold']}."]

    def _citations(self):
        return ["Ronneberger2015"]
