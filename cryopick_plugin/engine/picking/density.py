"""What the hand-picked particles look like in density, to tell particles from junk.

Ice contamination, carbon and aggregates are much denser (or emptier) over a particle's area
than any particle the user picked. A model stores the range of the labels' local density,
widened by a margin, and picks outside it are dropped: the network, trained
positive-unlabelled, has never been told that such regions are background. Picks inside that
range but far from the labels' typical density (more than TYPICAL_SIGMAS standard deviations
from their mean) keep a lower score: they rank below the typical ones but are not lost.
"""
import numpy as np

from .peaks import disc_mean

#: the labels' range is widened by this share of it on each side
MARGIN = 0.5
#: fewer labels than this give no range (no filtering): the extremes of a handful of labels
#: say little about the particles' spread, and a range from 5 dropped good picks in a test
MIN_LABELS = 15
#: picks further than this many standard deviations from the labels' mean density keep
#: ATYPICAL_SCORE share of their score. Measured on the benchmark matrix (saved models
#: re-picked): carbon picks on crowded micrographs at 50% labels sat inside the widened range
#: (AP 0.63); 4 sd with 0.25 gave AP 0.78 there, +0.02 at 20%, and changed the AP of
#: apoferritin, large-carbon and irregular by at most 0.006. Dropping them instead (or 3 sd)
#: lost true particles of the irregular one (AP 0.84 -> 0.80), whose density has a long tail.
TYPICAL_SIGMAS = 4.0
ATYPICAL_SCORE = 0.25


def local_density(work, xy, diameter):
    """(N, 2) means of the working image over a disc a third of a particle across and one a
    particle across, at each working (x, y): the particle, and the particle with its
    surroundings."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(xy):
        return np.zeros((0, 2))
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, work.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, work.shape[0] - 1)
    return np.column_stack([disc_mean(work, r, clip=False)[iy, ix]
                            for r in (diameter / 3, diameter)])


def density_range(features, margin=MARGIN):
    """[low, high] per feature: the labels' range widened by ``margin`` x its span on each
    side; None with fewer than MIN_LABELS labels."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, 2)
    if len(features) < MIN_LABELS:
        return None
    low, high = features.min(axis=0), features.max(axis=0)
    span = high - low
    return [(low - margin * span).tolist(), (high + margin * span).tolist()]


def typical_range(features, sigmas=TYPICAL_SIGMAS):
    """[low, high] per feature: the labels' mean +- ``sigmas`` standard deviations; None
    with fewer than MIN_LABELS labels."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, 2)
    if len(features) < MIN_LABELS:
        return None
    mean, sd = features.mean(axis=0), features.std(axis=0, ddof=1)
    return [(mean - sigmas * sd).tolist(), (mean + sigmas * sd).tolist()]


def within(features, limits):
    """Boolean per row of ``features``: inside ``limits`` (all True without limits)."""
    if limits is None:
        return np.ones(len(features), dtype=bool)
    low, high = (np.asarray(v) for v in limits)
    return np.all((features >= low) & (features <= high), axis=1)
