"""Particle centres from a probability map: local maxima, threshold, non-maximum suppression."""
import numpy as np
from scipy.ndimage import gaussian_filter, maximum_filter
from scipy.spatial import cKDTree

from ..errors import CryopickInputError


def disc_mean(prob_map, radius, clip=True):
    """Mean of the map over a disc of ``radius`` px around every pixel.

    The matched filter of a U-Net trained on disc masks: its maximum is at the centre of a
    predicted disc even when the prediction is flat (saturated) or ring-shaped inside it,
    where the raw map's local maxima scatter over the whole disc. ``clip``: to [0, 1] (a
    probability map); off for any other image.
    """
    return ring_mean(prob_map, 0.0, radius, clip)


def ring_mean(prob_map, inner, outer, clip=True):
    """Mean of the map over the ring ``inner`` < r <= ``outer`` px around every pixel (a disc
    with ``inner`` 0); ``clip`` as in disc_mean."""
    import cv2

    r = int(np.ceil(outer))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    d2 = xx ** 2 + yy ** 2
    kernel = ((d2 <= outer ** 2) & ((d2 > inner ** 2) if inner > 0 else True)).astype(np.float32)
    kernel /= kernel.sum()
    out = cv2.filter2D(np.asarray(prob_map, dtype=np.float32), -1, kernel,
                       borderType=cv2.BORDER_REFLECT)
    return np.clip(out, 0.0, 1.0) if clip else out


def find_peaks(prob_map, threshold=0.5, min_distance=10.0, smooth_sigma=0.0, disc_radius=0.0):
    """(N, 3) [x, y, score] of peaks, best first, no two closer than ``min_distance`` px.

    The map is optionally averaged over discs (``disc_radius``) and/or smoothed first so that
    a particle scores as a blob, not as its single brightest pixel; the score is the
    (filtered) map value at the peak.
    """
    if not 0.0 <= threshold <= 1.0:
        raise CryopickInputError(f"picking threshold must be within [0, 1] (got {threshold})")
    if min_distance < 0 or smooth_sigma < 0:
        raise CryopickInputError("min_distance and smooth_sigma must be >= 0")
    m = np.asarray(prob_map, dtype=np.float32)
    if disc_radius > 0:
        m = disc_mean(m, disc_radius)
    if smooth_sigma > 0:
        m = gaussian_filter(m, smooth_sigma)
    is_max = (m == maximum_filter(m, size=3, mode="nearest")) & (m >= threshold)
    ys, xs = np.nonzero(is_max)
    if len(xs) == 0:
        return np.zeros((0, 3))
    scores = m[ys, xs]
    order = np.argsort(-scores, kind="stable")
    xs, ys, scores = xs[order], ys[order], scores[order]
    # greedy NMS: accept the best remaining peak, suppress everything within min_distance.
    # Neighbours are looked up for kept peaks only: a flat or saturated map (a collapsed
    # model) has a candidate at every pixel but few kept peaks.
    pts = np.column_stack([xs, ys]).astype(np.float64)
    tree = cKDTree(pts)
    suppressed = np.zeros(len(pts), dtype=bool)
    keep = []
    for i in range(len(pts)):
        if suppressed[i]:
            continue
        keep.append(i)
        if min_distance > 0:
            suppressed[tree.query_ball_point(pts[i], r=min_distance - 1e-9)] = True
    return np.column_stack([pts[keep], scores[keep].astype(np.float64)])


#: two picks closer than this many particle diameters overlap: two particles of one layer of
#: ice cannot, so one is a clump's (an aggregate's) or a particle picked twice
OVERLAP_DIAMETERS = 0.9
#: a better-scored neighbour lowers a pick; a worse-scored one does too when it scores at
#: least this share of the pick's score (both members of a clump are doubtful, but a
#: particle keeps its score beside a weak side peak of itself)
OVERLAP_NEIGHBOUR_SHARE = 0.8
#: the share of its score an overlapping pick keeps: lowered, not dropped (a user's diameter
#: may be generous, and touching particles then overlap by it)
OVERLAP_SCORE = 0.8


def lower_overlapping(peaks, diameter, overlap=OVERLAP_DIAMETERS,
                      neighbour_share=OVERLAP_NEIGHBOUR_SHARE, kept=OVERLAP_SCORE):
    """(N, 3) [x, y, score] peaks, best first again, with the score of each pick that overlaps
    another (closer than ``overlap`` x ``diameter``; see OVERLAP_NEIGHBOUR_SHARE) multiplied
    by ``kept``, once however many it overlaps. Measured on the benchmark matrix's ensemble
    picks (docs/benchmarks.md, "Intensity jitter in U-Net training, and overlapping
    picks")."""
    peaks = np.asarray(peaks, dtype=np.float64).reshape(-1, 3)
    if len(peaks) < 2:
        return peaks.copy()
    peaks = peaks[np.argsort(-peaks[:, 2], kind="stable")]
    pairs = cKDTree(peaks[:, :2]).query_pairs(overlap * diameter, output_type="ndarray")
    lowered = np.zeros(len(peaks), dtype=bool)
    if len(pairs):
        better, worse = pairs.min(axis=1), pairs.max(axis=1)  # indices follow the scores
        lowered[worse] = True
        lowered[better[peaks[worse, 2] >= neighbour_share * peaks[better, 2]]] = True
    peaks[lowered, 2] *= kept
    return peaks[np.argsort(-peaks[:, 2], kind="stable")]
