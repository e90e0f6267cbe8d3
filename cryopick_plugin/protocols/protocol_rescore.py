"""Re-score any picker's coordinates with a FixMatch classifier and keep the good ones."""
import json
import os
import shlex

import numpy as np
import pyworkflow.protocol.params as params
from pwem.protocols import ProtParticlePicking

from .. import Plugin
from ..cli import skipped_path
from ..convert import coordinates_to_tables, fill_coordinates, link_micrographs
from ..engine.io.coordinates import read_coordinates, write_coordinates
from ..engine.io.files import read_torch_file
from .training_inputs import define_gpu_params


class CryopickProtRescore(ProtParticlePicking):
    """Score every coordinate of a set with a cryopick FixMatch classifier and keep those
    scoring at least the threshold. Use it after any picker (cryopick's U-Net, Topaz,
    crYOLO, template matching...) to drop picks on carbon, ice contamination and aggregates
    before extraction. The score goes to the _cryopickScore column of the output.
    """
    _label = "re-score coordinates"

    def _defineParams(self, form):
        form.addSection(label="Input")
        define_gpu_params(form, "Score")
        form.addParam("inputCoordinates", params.PointerParam, pointerClass="SetOfCoordinates",
                      important=True, label="Coordinates to re-score",
                      help="Picks of any picker (cryopick's U-Net, Topaz, crYOLO, template "
                           "matching...); their micrographs are read from the set. Pick "
                           "generously (a low threshold): re-scoring removes the junk.")
        form.addParam("inputModel", params.PointerParam, pointerClass="CryopickModel",
                      important=True, label="FixMatch classifier",
                      help="Output of 'cryopick - train FixMatch classifier', trained on "
                           "micrographs like these.")
        form.addParam("threshold", params.FloatParam, default=-1.0, label="Score threshold",
                      help="Keep coordinates scoring at least this (0-1). -1 (default): the "
                           "model's threshold (chosen in training). Every coordinate is "
                           "scored: Analyze Results shows the kept ones by score, with a "
                           "slider, and 'cryopick - filter coordinates by score' keeps those "
                           "above a higher threshold.")
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        self._insertFunctionStep(self.convertInputStep.__name__,
                                 self.inputCoordinates.getUniqueId(), needsGPU=False)
        self._insertFunctionStep(self.rescoreStep.__name__)
        self._insertFunctionStep(self.createOutputStep.__name__, needsGPU=False)

    def convertInputStep(self, coords_id):
        coords = self.inputCoordinates.get()
        link_micrographs(coords.getMicrographs(), self._getTmpPath("mics"))
        write_coordinates(self._getExtraPath("input.json"), coordinates_to_tables(coords),
                          fmt="json")

    def rescoreStep(self):
        python, cli = Plugin.getCliArgs("rescore")
        mics = self.inputCoordinates.get().getMicrographs()
        q = lambda path: shlex.quote(os.path.abspath(path))  # noqa: E731 (a space in a path)
        self.runJob(python,
                    f"{cli} --model {q(self.inputModel.get().getPath())} "
                    f"--image-dir {q(self._getTmpPath('mics'))} "
                    f"--coords {q(self._getExtraPath('input.json'))} "
                    f"--output {q(self._getExtraPath('scored.json'))} --keep-all "
                    # Continue keeps the micrographs a killed run finished; a broken
                    # micrograph is reported and listed (cli.skipped_path), not fatal
                    "--skip-existing --skip-unreadable "
                    f"--pixel-size {mics.getSamplingRate()} --threads {self.numberOfThreads.get()} "
                    f"--device {'auto:%(GPU)s' if self.useGpu.get() else 'cpu'}",
                    numberOfThreads=1)

    def getInputMicrographs(self):
        return self.inputCoordinates.get().getMicrographs()

    def _threshold(self):
        if self.threshold.get() >= 0:
            return self.threshold.get()
        return float(read_torch_file(self.inputModel.get().getPath())["threshold"])

    def createOutputStep(self):
        coords = self.inputCoordinates.get()
        threshold = self._threshold()
        scored = read_coordinates(self._getExtraPath("scored.json"))
        kept = {k: v[v[:, 2] >= threshold] for k, v in scored.items()}
        n_in = int(sum(len(v) for v in scored.values()))
        n_out = int(sum(len(v) for v in kept.values()))
        skipped_file = skipped_path(self._getExtraPath("scored.json"))
        skipped = []
        if os.path.exists(skipped_file):
            with open(skipped_file) as fh:
                skipped = sorted(json.load(fh))
        with open(self._getExtraPath("summary.json"), "w") as fh:
            json.dump(dict(threshold=threshold, n_in=n_in, n_out=n_out, skipped=skipped,
                           mean_score=float(np.mean(np.concatenate(
                               [v[:, 2] for v in scored.values()]))) if n_in else None), fh)
        out = self._createSetOfCoordinates(coords.getMicrographs())
        fill_coordinates(out, coords.getMicrographs(), kept, coords.getBoxSize())
        self._defineOutputs(outputCoordinates=out)
        self._defineSourceRelation(self.inputCoordinates, out)
        self._defineSourceRelation(self.inputModel, out)

    # ------------------------------------------------------------------ info
    def _validate(self):
        errors = []
        model = self.inputModel.get()
        problem = model.problem("fixmatch") if model is not None else None
        if problem:
            errors.append(f"FixMatch classifier: {problem}.")
        coords = self.inputCoordinates.get()
        if coords is not None and coords.getSize() == 0:
            errors.append("The input coordinates are empty.")
        if self.threshold.get() > 1:
            errors.append("The score threshold must be at most 1 (-1: the model's).")
        return errors

    def _summary(self):
        path = self._getExtraPath("summary.json")
        if not os.path.exists(path):
            return ["Re-scoring not finished yet."]
        with open(path) as fh:
            s = json.load(fh)
        lines = [f"{s['n_out']} of {s['n_in']} coordinates kept (score >= "
                 f"{s['threshold']:.3f})"]
        if s.get("skipped"):
            lines.append(f"{len(s['skipped'])} unreadable micrograph(s) skipped: "
                         f"{', '.join(s['skipped'][:5])}" +
                         (" ..." if len(s["skipped"]) > 5 else ""))
        return lines

    def _methods(self):
        path = self._getExtraPath("summary.json")
        if not os.path.exists(path):
            return []
        with open(path) as fh:
            s = json.load(fh)
        return [f"{s['n_in']} picked coordinates were re-scored with a patch classifier trained "
                f"by Selective FixMatch [Sohn2020, Tarvainen2017]; {s['n_out']} scoring at "
                f"least {s['threshold']:.2f} were kept."]

    def _citations(self):
        return ["Sohn2020", "Tarvainen2017"]
