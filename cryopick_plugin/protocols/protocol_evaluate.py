"""Compare picked coordinates with reference coordinates: precision, recall, F1, AP."""
import json
import os

import pyworkflow.protocol.params as params
from pwem.protocols import EMProtocol

from ..convert import coordinates_to_tables
from ..engine.picking.metrics import evaluate, format_table
from ..engine.io.plots import plot_precision_recall

RESULT_FILE = "evaluation.json"
TABLE_FILE = "evaluation.md"
PLOT_FILE = "precision_recall.png"


class CryopickProtEvaluate(EMProtocol):
    """Evaluate a picking against reference coordinates, particle by particle.

    Each pick is matched one-to-one to a reference particle within the match radius (half the
    particle diameter by default). Reports precision, recall and F1 per micrograph and
    overall, and the average precision over the pick scores (picks sorted by score; picks
    without a score keep their order). Writes evaluation.json, evaluation.md and a
    precision-recall plot in the run's extra folder.
    """
    _label = "evaluate picking"

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputCoordinates", params.PointerParam, pointerClass="SetOfCoordinates",
                      important=True, label="Picked coordinates",
                      help="The picking to evaluate. Scores in the cryopick score column "
                           "are used for the ranking.")
        form.addParam("referenceCoordinates", params.PointerParam,
                      pointerClass="SetOfCoordinates", important=True,
                      label="Reference coordinates",
                      help="The true particles (e.g. a careful manual picking). Micrographs are "
                           "matched by name; positions are compared in the reference frame, "
                           "rescaled if the two sets were picked at different pixel sizes.")
        form.addParam("particleDiameter", params.FloatParam, validators=[params.Positive],
                      label="Particle diameter (A)",
                      help="The default match radius is half of it.")
        form.addParam("matchRadius", params.FloatParam, default=0.0,
                      expertLevel=params.LEVEL_ADVANCED, label="Match radius (px)",
                      help="In pixels of the reference micrographs. 0: half the particle "
                           "diameter.")

    def _insertAllSteps(self):
        self._insertFunctionStep(self.evaluateStep.__name__, self.inputCoordinates.getUniqueId(),
                                 self.referenceCoordinates.getUniqueId(), self._radius(),
                                 needsGPU=False)

    def _radius(self):
        if self.matchRadius.get():
            return self.matchRadius.get()
        sampling = self.referenceCoordinates.get().getMicrographs().getSamplingRate()
        return self.particleDiameter.get() / 2.0 / sampling

    def evaluateStep(self, picks_id, reference_id, radius):
        picks, reference = self.inputCoordinates.get(), self.referenceCoordinates.get()
        scale = (picks.getMicrographs().getSamplingRate()
                 / reference.getMicrographs().getSamplingRate())
        truth = coordinates_to_tables(reference)
        picked = {k: v for k, v in coordinates_to_tables(picks, scale).items() if k in truth}
        missing = sorted(set(coordinates_to_tables(picks)) - set(truth))
        if missing:
            self.warning(f"{len(missing)} picked micrographs have no reference and are not "
                         f"evaluated: {', '.join(missing[:5])}")
        self.info(f"Matching {sum(len(v) for v in picked.values())} picks to "
                  f"{sum(len(v) for v in truth.values())} reference particles within "
                  f"{radius:.1f} px")
        result = evaluate(picked, truth, radius)
        table = format_table(result, title=f"{self.getRunName()}")
        self.info("\n" + table)
        with open(self._getExtraPath(RESULT_FILE), "w") as fh:
            json.dump(result, fh, indent=1)
        with open(self._getExtraPath(TABLE_FILE), "w") as fh:
            fh.write(table + "\n")
        plot_precision_recall(result, self._getExtraPath(PLOT_FILE))

    def getResult(self):
        """The evaluate() result of a finished run, or None."""
        path = self._getExtraPath(RESULT_FILE)
        if not os.path.exists(path):
            return None
        with open(path) as fh:
            return json.load(fh)

    # ------------------------------------------------------------------ info
    def _validate(self):
        errors = []
        for label, pointer in (("picked", self.inputCoordinates),
                               ("reference", self.referenceCoordinates)):
            coords = pointer.get()
            if coords is not None and coords.getMicrographs() is None:
                errors.append(f"The {label} coordinates have no micrographs.")
        if not self.matchRadius.get() and not self.particleDiameter.get():
            errors.append("Give the particle diameter (or a match radius).")
        return errors

    def _summary(self):
        result = self.getResult()
        if result is None:
            return ["Not run yet."]
        o = result["overall"]
        return [f"{o['n_picks']} picks vs {o['n_truth']} reference particles on "
                f"{o['n_micrographs']} micrographs (match radius {o['radius']:.1f} px)",
                f"Precision {o['precision']:.3f}  Recall {o['recall']:.3f}  F1 {o['f1']:.3f}  "
                f"AP {o['ap']:.3f}",
                f"Plot: {self._getExtraPath(PLOT_FILE)}"]

    def _methods(self):
        result = self.getResult()
        if result is None:
            return []
        o = result["overall"]
        return [f"Picks were matched one-to-one to reference particles within "
                f"{o['radius']:.1f} px, giving precision {o['precision']:.3f}, recall "
                f"{o['recall']:.3f}, F1 {o['f1']:.3f} and average precision {o['ap']:.3f}."]
