"""The working pixel size: micrographs are binned so that a particle spans a fixed number of
pixels. This makes a 4k x 4k micrograph a few hundred pixels wide for the network, and makes
the network see particles at the same size whatever the acquisition pixel size.

Coordinate convention (shared by ``downsample``, ``to_working`` and ``to_original``): pixel
centres are at integer coordinates, and working pixel i covers original pixels
[i * factor, (i + 1) * factor) measured from the image's top-left pixel EDGE, so
    x_working = (x_original + 0.5) / factor - 0.5
for both axes with the same ``factor``, whatever the image shape.
"""
import cv2
import numpy as np

from .errors import CryopickInputError

#: particle diameter at the working pixel size. 24 px: big enough to see the particle's
#: shape (about 1.5 px across at the U-Net's 1/16 bottleneck), small enough that the U-Net's
#: receptive field (about 200 px, unet.UNet.receptive_field_margin = 107 px each side) covers
#: the particle and several neighbours of context, and that a 4k micrograph of a large
#: particle becomes a few hundred pixels (fast CPU inference). Trained models store the
#: value they were trained with, so changing it does not affect them.
DEFAULT_WORKING_DIAMETER = 24.0


def working_scale(particle_diameter_px, target_diameter_px=DEFAULT_WORKING_DIAMETER):
    """Binning factor (>= 1; never upsample) taking the particle to about the target size.

    Particles already smaller than the target are left at full resolution (factor 1): the
    information is not there to upsample, and the disc masks just get smaller.
    """
    try:
        d, t = float(particle_diameter_px), float(target_diameter_px)
    except (TypeError, ValueError):
        raise CryopickInputError(f"particle diameter ({particle_diameter_px}) and working "
                                 f"diameter ({target_diameter_px}) must be numbers") from None
    if not (d > 0 and np.isfinite(d)):
        raise CryopickInputError(f"particle diameter must be > 0 px (got {particle_diameter_px})")
    if not (t > 0 and np.isfinite(t)):
        raise CryopickInputError(f"working diameter must be > 0 px (got {target_diameter_px})")
    return max(1.0, d / t)


#: the name the first callers use
working_factor = working_scale


def working_shape(shape, factor):
    """(rows, cols) of ``downsample(image of shape, factor)``."""
    if factor == 1:
        return tuple(int(s) for s in shape)
    # what cv2.resize computes from fx = fy = 1 / factor: cvRound(size * fx), half to even
    return tuple(int(np.rint(s * (1.0 / factor))) for s in shape)


def downsample(image, factor):
    """Bin a 2-D image by a (possibly fractional) ``factor`` >= 1 with area averaging.

    Area averaging is the anti-aliasing (each output pixel is the mean of the original pixels
    it covers). The scale is exactly ``factor`` on both axes (cv2 is given fx, fy, not an
    output size, whose rounding would change the scale per axis), so ``to_working`` maps
    positions exactly. Returns float32; factor 1 returns a copy.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2 or min(image.shape) < 1:
        raise CryopickInputError(f"expected a 2-D image, got shape {image.shape}")
    if not factor >= 1:
        raise CryopickInputError(f"binning factor must be >= 1 (got {factor}): never upsample")
    if factor == 1:
        return image.copy()
    rows, cols = working_shape(image.shape, factor)
    if rows < 1 or cols < 1:
        raise CryopickInputError(f"a {image.shape[1]}x{image.shape[0]} px image is too small "
                                 f"to bin by {factor:.2f}")
    return cv2.resize(image, None, fx=1.0 / factor, fy=1.0 / factor,
                      interpolation=cv2.INTER_AREA)


def to_working(coords_xy, factor):
    """Original-frame (x, y, ...) to working-frame: ``(x + 0.5) / factor - 0.5``.

    Works on (N, 2+) arrays or a single (x, y); extra columns (score) are copied unchanged.
    """
    c = np.array(coords_xy, dtype=np.float64, copy=True)
    c[..., :2] = (c[..., :2] + 0.5) / factor - 0.5
    return c


def to_original(coords_xy, factor):
    """Inverse of ``to_working``: ``(x + 0.5) * factor - 0.5``."""
    c = np.array(coords_xy, dtype=np.float64, copy=True)
    c[..., :2] = (c[..., :2] + 0.5) * factor - 0.5
    return c


def normalize(image):
    """Per-micrograph robust normalisation: median 0, robust standard deviation 1 (float32).

    The scale is 1.4826 x the median absolute deviation (= the std for Gaussian noise), so a
    carbon edge or an ice crystal does not set it; if the MAD is 0 (mostly constant or
    quantised images) the std is used, and a constant image becomes all zeros.
    """
    image = np.asarray(image, dtype=np.float32)
    bad = ~np.isfinite(image)
    if bad.any():
        raise CryopickInputError(f"micrograph has {int(bad.sum())} NaN or infinite pixels")
    med = float(np.median(image))
    mad = float(np.median(np.abs(image - med))) * 1.4826
    scale = mad if mad > 1e-8 else float(image.std())
    if scale <= 1e-8:
        return np.zeros_like(image)
    return ((image - med) / scale).astype(np.float32)
