"""Train the Selective FixMatch patch classifier from hand-picked coordinates."""
import json
import os

import pyworkflow.protocol.params as params
from pwem.protocols import ProtParticlePicking

from .. import Plugin
from ..engine.fixmatch.config import FixMatchConfig, save_config
from ..engine.io.plots import plot_fixmatch_history
from ..engine.io import files
from ..objects import CryopickModel
from .training_inputs import TrainingInputs

RUN_DIR = "fixmatch"  # train-fixmatch writes OUTPUT_DIR/EXP_NAME = extra/fixmatch


class CryopickProtTrainFixMatch(TrainingInputs, ProtParticlePicking):
    """Train a particle / background patch classifier (ResNet18) from a few hand-picked
    particles with Selective FixMatch: a supervised loss on the picked particles (and on
    random positions as background), and a consistency loss that makes a strongly distorted
    view of an unlabelled patch agree with a mean-teacher's confident verdict on a mildly
    distorted view. The model picks micrographs ('cryopick - pick particles') and, above all,
    re-scores the picks of any picker ('cryopick - re-score coordinates') to drop picks on
    carbon, ice and aggregates.
    """
    _label = "train FixMatch classifier"
    _possibleOutputs = {"outputModel": CryopickModel}

    def _defineParams(self, form):
        d = FixMatchConfig()
        ProtParticlePicking._defineParams(self, form)
        self._defineTrainingInputs(
            form, "Complete picks on a few other micrographs: validation AUC is then measured "
                  "on them (otherwise on a held-out share of the hand-picked particles), and "
                  "the picking threshold is set to the best F1.")
        form.addSection(label="Training")
        form.addParam("patchSize", params.IntParam, default=d.dataset.patch_size,
                      label="Patch size (px)",
                      help="Patch side at the working pixel size, where the particle spans "
                           f"{d.dataset.working_diameter:.0f} px. 128 (the original method) "
                           "sees 5 diameters of context; 64 is ~4x faster on a CPU.")
        form.addParam("batchSize", params.IntParam, default=d.dataset.batch_size,
                      label="Batch size", help="Unlabelled patches per step; labelled "
                                               "particles and background: a quarter each.")
        form.addParam("epochs", params.IntParam, default=d.training.epochs, label="Epochs")
        form.addParam("stepsPerEpoch", params.IntParam, default=d.training.steps_per_epoch,
                      label="Steps per epoch")
        form.addParam("earlyStoppingPatience", params.IntParam,
                      default=d.training.early_stopping_patience, label="Early stopping patience",
                      help="Stop when validation AUC has not improved for this many epochs.")
        form.addParam("learningRate", params.FloatParam, default=d.optimizer.lr,
                      label="Learning rate")
        form.addParam("weightDecay", params.FloatParam, default=d.optimizer.weight_decay,
                      expertLevel=params.LEVEL_ADVANCED, label="Weight decay")
        form.addParam("confidenceThreshold", params.FloatParam,
                      default=d.loss.confidence_threshold, label="Confidence threshold (tau)",
                      help="Unlabelled patches the teacher scores above tau (particle) or below "
                           "1 - tau (background) get pseudo-labels. Lower it (0.6-0.7) if the "
                           "mask rate stays under 10%.")
        form.addParam("consistencyWeight", params.FloatParam, default=d.loss.consistency_weight,
                      label="Consistency weight (lambda)")
        form.addParam("rampupEpochs", params.IntParam, default=d.loss.rampup_epochs,
                      label="Ramp-up epochs", help="lambda grows linearly from 0 over these.")
        form.addParam("backbone", params.EnumParam, choices=["resnet18", "resnet34", "resnet50"],
                      default=0, expertLevel=params.LEVEL_ADVANCED, label="Backbone")
        form.addParam("dropout", params.FloatParam, default=d.model.dropout,
                      expertLevel=params.LEVEL_ADVANCED, label="Dropout")
        form.addParam("emaDecay", params.FloatParam, default=d.model.ema_decay,
                      expertLevel=params.LEVEL_ADVANCED, label="EMA decay")
        form.addParam("randomNegatives", params.BooleanParam, default=True,
                      expertLevel=params.LEVEL_ADVANCED, label="Random positions as background?",
                      help="Use patches at random positions as background in the supervised "
                           "loss. No: the original positives-only loss, which can collapse "
                           "with few labels.")
        form.addParam("classBalanced", params.BooleanParam, default=True,
                      expertLevel=params.LEVEL_ADVANCED, label="Class-balanced consistency?",
                      help="Average the consistency loss per pseudo-class so the abundant "
                           "background cannot drown the confident particles.")
        form.addParam("candidateFraction", params.FloatParam,
                      default=d.dataset.candidate_fraction, expertLevel=params.LEVEL_ADVANCED,
                      label="Share of blob-centred unlabelled patches")
        form.addParam("randomSeed", params.IntParam, default=0,
                      expertLevel=params.LEVEL_ADVANCED, label="Random seed")
        form.addParallelSection(threads=2, mpi=0)

    # ------------------------------------------------------------------ steps
    def _insertAllSteps(self):
        self._insertFunctionStep(self.convertInputStep.__name__,
                                 self.inputMicrographs.getUniqueId(),
                                 self.inputCoordinates.getUniqueId(), needsGPU=False)
        self._insertFunctionStep(self.trainStep.__name__)
        self._insertFunctionStep(self.createOutputStep.__name__, needsGPU=False)

    def _config(self):
        sampling = self.inputMicrographs.get().getSamplingRate()
        cfg = FixMatchConfig()
        d, m, lo, o, t = cfg.dataset, cfg.model, cfg.loss, cfg.optimizer, cfg.training
        d.image_dir, d.coords_file, val_mics, val_labels = self._trainingFiles()
        if self._hasValidation():
            d.val_image_dir, d.val_coords_file = val_mics, val_labels
        d.particle_diameter = self._diameterA() / sampling
        d.pixel_size = sampling
        d.patch_size = self.patchSize.get()
        d.batch_size = self.batchSize.get()
        d.candidate_fraction = self.candidateFraction.get()
        d.num_workers = self.numberOfThreads.get()
        m.backbone = self.getEnumText("backbone")
        m.dropout, m.ema_decay = self.dropout.get(), self.emaDecay.get()
        lo.confidence_threshold = self.confidenceThreshold.get()
        lo.consistency_weight = self.consistencyWeight.get()
        lo.rampup_epochs = self.rampupEpochs.get()
        lo.negatives = "random" if self.randomNegatives.get() else "none"
        lo.class_balanced = bool(self.classBalanced.get())
        o.lr, o.weight_decay = self.learningRate.get(), self.weightDecay.get()
        t.epochs, t.steps_per_epoch = self.epochs.get(), self.stepsPerEpoch.get()
        t.early_stopping_patience = self.earlyStoppingPatience.get()
        t.seed, t.threads = self.randomSeed.get(), self.numberOfThreads.get()
        return cfg

    def trainStep(self):
        save_config(self._config().validate(), self._getExtraPath(files.FIXMATCH_CONFIG))
        device = "auto:%(GPU)s" if self.useGpu.get() else "cpu"
        python, cli = Plugin.getCliArgs("train-fixmatch")
        args = (f"{cli} --config {os.path.abspath(self._getExtraPath(files.FIXMATCH_CONFIG))} "
                f"--output-dir {os.path.abspath(self._getExtraPath())} --exp-name {RUN_DIR} "
                f"--device {device}")
        if os.path.exists(self._getExtraPath(RUN_DIR, files.LAST_CHECKPOINT)):
            args += " --resume"  # Continue: pick up after the last finished epoch
        self.runJob(python, args, numberOfThreads=1)

    def createOutputStep(self):
        results = self._results()
        plot_fixmatch_history(results, self._getExtraPath("training_history.png"))
        model = CryopickModel(
            path=os.path.abspath(self._getExtraPath(RUN_DIR, files.FIXMATCH_BEST_EMA)),
            method="fixmatch")
        model.setParticleDiameter(self._diameterA())
        model.setSamplingRate(self.inputMicrographs.get().getSamplingRate())
        self._defineOutputs(outputModel=model)
        self._defineSourceRelation(self.inputCoordinates, model)

    # ------------------------------------------------------------------ info
    def _results(self):
        path = self._getExtraPath(RUN_DIR, files.FIXMATCH_RESULTS)
        if not os.path.exists(path):
            return None
        with open(path) as fh:
            return json.load(fh)

    def _validate(self):
        errors = self._validateTrainingInputs()
        if self.inputMicrographs.get() is not None and self.inputCoordinates.get() is not None:
            try:
                cfg = self._config()
                cfg.validate()
            except Exception as exc:  # CryopickInputError names the parameter
                errors.append(str(exc))
        return errors

    def _summary(self):
        r = self._results()
        if r is None:
            return ["Training not finished yet."]
        te = r["test"]["ema"]
        return [f"{r['n_labels']} labelled particles, {r['n_micrographs']} micrographs; "
                f"{len(r['history'])} epochs in {r['seconds']:.0f} s"
                + (" (early stop)" if r["stopped_early"] else ""),
                f"Best validation AUC {r['best_auc_ema']:.3f} (EMA teacher, epoch "
                f"{r['best_epoch_ema']}); validation: {r['validation']}",
                f"Test ({r['test_set']}): AUC {te['auc']:.3f}, F1 {te['f1']:.3f}, mask rate "
                f"{100 * te['mask_rate']:.0f}%",
                f"Picking threshold: {r['pick_threshold']:.3f}"]

    def _methods(self):
        r = self._results()
        if r is None:
            return []
        c = r["config"]
        return [f"A {c['model']['backbone']} patch classifier was trained from {r['n_labels']} "
                f"hand-picked particles with Selective FixMatch [Sohn2020] and a mean teacher "
                f"[Tarvainen2017] (confidence threshold {c['loss']['confidence_threshold']}, "
                f"consistency weight {c['loss']['consistency_weight']} ramped over "
                f"{c['loss']['rampup_epochs']} epochs)."]

    def _citations(self):
        return ["Sohn2020", "Tarvainen2017"]
