"""Pick particles with a trained cryopick model, in streaming."""
import functools
import json
import os
import shlex

import pyworkflow.protocol.params as params
from pwem.protocols import ProtParticlePickingAuto

from .. import Plugin
from ..cli import skipped_path
from ..convert import default_box_size, fill_coordinates, link_micrographs, micrograph_key
from ..engine.io.coordinates import read_coordinates
from ..engine.io.files import read_torch_file
from ..engine.picking.scale import BOX_PER_DIAMETER
from ..engine.picking.views import PICK_VIEWS, VIEWS
from .training_inputs import define_gpu_params

PICKS_DIR = "picks"


@functools.lru_cache(maxsize=32)
def _model_file_threshold(path, mtime):
    return float(read_torch_file(path)["threshold"])


def _model_threshold(path):
    """The picking threshold stored in a model file (read once per file version), or None."""
    try:
        return _model_file_threshold(path, os.path.getmtime(path))
    except Exception:  # a missing or unreadable file: the summary must not fail
        return None


class CryopickProtPick(ProtParticlePickingAuto):
    """Pick particles on micrographs with a cryopick model (from the training protocol of this
    or another project). Works in streaming: micrographs are picked in batches as they
    arrive, and Continue skips the ones already done. Each coordinate carries its score
    (_cryopickScore) for later filtering.
    """
    _label = "pick particles"

    def _defineParams(self, form):
        ProtParticlePickingAuto._defineParams(self, form)
        form.getParam("inputMicrographs").help.set(
            "The micrographs to pick, at any pixel size: they are binned to the model's "
            "working size. Picking follows the set as it grows (streaming).")
        define_gpu_params(form, "Pick")
        form.addParam("inputModel", params.PointerParam, pointerClass="CryopickModel",
                      important=True, label="cryopick model",
                      help="Output of 'cryopick - train U-Net picker' or 'cryopick - train "
                           "FixMatch classifier' (which scores a dense grid of patches: "
                           "slower, see the documentation). Analyze Results on the model "
                           "shows what it was trained on and its threshold.")
        form.addParam("threshold", params.FloatParam, default=-1.0, label="Score threshold",
                      help="Keep picks scoring at least this (0-1). -1 (default): the model's "
                           "threshold (the best-F1 threshold when training had validation "
                           "coordinates, else estimated from the hand-picked labels). Lower "
                           "it to favour recall: Analyze Results on this run then shows the "
                           "picks by score with a threshold slider, and writes the picks "
                           "above any higher threshold as new coordinates.")
        form.addParam("views", params.IntParam, default=PICK_VIEWS, label="Views per micrograph",
                      expertLevel=params.LEVEL_ADVANCED,
                      help="The model scores each micrograph this many times, turned by 90 "
                           "degrees and mirrored, and picks on the mean (1, 2, 4 or 8): a "
                           "particle looks like one from every side, noise does not, so more "
                           "views rank the picks better. Each view is one more inference "
                           "pass: 1 is the fastest.")
        form.addParam("boxSize", params.IntParam, default=0, label="Box size (px)",
                      expertLevel=params.LEVEL_ADVANCED,
                      help=f"Box size of the output coordinates. 0 (default): {BOX_PER_DIAMETER} "
                           "particle diameters, rounded up to an even number of pixels. Set "
                           "it to the box you will extract with.")
        self._defineStreamingParams(form)
        form.getParam("streamingBatchSize").setDefault(16)
        warning = form.getParam("streamingWarning")
        if warning is not None:  # pwem's streaming section starts with a label
            warning.help.set("How the run follows a growing set of micrographs: it picks "
                             "them in batches as they arrive and finishes when the input set "
                             "is closed.")

    def _getPickArgs(self):
        return [self.inputModel.get().getPath(), self.threshold.get()]

    def _pickMicrographList(self, micList, model_path, threshold):
        if not micList:  # Continue: every micrograph of the batch was done already
            return
        batch = os.path.abspath(self._getTmpPath(f"batch_{micList[0].getObjId():06d}"))
        link_micrographs(micList, batch)
        python, cli = Plugin.getCliArgs("pick")
        # --skip-existing: a batch rerun by Continue keeps the micrographs it finished;
        # --skip-unreadable: a broken micrograph is logged and listed, its batch-mates picked
        args = (f"{cli} --model {shlex.quote(os.path.abspath(model_path))} "
                f"--image-dir {shlex.quote(batch)} "
                f"--output {shlex.quote(os.path.abspath(self.getCoordsDir()))} --format txt "
                f"--skip-existing --skip-unreadable "
                f"--pixel-size {self.getInputMicrographs().getSamplingRate()} "
                f"--device {'auto:%(GPU)s' if self.useGpu.get() else 'cpu'} "
                f"--threads {self.numberOfThreads.get()} --views {self.views.get()}")
        if threshold is not None and threshold >= 0:
            args += f" --threshold {threshold}"
        try:
            self.runJob(python, args, numberOfThreads=1)
        except Exception:
            # the command fails (exit 2) when no micrograph of the batch could be read: that
            # batch is done too (listed as skipped); any other failure stops the run
            skipped = self._skipped()
            if not all(micrograph_key(mic) in skipped for mic in micList):
                raise
        skipped = self._skipped()
        for mic in micList:
            entry = skipped.get(micrograph_key(mic))
            if entry:
                self.warning(f"Skipped micrograph {mic.getFileName()}: {entry['problem']}")

    def _pickMicrograph(self, mic, *args):
        self._pickMicrographList([mic], *args)

    def getCoordsDir(self):
        return self._getExtraPath(PICKS_DIR)

    def _skipped(self):
        """{micrograph key: {file, problem}} of the micrographs that could not be picked."""
        path = skipped_path(self.getCoordsDir())
        if not os.path.exists(path):
            return {}
        try:
            with open(path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}

    def _skippedSummary(self):
        skipped = self._skipped()
        if not skipped:
            return []
        shown = [f"{name} ({entry['problem']})" for name, entry in sorted(skipped.items())[:3]]
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        return [f"{len(skipped)} micrograph{'s' if len(skipped) > 1 else ''} could not be "
                f"read and {'were' if len(skipped) > 1 else 'was'} skipped: "
                f"{'; '.join(shown)}{more}"]

    def readCoordsFromMics(self, outputDir, micDoneList, outputCoords):
        tables = {}
        for mic in micDoneList:
            path = os.path.join(outputDir, micrograph_key(mic) + ".txt")
            if os.path.exists(path):
                tables.update(read_coordinates(path, "txt"))
        fill_coordinates(outputCoords, micDoneList, tables, self._boxSize())

    def _boxSize(self):
        model = self.inputModel.get()
        return self.boxSize.get() or default_box_size(
            model.getParticleDiameter(), self.getInputMicrographs().getSamplingRate())

    # ------------------------------------------------------------------ info
    def _validate(self):
        errors = []
        model = self.inputModel.get()
        if model is not None and not model.exists():
            errors.append(f"Model file not found: {model.getPath()}")
        if self.threshold.get() > 1:
            errors.append("The score threshold must be at most 1 (-1: the model's).")
        if self.views.get() not in VIEWS:
            errors.append(f"Views per micrograph must be one of "
                          f"{', '.join(map(str, VIEWS))}.")
        return errors

    def _summary(self):
        summary = []
        mics = self.getInputMicrographs()
        coords = getattr(self, "outputCoordinates", None)
        if coords is not None:
            # (an empty set has no _micId column to aggregate)
            n_mics = len(coords.aggregate(["COUNT"], "_micId", ["_micId"])) \
                if coords.getSize() else 0
            summary.append(f"{coords.getSize()} particles picked on {n_mics} of "
                           f"{mics.getSize() if mics is not None else '?'} micrographs, box "
                           f"size {coords.getBoxSize()} px")
        elif mics is not None:
            summary.append(f"{mics.getSize()} input micrographs; no particles picked yet")
        summary += self._skippedSummary()
        summary.append(self._thresholdText())
        if coords is not None:
            summary.append("Analyze Results: the picks over each micrograph coloured by score, "
                           "with a threshold slider.")
        return summary

    def _thresholdText(self):
        if self.threshold.get() >= 0:
            return f"Score threshold: {self.threshold.get():.3f} (set in the form)"
        model = self.inputModel.get()
        threshold = _model_threshold(model.getPath()) if model is not None else None
        if threshold is None:
            return "Score threshold: the model's"
        return f"Score threshold: {threshold:.3f} (the model's)"

    def _methods(self):
        coords = getattr(self, "outputCoordinates", None)
        if coords is None:
            return []
        views = self.views.get()
        on_views = (f" Each micrograph was scored in {views} symmetric views (rotated by 90 "
                    "degrees and mirrored) and the maps averaged." if views > 1 else "")
        if self._method() == "fixmatch":
            return [f"{coords.getSize()} particles were picked with a cryopick patch classifier "
                    f"trained by Selective FixMatch [Sohn2020, Tarvainen2017].{on_views}"]
        if self._method() == "ensemble":
            return [f"{coords.getSize()} particles were picked with the averaged maps of a "
                    "cryopick U-Net [Ronneberger2015] and a patch classifier trained by "
                    f"Selective FixMatch [Sohn2020, Tarvainen2017].{on_views}"]
        return [f"{coords.getSize()} particles were picked with a cryopick U-Net "
                f"[Ronneberger2015] trained by self-training.{on_views}"]

    def _method(self):
        model = self.inputModel.get()
        return model.getMethod() if model is not None else None

    def _citations(self):
        return {"fixmatch": ["Sohn2020", "Tarvainen2017"],
                "ensemble": ["Ronneberger2015", "Sohn2020", "Tarvainen2017"]}.get(
            self._method(), ["Ronneberger2015"])
