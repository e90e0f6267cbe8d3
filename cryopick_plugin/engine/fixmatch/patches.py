"""Square patches of binned micrographs, and where to take them from.

Patches are cut at the working pixel size (see resample.py) from reflect-padded images, so a
particle near the edge still gets a full patch. Positions are (x, y) in working pixels.
"""
import numpy as np
from scipy.ndimage import gaussian_filter, maximum_filter
from scipy.spatial import cKDTree


class PatchSource:
    """One binned, normalised micrograph, padded once so any centre yields a full patch."""

    def __init__(self, image, patch_size):
        self.shape = image.shape
        self.size = int(patch_size)
        self.pad = self.size // 2 + 1
        self.padded = np.pad(np.asarray(image, dtype=np.float32), self.pad, mode="reflect")

    def extract(self, centres):
        """(N, size, size) float32 patches centred (to the nearest pixel) on (x, y) rows."""
        c = np.rint(np.asarray(centres, dtype=np.float64).reshape(-1, 2)).astype(int)
        h, w = self.shape
        c[:, 0] = np.clip(c[:, 0], 0, w - 1)
        c[:, 1] = np.clip(c[:, 1], 0, h - 1)
        half = self.size // 2
        out = np.empty((len(c), self.size, self.size), dtype=np.float32)
        for i, (x, y) in enumerate(c):
            y0, x0 = y + self.pad - half, x + self.pad - half
            out[i] = self.padded[y0:y0 + self.size, x0:x0 + self.size]
        return out


def random_positions(rng, shape, n):
    h, w = shape
    return np.column_stack([rng.uniform(0, w - 1, n), rng.uniform(0, h - 1, n)])


def away_from(positions, points, min_distance):
    """The positions farther than min_distance from every point."""
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) == 0 or len(positions) == 0:
        return positions
    d, _ = cKDTree(points).query(positions)
    return positions[d > min_distance]


def blob_candidates(image, diameter, max_candidates=None):
    """(N, 2) particle-like blob centres, strongest first: extrema of a band-pass filter.

    A difference of Gaussians tuned to the particle size responds to any particle-sized
    blob, dark or bright, so it proposes particles (and some junk) with high recall. Used to
    give the unlabelled pool a fair share of particle-centred patches.
    """
    img = np.asarray(image, dtype=np.float32)
    band = gaussian_filter(img, diameter / 8.0) - gaussian_filter(img, diameter / 2.0)
    response = np.abs(gaussian_filter(band, diameter / 8.0))
    size = max(3, int(round(diameter / 2)) | 1)
    peaks = (response == maximum_filter(response, size=size)) & (response > np.median(response))
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-response[ys, xs], kind="stable")
    pts = np.column_stack([xs[order], ys[order]]).astype(np.float64)
    return pts[:max_candidates] if max_candidates else pts


def grid_positions(shape, step):
    """Centres of a regular grid covering the image with spacing ``step`` (px)."""
    h, w = shape
    xs = np.arange(step / 2.0, w, step)
    ys = np.arange(step / 2.0, h, step)
    return xs, ys
