"""Combine a U-Net picker and a classifier trained on the same labels into one model."""
import os
import shlex
import shutil

import pyworkflow.protocol.params as params
from pwem.protocols import EMProtocol

from .. import Plugin
from ..convert import coordinates_to_tables, link_micrographs, micrograph_key
from ..engine.io.coordinates import write_coordinates
from ..engine.io.files import read_torch_file
from ..engine.picking.fusion import CLASSIFIER_WEIGHT, EQUAL_WEIGHT_LABELS
from ..engine.picking.thresholds import THRESHOLD_ORIGINS
from ..objects import CryopickModel

ENSEMBLE_FILE = "ensemble_model.pt"
CALIBRATION_DIR = "calibrate"  # links to the micrographs without labels


class CryopickProtCombine(EMProtocol):
    """Make one picker of a cryopick U-Net and a cryopick classifier trained on the same
    micrographs and hand-picked particles: it finds particles on the average of their
    probability maps and scores each by both models. The fewer the hand-picked particles,
    the more the classifier counts (the U-Net needs more labels). It is cryopick's default
    pipeline: on our benchmark matrix (four kinds of simulated micrographs, 5 / 20 / 50% of
    the particles picked) it ranked particles better than either model alone in all 12
    (AP, means over two label sets; docs/benchmarks.md). The picking threshold keeps the
    expected number of particles (given, or estimated from the hand-picked labels) on some
    micrographs without hand-picked particles; with none, it is chosen on the training
    micrographs.
    Pick with 'cryopick - pick particles'.
    """
    _label = "combine U-Net and classifier"
    _possibleOutputs = {"outputModel": CryopickModel}

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputUNet", params.PointerParam, pointerClass="CryopickModel",
                      important=True, label="U-Net picker",
                      help="Output of 'cryopick - train U-Net picker'.")
        form.addParam("inputClassifier", params.PointerParam, pointerClass="CryopickModel",
                      important=True, label="Classifier",
                      help="Output of 'cryopick - train FixMatch classifier', trained on the "
                           "same micrographs, labels and particle diameter.")
        form.addParam("inputCoordinates", params.PointerParam, pointerClass="SetOfCoordinates",
                      important=True, label="Hand-picked coordinates",
                      help="The labels both were trained on; their micrographs are picked to "
                           "choose the combined model's threshold.")
        form.addParam("calibrationMicrographs", params.PointerParam,
                      pointerClass="SetOfMicrographs", allowsNull=True,
                      label="Micrographs to calibrate on",
                      help="Up to 8 of these micrographs without hand-picked particles, spread "
                           "over the set, are picked, and the threshold keeps 15% more picks "
                           "there than the particles per micrograph given below, or as many "
                           "as the classifier counts from the hand-picked labels. The models score the micrographs with "
                           "labels higher, so a threshold chosen on those keeps too few "
                           "particles elsewhere. Best: micrographs to pick that the models did "
                           "not train on. Empty (default): those of the hand-picked "
                           "coordinates' micrographs that have no labels; if every one has, "
                           "the threshold is chosen on the labelled ones. The same "
                           "micrographs set how each model's scores spread: a pick's score "
                           "counts each model's score half as itself, half as its rank "
                           "among the candidate picks there.")
        form.addParam("expectedParticles", params.FloatParam, default=0.0,
                      label="Particles per micrograph",
                      help="About how many particles one micrograph holds (like Topaz's -n). "
                           "The threshold then keeps 15% more picks than that (on the "
                           "micrographs to calibrate on, else on the training ones). 0 "
                           "(default): counted by the classifier on the hand-picked labels "
                           "(the fewest particles its picks and your labels allow, with "
                           "the labels' recall less one standard error), and as many picks "
                           "are kept. Give it "
                           "when you can: in our benchmark matrix the classifier's counts "
                           "were 0.62-1.83x the true count, and F1 at the threshold was "
                           "0.034 below the best on average (up to 0.078), against 0.010 "
                           "with the true count; the ranking (AP) was the same "
                           "(docs/benchmarks.md, 'A threshold without the count').")
        form.addParam("autoClassifierWeight", params.BooleanParam, default=True,
                      expertLevel=params.LEVEL_ADVANCED, label="Weigh by the number of labels?",
                      help=f"Yes (default): the classifier's map counts "
                           f"{EQUAL_WEIGHT_LABELS:g} / (number of hand-picked particles) "
                           "times the U-Net's: the classifier dominates with a few dozen "
                           "labels, where the U-Net is weak, the U-Net with hundreds. Measured "
                           "on the benchmark matrix (docs/benchmarks.md). No: give the weight.")
        form.addParam("classifierWeight", params.FloatParam, default=CLASSIFIER_WEIGHT,
                      condition="not autoClassifierWeight",
                      expertLevel=params.LEVEL_ADVANCED, label="Classifier weight",
                      help="How many times the classifier's map counts against the U-Net's; "
                           "0 gives the U-Net alone.")
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        calibration = self.calibrationMicrographs  # its id: a changed set reruns the step
        self._insertFunctionStep(self.convertInputStep.__name__,
                                 self.inputCoordinates.getUniqueId(),
                                 calibration.getUniqueId() if calibration.get() else "")
        self._insertFunctionStep(self.combineStep.__name__)
        self._insertFunctionStep(self.createOutputStep.__name__)

    def convertInputStep(self, coords_id, calibration_id):
        coords = self.inputCoordinates.get()
        link_micrographs(coords.getMicrographs(), self._getTmpPath("mics"))
        labels = coordinates_to_tables(coords)
        write_coordinates(self._getExtraPath("labels.json"), labels, fmt="json")
        calibration = self.calibrationMicrographs.get() or coords.getMicrographs()
        unlabelled = [mic.clone() for mic in calibration.iterItems()
                      if not len(labels.get(micrograph_key(mic), ()))]
        shutil.rmtree(self._getTmpPath(CALIBRATION_DIR), ignore_errors=True)  # a rerun's
        if unlabelled:
            link_micrographs(unlabelled, self._getTmpPath(CALIBRATION_DIR))
        else:
            self.info("No micrographs without hand-picked particles to calibrate on: the "
                      "threshold is chosen on the labelled ones")

    def combineStep(self):
        python, cli = Plugin.getCliArgs("combine")
        q = lambda path: shlex.quote(os.path.abspath(path))  # noqa: E731 (a space in a path)
        mics = self.inputCoordinates.get().getMicrographs()
        weight = "" if self.autoClassifierWeight.get() else \
            f"--classifier-weight {self.classifierWeight.get()} "
        calibrate = self._getTmpPath(CALIBRATION_DIR)
        calibrate = f"--calibrate-dir {q(calibrate)} " if os.path.isdir(calibrate) else ""
        self.runJob(python,
                    f"{cli} --unet {q(self.inputUNet.get().getPath())} "
                    f"--classifier {q(self.inputClassifier.get().getPath())} "
                    f"--image-dir {q(self._getTmpPath('mics'))} "
                    f"--coords {q(self._getExtraPath('labels.json'))} "
                    f"--expected-particles {self.expectedParticles.get()} "
                    f"{weight}{calibrate}"
                    f"--pixel-size {mics.getSamplingRate()} "
                    f"--threads {self.numberOfThreads.get()} "
                    f"--output {q(self._getExtraPath(ENSEMBLE_FILE))}",
                    numberOfThreads=1)

    def createOutputStep(self):
        unet = self.inputUNet.get()
        model = CryopickModel(path=os.path.abspath(self._getExtraPath(ENSEMBLE_FILE)),
                              method="ensemble")
        model.setParticleDiameter(unet.getParticleDiameter())
        model.setSamplingRate(unet.getSamplingRate())
        self._defineOutputs(outputModel=model)
        for source in (self.inputUNet, self.inputClassifier, self.inputCoordinates):
            self._defineSourceRelation(source, model)

    # ------------------------------------------------------------------ info
    def _validate(self):
        errors = []
        for pointer, method, what in ((self.inputUNet, "unet", "U-Net picker"),
                                      (self.inputClassifier, "fixmatch", "Classifier")):
            model = pointer.get()
            problem = model.problem(method) if model is not None else None
            if problem:
                errors.append(f"{what}: {problem}.")
        unet, classifier = self.inputUNet.get(), self.inputClassifier.get()
        if unet is not None and classifier is not None and \
                not classifier.fitsDiameter(unet.getParticleDiameter()):
            errors.append(f"The two models were trained for different particle diameters "
                          f"({unet.getParticleDiameter():g} and "
                          f"{classifier.getParticleDiameter():g} A).")
        coords = self.inputCoordinates.get()
        if coords is not None and coords.getSize() == 0 and not self.expectedParticles.get():
            errors.append("The coordinates are empty: give the particles per micrograph.")
        if self.expectedParticles.get() < 0 or (not self.autoClassifierWeight.get() and
                                                self.classifierWeight.get() < 0):
            errors.append("Particles per micrograph and the classifier weight must be >= 0.")
        return errors

    def _summary(self):
        model = getattr(self, "outputModel", None)
        if model is None:
            return ["Not combined yet."]
        state = read_torch_file(model.getPath())
        origin = dict(THRESHOLD_ORIGINS, unet="the U-Net's").get(
            state["extra"].get("threshold_origin"), "")
        return [f"U-Net + classifier (classifier weight {state['classifier_weight']:.3g}), "
                f"picking threshold {state['threshold']:.3f} ({origin})" +
                ("; scores ranked on the calibration micrographs"
                 if state.get("part_quantiles") else "")]

    def _methods(self):
        if getattr(self, "outputModel", None) is None:
            return []
        return ["The probability maps of a U-Net [Ronneberger2015] and of a patch classifier "
                "trained by Selective FixMatch [Sohn2020, Tarvainen2017] on the same labels "
                "were averaged to find particles, each scored by both models, each "
                "model's score counted half as itself and half as its rank among the "
                "candidate picks of the calibration micrographs (cryopick)."]

    def _citations(self):
        return ["Ronneberger2015", "Sohn2020", "Tarvainen2017"]
