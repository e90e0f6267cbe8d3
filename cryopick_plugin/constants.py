"""Names shared by the Scipion side of the plugin."""
URL = "https://github.com/cryopick/scipion-em-cryopick"
CRYOPICK_PYTHON = "CRYOPICK_PYTHON"

# Coordinate formats in the order of the import protocols' choice list (0 = auto-detect)
COORD_FORMAT_CHOICES = ["auto", "json", "csv", "star", "box", "txt"]

# Per-coordinate score column added to SetOfCoordinates produced or read by cryopick
SCORE_ATTR = "_cryopickScore"
