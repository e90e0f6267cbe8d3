"""Import a folder of micrographs together with hand-picked coordinates, in one protocol."""
import os
import shutil

import pyworkflow.protocol.params as params
from pwem.objects import Micrograph
from pwem.protocols import ProtImport

from ..engine.io import images
from ..engine.errors import CryopickInputError
from .coordinates_import import CoordinatesImportMixin

MICS_DIR = "micrographs"


class CryopickProtImportMicrographs(CoordinatesImportMixin, ProtImport):
    """Import micrographs (MRC, TIFF, PNG or JPEG) and the particles picked on them.

    Non-MRC images and single-section MRC stacks are written as float32 MRC files so that
    every Scipion protocol downstream can read them; MRC files are linked. Every image is
    read once and checked (readable, finite pixels) before anything is written, and
    coordinates outside their micrograph or with names that match no micrograph are dropped
    and counted in the summary.
    """
    _label = "import micrographs + coordinates"
    _possibleOutputs = {"outputMicrographs": None, "outputCoordinates": None}

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("filesPath", params.PathParam, important=True,
                      label="Micrographs folder",
                      help="Folder with the micrographs: .mrc, .mrcs (one section), .tif, "
                           ".tiff, .png or .jpg.")
        form.addParam("filesPattern", params.StringParam, default="",
                      label="File pattern (optional)",
                      help="Glob on the file names, e.g. '*.mrc'. Empty: all images.")
        form.addParam("samplingRate", params.FloatParam, validators=[params.Positive],
                      label="Pixel size (A/px)",
                      help="Pixel size of the micrographs in Angstrom.")
        group = form.addGroup("Acquisition", help="Stored with the micrographs for later "
                                                  "protocols (CTF estimation); picking does "
                                                  "not use them.")
        group.addParam("voltage", params.FloatParam, default=300.0, label="Voltage (kV)",
                       help="Acceleration voltage of the microscope, for CTF estimation "
                            "downstream. Default 300 kV.")
        group.addParam("sphericalAberration", params.FloatParam, default=2.7,
                       label="Spherical aberration (mm)",
                       help="Spherical aberration (Cs) of the objective lens, for CTF "
                            "estimation downstream. Default 2.7 mm (most Krios / Glacios).")
        group.addParam("amplitudeContrast", params.FloatParam, default=0.1,
                       label="Amplitude contrast",
                       help="Fraction of amplitude contrast, typically 0.07-0.1.")
        form.addSection(label="Coordinates")
        self._defineCoordinateParams(form)

    # ------------------------------------------------------------------ steps
    def _insertAllSteps(self):
        self._insertFunctionStep(self.importStep.__name__, os.path.abspath(self.filesPath.get()),
                                 self.filesPattern.get() or "", self.samplingRate.get(),
                                 *self._coordinateArgs(), needsGPU=False)
        self._insertFunctionStep(self.createOutputStep.__name__, self.voltage.get(),
                                 self.sphericalAberration.get(), self.amplitudeContrast.get(),
                                 self.particleDiameter.get(), self.boxSize.get(), needsGPU=False)

    def importStep(self, folder, pattern, sampling_rate, coords_path, fmt, scale, invert_y):
        files = images.list_images(folder, pattern or None)
        self.info(f"Checking {len(files)} micrographs in {folder}")
        shapes, names = {}, {}
        for i, path in enumerate(files, start=1):
            name = images.micrograph_name(path)
            if name in shapes:
                raise CryopickInputError(
                    f"{path}: another image is also named '{name}'; names must be unique")
            shapes[name] = images.read_micrograph(path).shape
            names[name] = path
            if i % 50 == 0 or i == len(files):
                self.info(f"  checked {i}/{len(files)}")
        self._importCoordinates(shapes, coords_path, fmt, scale, invert_y)

        # Write the micrographs last, into a temporary folder renamed when complete, so
        # that a failure anywhere above leaves no micrographs behind.
        final, partial = self._getExtraPath(MICS_DIR), self._getExtraPath(MICS_DIR + ".part")
        for d in (final, partial):
            shutil.rmtree(d, ignore_errors=True)
        os.makedirs(partial)
        for name, path in names.items():
            target = os.path.join(partial, name + ".mrc")
            if path.lower().endswith(".mrc"):
                os.symlink(os.path.abspath(path), target)
            else:
                images.write_mrc(target, images.read_micrograph(path), sampling_rate)
        os.rename(partial, final)

    def createOutputStep(self, voltage, cs, amplitude_contrast, diameter, box_size):
        mic_set = self._createSetOfMicrographs()
        mic_set.setSamplingRate(self.samplingRate.get())
        acquisition = mic_set.getAcquisition()
        acquisition.setVoltage(voltage)
        acquisition.setSphericalAberration(cs)
        acquisition.setAmplitudeContrast(amplitude_contrast)
        acquisition.setMagnification(50000)  # not used by pickers; Scipion expects a value
        folder = self._getExtraPath(MICS_DIR)
        for i, fn in enumerate(sorted(os.listdir(folder)), start=1):
            mic = Micrograph()
            mic.setObjId(i)
            mic.setFileName(os.path.join(folder, fn))
            mic.setMicName(fn)
            mic.setSamplingRate(self.samplingRate.get())
            mic.setAcquisition(acquisition)
            mic_set.append(mic)
        self._defineOutputs(outputMicrographs=mic_set)
        coord_set = self._createCoordinatesOutput(mic_set)
        self._defineOutputs(outputCoordinates=coord_set)
        self._defineSourceRelation(mic_set, coord_set)

    # ------------------------------------------------------------------ info
    def _validate(self):
        errors = []
        try:
            images.list_images(self.filesPath.get() or "", self.filesPattern.get() or None)
        except CryopickInputError as exc:
            errors.append(str(exc))
        if not self.samplingRate.get() or self.samplingRate.get() <= 0:
            errors.append("The pixel size must be > 0.")
        return errors + self._validateCoordinates()

    def _methods(self):
        if not hasattr(self, "outputCoordinates"):
            return []
        return [f"{self.outputMicrographs.getSize()} micrographs at "
                f"{self.samplingRate.get():.3f} A/px were imported with "
                f"{self.outputCoordinates.getSize()} hand-picked particle coordinates "
                f"(particle diameter {self.particleDiameter.get():.0f} A)."]
