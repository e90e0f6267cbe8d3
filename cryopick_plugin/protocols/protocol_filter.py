"""Keep the coordinates of a set whose cryopick score reaches a threshold."""
import json
import os

import numpy as np
import pyworkflow.protocol.params as params
from pwem.objects import SetOfCoordinates
from pwem.protocols import ProtParticlePicking

from ..constants import SCORE_ATTR

SUMMARY_FILE = "filter_summary.json"


def coordinate_score(coord):
    """The cryopick score of a coordinate, or None when it has none."""
    score = getattr(coord, SCORE_ATTR, None)
    return None if score is None else score.get()


class CryopickProtFilterByScore(ProtParticlePicking):
    """Keep the coordinates whose cryopick score is at least a threshold.

    Works on any SetOfCoordinates with the cryopick score column (_cryopickScore): the
    output of 'cryopick - pick particles' or 'cryopick - re-score coordinates'. Every kept
    coordinate is copied unchanged (position, micrograph, score and any other column), with
    the box size and micrographs of the input, so particle extraction and every other
    protocol that takes coordinates accept the output. Coordinates without a score are
    dropped. The picks viewer of those protocols (Analyze Results) creates this run from its
    threshold slider.
    """
    _label = "filter coordinates by score"
    _possibleOutputs = {"outputCoordinates": SetOfCoordinates}

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputCoordinates", params.PointerParam, pointerClass="SetOfCoordinates",
                      important=True, label="Coordinates with scores",
                      help="Coordinates with a cryopick score per particle: the output of "
                           "'cryopick - pick particles' or 'cryopick - re-score "
                           "coordinates'. Their micrographs and box size are kept.")
        form.addParam("threshold", params.FloatParam, default=0.5,
                      validators=[params.Range(0.0, 1.0)], label="Score threshold",
                      help="Keep the coordinates scoring at least this (0-1). Picks already "
                           "passed the picking run's threshold, so only a higher value "
                           "removes any. Raise it for cleaner particles (fewer false picks on "
                           "ice, carbon and aggregates), lower it towards the picking "
                           "threshold for more particles. Analyze Results on the picking run "
                           "shows the picks kept at each threshold, live.")

    # ------------------------------------------------------------------ steps
    def _insertAllSteps(self):
        self._insertFunctionStep(self.createOutputStep.__name__,
                                 self.inputCoordinates.getUniqueId(), self.threshold.get(),
                                 needsGPU=False)

    def getInputMicrographs(self):
        coords = self.inputCoordinates.get()
        return coords.getMicrographs() if coords is not None else None

    def createOutputStep(self, coords_id, threshold):
        coords = self.inputCoordinates.get()
        counts = dict(n_in=0, n_out=0, n_unscored=0)

        def keep(coord):
            if not coord.isEnabled():
                return False
            counts["n_in"] += 1
            score = coordinate_score(coord)
            if score is None or not np.isfinite(score):
                counts["n_unscored"] += 1
                return False
            if score >= threshold:
                counts["n_out"] += 1
                return True
            return False

        out = self._createSetOfCoordinates(coords.getMicrographs(asPointer=True))
        out.copyInfo(coords)  # box size and the micrographs pointer
        out.copyItems(coords, itemSelectedCallback=keep)
        with open(self._getExtraPath(SUMMARY_FILE), "w") as fh:
            json.dump(dict(threshold=threshold, **counts), fh)
        self._defineOutputs(outputCoordinates=out)
        self._defineSourceRelation(self.inputCoordinates, out)

    # ------------------------------------------------------------------ info
    def _validate(self):
        errors = []
        coords = self.inputCoordinates.get()
        if coords is not None:
            if coords.getSize() == 0:
                errors.append("The input coordinates are empty.")
            elif coordinate_score(coords.getFirstItem()) is None:
                errors.append("The input coordinates have no cryopick score: use the output "
                              "of 'cryopick - pick particles' or 'cryopick - re-score "
                              "coordinates'.")
        return errors

    def _filterSummary(self):
        path = self._getExtraPath(SUMMARY_FILE)
        if not os.path.exists(path):
            return None
        with open(path) as fh:
            return json.load(fh)

    def _summary(self):
        s = self._filterSummary()
        if s is None:
            return [f"Not run yet (threshold {self.threshold.get():.3f})."]
        lines = [f"{s['n_out']} of {s['n_in']} coordinates kept (score >= "
                 f"{s['threshold']:.3f})"]
        if s["n_unscored"]:
            lines.append(f"{s['n_unscored']} coordinates without a score dropped")
        out = getattr(self, "outputCoordinates", None)
        if out is not None:
            lines.append(f"Box size {out.getBoxSize()} px")
        return lines

    def _methods(self):
        s = self._filterSummary()
        if s is None:
            return []
        return [f"Of {s['n_in']} picked coordinates, the {s['n_out']} scoring at least "
                f"{s['threshold']:.2f} were kept."]
