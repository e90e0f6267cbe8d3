"""Label masks for segmentation training: discs around particle centres, pseudo-label merging.

Pixel values: IGNORE (-1) contributes nothing to the loss, BACKGROUND (0), PARTICLE (1).
Masks are int8 arrays of shape (rows, cols); coordinates are (x = column, y = row), float
allowed, in the pixel frame of the mask (pixel centres at integers).
"""
import numpy as np

from .errors import CryopickInputError

IGNORE, BACKGROUND, PARTICLE = -1, 0, 1

#: default width of the ignored ring of ``positive_unlabelled_mask``, as a fraction of the
#: radius: hand-picked centres are off by a few pixels and the disc radius is a guess, so the
#: disc's edge is the least certain part of the label
DEFAULT_RING_FRACTION = 0.25


def _points(coords_xy):
    """(N, 2) float64 x, y from an (N, 2+) array-like, a single (x, y), [] or None."""
    if coords_xy is None:
        return np.zeros((0, 2))
    pts = np.asarray(coords_xy, dtype=np.float64)
    if pts.size == 0:
        return np.zeros((0, 2))
    if pts.ndim == 1:
        pts = pts[None]
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise CryopickInputError(f"coordinates must be (N, 2+) [x, y, ...], got shape "
                                 f"{np.shape(coords_xy)}")
    pts = pts[:, :2]
    if not np.isfinite(pts).all():
        raise CryopickInputError("coordinates contain NaN or infinite values")
    return pts


def _shape(shape):
    if len(shape) != 2 or min(shape) < 1:
        raise CryopickInputError(f"mask shape must be (rows, cols) >= 1, got {tuple(shape)}")
    return int(shape[0]), int(shape[1])


def _paint_discs(mask, pts, radius, value):
    """Set ``value`` at pixels whose centre is within ``radius`` (inclusive) of a point."""
    h, w = mask.shape
    r2 = float(radius) ** 2
    for x, y in pts:
        # bounding box of the disc, clipped to the image (discs may hang over the edge)
        x0, x1 = max(int(np.ceil(x - radius)), 0), min(int(np.floor(x + radius)) + 1, w)
        y0, y1 = max(int(np.ceil(y - radius)), 0), min(int(np.floor(y + radius)) + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.ogrid[y0:y1, x0:x1]
        mask[y0:y1, x0:x1][(xx - x) ** 2 + (yy - y) ** 2 <= r2] = value


def coordinates_to_mask(coords_xy, shape, radius, background=BACKGROUND):
    """int8 mask of ``shape`` (rows, cols): PARTICLE discs of ``radius`` px at (x, y) centres.

    Pixels whose centre lies within the radius (inclusive) are PARTICLE, the rest
    ``background``; discs are clipped at the image border, so coordinates near or beyond the
    edge are handled.
    """
    h, w = _shape(shape)
    if not radius > 0:
        raise CryopickInputError(f"particle radius must be > 0 px (got {radius})")
    mask = np.full((h, w), background, dtype=np.int8)
    _paint_discs(mask, _points(coords_xy), radius, PARTICLE)
    return mask


def positive_unlabelled_mask(coords_xy, shape, radius, ignore_ring=None, background=BACKGROUND):
    """Like ``coordinates_to_mask`` plus an IGNORE ring of ``ignore_ring`` px around each disc.

    Pixels farther than ``radius`` but within ``radius + ignore_ring`` of a centre are
    IGNORE, unless they are inside another particle's disc (particles win). ``ignore_ring``
    None means ``DEFAULT_RING_FRACTION * radius``; 0 gives exactly ``coordinates_to_mask``.
    """
    h, w = _shape(shape)
    if not radius > 0:
        raise CryopickInputError(f"particle radius must be > 0 px (got {radius})")
    ring = DEFAULT_RING_FRACTION * radius if ignore_ring is None else float(ignore_ring)
    if not ring >= 0:
        raise CryopickInputError(f"ignore ring must be >= 0 px (got {ignore_ring})")
    pts = _points(coords_xy)
    mask = np.full((h, w), background, dtype=np.int8)
    if ring > 0:
        _paint_discs(mask, pts, radius + ring, IGNORE)
    _paint_discs(mask, pts, radius, PARTICLE)  # after the rings, so particles take priority
    return mask


def combine_labels(original, pseudo_positive, reliable_negative):
    """The seed's label combination for one self-training round.

    Priority: original PARTICLE pixels stay PARTICLE; then pseudo-positives become PARTICLE
    (also where a pixel is flagged both ways); then reliable negatives become BACKGROUND;
    every other pixel is IGNORE.

    Original BACKGROUND pixels are NOT kept as background: in positive-unlabelled data they
    are only "not labelled" (they hold the particles nobody picked), so only the model's
    confident predictions decide them; those it is unsure of are ignored. Original IGNORE
    pixels (e.g. a ring from ``positive_unlabelled_mask``) are treated the same way.
    """
    original = np.asarray(original)
    pos = np.asarray(pseudo_positive, dtype=bool)
    neg = np.asarray(reliable_negative, dtype=bool)
    if not original.shape == pos.shape == neg.shape:
        raise ValueError(f"label shapes differ: original {original.shape}, pseudo-positive "
                         f"{pos.shape}, reliable-negative {neg.shape}")
    out = np.full(original.shape, IGNORE, dtype=np.int8)
    out[neg] = BACKGROUND
    out[pos] = PARTICLE
    out[original == PARTICLE] = PARTICLE
    return out


def label_fractions(mask):
    """(positive, negative, ignored) pixel fractions of a mask, for the training log."""
    n = max(mask.size, 1)
    return (float((mask == PARTICLE).sum()) / n, float((mask == BACKGROUND).sum()) / n,
            float((mask == IGNORE).sum()) / n)
