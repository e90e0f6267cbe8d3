"""Particle centres from a probability map: local maxima, threshold, non-maximum suppression."""
import numpy as np
from scipy.ndimage import gaussian_filter, maximum_filter
from scipy.spatial import cKDTree

from .errors import CryopickInputError


def find_peaks(prob_map, threshold=0.5, min_distance=10.0, smooth_sigma=0.0):
    """(N, 3) float64 [x, y, score] of peaks, best first, no two closer than ``min_distance``.

    Candidates are the pixels equal to the maximum of their 3x3 neighbourhood with a value
    >= ``threshold`` (in [0, 1]); a greedy non-maximum suppression then keeps the best one and
    drops every candidate closer than ``min_distance`` px to a kept one (exactly
    ``min_distance`` apart is allowed), and so on. The map is optionally smoothed first
    (Gaussian, ``smooth_sigma`` px) so that a particle scores as a blob, not as its single
    brightest pixel, and an isolated hot pixel does not win; the threshold and the score
    then apply to the smoothed map. Positions are integer pixels (x = column, y = row).
    """
    if not 0.0 <= threshold <= 1.0:
        raise CryopickInputError(f"picking threshold must be within [0, 1] (got {threshold})")
    if not min_distance >= 0:
        raise CryopickInputError(f"minimum distance must be >= 0 px (got {min_distance})")
    if not smooth_sigma >= 0:
        raise CryopickInputError(f"smoothing sigma must be >= 0 px (got {smooth_sigma})")
    m = np.asarray(prob_map, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"probability map must be 2-D, got shape {m.shape}")
    if m.size == 0:
        return np.zeros((0, 3))
    if not np.isfinite(m).all():
        raise ValueError("probability map contains NaN or infinite values")
    if smooth_sigma > 0:
        m = gaussian_filter(m, smooth_sigma, mode="nearest")
    is_max = (m == maximum_filter(m, size=3, mode="nearest")) & (m >= threshold)
    ys, xs = np.nonzero(is_max)
    if len(xs) == 0:
        return np.zeros((0, 3))
    scores = m[ys, xs]
    order = np.argsort(-scores, kind="stable")  # ties: raster order, deterministic
    pts = np.column_stack([xs[order], ys[order]]).astype(np.float64)
    scores = scores[order].astype(np.float64)
    if min_distance > 0 and len(pts) > 1:
        # greedy NMS; neighbours are looked up only for kept peaks, so a flat map with a
        # huge number of candidates costs O(candidates), not O(candidates x neighbours)
        tree = cKDTree(pts)
        suppressed = np.zeros(len(pts), dtype=bool)
        keep = []
        for i in range(len(pts)):
            if suppressed[i]:
                continue
            keep.append(i)
            # strictly closer than min_distance (the tiny epsilon keeps equality allowed)
            suppressed[tree.query_ball_point(pts[i], r=min_distance * (1 - 1e-9))] = True
        pts, scores = pts[keep], scores[keep]
    return np.column_stack([pts, scores])
