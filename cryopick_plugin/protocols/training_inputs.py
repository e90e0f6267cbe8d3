"""What the two training protocols share: hand-picked and validation coordinates, the
particle diameter, the GPU parameters, and their conversion to files for the CLI."""
import functools
import glob
import os
import sys

import pyworkflow.protocol.constants as cons
import pyworkflow.protocol.params as params

from ..convert import coordinates_to_tables, link_micrographs
from ..engine.io.coordinates import write_coordinates
from ..engine.picking.scale import BOX_PER_DIAMETER, diameter_from_box


@functools.lru_cache(maxsize=None)
def host_has_gpu():
    """Whether torch sees a CUDA GPU on this host, without importing torch (seconds, and
    hundreds of MB in the GUI) where there is plainly none: no NVIDIA (or ROCm) device."""
    if "torch" not in sys.modules:
        if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
            return False
        if not (glob.glob("/dev/nvidia[0-9]*") or glob.glob("/proc/driver/nvidia/gpus/*")
                or os.path.exists("/dev/kfd")):
            return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # a broken CUDA install: the CPU
        return False


def host_gpu_note():
    return "A GPU is visible on this host." if host_has_gpu() else \
        "No GPU is visible on this host."


def define_gpu_params(form, what):
    """Scipion's hidden Use GPU / GPU ids (shown in the form's header), defaulting to the
    host: Yes when a GPU is visible, No otherwise. ``what``: what the GPU is used for."""
    form.addHidden(cons.USE_GPU, params.BooleanParam, default=host_has_gpu(),
                   label="Use GPU?",
                   help=f"{what} on the GPU (much faster) or the CPU. Default: Yes when a GPU "
                        f"is visible, No otherwise ({host_gpu_note()}). With Yes on a host "
                        "without a visible GPU the run falls back to the CPU and says so in "
                        "the log.")
    form.addHidden(cons.GPU_LIST, params.StringParam, default="0", label="GPU id",
                   help="Which GPU to use when 'Use GPU' is Yes: its id as nvidia-smi lists "
                        "it (0 for the first). Only the first id is used.")


class TrainingInputs:
    def _defineTrainingInputs(self, form, validation_help):
        define_gpu_params(form, "Train")
        form.getParam("inputMicrographs").help.set(
            "The micrographs to train on: those with hand-picked particles, plus unlabelled "
            "ones (self-training and the consistency loss learn from those too). Every one is "
            "read, binned and (U-Net) predicted in each self-training round, so a few dozen "
            "keep training quick.")
        form.addParam("inputCoordinates", params.PointerParam, pointerClass="SetOfCoordinates",
                      important=True, label="Hand-picked coordinates",
                      help="Particles picked on (some of) the input micrographs. They do not "
                           "need to be complete: the methods treat unpicked particles as "
                           "unlabelled.")
        form.addParam("validationCoordinates", params.PointerParam,
                      pointerClass="SetOfCoordinates", allowsNull=True,
                      label="Validation coordinates (optional)",
                      help=validation_help + " They should be complete (every particle "
                           "picked), preferably on micrographs not used for training. Leave "
                           "empty when you have none: the threshold is then estimated from the "
                           "hand-picked labels.")
        form.addParam("particleDiameter", params.FloatParam, default=0.0,
                      label="Particle diameter (A)",
                      help="Longest particle diameter in Angstrom. Micrographs are binned so "
                           "that it spans the working size, and it sets the label discs and "
                           f"the spacing of picks. 0 (default): the box size of the hand-picked "
                           f"coordinates / {BOX_PER_DIAMETER}. Set it when the box is much "
                           "larger or smaller than 1.5 diameters.")

    def _diameterA(self):
        if self.particleDiameter.get():
            return self.particleDiameter.get()
        coords = self.inputCoordinates.get()
        return diameter_from_box(coords.getBoxSize()) * coords.getMicrographs().getSamplingRate()

    def _hasValidation(self):
        return self.validationCoordinates.get() is not None

    def _trainingFiles(self):
        """(micrograph folder, labels, validation folder, validation labels) as absolute paths."""
        return (os.path.abspath(self._getTmpPath("mics")),
                os.path.abspath(self._getExtraPath("labels.json")),
                os.path.abspath(self._getTmpPath("val_mics")),
                os.path.abspath(self._getExtraPath("validation.json")))

    def convertInputStep(self, mics_id, coords_id):
        """Micrograph links and label files for the CLI (ids: rerun when inputs change)."""
        mics, labels, val_mics, val_labels = self._trainingFiles()
        link_micrographs(self.inputMicrographs.get(), mics)
        write_coordinates(labels, coordinates_to_tables(self.inputCoordinates.get()), fmt="json")
        if self._hasValidation():
            val = self.validationCoordinates.get()
            link_micrographs(val.getMicrographs(), val_mics)
            write_coordinates(val_labels, coordinates_to_tables(val), fmt="json")

    def _validateTrainingInputs(self):
        errors = []
        coords = self.inputCoordinates.get()
        if coords is not None and coords.getSize() == 0:
            errors.append("The hand-picked coordinates are empty: pick some particles first.")
        if self.particleDiameter.get() < 0:
            errors.append("The particle diameter must be >= 0 (0: from the box size).")
        return errors
