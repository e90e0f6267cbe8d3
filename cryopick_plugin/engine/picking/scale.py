"""The working pixel size: micrographs are binned so that a particle spans a fixed number of
pixels. This makes a 4k x 4k micrograph a few hundred pixels wide for the network, and makes
the network's receptive field match the particle whatever the acquisition pixel size.
"""
import cv2
import numpy as np

from ..errors import CryopickInputError
from .views import PICK_VIEWS

#: particle diameter at the working pixel size: big enough to see the particle's shape, small
#: enough that the U-Net's receptive field (about 140 px) covers several particles of context
DEFAULT_WORKING_DIAMETER = 24.0


def working_factor(particle_diameter_px, target_diameter_px=DEFAULT_WORKING_DIAMETER):
    """Binning factor (>= 1; never upsample) taking the particle to about the target size."""
    if particle_diameter_px is None or not particle_diameter_px > 0:
        raise CryopickInputError(f"particle diameter must be > 0 px (got {particle_diameter_px})")
    if not target_diameter_px > 0:
        raise CryopickInputError(f"working diameter must be > 0 px (got {target_diameter_px})")
    return max(1.0, float(particle_diameter_px) / float(target_diameter_px))


def downsample(image, factor):
    """Bin by a (possibly fractional) factor with area averaging (anti-aliased), float32."""
    image = np.asarray(image, dtype=np.float32)
    if factor <= 1.0:
        return image.copy()
    # scale factors, not an output size: cv2 then uses exactly 1/factor, which is what
    # to_working / to_original assume (an explicit size changes the scale per axis slightly)
    return cv2.resize(image, None, fx=1.0 / factor, fy=1.0 / factor,
                      interpolation=cv2.INTER_AREA)


def to_working(coords_xy, factor):
    """Original-frame (x, y) to working-frame (x, y): pixel centres map to pixel centres."""
    c = np.array(coords_xy, dtype=np.float64, copy=True)
    c[..., :2] = (c[..., :2] + 0.5) / factor - 0.5
    return c


def to_original(coords_xy, factor):
    c = np.array(coords_xy, dtype=np.float64, copy=True)
    c[..., :2] = (c[..., :2] + 0.5) * factor - 0.5
    return c


def normalize(image):
    """Per-micrograph robust normalisation: median 0, robust standard deviation 1.

    Robust statistics keep a carbon edge or an ice crystal from setting the scale.
    """
    image = np.asarray(image, dtype=np.float32)
    med = float(np.median(image))
    mad = float(np.median(np.abs(image - med))) * 1.4826
    scale = mad if mad > 1e-8 else float(image.std())
    if scale <= 1e-8:
        return np.zeros_like(image)
    return ((image - med) / scale).astype(np.float32)


class WorkingScale:
    """Geometry of a trained model file (U-Net picker or patch classifier): the particle
    diameter it was trained for (``particle_diameter_px`` at ``pixel_size``, None if
    unknown) and the ``working_diameter`` it sees the particle at. ``views``: how many
    symmetric views of a micrograph picking averages over (views.py; set per picker)."""

    views = PICK_VIEWS

    def diameter_for(self, pixel_size=None):
        """Particle diameter in pixels of micrographs at ``pixel_size`` (same as training if
        either pixel size is unknown)."""
        if pixel_size and self.pixel_size:
            return self.particle_diameter_px * self.pixel_size / pixel_size
        return self.particle_diameter_px

    def factor_for(self, pixel_size=None):
        return working_factor(self.diameter_for(pixel_size), self.working_diameter)

    def prepare(self, image, pixel_size=None):
        """Binned, normalised working image and the binning factor used."""
        factor = self.factor_for(pixel_size)
        return normalize(downsample(image, factor)), factor

    def prepare_to_pick(self, image, pixel_size=None):
        """prepare, refusing an image smaller than one particle (nothing to find there, and
        binning would break)."""
        h, w = np.shape(image)
        if min(h, w) < self.diameter_for(pixel_size):
            raise CryopickInputError(f"image {w}x{h} px is smaller than one particle "
                                     f"({self.diameter_for(pixel_size):.3g} px across)")
        return self.prepare(image, pixel_size)


#: the default box holds this many particle diameters (the particle plus some background)
BOX_PER_DIAMETER = 1.5


def box_size_for(diameter_px):
    """The default box: BOX_PER_DIAMETER particle diameters, rounded up to an even number."""
    box = int(np.ceil(BOX_PER_DIAMETER * float(diameter_px)))
    return box + (box % 2)


def diameter_from_box(box_px):
    """The particle diameter a default box was made for (inverse of box_size_for, to 1 px)."""
    return float(box_px) / BOX_PER_DIAMETER
