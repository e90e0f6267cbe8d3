"""Train the U-Net self-training picker from hand-picked coordinates."""
import json
import os

import pyworkflow.protocol.params as params
from pwem.protocols import ProtParticlePicking

from .. import Plugin
from ..engine.errors import CryopickInputError
from ..engine.io import files
from ..engine.io.plots import plot_training_history
from ..engine.unet.config import (OBJECTIVES, PSEUDO_LABELS, RETRAIN_REST, UNetTrainConfig,
                                  to_flags)
from ..objects import CryopickModel
from .training_inputs import TrainingInputs, host_gpu_note, host_has_gpu

MODEL_DIR = "model"
DEFAULTS = UNetTrainConfig()  # the engine holds every default


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
                      help="Radius of the label discs drawn on the hand-picked particles, in "
                           "micrograph pixels. 0 (default): half the particle diameter (the "
                           "original method's default, without a diameter, is 10 px). Lower "
                           "it (to ~1/3 diameter) for elongated or touching particles, so "
                           "the discs do not cover background.")
        form.addParam("centreLabels", params.BooleanParam, default=DEFAULTS.centre_labels,
                      label="Centre the hand-picked particles?",
                      expertLevel=params.LEVEL_ADVANCED,
                      help="Before training, move each hand-picked particle to where the mean "
                           "of all of them (averaged over rotations) matches the micrograph "
                           "best, at most a quarter diameter from the click, if the match there "
                           "is clearly better than at the click (with 15 or more particles). "
                           "Clicks a few pixels off centre make the label discs bridge "
                           "touching particles. On simulated clicks 0.1 diameter off "
                           "(docs/benchmarks.md, \"Hand-picked labels off centre\" and the "
                           "section before it) it brought round particles' labels back to "
                           "within 0.03-0.04 diameter, and with 625 clicks on a crowded "
                           "specimen it recovered the AP they cost. Exact clicks on large or "
                           "irregular particles mostly stay where they are. "
                           "Off by default until measured on more data: use it for small "
                           "round particles picked by hand.")
        form.addSection(label="Training")
        group = form.addGroup("Objective", help="What the network learns from the labels.")
        group.addParam("expectedParticles", params.FloatParam,
                       default=DEFAULTS.expected_particles, label="Particles per micrograph",
                       help="About how many particles a micrograph holds (like Topaz's -n); a "
                            "rough count is enough. The positive-unlabelled objective uses it "
                            "to know what share of the unpicked area is particle, and "
                            "self-training never adds more pseudo-particles than it leaves, "
                            "and the picking threshold keeps 15% more picks than particles on "
                            "the training micrographs (as many as a classifier counts). "
                            "0 (default): estimated from the labels, by the classifier below "
                            "if you give one, else by the U-Net halfway through phase 1 (the "
                            "summary says what was used). Give the classifier, or the "
                            "count: in our benchmark matrix the U-Net's own estimate was "
                            "0.85-6.8x the true count and cost up to 0.56 AP; with the "
                            "classifier's count the U-Net's AP was within 0.03 of the true "
                            "count's or above it, and F1 at its threshold 0.045 below its "
                            "best on average (docs/benchmarks.md, 'A particle count from the "
                            "classifier').")
        group.addParam("countClassifier", params.PointerParam, pointerClass="CryopickModel",
                       allowsNull=True, label="Classifier to count the particles",
                       help="Optional, used when Particles per micrograph is 0: the output of "
                            "'cryopick - train FixMatch classifier' trained on the same "
                            "labels and particle diameter (train it first; 'combine' then "
                            "takes both). Before the U-Net trains, the classifier picks your "
                            "labelled micrographs and the count is the fewest particles its "
                            "picks and your labels allow, with the labels' recall less one "
                            "standard error, as 'combine' counts. In our benchmark matrix its "
                            "counts were 0.62-1.83x the true count ('A threshold without the "
                            "count'), against 0.85-6.8x for the U-Net's own estimate "
                            "(docs/benchmarks.md, 'A particle count from the classifier').")
        group.addParam("objective", params.EnumParam, choices=list(OBJECTIVES),
                       default=OBJECTIVES.index(DEFAULTS.objective),
                       expertLevel=params.LEVEL_ADVANCED, label="Training objective",
                       help="nnpu (default): positive-unlabelled; unpicked pixels are a mix of "
                            "particles and background, so the network can become confident on "
                            "unpicked particles and self-training can add them. bce: the "
                            "original method's; every unpicked pixel is background (with "
                            "partial labels the network then learns most particles as "
                            "background and self-training adds almost nothing).")
        group.addParam("pseudoLabels", params.EnumParam, choices=list(PSEUDO_LABELS),
                       default=PSEUDO_LABELS.index(DEFAULTS.pseudo_labels),
                       expertLevel=params.LEVEL_ADVANCED, label="Pseudo-labels",
                       help="discs (default): a label disc at each predicted particle scoring "
                            "above the positive threshold (touching particles stay apart). "
                            "pixels: the original method's; every pixel above it.")
        group.addParam("pseudoLabelViews", params.IntParam,
                       default=DEFAULTS.pseudo_label_views, expertLevel=params.LEVEL_ADVANCED,
                       label="Views averaged for pseudo-labels",
                       help="1, 2, 4 or 8. In each self-training round the network looks at "
                            "every micrograph this many times (turned by 90 degrees and "
                            "mirrored) and the pseudo-labels come from the mean of its maps: a "
                            "particle looks like one from every side, noise or an edge rarely "
                            "does. Default 8; 1: the original method's single pass.")
        group.addParam("pseudoParticleMinLabels", params.IntParam,
                       default=DEFAULTS.pseudo_particle_min_labels,
                       expertLevel=params.LEVEL_ADVANCED,
                       label="Hand-picked particles needed for pseudo-particles",
                       help="Self-training adds pseudo-particles only when you picked at least "
                            "this many particles; with fewer, its rounds only add reliable "
                            "background. Default "
                            f"{DEFAULTS.pseudo_particle_min_labels} (ours): fewer labels give "
                            "no density range to keep contamination and carbon out; in our "
                            "benchmark matrix, with 4-10 labels, the pseudo-particles were "
                            "17-62% right on two of three specimens, and the runs that took "
                            "some did better without them (docs/benchmarks.md). "
                            "0: always (the original method's). Not used with pseudo-labels "
                            "pixels, nor when a teacher chooses them (a teacher with a "
                            "particle count, given or estimated).")
        group.addParam("confirmPseudoParticles", params.BooleanParam,
                       default=DEFAULTS.confirm_pseudo_particles,
                       expertLevel=params.LEVEL_ADVANCED,
                       label="Later rounds only confirm pseudo-particles",
                       help="Yes (default, ours): the rounds after the first keep only the "
                            "pseudo-particles the round before took and the retrained network "
                            "still finds, and take no new ones; the labels grow once, in the "
                            "first round. No (the original method's): every round takes the "
                            "confident peaks anew. Retrained on the first round's particles, "
                            "the network also grows confident on particle-like junk (members "
                            "of aggregates, particles on carbon): in our benchmark matrix the "
                            "second round's new pseudo-particles held most of the wrong ones. "
                            "Confirmed only, they were at least 90% right in every run at 20% "
                            "and 50% labels (11 of 16 before), and the picks as good "
                            "(docs/benchmarks.md, 'Pseudo-particles found twice').")
        group.addParam("retrainRest", params.EnumParam, choices=list(RETRAIN_REST),
                       default=RETRAIN_REST.index(DEFAULTS.retrain_rest),
                       expertLevel=params.LEVEL_ADVANCED, label="Uncertain pixels in retraining",
                       help="In each self-training round, the pixels that are neither a "
                            "particle (hand-picked or pseudo) nor reliable background. "
                            "ignored: the original method's. unlabelled: the "
                            "positive-unlabelled objective again, knowing how many particles "
                            "are still to be found (needs the objective nnpu and a particle "
                            "count, given or estimated). With ignored, a round whose reliable "
                            "background is less than its particles (particles expected over "
                            "about a third of the micrograph or more) uses unlabelled anyway, "
                            "so retraining is never on particles alone.")
        group.addParam("teacherModel", params.PointerParam, pointerClass="CryopickModel",
                       allowsNull=True, expertLevel=params.LEVEL_ADVANCED,
                       label="Teacher classifier (experimental)",
                       help="Optional: the output of 'cryopick - train FixMatch classifier' "
                            "trained on the same labels and particle diameter. Each "
                            "self-training round then takes its pseudo-particles from the "
                            "mean of the classifier's map and the U-Net's (weighed as "
                            "'combine' weighs them), the best-scored first, instead of from "
                            "the U-Net's map above the positive threshold. In our tests, on "
                            "5% labels, a quarter of the unlabelled particles taken this way "
                            "were 80% right, against 64% from the U-Net's map alone "
                            "(docs/benchmarks.md). Needs the objective nnpu, pseudo-labels "
                            "discs and a particle count (given or estimated).")
        group.addParam("teacherShare", params.FloatParam, default=DEFAULTS.teacher_share,
                       condition="teacherModel is not None",
                       expertLevel=params.LEVEL_ADVANCED, label="Teacher's share",
                       help="With a teacher: pseudo-particles per micrograph and round, as a "
                            "share of the particles expected on it but not hand-picked "
                            f"(0-1; default {DEFAULTS.teacher_share:g}).")
        group = form.addGroup("Training phases", help="Phase 1 (supervised) and the "
                                                      "self-training rounds.")
        group.addParam("initialEpochs", params.IntParam, default=DEFAULTS.initial_epochs, label="Initial epochs",
                       help="Epochs of supervised training on the hand-picked particles "
                            "before self-training (phase 1). Default 80 (the original "
                            "method's: 50): in our benchmark matrix 50 epochs stopped while "
                            "the loss still fell fast. Lower it (20-30) for a quick first "
                            "look; raise it when the loss curve (Analyze Results) still falls "
                            "at the end of phase 1, or with fewer than 4 micrographs (an epoch "
                            "is 8 crops of each).")
        group.addParam("selfTrainingIterations", params.IntParam,
                       default=DEFAULTS.self_training_iterations,
                       label="Self-training iterations",
                       help="Rounds of pseudo-labelling and retraining after phase 1. Default "
                            "2 (the original method's: 5): in our benchmark matrix a third "
                            "round lowered AP in every regime. 0: keep the supervised model. With "
                            "validation coordinates, Analyze Results shows F1 per iteration: "
                            "use fewer rounds when it stops rising.")
        group.addParam("retrainEpochs", params.IntParam, default=DEFAULTS.retrain_epochs,
                       label="Epochs per self-training iteration",
                       help="Epochs of retraining on the pseudo-labels in each round. Default "
                            "20, the original method's. Lower it to shorten training when "
                            "the loss curve is flat within each round.")
        group.addParam("positiveThreshold", params.FloatParam,
                       default=DEFAULTS.positive_threshold,
                       label="Positive threshold",
                       help="Pixels predicted above it become pseudo-particles. Default 0.95, "
                            "the original method's. Higher: fewer, cleaner pseudo-labels "
                            "(0.90-0.98); lower it when the pseudo-particle share "
                            "(Analyze Results) stays near zero.")
        group.addParam("negativeThreshold", params.FloatParam,
                       default=DEFAULTS.negative_threshold,
                       label="Negative threshold",
                       help="Pixels predicted below it become reliable background. Default "
                            "0.05, the original method's (0.02-0.10).")
        group.addParam("negativeQuantile", params.FloatParam,
                       default=DEFAULTS.negative_quantile,
                       expertLevel=params.LEVEL_ADVANCED, label="Negative quantile",
                       help="Also use the least particle-like pixels of each micrograph, up to "
                            "this quantile, as reliable background. Default 0.5 (ours). Keeps "
                            "self-training from retraining on particles only when the first "
                            "model is not yet confident. 0: only the negative threshold (the "
                            "original method).")
        group = form.addGroup("Optimisation", help="How each phase trains.")
        group.addParam("learningRate", params.FloatParam, default=DEFAULTS.learning_rate,
                       label="Learning rate",
                       help="Adam learning rate. Default 0.001, the original method's. Lower "
                            "it (0.0003) when the loss curve is noisy or jumps up; it rarely "
                            "needs changing.")
        group.addParam("batchSize", params.IntParam, default=DEFAULTS.batch_size,
                       label="Batch size",
                       help="Training crops (128 px at the working pixel size) per step. "
                            "Default 8 (the original method's: 4), as measured in our "
                            "benchmark matrix. On a GPU with memory to spare, 16 gives "
                            "smoother training.")
        group.addParam("weightAverage", params.FloatParam, default=DEFAULTS.weight_average,
                       expertLevel=params.LEVEL_ADVANCED, label="Weight averaging",
                       help="Each phase ends with a running average of its weights instead "
                            "of the last step's; this is how quickly the average forgets "
                            f"(0.9-0.999). Default {DEFAULTS.weight_average:g} (ours): with "
                            "few labels the loss jumps from step to step and the last "
                            "weights are a noisy draw; in our benchmark matrix, with 4-15 "
                            "labels, it raised AP in two of four regimes (by 0.12-0.18) and "
                            "lowered it in one (by 0.08), on one label seed "
                            "(docs/benchmarks.md). 0: the last weights (the "
                            "original method).")
        group.addParam("cropsPerImage", params.IntParam, default=DEFAULTS.crops_per_image,
                       expertLevel=params.LEVEL_ADVANCED, label="Crops per micrograph per epoch",
                       help="Random crops (flipped and rotated) taken from each micrograph in "
                            "an epoch. Default 8 (ours). Raise it with few micrographs so an "
                            "epoch sees more of each, lower it with many to shorten epochs.")
        group.addParam("intensityJitter", params.FloatParam,
                       default=DEFAULTS.intensity_jitter,
                       expertLevel=params.LEVEL_ADVANCED, label="Intensity jitter",
                       help="Each training crop's grey level is shifted at random: an offset "
                            "and a linear ramp of up to this many robust standard deviations "
                            "each, and a gain of up to exp(+-jitter / 4). Carbon, thicker ice "
                            "and gradients shift the level by about that much; without it, a "
                            "U-Net trained on micrographs without carbon takes carbon for "
                            f"dense particles. Default {DEFAULTS.intensity_jitter:g} (ours; "
                            "measured in our benchmark matrix, docs/benchmarks.md). 0: the "
                            "original method's crops.")
        group.addParam("randomSeed", params.IntParam, default=DEFAULTS.seed,
                       expertLevel=params.LEVEL_ADVANCED, label="Random seed",
                       help="Seed of the weight initialisation, crops and augmentation. "
                            "Default 0. The same seed and inputs repeat a run exactly; change "
                            "it to see how much a result owes to chance.")
        group = form.addGroup("Network", help="The U-Net's size.")
        base = 64 if host_has_gpu() else 16
        group.addParam("baseFeatures", params.IntParam, default=base,
                       label="U-Net base features",
                       help="Width of the U-Net. Default: 64 (the original method's, ~31M "
                            "parameters) when a GPU is visible, 16 on a CPU-only host, where "
                            f"it trains ~11x and picks ~5x faster ({host_gpu_note()} so "
                            f"{base}). In our benchmark 64 was clearly better with a few "
                            "hundred labels and less stable with a few dozen "
                            "(docs/benchmarks.md); use 64 on a GPU, or on a CPU when you can "
                            "wait.")
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
            centre_labels=self.centreLabels.get(),
            initial_epochs=self.initialEpochs.get(),
            self_training_iterations=self.selfTrainingIterations.get(),
            retrain_epochs=self.retrainEpochs.get(), learning_rate=self.learningRate.get(),
            batch_size=self.batchSize.get(), positive_threshold=self.positiveThreshold.get(),
            negative_threshold=self.negativeThreshold.get(),
            negative_quantile=self.negativeQuantile.get(),
            base_features=self.baseFeatures.get(), crops_per_image=self.cropsPerImage.get(),
            weight_average=self.weightAverage.get(),
            intensity_jitter=self.intensityJitter.get(),
            seed=self.randomSeed.get(), expected_particles=self.expectedParticles.get(),
            objective=OBJECTIVES[self.objective.get()],
            pseudo_labels=PSEUDO_LABELS[self.pseudoLabels.get()],
            pseudo_label_views=self.pseudoLabelViews.get(),
            pseudo_particle_min_labels=self.pseudoParticleMinLabels.get(),
            confirm_pseudo_particles=self.confirmPseudoParticles.get(),
            retrain_rest=RETRAIN_REST[self.retrainRest.get()],
            teacher=_model_path(self.teacherModel),
            count_classifier=_model_path(self.countClassifier),
            teacher_share=self.teacherShare.get())

    def _trainArgs(self):
        import shlex  # every path quoted: a project folder may be "my project"

        mics, labels, val_mics, val_labels = map(shlex.quote, self._trainingFiles())
        args = [f"--image-dir {mics}", f"--coords-file {labels}",
                f"--output-dir {shlex.quote(self._getExtraPath(MODEL_DIR))}",
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
        for pointer, what in ((self.teacherModel, "Teacher classifier"),
                              (self.countClassifier, "Classifier to count the particles")):
            errors += self._classifierErrors(pointer.get(), what)
        return errors

    def _classifierErrors(self, model, what):
        """What is wrong with a classifier input (none given: nothing)."""
        if model is None:
            return []
        problem = model.problem("fixmatch")
        if problem:
            return [f"{what}: {problem}."]
        if self.inputCoordinates.get() is not None and \
                not model.fitsDiameter(self._diameterA()):
            return [f"{what}: trained for a {model.getParticleDiameter():g} A particle, not "
                    f"{self._diameterA():g} A."]
        return []

    def _warnings(self):
        # measured in docs/benchmarks.md (2 CPU cores, 1024 px micrographs, 4 for training)
        warnings = []
        if not self.useGpu.get() and self.baseFeatures.get() >= 48:
            warnings.append(
                f"U-Net base features {self.baseFeatures.get()} on the CPU: in our benchmark "
                "base 64 trained 11-12x longer than base 16 (about 17 min against 1.5 min) and "
                "picked 5-6x slower. Consider base 16, or Use GPU.")
        n_labels = self.inputCoordinates.get().getSize() if self.inputCoordinates.get() else 0
        needed = self.pseudoParticleMinLabels.get()
        if 0 < n_labels < needed and PSEUDO_LABELS[self.pseudoLabels.get()] == "discs" and \
                self.teacherModel.get() is None:
            # the numbers: docs/benchmarks.md, the matrix of 2026-12-05 at 5% labels
            warnings.append(
                f"Only {n_labels} hand-picked particles, fewer than {needed} (Hand-picked "
                "particles needed for pseudo-particles): self-training will add reliable "
                "background but no pseudo-particles. With 4-15 labels in our benchmark "
                "matrix (four kinds of micrographs) the U-Net alone reached best F1 "
                "0.49-0.87, and combined with the FixMatch classifier (cryopick - combine "
                "U-Net and classifier) 0.73-0.95. Pick more particles, or train both and "
                "combine them.")
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
                 f"Picking threshold: {s['pick_threshold']:.3f}", _count_line(s)]
        for it in s["iterations"]:
            if it.get("pseudo_particles") is not None:  # runs before 2026-12-05: not kept
                lines.append(_round_line(it))
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
        held_back = any(it.get("pseudo_particles_held_back") for it in s["iterations"])
        labels = (f"pseudo-labels of background only (below {c['negative_threshold']}; too "
                  "few hand-picked particles for pseudo-particles)" if held_back else
                  f"pseudo-labels above {c['positive_threshold']} and below "
                  f"{c['negative_threshold']}")
        return [f"A U-Net [Ronneberger2015] was trained to segment particles from "
                f"{s['n_labels']} hand-picked coordinates, followed by "
                f"{c['self_training_iterations']} rounds of self-training with {labels}"
                f"{_views_phrase(c.get('pseudo_label_views', 1))}"
                f"{_teacher_phrase(c.get('teacher'), c.get('teacher_share'))}."]

    def _citations(self):
        return ["Ronneberger2015"]


