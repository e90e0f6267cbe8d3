"""Pick particles with a trained cryopick model, in streaming."""
import os

import pyworkflow.protocol.constants as cons
import pyworkflow.protocol.params as params
from pwem.protocols import ProtParticlePickingAuto

from .. import Plugin
from ..convert import default_box_size, fill_coordinates, link_micrographs, micrograph_key
from ..engine.io.coordinates import read_coordinates
from ..engine.picking.scale import BOX_PER_DIAMETER

PICKS_DIR = "picks"


class CryopickProtPick(ProtParticlePickingAuto):
    """Pick particles on micrographs with a cryopick model (from the training protocol of this
    or another project). Works in streaming: micrographs are picked in batches as they
    arrive, and Continue skips the ones already done. Each coordinate carries its score
    (_cryopickScore) for later filtering.
    """
    _label = "pick particles"

    def _defineParams(self, form):
        ProtParticlePickingAuto._defineParams(self, form)
        form.addHidden(cons.USE_GPU, params.BooleanParam, default=True, label="Use GPU?")
        form.addHidden(cons.GPU_LIST, params.StringParam, default="0", label="GPU id")
        form.addParam("inputModel", params.PointerParam, pointerClass="CryopickModel",
                      important=True, label="cryopick model",
                      help="Output of 'cryopick - train U-Net picker' or 'cryopick - train "
                           "FixMatch classifier' (which scores a dense grid of patches: "
                           "slower, see the documentation).")
        form.addParam("threshold", params.FloatParam, default=-1.0, label="Score threshold",
                      help="Keep picks scoring at least this (0-1). -1: the model's threshold "
                           "(0.5, or the best-F1 threshold when training had validation "
                           "coordinates). Lower it to favour recall.")
        form.addParam("boxSize", params.IntParam, default=0, label="Box size (px)",
                      expertLevel=params.LEVEL_ADVANCED,
                      help=f"0: {BOX_PER_DIAMETER} particle diameters, rounded up to even.")
        self._defineStreamingParams(form)
        form.getParam("streamingBatchSize").setDefault(16)

    def _getPickArgs(self):
        return [self.inputModel.get().getPath(), self.threshold.get()]

    def _pickMicrographList(self, micList, model_path, threshold):
        batch = self._getTmpPath(f"batch_{micList[0].getObjId():06d}")
        link_micrographs(micList, batch)
        python, cli = Plugin.getCliArgs("pick")
        args = (f"{cli} --model {os.path.abspath(model_path)} --image-dir {batch} "
                f"--output {os.path.abspath(self._getExtraPath(PICKS_DIR))} --format txt "
                f"--pixel-size {self.getInputMicrographs().getSamplingRate()} "
                f"--device {'auto:%(GPU)s' if self.useGpu.get() else 'cpu'} "
                f"--threads {self.numberOfThreads.get()}")
        if threshold is not None and threshold >= 0:
            args += f" --threshold {threshold}"
        self.runJob(python, args, numberOfThreads=1)

    def _pickMicrograph(self, mic, *args):
        self._pickMicrographList([mic], *args)

    def getCoordsDir(self):
        return self._getExtraPath(PICKS_DIR)

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
        return errors

    def _summary(self):
        summary = ProtParticlePickingAuto._summary(self)
        coords = getattr(self, "outputCoordinates", None)
        if coords is not None:
            summary.append(f"{coords.getSize()} particles picked, box size {coords.getBoxSize()} px")
        return summary

    def _methods(self):
        coords = getattr(self, "outputCoordinates", None)
        if coords is None:
            return []
        if self._method() == "fixmatch":
            return [f"{coords.getSize()} particles were picked with a cryopick patch classifier "
                    f"trained by Selective FixMatch [Sohn2020, Tarvainen2017]."]
        return [f"{coords.getSize()} particles were picked with a cryopick U-Net "
                f"[Ronneberger2015] trained by self-training."]

    def _method(self):
        model = self.inputModel.get()
        return model.getMethod() if model is not None else None

    def _citations(self):
        if self._method() == "fixmatch":
            return ["Sohn2020", "Tarvainen2017"]
        return ["Ronneberger2015"]
