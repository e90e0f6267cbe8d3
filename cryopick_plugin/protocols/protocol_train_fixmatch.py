"""Train the Selective FixMatch patch classifier from hand-picked coordinates."""
import json
import os

import pyworkflow.protocol.params as params
from pwem.protocols import ProtParticlePicking

from .. import Plugin
from ..engine.fixmatch.config import (BACKBONES, COMPACT_WINDOW, NEGATIVES, FixMatchConfig,
                                      save_config)
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
        # grouped like the YAML configuration (config.yaml in the run folder)
        form.addSection(label="Training settings")
        group = form.addGroup("Dataset", help="config.yaml section dataset:")
        group.addParam("patchSize", params.IntParam, default=d.dataset.patch_size,
                       label="Patch size (px)",
                       help="ResNet backbones only (the default compact network sees its own "
                            f"{COMPACT_WINDOW} px window). Patch side at the working pixel "
                            "size, where the particle spans "
                            f"{d.dataset.working_diameter:.0f} px. Default "
                            f"{d.dataset.patch_size}, the original method's: 5 diameters of "
                            "context. 64 is ~4x faster on a CPU (our CPU benchmark used "
                            "64); keep 128 on a GPU.")
        group.addParam("batchSize", params.IntParam, default=d.dataset.batch_size,
                       label="Batch size",
                       help="Unlabelled patches per step; labelled particles and background "
                            f"patches: a quarter of it each. Default {d.dataset.batch_size}, "
                            "the original method's. Lower it (16-32) on a CPU or with little "
                            "GPU memory; larger batches give steadier consistency losses.")
        group.addParam("candidateFraction", params.FloatParam,
                       default=d.dataset.candidate_fraction, expertLevel=params.LEVEL_ADVANCED,
                       label="Share of blob-centred unlabelled patches",
                       help="Share of the unlabelled patches centred on particle-sized blobs "
                            "(the rest are at random positions). Default "
                            f"{d.dataset.candidate_fraction} (ours); the original method: 0. "
                            "Without it nearly every unlabelled patch is background and the "
                            "consistency loss only ever confirms 'background'. Lower it if "
                            "the micrographs are full of blob-like junk.")
        group.addParam("positiveShift", params.FloatParam,
                       default=d.dataset.positive_shift, expertLevel=params.LEVEL_ADVANCED,
                       label="Off-centre positives (share of the diameter)",
                       help="At every training step each hand-picked particle is cut at its "
                            "click moved by a fresh random offset: normal, this share of the "
                            "particle diameter in x and in y. Hand-picked clicks sit a few "
                            "pixels off centre, and picking scores a grid whose nodes mostly "
                            "fall between particle centres: a classifier that only ever saw "
                            "exact centres scores those lower. On simulated micrographs 0.1 "
                            "raised the classifier's AP in 10 of 12 combinations of particle "
                            "type and label budget, but with 8 labels of an irregular particle "
                            "it lost (docs/benchmarks.md, \"Shifted positives for the "
                            f"classifier\"). Default {d.dataset.positive_shift}: the patches "
                            "exactly at the clicks (the original method). Within [0, 0.5].")
        group = form.addGroup("Model", expertLevel=params.LEVEL_ADVANCED,
                              help="config.yaml section model:")
        group.addParam("backbone", params.EnumParam, choices=list(BACKBONES),
                       default=BACKBONES.index(d.model.backbone),
                       expertLevel=params.LEVEL_ADVANCED, label="Backbone",
                       help=f"The classifier's network. Default {d.model.backbone} (ours): a "
                            "small unpadded network (0.3 M parameters) that scores a whole "
                            "micrograph in one pass, the same scores as patch by patch: under "
                            "a second per micrograph on a CPU instead of minutes, and ~10x "
                            f"faster training. It sees a fixed {COMPACT_WINDOW} px window (about "
                            "3 particle diameters), so the patch size is not used. resnet18: the "
                            "original method's (11 M parameters, patch by patch); deeper "
                            "ones (34, 50) are slower and need more labels.")
        group.addParam("dropout", params.FloatParam, default=d.model.dropout,
                       expertLevel=params.LEVEL_ADVANCED, label="Dropout",
                       help="Dropout before the classifier's output layer. Default "
                            f"{d.model.dropout}, the original method's. Raise it (0.5) when "
                            "validation AUC falls while the losses keep falling (overfitting "
                            "a few labels); lower it with many labels.")
        group.addParam("emaDecay", params.FloatParam, default=d.model.ema_decay,
                       expertLevel=params.LEVEL_ADVANCED, label="EMA decay",
                       help="How slowly the mean teacher (which gives the pseudo-labels and "
                            "is the model kept) follows the student: it averages about "
                            "1 / (1 - decay) steps. Default "
                            f"{d.model.ema_decay}, the original method's, with a warm-up. "
                            "For short trainings (a few hundred steps in all) lower it (0.99) "
                            "so the teacher keeps up.")
        group = form.addGroup("Loss", help="config.yaml section loss:")
        group.addParam("confidenceThreshold", params.FloatParam,
                       default=d.loss.confidence_threshold, label="Confidence threshold (tau)",
                       help="Unlabelled patches the teacher scores above tau (particle) or "
                            "below 1 - tau (background) get pseudo-labels. Default "
                            f"{d.loss.confidence_threshold}, the original method's. Lower it "
                            "(0.6-0.7) if the mask rate (Analyze Results) stays under 10%; "
                            "raise it if pseudo-labels look wrong.")
        group.addParam("consistencyWeight", params.FloatParam,
                       default=d.loss.consistency_weight, label="Consistency weight (lambda)",
                       help="Weight of the consistency loss on unlabelled patches against the "
                            "supervised loss, reached after the ramp-up. Default "
                            f"{d.loss.consistency_weight}, the original method's. Lower it "
                            "(0.3-0.5) if validation AUC falls once lambda is up (the teacher "
                            "confirming its own mistakes); 0 trains on the labels only.")
        group.addParam("rampupEpochs", params.IntParam, default=d.loss.rampup_epochs,
                       label="Ramp-up epochs",
                       help="lambda grows linearly from 0 to the consistency weight over these "
                            f"epochs. Default {d.loss.rampup_epochs}, the original method's. "
                            "Keep it about a fifth of the epochs; shorten it with short "
                            "trainings.")
        group.addParam("negatives", params.EnumParam, choices=list(NEGATIVES),
                       default=NEGATIVES.index(d.loss.negatives),
                       expertLevel=params.LEVEL_ADVANCED, label="Random positions are",
                       help="What patches at random positions teach the supervised loss. "
                            "random: background (default, ours). none: nothing, the original "
                            "positives-only loss, which can collapse to 'everything is a "
                            "particle' with few labels. pu: unlabelled, a known share of them "
                            "on a particle (positive-unlabelled risk): for crowded micrographs, "
                            "where a third of the random positions sit on an unpicked "
                            "particle; needs Particles per micrograph.")
        group.addParam("expectedParticles", params.FloatParam,
                       default=d.dataset.expected_particles,
                       expertLevel=params.LEVEL_ADVANCED, label="Particles per micrograph",
                       help="About how many particles one micrograph holds (count a few by "
                            "eye; like Topaz's -n). The picking threshold then keeps 15% more "
                            "picks than particles on the training micrographs (as the U-Net's "
                            "does), and 'pu' takes from it the share of random positions that "
                            "land on a particle. 0 (default): unknown; the classifier counts "
                            "the particles from its picks and the labels (the fewest they "
                            "allow) and keeps that count, on the training micrographs without "
                            "labels if any. Trained without a count, "
                            "this classifier can count the particles for the U-Net (its form's "
                            "'Classifier to count the particles') and for 'combine'.")
        group.addParam("classBalanced", params.BooleanParam, default=True,
                       expertLevel=params.LEVEL_ADVANCED, label="Class-balanced consistency?",
                       help="Average the consistency loss per pseudo-class so the abundant "
                            "background cannot drown the confident particles. Default Yes "
                            "(ours); No: the original method.")
        group = form.addGroup("Optimizer", help="config.yaml section optimizer:")
        group.addParam("learningRate", params.FloatParam, default=d.optimizer.lr,
                       label="Learning rate",
                       help=f"Adam learning rate. Default {d.optimizer.lr}, the original "
                            "method's. Lower it (0.0003) when the losses are noisy or "
                            "validation AUC swings between epochs.")
        group.addParam("weightDecay", params.FloatParam, default=d.optimizer.weight_decay,
                       expertLevel=params.LEVEL_ADVANCED, label="Weight decay",
                       help="L2 penalty on the weights (Adam's weight_decay). Default "
                            f"{d.optimizer.weight_decay}, the original method's. Raise it "
                            "(0.001) against overfitting with very few labels.")
        group = form.addGroup("Training", help="config.yaml section training:")
        group.addParam("epochs", params.IntParam, default=d.training.epochs, label="Epochs",
                       help="Maximum number of epochs; training stops earlier when validation "
                            f"AUC stops improving (early stopping). Default "
                            f"{d.training.epochs}, the original method's. Our CPU benchmark "
                            "trained 30 epochs of 20 steps (64 px patches, batch 32); watch "
                            "validation AUC in Analyze Results to see if more would help.")
        group.addParam("stepsPerEpoch", params.IntParam, default=d.training.steps_per_epoch,
                       label="Steps per epoch",
                       help="Batches per epoch; validation AUC is measured and a checkpoint "
                            "written after each epoch. Default "
                            f"{d.training.steps_per_epoch} (ours). Raise it with many "
                            "micrographs so an epoch sees more of them between validations.")
        group.addParam("earlyStoppingPatience", params.IntParam,
                       default=d.training.early_stopping_patience,
                       label="Early stopping patience",
                       help="Stop when validation AUC has not improved for this many epochs. "
                            f"Default {d.training.early_stopping_patience}, the original "
                            "method's. Set it above the epochs to always train them all.")
        group.addParam("randomSeed", params.IntParam, default=0,
                       expertLevel=params.LEVEL_ADVANCED, label="Random seed",
                       help="Seed of the weight initialisation, patch sampling and "
                            "augmentation. Default 0. The same seed and inputs repeat a run "
                            "exactly; change it to see how much a result owes to chance.")
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
        d.positive_shift = self.positiveShift.get()
        d.num_workers = self.numberOfThreads.get()
        m.backbone = self.getEnumText("backbone")
        m.dropout, m.ema_decay = self.dropout.get(), self.emaDecay.get()
        lo.confidence_threshold = self.confidenceThreshold.get()
        lo.consistency_weight = self.consistencyWeight.get()
        lo.rampup_epochs = self.rampupEpochs.get()
        lo.negatives = NEGATIVES[self.negatives.get()]
        d.expected_particles = self.expectedParticles.get()
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
        import shlex  # every path quoted: a project folder may be "my project"

        q = lambda path: shlex.quote(os.path.abspath(path))  # noqa: E731
        args = (f"{cli} --config {q(self._getExtraPath(files.FIXMATCH_CONFIG))} "
                f"--output-dir {q(self._getExtraPath())} --exp-name {RUN_DIR} "
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
