"""What both import protocols share: coordinate parameters, reading, the report, the output."""
import json
import os

import pyworkflow.protocol.params as params

from ..constants import COORD_FORMAT_CHOICES
from ..convert import default_box_size, fill_coordinates
from ..engine.io.coordinates import (assign_to_micrographs, coordinate_files, format_report,
                                  read_coordinates, write_coordinates)
from ..engine.errors import CryopickInputError
from ..engine.picking.scale import BOX_PER_DIAMETER

COORDS_FILE = "coordinates.json"
REPORT_FILE = "import_report.json"


class CoordinatesImportMixin:
    """Mixed into an EMProtocol that has micrographs and imports coordinates onto them."""

    def _defineCoordinateParams(self, form):
        form.addParam("coordinatesPath", params.PathParam, important=True,
                      label="Coordinates (file or folder)",
                      help="A coordinate file, or a folder of one file per micrograph. "
                           "Formats: JSON {\"image1.png\": [[x, y], ...]}, CryoPPP CSV "
                           "(X-Coordinate,Y-Coordinate,Diameter), RELION STAR "
                           "(_rlnCoordinateX/Y, with _rlnMicrographName or one file per "
                           "micrograph), EMAN .box (corner + box size) or plain 'x y' text. "
                           "Coordinates are matched to micrographs by base name.")
        form.addParam("coordinatesFormat", params.EnumParam, choices=COORD_FORMAT_CHOICES,
                      default=0, display=params.EnumParam.DISPLAY_COMBO,
                      label="Coordinate format",
                      help="auto: from the file extension (and the CSV header for .txt).")
        form.addParam("particleDiameter", params.FloatParam, validators=[params.Positive],
                      label="Particle diameter (A)",
                      help="Longest diameter of the particle in Angstrom. Sets the default box "
                           "size and, in the pickers, the mask radius and minimum distance.")
        form.addParam("boxSize", params.IntParam, default=0, label="Box size (px)",
                      expertLevel=params.LEVEL_ADVANCED,
                      help=f"Box size of the output coordinates. 0: {BOX_PER_DIAMETER} x the particle "
                           "diameter, rounded up to an even number of pixels.")
        form.addParam("coordinatesScale", params.FloatParam, default=1.0,
                      validators=[params.Positive], expertLevel=params.LEVEL_ADVANCED,
                      label="Coordinate scale factor",
                      help="Multiply coordinates by this factor. Use it when the particles "
                           "were picked on binned micrographs (e.g. 4 for 4x binning).")
        form.addParam("invertY", params.BooleanParam, default=False,
                      expertLevel=params.LEVEL_ADVANCED, label="Invert Y",
                      help="Set when the picker counted rows from the bottom of the image: "
                           "y becomes (micrograph height - y), after scaling.")

    # ------------------------------------------------------------------ helpers
    def _coordinateArgs(self):
        """Everything the output depends on, as step arguments (Continue compares them)."""
        return [os.path.abspath(self.coordinatesPath.get() or ""),
                COORD_FORMAT_CHOICES[self.coordinatesFormat.get()],
                self.coordinatesScale.get(), self.invertY.get()]

    def _validate(self):
        return self._validateCoordinates()

    def _validateCoordinates(self):
        errors = []
        if not self.particleDiameter.get() or self.particleDiameter.get() <= 0:
            errors.append("The particle diameter must be > 0.")
        path = self.coordinatesPath.get()
        if not path or not os.path.exists(path):
            errors.append(f"Coordinates: {path or '(empty)'} does not exist.")
        else:
            try:
                coordinate_files(path)
            except CryopickInputError as exc:
                errors.append(str(exc))
        if self.coordinatesScale.get() is not None and self.coordinatesScale.get() <= 0:
            errors.append("The coordinate scale factor must be > 0.")
        if self.boxSize.get() is not None and self.boxSize.get() < 0:
            errors.append("The box size must be >= 0 (0 = from the particle diameter).")
        return errors

    def _importCoordinates(self, mic_shapes, path, fmt, scale, invert_y):
        """Read, match and check coordinates; write them and the report to the extra folder."""
        self.info(f"Reading coordinates from {path} (format: {fmt})")
        tables = read_coordinates(path, fmt)
        assigned, report = assign_to_micrographs(tables, mic_shapes, scale, invert_y, source=path)
        for line in format_report(report):
            self.info(line)
        write_coordinates(self._getExtraPath(COORDS_FILE), assigned, fmt="json")
        with open(self._getExtraPath(REPORT_FILE), "w") as fh:
            json.dump(report, fh, indent=1)
        return report

    def _getBoxSize(self, sampling_rate):
        return self.boxSize.get() or default_box_size(self.particleDiameter.get(), sampling_rate)

    def _createCoordinatesOutput(self, mic_set):
        """SetOfCoordinates from the extra coordinates file, on the given micrographs."""
        tables = read_coordinates(self._getExtraPath(COORDS_FILE), "json")
        coord_set = self._createSetOfCoordinates(mic_set)
        n = fill_coordinates(coord_set, mic_set, tables, self._getBoxSize(mic_set.getSamplingRate()))
        self.info(f"Output: {n} coordinates, box size {coord_set.getBoxSize()} px")
        return coord_set

    def _summary(self):
        path = self._getExtraPath(REPORT_FILE)
        if not os.path.exists(path):
            return ["Not run yet."]
        with open(path) as fh:
            summary = format_report(json.load(fh))
        if hasattr(self, "outputCoordinates"):
            summary.append(f"Box size: {self.outputCoordinates.getBoxSize()} px")
        return summary
