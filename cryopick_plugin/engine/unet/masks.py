"""Label masks for segmentation training: discs around particle centres, pseudo-label merging.

Pixel values: IGNORE (-1) contributes nothing to the loss, BACKGROUND (0), PARTICLE (1),
UNLABELLED (2): particle or background, in an unknown mix (the positive-unlabelled objective
knows the mix's particle share; the seed's BCE treats them as background).
"""
import numpy as np

IGNORE, BACKGROUND, PARTICLE, UNLABELLED = -1, 0, 1, 2


def coordinates_to_mask(coords_xy, shape, radius, background=BACKGROUND):
    """int8 mask of ``shape`` (rows, cols): discs of ``radius`` px at (x, y) centres.

    Pixels whose centre lies within the radius (inclusive) are PARTICLE; discs are clipped at
    the image border, so coordinates near or beyond the edge are handled.
    """
    h, w = shape
    mask = np.full((h, w), background, dtype=np.int8)
    r = float(radius)
    ri = int(np.ceil(r))
    pts = np.asarray(coords_xy, dtype=np.float64)
    pts = pts.reshape(-1, pts.shape[-1])[:, :2] if pts.size else np.zeros((0, 2))
    for x, y in pts:
        cx, cy = int(round(x)), int(round(y))
        x0, x1 = max(cx - ri, 0), min(cx + ri + 1, w)
        y0, y1 = max(cy - ri, 0), min(cy + ri + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        inside = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
        mask[y0:y1, x0:x1][inside] = PARTICLE
    return mask


def disc_area(radius):
    """Pixels of a disc of ``radius`` as coordinates_to_mask draws it (centred on a pixel)."""
    ri = int(np.ceil(radius))
    yy, xx = np.mgrid[-ri:ri + 1, -ri:ri + 1]
    return int(((xx ** 2 + yy ** 2) <= float(radius) ** 2).sum())


def combine_labels(original, pseudo_positive, reliable_negative, rest=IGNORE):
    """The seed's label combination for one self-training round.

    Original particle labels keep priority; then pseudo-positives become PARTICLE and reliable
    negatives BACKGROUND; every other pixel is IGNORED. Original *background* pixels are not
    kept as such: in positive-unlabelled data they are only "not labelled" (they hold the
    unlabelled particles), so only the model's confident predictions decide them. ``rest``:
    what the other pixels become (IGNORE: the seed; UNLABELLED: the PU objective).
    """
    out = np.full(original.shape, rest, dtype=np.int8)
    out[reliable_negative] = BACKGROUND
    out[pseudo_positive] = PARTICLE
    out[original == PARTICLE] = PARTICLE
    return out


def label_fractions(mask):
    """(positive, negative, ignored or unlabelled) pixel fractions of a mask, for the log."""
    n = max(mask.size, 1)
    return (float((mask == PARTICLE).sum()) / n, float((mask == BACKGROUND).sum()) / n,
            float(((mask == IGNORE) | (mask == UNLABELLED)).sum()) / n)