def _model_path(pointer):
    """The absolute path of a model input, or "" without one."""
    model = pointer.get()
    return os.path.abspath(model.getPath()) if model is not None else ""


def _count_line(s):
    """The particle count the training used, and where it came from."""
    given = s["config"].get("expected_particles")
    if given:
        return f"Particles per micrograph: {given:g} (given)"
    if s.get("expected_particles") and s.get("count_origin") == "classifier":
        return (f"Particles per micrograph: about {s['expected_particles']:.0f}, counted by the "
                "classifier from the labels (check it: our benchmark's classifier counts were "
                "0.62-1.83x the true count; if it is far off, give the count and train again)")
    if s.get("expected_particles"):
        return (f"Particles per micrograph: about {s['expected_particles']:.0f}, estimated by "
                "the U-Net from the labels (check it: our benchmark's estimates were "
                "0.85-6.8x the true count; if it is far off, give the count or a classifier "
                "to count them, and train again)")
    return ("Particles per micrograph: unknown (none given, and the labels' estimate was "
            "implausible): phase 1 went on with the original method's objective; give the "
            "count and train again")


def _round_line(it):
    """A self-training round in the summary: what it added to the labels."""
    line = (f"Self-training round {it['iteration']}: {it['pseudo_particles']} "
            f"pseudo-particles, {100 * it['reliable_negative_coverage']:.0f}% of the pixels "
            "reliable background")
    if it.get("pseudo_particles_held_back"):
        line += (f" (no pseudo-particles: {it['pseudo_particles_held_back']}; pick more, or "
                 "see 'Hand-picked particles needed for pseudo-particles')")
    if it.get("retrain_rest") == "unlabelled":
        line += "; the other pixels retrained as unlabelled (PU objective)"
    return line


def _views_phrase(views):
    """How the methods text names the maps behind the pseudo-labels (older runs: one pass)."""
    return f" on the mean probability map of {views} symmetric views" if views > 1 else ""


def _teacher_phrase(teacher, share):
    """How the methods text names a teacher classifier (none: nothing)."""
    if not teacher:
        return ""
    return (f"; the pseudo-particles were instead, in each round, the best-scored "
            f"{share:g} of the particles expected but not hand-picked, on the mean map of the "
            "U-Net and a Selective FixMatch classifier trained on the same labels")
