"""What the two training protocols share: hand-picked and validation coordinates, the
particle diameter, the GPU parameters, and their conversion to files for the CLI."""
import os

import pyworkflow.protocol.constants as cons
import pyworkflow.protocol.params as params

from ..convert import coordinates_to_tables, link_micrographs
from ..engine.io.coordinates import write_coordinates
from ..engine.picking.scale import BOX_PER_DIAMETER, diameter_from_box


class TrainingInputs:
    def _defineTrainingInputs(self, form, validation_help):
        form.addHidden(cons.USE_GPU, params.BooleanParam, default=True, label="Use GPU?",
                       help="Train on a GPU when one is available.")
        form.addHidden(cons.GPU_LIST, params.StringParam, default="0", label="GPU id")
        form.addParam("inputCoordinates", params.PointerParam, pointerClass="SetOfCoordinates",
                      important=True, label="Hand-picked coordinates",
                      help="Particles picked on (some of) the input micrographs. They do not "
                           "need to be complete: the methods treat unpicked particles as "
                           "unlabelled.")
        form.addParam("validationCoordinates", params.PointerParam,
                      pointerClass="SetOfCoordinates", allowsNull=True,
                      label="Validation coordinates (optional)", help=validation_help)
        form.addParam("particleDiameter", params.FloatParam, default=0.0,
                      label="Particle diameter (A)",
                      help=f"0: the box size of the hand-picked coordinates / {BOX_PER_DIAMETER}.")

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
