"""Import coordinates onto an existing SetOfMicrographs (e.g. after motion correction)."""
import os

from pwem.protocols import ProtParticlePicking

from ..convert import micrograph_key
from ..engine.io.images import micrograph_shape
from .coordinates_import import CoordinatesImportMixin


class CryopickProtImportCoordinates(CoordinatesImportMixin, ProtParticlePicking):
    """Import particle coordinates (JSON, CryoPPP CSV, RELION STAR, EMAN .box or x y text)
    onto micrographs already in the project, matched by micrograph name.

    Coordinates outside their micrograph and files whose name matches no micrograph are
    dropped and counted in the summary; an empty file gives zero coordinates.
    """
    _label = "import coordinates"

    def _defineParams(self, form):
        ProtParticlePicking._defineParams(self, form)
        self._defineCoordinateParams(form)

    def _insertAllSteps(self):
        self._insertFunctionStep(self.importStep.__name__, *self._coordinateArgs(),
                                 needsGPU=False)
        self._insertFunctionStep(self.createOutputStep.__name__, self.particleDiameter.get(),
                                 self.boxSize.get(), needsGPU=False)

    def importStep(self, coords_path, fmt, scale, invert_y):
        mics = self.getInputMicrographs()
        shapes = {micrograph_key(mic): micrograph_shape(os.path.abspath(mic.getFileName()))
                  for mic in mics.iterItems()}
        self.info(f"{len(shapes)} micrographs in the input set")
        self._importCoordinates(shapes, coords_path, fmt, scale, invert_y)

    def createOutputStep(self, diameter, box_size):
        coord_set = self._createCoordinatesOutput(self.getInputMicrographs())
        self._defineOutputs(outputCoordinates=coord_set)
        self._defineSourceRelation(self.getInputMicrographsPointer(), coord_set)

    def _methods(self):
        if not hasattr(self, "outputCoordinates"):
            return []
        return [f"{self.outputCoordinates.getSize()} particle coordinates were imported onto "
                f"{self.getInputMicrographs().getSize()} micrographs."]
